"""The experiment process: ``python -m advisor.experiments.child profile ... SCRIPT ARGS``.

Exactly ``advisor profile`` with one addition: before the script starts, the experiment named in
``ADVISOR_EXPERIMENT`` is installed on this thread (``apply.install_from_env``, the one hook point). The
parent (``driver.py``) reads this run's profile.json for the step times and the hook's report for what
was applied.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from advisor.cli import run
    from advisor.experiments.apply import install_from_env

    hook = install_from_env()
    try:
        return run(argv)
    finally:
        sys.setprofile(None)
        if hook is not None:
            hook.finish_run()


if __name__ == "__main__":
    sys.exit(main())
