"""``--mode pyinstrument``: pyinstrument's setprofile sampler, converted to the same RawCapture.

pyinstrument records a wall-clock stack every interval, with C functions as leaf frames
(``name\\x00<built-in>\\x000``). A C leaf is native (waiting when it is a blocking call such as sleep
or read); any other leaf is interpreted. It has no per-thread CPU clock and no GC timing, and its hook
slows Python code only, so it overstates interpreted time; the session is also saved as a
``.pyisession`` so it opens in pyinstrument's own viewer.
"""

from __future__ import annotations

from advisor.capture.deterministic import WAITING_NAMES
from advisor.capture.raw import RawCapture, RawSample
from advisor.model import FrameKey, Split


def parse_identifier(ident: str) -> tuple[FrameKey, int]:
    """pyinstrument frame identifier → (FrameKey, line); attributes after \\x01 give the line."""
    main, _, attrs = ident.partition("\x01")
    parts = main.split("\x00")
    name = parts[0] if parts else "?"
    file = parts[1] if len(parts) > 1 else "?"
    try:
        first = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        first = 0
    line = first
    for attr in attrs.split("\x01") if attrs else []:
        if attr.startswith("l"):
            try:
                line = int(attr[1:])
            except ValueError:
                pass
    if file == "<built-in>":
        return FrameKey("<built-in>", name, 0, "native"), 0
    return FrameKey(file, name, first), line


class PyinstrumentProfiler:
    """Runs pyinstrument's Profiler; ``to_raw`` converts its frame records."""

    def __init__(self, interval_s: float) -> None:
        from pyinstrument import Profiler

        self.interval_s = interval_s
        self.profiler = Profiler(interval=interval_s)

    def start(self) -> None:
        self.profiler.start()

    def stop(self) -> None:
        self.session = self.profiler.stop()

    def to_raw(self) -> RawCapture:
        samples = []
        prev: tuple[FrameKey, ...] = ()
        t = 0.0
        for stack, dt in self.session.frame_records:
            parsed = [parse_identifier(s) for s in stack]
            keys = tuple(k for k, _ in parsed)
            lines = tuple(ln for _, ln in parsed)
            leaf = keys[-1] if keys else None
            if leaf is not None and leaf.kind == "native":
                split = Split(waiting=dt) if WAITING_NAMES.search(leaf.qualname) else Split(native=dt)
            else:
                split = Split(interpreted=dt)
            same = 0
            while same < min(len(keys), len(prev)) and keys[same] == prev[same]:
                same += 1
            t += dt
            samples.append(RawSample(t, split, keys, lines, same))
            prev = keys
        return RawCapture("pyinstrument", self.interval_s, samples,
                          warnings=["pyinstrument mode: native = C leaf frames, waiting = blocking C calls "
                                    "by name; no CPU clock, no GC timing; its hook slows Python code only"])
