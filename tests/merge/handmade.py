"""Hand-built rank profiles with numbers worked out by hand (see test_merge.py)."""

from __future__ import annotations

from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo

TORCH = "/venv/lib/python3.11/site-packages/torch"
FRAMES = (
    Frame(FrameKey("/w/train.py", "<module>", 1), True),                                           # 0
    Frame(FrameKey("/w/train.py", "train_step", 10), True),                                        # 1
    Frame(FrameKey("/w/train.py", "slow_part", 20), True),                                         # 2
    Frame(FrameKey(f"{TORCH}/nn/parallel/distributed.py", "DistributedDataParallel.forward", 1600), False),  # 3
    Frame(FrameKey(f"{TORCH}/autograd/graph.py", "_engine_run_backward", 820), False),            # 4
    Frame(FrameKey(f"{TORCH}/distributed/c10d_logger.py", "_exception_logger.<locals>.wrapper", 80), False),  # 5
    Frame(FrameKey(f"{TORCH}/distributed/distributed_c10d.py", "all_reduce", 2800), False),       # 6
    Frame(FrameKey("/w/data.py", "read_shard", 5), True),                                          # 7
)
STEPS = 10


def rank_profile(rank: int, slow_s: float = 0.0, backward_wait_s: float = 2.0, all_reduce_s: float = 0.5,
                 ddp: bool = True, run_id: str | None = "run-1", host: str = "node-a", world: int = 2,
                 started_at: str = "2026-01-01T00:00:00", io_s: float = 0.0) -> Profile:
    """One rank's profile: 10 measured steps, every figure in seconds over all steps.

    train_step itself 1.0 s interpreted; DDP forward 0.2 s native (or a plain forward without ``ddp``);
    backward 0.3 s native + ``backward_wait_s`` waiting; an explicit all_reduce ``all_reduce_s`` waiting;
    ``slow_s`` interpreted in slow_part; ``io_s`` waiting in read_shard (a file read: not a collective).
    """
    fwd = 3 if ddp else 1
    stacks = [
        StackRecord((0, 1), (1, 11), "step", Split(interpreted=1.0), 200),
        StackRecord((0, 1, fwd) if ddp else (0, 1), (1, 12, 1601) if ddp else (1, 12), "step", Split(native=0.2), 40),
        StackRecord((0, 1, 4), (1, 13, 821), "step", Split(native=0.3, waiting=backward_wait_s), 100),
        StackRecord((0, 1, 5, 6), (1, 14, 81, 2801), "step", Split(waiting=all_reduce_s), 100),
        StackRecord((0,), (2,), "outside", Split(interpreted=3.0), 600),
    ]
    if slow_s:
        stacks.append(StackRecord((0, 1, 2), (1, 15, 21), "step", Split(interpreted=slow_s), 400))
    if io_s:
        stacks.append(StackRecord((0, 1, 7), (1, 16, 6), "step", Split(waiting=io_s), 100))
    total = sum(s.split.total for s in stacks if s.region == "step")
    step = StepInfo(1, "auto", "auto", STEPS + 1, 1, (total / STEPS,) * STEPS, "sampled")
    env: dict = {"python": "3.11.0", "hostname": host}
    if run_id is not None or world:
        env["distributed"] = {"rank": rank, "world_size": world, "local_rank": rank, "local_world_size": world,
                              "node_rank": 0, "run_id": run_id}
    return Profile("sample", 0.005, {"target": "train.py", "kind": "script", "args": []}, env, started_at, 10.0,
                   Outcome(0, "exit"), FRAMES, tuple(stacks), step, ())
