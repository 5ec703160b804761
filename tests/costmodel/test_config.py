"""Config loading and validation: defaults cite docs/sources.md, presets load, every error is one line with
its key path, and nothing but ConfigError escapes the loader."""

import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.costmodel import PRESETS, load_config, preset_text
from advisor.costmodel.config import citations, defaults_text
from advisor.costmodel.types import CATEGORIES
from advisor.errors import ConfigError

SOURCES = Path(__file__).resolve().parents[2] / "docs" / "sources.md"
REQUIRED_TARGETS = {"mojo", "rust", "cpp", "cython", "numba", "cpython-jit", "numpy-vectorize", "accelerator"}


def _write(tmp_path, text, name="team.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _minimal(extra: str = "", cluster: str | None = None, team: str | None = None) -> str:
    cluster = cluster if cluster is not None else "nodes = 4\nprice_per_node_hour = 1.0\n"
    team = team if team is not None else "engineer_cost_per_week = 4000\n"
    return f"[cluster]\n{cluster}\n[team]\n{team}\n{extra}"


def test_builtin_defaults_model_every_required_target():
    cfg = load_config()
    assert REQUIRED_TARGETS <= set(cfg.targets)
    for t in cfg.targets.values():
        assert set(t.speedup) == set(CATEGORIES)
    assert cfg.is_builtin
    assert cfg.monthly_bill_usd == pytest.approx(10 * 0.578 * 730)
    assert cfg.thresholds.min_share == 0.05


def test_every_default_value_cites_a_source():
    for text in [defaults_text()] + [preset_text(p) for p in PRESETS]:
        data = tomllib.loads(text)
        cites = citations(text)
        flat = _flat(data)
        missing = [k for k in flat if k not in cites]
        assert not missing, f"values without a [citation]: {missing}"


@pytest.mark.parametrize("preset", [None, *PRESETS])
def test_every_citation_resolves_in_docs_sources(preset):
    text = SOURCES.read_text(encoding="utf-8")
    known = set(re.findall(r"^\|\s*([A-Z]\d+)\s*\|", text, flags=re.M))
    sections = set(re.findall(r"^#+\s*(\d+(?:\.\d+)?)\.?\s", text, flags=re.M))
    body = preset_text(preset) if preset else defaults_text()
    assert "VERIFY" not in body and "issue 5" not in body and "PRIORS" not in body
    for key, cite in citations(body).items():
        inside = cite[1:cite.index("]")]
        for token in re.split(r"[,\s]+", inside):
            if not token or token in ("ESTIMATE", "policy"):
                continue
            if token.startswith("§"):
                assert token[1:] in sections, f"{key}: unknown section {token}"
                continue
            for lo, hi in re.findall(r"([A-Z]\d+)(?:[–-]([A-Z]?\d+))?", token):
                assert lo in known, f"{key}: {lo} is not an id in docs/sources.md"


def test_presets_load_and_differ_only_in_cluster():
    base = tomllib.loads(defaults_text())
    for preset in PRESETS:
        cfg = load_config(preset=preset)
        data = tomllib.loads(preset_text(preset))
        assert {k: v for k, v in data.items() if k != "cluster"} == {k: v for k, v in base.items() if k != "cluster"}
        assert cfg.cluster.nodes >= 1
    assert tomllib.loads(preset_text("cpu-cluster")) == base
    assert load_config(preset="gpu-cluster").cluster.price_per_node_hour == 21.96


def test_user_file_overrides_and_adds_a_target(tmp_path):
    extra = """
[targets.zig]
name = "Zig (ctypes)"
kind = "port"
overhead_ns = [150, 250, 600]
effort_multiplier = 3.5
fixed_weeks = [1, 2, 3]
[targets.zig.speedup]
numeric-loop = [20, 50, 500]
object-heavy = [2, 5, 20]
small-numpy-calls = [2, 5, 20]
vectorized = [1, 1, 1.2]
strings = [2, 4, 10]
io-bound = [1, 1, 1]
mixed = [2, 5, 20]
[targets.rust]
effort_multiplier = 4.0
"""
    path = _write(tmp_path, _minimal(extra, cluster="monthly_bill_usd = 9000\n"))
    cfg = load_config(path)
    assert cfg.monthly_bill_usd == 9000
    assert cfg.targets["zig"].speedup["numeric-loop"].typical == 50
    assert cfg.targets["rust"].effort_multiplier == 4.0
    assert cfg.targets["rust"].overhead_ns.typical == 35  # the rest of rust keeps its defaults
    assert cfg.sources["targets.rust.effort_multiplier"].startswith(str(path))
    assert cfg.sources["targets.rust.overhead_ns"].startswith("docs/sources.md [B5")


@pytest.mark.parametrize("text, expected", [
    (_minimal(cluster="nodes = 4\nprize_per_node_hour = 1.0\n"),
     r"unknown key cluster\.prize_per_node_hour \(did you mean cluster\.price_per_node_hour\?\)"),
    (_minimal("[thresholds]\nmin_shar = 0.1\n"), r"thresholds\.min_shar \(did you mean thresholds\.min_share\?\)"),
    (_minimal("[clustr]\nnodes = 1\n"), r"unknown section \[clustr\] \(did you mean \[cluster\]\?\)"),
    (_minimal("[targets.rust.speedup]\nnumeric_loop = [1, 2, 3]\n"),
     r"targets\.rust\.speedup\.numeric_loop \(did you mean numeric-loop\?\)"),
    (_minimal(cluster='nodes = "ten"\n'), r"cluster\.nodes must be an integer, not a string"),
    (_minimal(cluster="nodes = 2.5\n"), r"cluster\.nodes must be an integer"),
    (_minimal(team="engineer_cost_per_week = true\n"), r"team\.engineer_cost_per_week must be a number, not a boolean"),
    (_minimal(cluster="price_per_node_hour = -0.5\n"), r"cluster\.price_per_node_hour cannot be negative"),
    (_minimal(cluster="accelerator_price_per_node_hour = -1\n"),
     r"cluster\.accelerator_price_per_node_hour cannot be negative"),
    (_minimal(cluster="monthly_bill_usd = -10\n"), r"cluster\.monthly_bill_usd cannot be negative"),
    (_minimal("[targets.rust.speedup]\nnumeric-loop = [60, 20, 650]\n"),
     r"targets\.rust\.speedup\.numeric-loop has low > typical"),
    (_minimal("[targets.rust]\noverhead_ns = [20, 80, 70]\n"), r"targets\.rust\.overhead_ns has typical > high"),
    (_minimal("[targets.rust]\noverhead_ns = [20, 80]\n"), r"targets\.rust\.overhead_ns must be \[low, typical, high\]"),
    (_minimal(team="weeks_per_100_loc = 0.5\n"), r"team\.weeks_per_100_loc must be \[low, typical, high\]"),
    ("[cluster]\nnodes = 2\n", r"missing section \[team\]"),
    ("[team]\nhorizon_months = 6\n", r"missing section \[cluster\]"),
    (_minimal("[job]\nstep_fraction = 1.5\n"), r"job\.step_fraction must be at most 1"),
    (_minimal("[team.x]\n"), r"unknown key team\.x"),
    (_minimal("[targets.rust]\nkind = \"prot\"\n"), r"targets\.rust\.kind must be one of .* \(did you mean port\?\)"),
    (_minimal("[targets.new]\nname = \"New\"\nkind = \"port\"\n"), r"targets\.new\.overhead_ns is missing"),
    (_minimal("[targets.cpython-jit]\nrequires_python = \"3\"\n"), r"targets\.cpython-jit\.requires_python"),
    ("cluster = 3\n[team]\n", r"cluster must be a table"),
    ("[cluster\nnodes = 1\n", r"not valid TOML"),
    # Absurd or non-finite numbers (issue 12): refused naming the key, never carried into costs as inf.
    (_minimal(cluster="price_per_node_hour = 1e308\n"),
     r"cluster\.price_per_node_hour must be at most 100000 \(got 1e\+308\)"),
    (_minimal(cluster="price_per_node_hour = inf\n"), r"cluster\.price_per_node_hour must be a finite number"),
    (_minimal(cluster="price_per_node_hour = nan\n"), r"cluster\.price_per_node_hour must be a finite number"),
    (_minimal(cluster="nodes = 9223372036854775807\n"), r"cluster\.nodes must be at most 1e\+06"),
    (_minimal(cluster="monthly_bill_usd = 1e300\n"), r"cluster\.monthly_bill_usd must be at most"),
    (_minimal(team="engineer_cost_per_week = 1e200\n"), r"team\.engineer_cost_per_week must be at most"),
    (_minimal(team="horizon_months = 1e308\n"), r"team\.horizon_months must be at most 1200"),
    (_minimal("[targets.rust.speedup]\nnumeric-loop = [1, 2, 1e308]\n"),
     r"targets\.rust\.speedup\.numeric-loop must be at most 1e\+06"),
    (_minimal("[targets.rust]\noverhead_ns = [1, 2, inf]\n"), r"targets\.rust\.overhead_ns must be a finite number"),
])
def test_each_config_error_is_one_line_naming_the_key(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert re.search(expected, msg), msg
    assert info.value.exit_code == 2


def test_unreadable_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00[cluster]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_unknown_preset_suggests_one():
    with pytest.raises(ConfigError, match="did you mean gpu-cluster"):
        preset_text("gpu-clustr")


# ---- fuzz: mutate one value of a valid file; only ConfigError may come out ------------------------------

def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return json.dumps(v)
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def _dump(data) -> str:
    lines = []

    def table(prefix, d):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f'"{k}" = {_toml_value(v)}' for k, v in scalars.items())
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines) + "\n"


values = st.one_of(st.integers(-10, 10**6), st.floats(-1e6, 1e6, allow_nan=False), st.text(max_size=5),
                   st.booleans(), st.lists(st.floats(-10, 1e4, allow_nan=False), max_size=4))
BASE = tomllib.loads(defaults_text())
KEYS = sorted(_flat(BASE))


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(KEYS), value=values)
def test_mutated_configs_raise_only_config_error(tmp_path_factory, key, value):
    data = json.loads(json.dumps(BASE))
    node = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value
    path = tmp_path_factory.mktemp("fuzz") / "c.toml"
    path.write_text(_dump(data))
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert cfg.monthly_bill_usd >= 0
