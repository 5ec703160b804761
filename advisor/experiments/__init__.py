"""``advisor try``: run the cheap fixes on the team's own step and measure them.

Each experiment is a fresh run of the unmodified script in its own process, with the change applied by
advisor inside that process before the script starts (``child.py`` reads ``ADVISOR_EXPERIMENT``).
Baseline and experiment runs alternate (A B A B ...); the step times come from each run's profile.json.

Modules, in the order data flows:
    plan.py          which experiments apply to a profile's advice, and what the cost model predicts
    driver.py        runs baseline and experiment processes in rounds, within a time budget
    child.py         the experiment process: applies the experiment, then runs ``advisor profile``
    apply.py         the in-process hook (a profile function until the step's warm-up is over)
    jit.py           the numba swap and its first-call agreement check
    interpreters.py  another CPython with the JIT, when one is installed
    timing.py        median ratio, spread and the noise rule (pure functions)
    results.py       ``Tryout`` and tryouts.json
    session.py       plan, run, save tryouts.json, then advise again with the measurements

The cost model, not this package, decides what a measurement replaces (``costmodel/measured.py``).
"""
