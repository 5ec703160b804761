"""A step that is a loop body (nanoGPT/makemore style) is found, named, and holds backward too."""

import textwrap

from advisor.analysis import analyze
from advisor.analysis.loopstep import innermost_loop
from advisor.api import ProfileOptions, profile_script
from advisor.capture.runner import Target

INLINE = textwrap.dedent("""
    import time

    def forward():
        time.sleep(0.004)

    def backward_inline_work():
        s = 0
        for i in range(150000):
            s += i
        return s

    for it in range(30):
        forward()
        time.sleep(0.004)          # stands for loss.backward(): no Python frame of its own
        backward_inline_work()
    print("done")
""")


def test_innermost_loop_span():
    assert innermost_loop(INLINE, 14) == (13, 16, "for")
    assert innermost_loop(INLINE, 10) == (9, 10, "for")
    assert innermost_loop(INLINE, 3) is None


def test_inline_loop_becomes_the_step(tmp_path):
    path = tmp_path / "inline.py"
    path.write_text(INLINE)
    prof = profile_script(Target("script", str(path), ()), out_dir=tmp_path / "o")
    assert prof.step is not None and prof.step.loop_lines == (13, 16), prof.step
    a = analyze(prof)
    assert a.step_name == "loop at inline.py:13"
    assert "the for loop at inline.py:13" in prof.step.reason
    names = {h.key.qualname for h in a.hotspots}
    assert {"forward", "backward_inline_work", "<module>"} <= names  # the whole body, not forward only
    assert 20 <= prof.step.calls <= 30


def test_explicit_loop_step(tmp_path):
    path = tmp_path / "inline.py"
    path.write_text(INLINE)
    prof = profile_script(Target("script", str(path), ()), ProfileOptions(step="inline.py:14"), out_dir=tmp_path / "o")
    assert prof.step is not None and prof.step.loop_lines == (13, 16)
    assert prof.step.chosen_by == "--step"
