"""params.yaml's evaluation years are checked before any work starts (issue: new years)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import make_repo_copy, pipeline_env

from analysis.core import checks, paths
from analysis.core.errors import UserError
from analysis.runner.cli import main

ALL = ["2013-14", "2014-15", "2015-16", "2016-17"]


def test_the_synthetic_programme_covers_its_four_years():
    assert checks.synthetic_years() == ALL


@pytest.mark.parametrize(
    ("years", "expected"),
    [
        (["2017/18"], "not an evaluation year"),
        (["2014-16"], "not an evaluation year"),
        (["2014-15", "2014-15"], "listed twice"),
        (["2015-16", "2014-15"], "out of order"),
        ([], "empty"),
        (["2016-17", "2017-18"], "2017-18: no return covers this year yet"),
    ],
)
def test_bad_years_get_one_message_saying_what_to_do(years, expected):
    with pytest.raises(UserError, match=expected) as info:
        checks.check_years({"years": years, "data": {"source": "synthetic"}})
    assert "Nothing was run" in str(info.value)


def test_the_project_params_and_dvc_file_pass():
    params = yaml.safe_load(paths.PARAMS_FILE.read_text("utf-8"))
    assert checks.check_years(params, dvc_file=paths.ROOT / "dvc.yaml") == ALL


def test_a_year_missing_from_dvc_yaml_names_what_to_add(tmp_path: Path):
    stages = yaml.safe_load((paths.ROOT / "dvc.yaml").read_text("utf-8"))
    stages["stages"]["analyse"]["outs"].remove("data/interim/2016-17")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(stages), "utf-8")
    problems = checks.dvc_year_problems(ALL, tmp_path / "dvc.yaml")
    assert problems == ["dvc.yaml stage 'analyse' must list data/interim/2016-17 under outs"]


def test_real_data_years_come_from_the_returns_received(tmp_path: Path):
    import pandas as pd

    pd.DataFrame({"evaluation_year": ["2014-15", "2015-16", "2015-16"]}).to_parquet(
        tmp_path / "returns.parquet"
    )
    assert checks.covered_years("real", tmp_path) == ["2014-15", "2015-16"]
    assert checks.covered_years("real", None) is None
    with pytest.raises(UserError, match="the returns cover 2014-15 to 2015-16"):
        checks.check_years(
            {"years": ["2016-17"], "data": {"source": "real"}}, processed_dir=tmp_path
        )


def test_cli_year_arguments_are_checked_without_a_traceback(capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyse", "data/processed", "2017/18", "out"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "not an evaluation year" in err and "Traceback" not in err


def test_every_cli_argument_has_help_text():
    from analysis.runner.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "step")
    for name, step in sub.choices.items():
        for action in step._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} has no help text"


@pytest.mark.pipeline
def test_adding_an_uncovered_year_stops_before_any_stage_and_leaves_nothing(tmp_path: Path):
    """2017-18 on the default data: refused by the first stage, in seconds."""
    root = make_repo_copy(tmp_path / "repo", {})
    params = yaml.safe_load((root / "params.yaml").read_text("utf-8"))
    params["years"].append("2017-18")
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")
    before = {p for p in root.rglob("*") if ".dvc" not in p.parts}
    start = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), "repro"],
        cwd=root,
        env=pipeline_env(root),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "2017-18: no return covers this year yet" in out, out[-3000:]
    assert "Traceback" not in out
    for stage in ("synthesise", "clean", "analyse", "report"):
        assert f"Running stage '{stage}'" not in out
    after = {p for p in root.rglob("*") if ".dvc" not in p.parts and p.name != "dvc.lock"}
    assert after <= before, sorted(map(str, after - before))
    assert elapsed < 60  # measured (about 3 s) in bench/README.md, never asserted tightly
