"""A small DDP model trained on CPU with the gloo backend; one rank does extra work each step on purpose.

Run under torchrun (it reads RANK, WORLD_SIZE, MASTER_ADDR from the environment):

    torchrun --standalone --nproc-per-node 2 -m advisor profile --out runs/ddp tests/merge/train_ddp.py

Rank ``--slow-rank`` spends ``--extra-ms`` more per step in ``slow_part`` (pure Python, timed by the clock so
a busy machine cannot shrink it); the other ranks reach DDP's gradient all-reduce first and wait for it
there. Every ``--log-every`` steps the loss is averaged over ranks with an explicit all_reduce, as training
scripts do for logging.
"""

import argparse
import time

import torch
import torch.distributed as dist
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--slow-rank", type=int, default=1)
parser.add_argument("--extra-ms", type=float, default=40.0)
parser.add_argument("--log-every", type=int, default=10)
args = parser.parse_args()

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
ddp = nn.parallel.DistributedDataParallel(model)
opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
x = torch.randn(32, 64)
y = torch.randint(0, 10, (32,))


def slow_part():
    """Extra pure-Python work only the slow rank does (say, per-rank metrics nobody needed)."""
    end = time.perf_counter() + args.extra_ms / 1e3
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def train_step(i):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(ddp(x), y)
    if rank == args.slow_rank:
        slow_part()
    loss.backward()
    opt.step()
    if args.log_every and i % args.log_every == 0:
        avg = loss.detach().clone()
        dist.all_reduce(avg)
        return float(avg) / dist.get_world_size()
    return None


for i in range(args.steps):
    train_step(i)
dist.destroy_process_group()
