"""The corpus: real public training scripts (see SOURCES.md), how to run each on synthetic data, and the
truth the profile is checked against: which step the script's own loop runs, and how many times.

A truth is either a function (``qualname``, one call per step) or a loop (the script file and the exact
text of its ``for``/``while`` line: one iteration per step). ``steps`` is what the script's own loop runs
with these arguments and sizes, worked out from them (never measured).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
SHIMS = HERE / "shims"


@dataclass(frozen=True)
class Case:
    name: str
    script: str  # relative to scripts/
    args: tuple[str, ...]
    steps: int
    loop: str | None = None  # the loop line's text, when the step is a loop body
    loop_file: str | None = None  # the file holding that loop, when not ``script`` (relative to scripts/)
    function: str | None = None  # the qualname, when the step is a function
    torch: bool = False
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], tuple[str, ...]] | None = None  # writes data into tmp, returns extra args

    def loop_line(self) -> int:
        """The line number of the truth loop in the copied script."""
        for n, text in enumerate((SCRIPTS / (self.loop_file or self.script)).read_text().splitlines(), 1):
            if text.strip() == self.loop:
                return n
        raise LookupError(f"{self.name}: loop line {self.loop!r} not in {self.loop_file or self.script}")


def _solved_after(episodes: int, length: int) -> str:
    """A reward threshold the scripts' running reward (0.05 * ep + 0.95 * r, from 10) first passes after
    ``episodes`` episodes of ``length`` steps each."""
    r, seen = 10.0, []
    for _ in range(episodes):
        r = 0.05 * length + 0.95 * r
        seen.append(r)
    return repr((seen[-2] + seen[-1]) / 2)


def _wikitext(tmp: Path) -> tuple[str, ...]:
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(300)]
    data = tmp / "data"
    data.mkdir()
    for split, lines in (("train", 1400), ("valid", 100), ("test", 100)):
        text = "\n".join(" ".join(rng.choice(vocab) for _ in range(19)) for _ in range(lines))
        (data / f"{split}.txt").write_text(text + "\n")
    return ("--data", str(data), "--save", str(tmp / "model.pt"))


def _wikitext_steps(batch_size: int = 20, bptt: int = 35) -> int:
    tokens = 1400 * 20  # 19 words + <eos> per line
    rows = tokens // batch_size
    return len(range(0, rows - 1, bptt))


def _names(tmp: Path) -> tuple[str, ...]:
    rng = random.Random(0)
    words = {"".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
             for _ in range(3000)}
    (tmp / "names.txt").write_text("\n".join(sorted(words)) + "\n")
    return ("-i", str(tmp / "names.txt"), "-o", str(tmp / "out"))


def _outf(tmp: Path) -> tuple[str, ...]:
    return ("--outf", str(tmp))


CASES: tuple[Case, ...] = (
    Case("mnist", "mnist/main.py", ("--epochs", "1", "--batch-size", "16", "--log-interval", "25"),
         steps=50, loop="for batch_idx, (data, target) in enumerate(train_loader):", torch=True,
         env={"CORPUS_N": str(16 * 50), "CORPUS_N_TEST": "100"}),
    Case("vae", "vae/main.py", ("--epochs", "2", "--batch-size", "128", "--log-interval", "25"),
         steps=2 * 40, loop="for batch_idx, (data, _) in enumerate(train_loader):", torch=True,
         env={"CORPUS_N": str(128 * 40), "CORPUS_N_TEST": "256"}),
    Case("dcgan", "dcgan/main.py", ("--dataset", "fake", "--batchSize", "16", "--ngf", "16", "--ndf", "16",
                                    "--niter", "1", "--workers", "0", "--manualSeed", "1"),
         steps=20, loop="for i, data in enumerate(dataloader, 0):", torch=True,
         env={"CORPUS_N": str(16 * 20)}, setup=_outf),
    Case("reinforce", "reinforce/reinforce.py", ("--log-interval", "10"), steps=30,
         loop="for i_episode in count(1):", torch=True,
         env={"CORPUS_EPISODE_LEN": "100", "CORPUS_THRESHOLD": _solved_after(30, 100)}),
    Case("actor_critic", "actor_critic/actor_critic.py", ("--log-interval", "10"), steps=30,
         loop="for i_episode in count(1):", torch=True,
         env={"CORPUS_EPISODE_LEN": "100", "CORPUS_THRESHOLD": _solved_after(30, 100)}),
    Case("word_language_model", "word_language_model/main.py",
         ("--epochs", "1", "--emsize", "64", "--nhid", "64", "--log-interval", "20"),
         steps=_wikitext_steps(), loop="for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):",
         torch=True, setup=_wikitext),
    Case("makemore", "makemore/makemore.py", ("--max-steps", "60", "--num-workers", "0", "--n-layer", "2"),
         steps=60, loop="while True:", torch=True, setup=_names),
    Case("cnn_from_scratch", "cnn_from_scratch/cnn.py", (), steps=3 * 80, function="train",
         env={"CORPUS_N": "80"}),
    Case("nielsen_network", "nielsen_network/run.py", ("6000", "2", "100"), steps=2 * math.ceil(6000 / 100),
         function="Network.update_mini_batch"),
    Case("mlfs_mlp", "mlfs_mlp/run.py", ("3000", "600"), steps=600,
         loop="for i in range(self.n_iterations):", loop_file="mlfs_mlp/multilayer_perceptron.py"),
    Case("micrograd_demo", "micrograd_demo/demo.py", ("30", "20"), steps=20, loop="for k in range(n_steps):"),
)


def environment(case: Case) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SHIMS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(case.env)
    env.setdefault("OMP_NUM_THREADS", "1")  # a shared 2-core machine: no BLAS / intra-op spinning
    env["MPLBACKEND"] = "Agg"
    return env
