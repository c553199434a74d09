"""Paths that cannot be tricked: every comparison is made after resolving symlinks.

The review set ``HUBSPOKE_DATA_ROOT`` to a symlink into the repository: the old script
compared logical paths and let 201 files be written under ``notebooks/``. Each symlink
below is made at test time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.core import paths
from analysis.runner.cli import main as cli_main

ROOT = paths.REPOSITORY


def _link(tmp_path: Path, target: Path, name: str = "link") -> Path:
    link = tmp_path / name
    link.symlink_to(target, target_is_directory=target.is_dir())
    return link


def test_is_inside_resolves_symlinks(tmp_path: Path) -> None:
    link = _link(tmp_path, ROOT / "notebooks")
    assert paths.is_inside(link, ROOT)
    assert paths.is_inside(link / "not-yet" / "deeper", ROOT)
    assert not paths.is_inside(tmp_path / "plain", ROOT)
    assert paths.is_inside(ROOT, ROOT)
    assert not paths.is_inside(ROOT.parent, ROOT)


def test_is_inside_compares_existing_folders_by_identity(tmp_path: Path) -> None:
    """A bind mount or another spelling of the same folder is the same folder."""
    alias = tmp_path / "alias"
    alias.symlink_to(ROOT)
    assert paths.is_inside(alias / "docs", ROOT)
    assert paths.is_inside(ROOT / "docs", alias)


def test_check_outside_repository_names_what_the_path_resolves_to(tmp_path: Path) -> None:
    link = _link(tmp_path, ROOT / "notebooks")
    with pytest.raises(paths.UnsafePathError, match="resolves to .*notebooks.*inside"):
        paths.check_outside_repository(link, "the output folder")
    assert paths.check_outside_repository(tmp_path / "out", "x") == (tmp_path / "out").resolve()


def test_data_root_symlinked_into_the_repository_is_refused_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = _link(tmp_path, ROOT / "notebooks")
    before = sorted(p.name for p in (ROOT / "notebooks").iterdir())
    monkeypatch.setenv(paths.DATA_ROOT_ENV, str(link))
    with pytest.raises(paths.UnsafePathError, match="HUBSPOKE_DATA_ROOT"):
        _ = paths.PROCESSED_DIR
    for argv in (["clean"], ["analyse", "--help"], ["index"]):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert "HUBSPOKE_DATA_ROOT" in err and "inside the repository" in err
        assert err.count("\n") == 1
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir()) == before


def test_data_root_outside_moves_the_default_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(paths.DATA_ROOT_ENV, str(tmp_path / "run with 'quotes' é"))
    processed = paths.PROCESSED_DIR
    assert processed == tmp_path.resolve() / "run with 'quotes' é" / "data" / "processed"
    assert paths.REPORTS_DIR.parent == paths.OUTPUT_ROOT
    monkeypatch.delenv(paths.DATA_ROOT_ENV)
    assert paths.OUTPUT_ROOT == paths.ROOT and paths.RAW_DIR == paths.ROOT / "data" / "raw"


def test_a_bad_data_root_is_one_line_in_a_fresh_process(tmp_path: Path) -> None:
    link = _link(tmp_path, ROOT / "reports" if (ROOT / "reports").is_dir() else ROOT)
    env = {**os.environ, paths.DATA_ROOT_ENV: str(link)}
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "clean"], env=env, capture_output=True, text=True
    )
    assert res.returncode == 2 and res.stderr.startswith("error: HUBSPOKE_DATA_ROOT")
    assert "Traceback" not in res.stderr
