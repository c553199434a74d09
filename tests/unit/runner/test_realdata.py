"""Real-data mode's checks, made before anything is read or written (issue 19's findings:
a data folder symlinked into the repository, a raw folder inside it, a path with an
apostrophe that failed late). The end-to-end run is in tests/pipeline/test_real_data.py.
Every folder and symlink is made at test time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from analysis.clean.pseudonymise import KEY_FILE_ENV
from analysis.core import paths
from analysis.core.errors import UserError
from analysis.runner import realdata
from analysis.runner.cli import main as cli_main

ROOT = paths.REPOSITORY
MINIMAL = paths.TESTS_DIR / "data" / "minimal"


def _folder(base: Path, name: str = "real data 'Ünïcode' \"q\" $HOME") -> Path:
    folder = base / name
    (folder / "data").mkdir(parents=True)
    shutil.copytree(MINIMAL, folder / "data" / "raw")
    return folder


def _snapshot(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_a_good_folder_passes_every_check_and_nothing_is_written(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    before = _snapshot(folder)
    ws = realdata.plan(folder)
    assert ws.root == folder.resolve() and not ws.synthetic
    assert ws.params["data"]["source"] == "real"
    assert cli_main(["real-data", str(folder), "--check"]) == 0
    assert _snapshot(folder) == before


def test_the_folder_from_hubspoke_data_root(tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setenv(paths.DATA_ROOT_ENV, str(folder))
    assert realdata.plan(None).root == folder.resolve()
    monkeypatch.delenv(paths.DATA_ROOT_ENV)
    with pytest.raises(UserError, match="HUBSPOKE_DATA_ROOT"):
        realdata.plan(None)


def test_a_folder_symlinked_into_the_repository_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "secure"
    link.symlink_to(ROOT / "notebooks")
    before = _snapshot(ROOT / "notebooks")
    with pytest.raises(paths.UnsafePathError, match="resolves to .*inside the repository"):
        realdata.plan(link)
    assert _snapshot(ROOT / "notebooks") == before


def test_a_folder_holding_the_repository_is_refused() -> None:
    with pytest.raises(paths.UnsafePathError, match="contains the repository"):
        realdata.plan(ROOT.parent)


def test_a_raw_folder_inside_the_repository_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "secure"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "raw").symlink_to(MINIMAL)  # the returns, inside the repository
    with pytest.raises(paths.UnsafePathError, match="raw returns folder .*inside the repository"):
        realdata.plan(folder)


@pytest.mark.parametrize("item", ["reports", "data/processed", "metrics", "notebooks", "src"])
def test_an_output_folder_linked_anywhere_is_refused(tmp_path: Path, item: str) -> None:
    folder = _folder(tmp_path)
    (folder / item).parent.mkdir(parents=True, exist_ok=True)
    (folder / item).symlink_to(ROOT / "docs")
    with pytest.raises(paths.UnsafePathError, match="is a symlink"):
        realdata.plan(folder)


def test_real_returns_without_a_key_are_refused_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    before = _snapshot(folder)
    monkeypatch.delenv(KEY_FILE_ENV)
    assert cli_main(["real-data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "HUBSPOKE_KEY_FILE" in err and "keygen" in err and err.count("\n") == 1
    assert _snapshot(folder) == before


def test_malformed_years_are_refused_up_front(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text("utf-8"))
    params["years"] = ["2017/18"]
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params), "utf-8")
    with pytest.raises(UserError, match="years"):
        realdata.plan(folder, params_file=bad)


def test_the_workspace_runs_the_repositorys_stages_unchanged() -> None:
    """No second route: every stage but synthesise, with the same commands and files."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text("utf-8"))
    derived = realdata.derived_dvc_yaml(spec)
    assert list(derived["stages"]) == [s for s in spec["stages"] if s != "synthesise"]
    for name, stage in derived["stages"].items():
        assert stage == spec["stages"][name]
    assert "data/raw" in derived["stages"]["clean"]["deps"]


def test_the_workspace_copies_what_the_stages_read_from_the_repository_and_nothing_else():
    spec = realdata.derived_dvc_yaml(yaml.safe_load((ROOT / "dvc.yaml").read_text("utf-8")))
    inputs = realdata.repository_inputs(spec)
    deps = {d for stage in spec["stages"].values() for d in stage["deps"]}
    assert {"notebooks", "docs/aqa", "src/analysis/clean"} <= set(inputs) <= deps
    assert "data/raw" not in inputs and "metrics" not in inputs
    assert not [d for d in inputs if d.startswith(("data/interim", "data/processed", "reports"))]


def test_the_workspace_is_written_from_the_repository(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    ws = realdata.plan(folder)
    realdata.prepare(ws)
    for rel in ("notebooks/02_clean.ipynb", "src/analysis/clean/pipeline.py", "docs/aqa",
                "data/external/dfe_children_in_need", "evaluation-framework.yaml", "dvc.yaml",
                "params.yaml", ".dvc"):  # fmt: skip
        assert (folder / rel).exists(), rel
    assert not (folder / "metrics").exists() and not (folder / "reports").exists()
    assert yaml.safe_load((folder / "params.yaml").read_text("utf-8"))["data"]["source"] == "real"
    assert not list(folder.rglob("__pycache__"))
    assert (folder / "data" / "raw" / "manifest.csv").read_bytes() == (
        MINIMAL / "manifest.csv"
    ).read_bytes()
    env = realdata.stage_env(ws)
    assert env["HUBSPOKE_ROOT"] == str(folder.resolve())
    assert paths.DATA_ROOT_ENV not in env
