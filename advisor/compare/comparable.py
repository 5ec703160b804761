"""What would make a before/after comparison mislead, found before any number is compared.

``refusals`` are differences that change what the numbers mean (sampling mode or interval, machine,
Python, the step itself): ``compare`` refuses them unless forced, and then says so in the report.
``notes`` are differences that are normalised (warm-up, step count, script arguments, library versions)
and only need saying. CPython's first diff flame graph compared runs across exactly these differences.
"""

from __future__ import annotations

from advisor.model import Profile

INTERVAL_TOLERANCE = 0.01  # relative: 0.005 vs 0.00505 is the same setting
_MACHINE_KEYS = (("machine", "architecture"), ("cpu_model", "CPU"), ("cores", "core count"))


def _minor(version: object) -> str:
    return ".".join(str(version).split(".")[:2])


def step_label(p: Profile) -> str:
    """The step as a name: its function, ``loop in f`` for a loop step, ``(none)`` without one."""
    if p.step is None:
        return "(none)"
    name = p.frames[p.step.frame].key.qualname
    return f"loop in {name}" if p.step.loop_lines is not None else name


def differences(before: Profile, after: Profile) -> tuple[list[str], list[str]]:
    """``(refusals, notes)``: one sentence each, naming both values."""
    refusals: list[str] = []
    notes: list[str] = []
    if before.mode != after.mode:
        refusals.append(f"sampling mode differs (before {before.mode}, after {after.mode}): overheads and "
                        "shares are not comparable")
    elif abs(before.interval_s - after.interval_s) > INTERVAL_TOLERANCE * max(before.interval_s, after.interval_s):
        refusals.append(f"sampling interval differs (before {before.interval_s * 1e3:g} ms, after "
                        f"{after.interval_s * 1e3:g} ms): overhead and the functions short enough to be "
                        "missed differ; profile both with the same --interval")
    eb, ea = before.environment, after.environment
    if (_minor(eb.get("python")), eb.get("implementation")) != (_minor(ea.get("python")), ea.get("implementation")):
        refusals.append(f"Python differs (before {eb.get('implementation', '?')} {eb.get('python', '?')}, "
                        f"after {ea.get('implementation', '?')} {ea.get('python', '?')})")
    for key, what in _MACHINE_KEYS:
        if eb.get(key) != ea.get(key):
            refusals.append(f"machine differs: {what} before {eb.get(key)!s}, after {ea.get(key)!s}")
            break
    if (before.step is None) != (after.step is None) or (
            before.step is not None and after.step is not None
            and (before.step.loop_lines is None) != (after.step.loop_lines is None)):
        refusals.append(f"the step differs (before {step_label(before)}, after {step_label(after)}): per-step "
                        "times measure different things; name it with --step in both runs")
    notes += _normalised(before, after)
    return refusals, notes


def _normalised(before: Profile, after: Profile) -> list[str]:
    notes = []
    if before.step is not None and after.step is not None and before.step.warmup != after.step.warmup:
        notes.append(f"warm-up differs (before {before.step.warmup}, after {after.step.warmup} steps dropped): "
                     "times are per measured step, so warm-up is excluded on both sides")
    if before.command.args != after.command.args:
        notes.append(f"script arguments differ (before {' '.join(before.command.args)!r}, "
                     f"after {' '.join(after.command.args)!r}): times are per step")
    lb, la = before.environment.get("libraries", {}), after.environment.get("libraries", {})
    if isinstance(lb, dict) and isinstance(la, dict):
        # A library only one side imported is not a version change (the script imports it or not).
        changed = [f"{n} {lb[n]} → {la[n]}" for n in sorted(set(lb) & set(la)) if lb[n] != la[n]]
        if changed:
            notes.append("library versions differ: " + ", ".join(changed))
    return notes
