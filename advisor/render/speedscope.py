"""``--export speedscope``: the profile as a speedscope "sampled" file (https://www.speedscope.app).

One profile per region (the measured step, warm-up, outside the step), weights in seconds, so the
step opens in the viewer people already use.
"""

from __future__ import annotations

import json

from advisor.model import Profile

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def render_speedscope(profile: Profile) -> str:
    """Return the speedscope JSON document for ``profile``."""
    frames = [{"name": f.key.qualname, "file": f.key.file, "line": f.key.line} for f in profile.frames]
    profiles = []
    for region in ("step", "warmup", "outside"):
        recs = [r for r in profile.stacks if r.region == region and r.split.total > 0]
        if not recs:
            continue
        total = sum(r.split.total for r in recs)
        profiles.append({
            "type": "sampled", "name": f"{profile.command.target} — {region}", "unit": "seconds",
            "startValue": 0, "endValue": total,
            "samples": [list(r.frames) for r in recs], "weights": [r.split.total for r in recs],
        })
    doc = {"$schema": SCHEMA, "shared": {"frames": frames}, "profiles": profiles,
           "name": f"advisor: {profile.command.target}", "exporter": "advisor", "activeProfileIndex": 0}
    return json.dumps(doc)
