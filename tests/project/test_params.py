"""``params.yaml`` stays in the form DVC writes it, and every key is documented.

``dvc exp run -S key=value`` rewrites ``params.yaml`` through DVC's YAML writer
(``dvc.utils.hydra.apply_overrides``: ``dvc.utils.serialize.modify_yaml``, ruamel.yaml
round-trip, block style). A file already in that form comes back unchanged but for the
value set, so an experiment's ``params.yaml`` diff is one line. The documentation that
used to be comments in the file is ``docs/parameters.md``.
"""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from analysis.core.paths import ROOT

PARAMS = ROOT / "params.yaml"
DOCS = ROOT / "docs" / "parameters.md"
ROW = re.compile(r"^\| `([a-z0-9_.]+)` \|(.*)\|\s*$")


def _leaves(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def _documented() -> dict[str, list[str]]:
    """``key -> cells`` of every table row of docs/parameters.md."""
    rows = {}
    for line in DOCS.read_text("utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = [c.strip() for c in match.group(2).split("|")]
    return rows


def _stages_using(key: str) -> set[str]:
    """Stages of dvc.yaml whose ``params:`` cover ``key`` (the key or a section above it)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text("utf-8"))["stages"]
    return {
        name
        for name, spec in stages.items()
        for entry in spec.get("params", [])
        if isinstance(entry, str) and (key == entry or key.startswith(entry + "."))
    }


def test_every_parameter_is_documented_with_its_stages():
    params = yaml.safe_load(PARAMS.read_text("utf-8"))
    rows = _documented()
    missing = []
    for leaf in _leaves(params):
        # A mapping of shares (e.g. referral_source_probs) is one row naming its keys.
        key = next((k for k in rows if leaf == k or leaf.startswith(k + ".")), None)
        if key is None or (key != leaf and f"`{leaf.rsplit('.', 1)[1]}`" not in rows[key][0]):
            missing.append(leaf)
    assert not missing, f"docs/parameters.md does not document: {missing}"
    stale = [
        k
        for k in rows
        if not any(leaf == k or leaf.startswith(k + ".") for leaf in _leaves(params))
    ]
    assert not stale, f"docs/parameters.md documents keys params.yaml does not have: {stale}"
    for key, (meaning, unit, stages) in rows.items():
        assert meaning and unit, f"{key}: give its meaning and its unit or allowed values"
        listed = set(re.findall(r"`([a-z_]+)`", stages))
        assert listed == _stages_using(key), (
            f"docs/parameters.md: `{key}` is used by the stages {sorted(_stages_using(key))} "
            f"(dvc.yaml params), the table says {sorted(listed)}"
        )


def _dvc_rewrite(path: Path, overrides: list[str]) -> str:
    """What ``dvc exp run -S <overrides>`` makes of ``path`` (DVC's own writer)."""
    from dvc.utils.hydra import apply_overrides

    apply_overrides(path, overrides)
    return path.read_text("utf-8")


def test_params_yaml_round_trips_through_dvcs_yaml_writer():
    from dvc.utils.serialize import dumps_yaml, parse_yaml_for_update

    text = PARAMS.read_text("utf-8")
    dumped = dumps_yaml(parse_yaml_for_update(text, str(PARAMS)))
    diff = "".join(difflib.unified_diff(text.splitlines(True), dumped.splitlines(True), n=1))
    assert dumped == text, (
        "params.yaml is not in the form DVC writes it (an experiment would rewrite it); "
        "see docs/parameters.md for the command that restores the form:\n" + diff[:3000]
    )


@pytest.mark.parametrize(
    "override",
    ["synthetic.seed=7", "report.suppression_threshold=5", "synthetic.calibration.age_mean=15.0"],
)
def test_an_experiment_changes_one_line_of_params_yaml(tmp_path, override: str):
    copy = tmp_path / "params.yaml"
    shutil.copy(PARAMS, copy)
    before = PARAMS.read_text("utf-8").splitlines()
    after = _dvc_rewrite(copy, [override]).splitlines()
    diff = list(difflib.unified_diff(before, after, n=0, lineterm=""))[2:]
    changed = [line for line in diff if line[:1] in "+-"]
    key, value = override.rsplit("=", 1)
    assert len(changed) == 2, f"dvc exp run -S {override} changes more than one line:\n{changed}"
    assert changed[1][1:].strip() == f"{key.rsplit('.', 1)[1]}: {value}"
    # ... and setting the value back restores the file byte for byte.
    original = yaml.safe_load(PARAMS.read_text("utf-8"))
    for part in key.split("."):
        original = original[part]
    assert _dvc_rewrite(copy, [f"{key}={original}"]) == PARAMS.read_text("utf-8")
