"""Time a rank spends in collectives: waiting for the other ranks (and the transfer itself).

Read from the frames of each sample, never from the bucket alone: a rank blocked in an all-reduce is off
the CPU exactly like one blocked on a file read, and the sampler calls both *waiting*. Two kinds of
evidence:

* **frame** (certain): a frame of a collective or a wait on one is on the stack — ``torch.distributed``'s
  ``all_reduce``, ``barrier``, ``broadcast``, ``all_gather`` ... (``distributed_c10d.py``), DDP's own
  synchronisation (``_sync_buffers``, ``_sync_params``, ``_sync_module_states``, the join hooks),
  DeepSpeed's ``deepspeed.comm`` and Horovod's ``synchronize``, or a native frame naming gloo or NCCL. All
  of the sample's time counts: a rank inside a collective is not computing, whatever the bucket.
* **ddp-backward** (inferred): DDP all-reduces gradients from C++ hooks inside ``loss.backward()``; the
  rank then waits in ``torch.autograd``'s ``_engine_run_backward`` with no Python frame of its own. In a
  profile where DDP's ``forward`` ran, the *waiting* bucket of samples there counts (the native part is
  the backward's own compute). On a GPU the main thread also waits there for the device's backward, so
  with CUDA in the profile this part is flagged as mixed (``cuda_seen``).
"""

from __future__ import annotations

import re

from advisor.model import FrameKey, Profile

FRAME = "frame"
DDP_BACKWARD = "ddp-backward"

# function name (last part of the qualname) → the collective it is
_OPS = {
    "all_reduce": "all-reduce", "all_reduce_coalesced": "all-reduce", "allreduce": "all-reduce",
    "all_reduce_multigpu": "all-reduce", "_allreduce_fut": "all-reduce", "inference_all_reduce": "all-reduce",
    "all_gather": "all-gather", "all_gather_into_tensor": "all-gather", "_all_gather_base": "all-gather",
    "all_gather_object": "all-gather", "all_gather_coalesced": "all-gather", "allgather": "all-gather",
    "reduce_scatter": "reduce-scatter", "reduce_scatter_tensor": "reduce-scatter",
    "_reduce_scatter_base": "reduce-scatter", "reduce": "reduce",
    "broadcast": "broadcast", "broadcast_object_list": "broadcast", "_broadcast_coalesced": "broadcast",
    "_sync_params": "broadcast", "_sync_buffers": "broadcast", "_sync_module_states": "broadcast",
    "_sync_params_and_buffers": "broadcast", "_distributed_broadcast_coalesced": "broadcast",
    "_default_broadcast_coalesced": "broadcast", "_check_global_requires_backward_grad_sync": "all-reduce",
    "_match_all_reduce_for_bwd_pass": "all-reduce", "_match_unused_params_allreduce": "all-reduce",
    "barrier": "barrier", "monitored_barrier": "barrier", "_store_based_barrier": "barrier",
    "gather": "gather", "gather_object": "gather", "scatter": "scatter", "scatter_object_list": "scatter",
    "all_to_all": "all-to-all", "all_to_all_single": "all-to-all", "alltoall": "all-to-all",
    "send": "send/recv", "recv": "send/recv", "send_object_list": "send/recv", "recv_object_list": "send/recv",
    "wait": "wait", "synchronize": "wait", "wait_stream": "wait",
}
# Where those names mean a collective (a "reduce" or "wait" elsewhere is someone else's function).
_PLACES = ("/torch/distributed/", "/torch/nn/parallel/distributed.py", "/deepspeed/comm/", "/horovod/",
           "/torch/_functional_collectives", "/lightning/fabric/utilities/distributed.py")
# DDP's module also defines scatter/gather (moving inputs to devices): only its synchronisation counts.
_DDP_FILE = "/torch/nn/parallel/distributed.py"
_DDP_OPS = ("_sync", "_distributed_broadcast", "_check_global", "_match_")
_NATIVE = re.compile(r"gloo|nccl|ProcessGroup|c10d", re.IGNORECASE)
_BACKWARD = ("_engine_run_backward", "run_backward")
_AUTOGRAD = "/torch/autograd/"


def collective_op(key: FrameKey) -> str | None:
    """The collective a frame is (``all-reduce``, ``barrier``, ``broadcast`` ...), or None."""
    if key.kind != "python":
        return "native collective" if _NATIVE.search(key.qualname) or _NATIVE.search(key.file) else None
    path = key.file.replace("\\", "/")
    if not any(p in path for p in _PLACES):
        return None
    name = key.qualname.rpartition(".")[2]
    if path.endswith(_DDP_FILE) and not name.startswith(_DDP_OPS):
        return None
    return _OPS.get(name)


def _is_backward(key: FrameKey) -> bool:
    return key.qualname in _BACKWARD and _AUTOGRAD in key.file.replace("\\", "/")


def ddp_seen(profile: Profile) -> bool:
    """DistributedDataParallel ran in the measured step (its methods are on some step stack)."""
    ddp = {i for i, f in enumerate(profile.frames) if f.key.qualname.startswith("DistributedDataParallel.")
           and f.key.file.replace("\\", "/").endswith(_DDP_FILE)}
    return bool(ddp) and any(rec.region == "step" and not ddp.isdisjoint(rec.frames) for rec in profile.stacks)


def cuda_seen(profile: Profile) -> bool:
    """The run used CUDA (``environment.torch_cuda``: ``torch.cuda.is_initialized()`` at the end of the
    run): the backward's waiting may then be the GPU computing, not the other ranks."""
    return profile.environment.get("torch_cuda") is True


def frame_classes(profile: Profile) -> tuple[list[str | None], list[bool]]:
    """Per frame id: the collective it is (or None), and whether it is autograd's backward entry."""
    return ([collective_op(f.key) for f in profile.frames], [_is_backward(f.key) for f in profile.frames])
