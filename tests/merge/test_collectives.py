"""Which frames are collectives: the names of torch.distributed and DDP, only where they live."""

import pytest

from advisor.merge.collectives import collective_op
from advisor.model import FrameKey

T = "/venv/lib/python3.11/site-packages/torch"


@pytest.mark.parametrize("file, qualname, op", [
    (f"{T}/distributed/distributed_c10d.py", "all_reduce", "all-reduce"),
    (f"{T}/distributed/distributed_c10d.py", "barrier", "barrier"),
    (f"{T}/distributed/distributed_c10d.py", "broadcast", "broadcast"),
    (f"{T}/distributed/distributed_c10d.py", "all_gather_into_tensor", "all-gather"),
    (f"{T}/nn/parallel/distributed.py", "DistributedDataParallel._sync_buffers", "broadcast"),
    (f"{T}/nn/parallel/distributed.py", "DistributedDataParallel._check_global_requires_backward_grad_sync",
     "all-reduce"),
    ("/venv/lib/python3.11/site-packages/deepspeed/comm/comm.py", "all_reduce", "all-reduce"),
    ("C:\\venv\\Lib\\site-packages\\torch\\distributed\\distributed_c10d.py", "barrier", "barrier"),
])
def test_collectives_are_named(file, qualname, op):
    assert collective_op(FrameKey(file, qualname, 1)) == op


@pytest.mark.parametrize("file, qualname", [
    ("/w/train.py", "all_reduce"),  # the user's own function of that name
    ("/w/train.py", "barrier"),
    (f"{T}/nn/parallel/distributed.py", "DistributedDataParallel.scatter"),  # moves inputs, no collective
    (f"{T}/nn/parallel/distributed.py", "DistributedDataParallel.forward"),
    (f"{T}/utils/data/dataloader.py", "_MultiProcessingDataLoaderIter._next_data"),  # waiting, but on data
    ("/usr/lib/python3.11/socket.py", "socket.recv"),
    (f"{T}/distributed/distributed_c10d.py", "get_rank"),
])
def test_other_frames_are_not(file, qualname):
    assert collective_op(FrameKey(file, qualname, 1)) is None


def test_native_frames_naming_gloo_or_nccl():
    assert collective_op(FrameKey("libtorch_cpu.so", "gloo::allreduce", 0, "native")) == "native collective"
    assert collective_op(FrameKey("<built-in>", "time.sleep", 0, "native")) is None
