"""A per-character Python loop over text against one C-level string operation (docs/sources.md M3).

    python -m benchmarks.string_ops

Prints, for an ASCII text and a text with non-ASCII words, how many times faster ``str.translate`` and a
precompiled regex are than the loop (best of 15 timings of 200 calls each). The same text cleaning in
all three; the loop is the one ``sample_workloads/input_pipeline.py`` uses.
"""

from __future__ import annotations

import random
import re
import time

PUNCT = set(".,;:!?'\"()-")
TABLE = str.maketrans("", "", ".,;:!?'\"()-")
RX = re.compile(r"[.,;:!?'\"()\-]+")


def loop(text: str) -> str:
    out = []
    for ch in text:
        if ch in PUNCT:
            continue
        out.append(ch.lower())
    return "".join(out)


def translate(text: str) -> str:
    return text.translate(TABLE).lower()


def regex(text: str) -> str:
    return RX.sub("", text).lower()


def _best(fn, text: str) -> float:
    best = float("inf")
    for _ in range(15):
        t = time.perf_counter()
        for _ in range(200):
            fn(text)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    rnd = random.Random(0)
    words = ["alpha", "beta,", "gamma.", "delta!", "(eps)", "zeta;", "eta", "theta-", "iota?", "kappa"]
    texts = {"ASCII": " ".join(rnd.choice(words) for _ in range(200)),
             "non-ASCII words": " ".join(rnd.choice(words + ["naïve,", "café.", "straße", "Ελλάδα;", "日本語!"])
                                         for _ in range(200))}
    for name, text in texts.items():
        assert loop(text) == translate(text) == regex(text)
        base = _best(loop, text)
        print(f"{name}: str.translate {base / _best(translate, text):.1f}x, "
              f"precompiled regex {base / _best(regex, text):.1f}x faster than the per-character loop")


if __name__ == "__main__":
    main()
