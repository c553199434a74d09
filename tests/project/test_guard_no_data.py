"""The pre-commit guard reads content: the 13 data-bearing files an adversarial review
committed past the old, name-based guard are refused, whatever they are called, and the
project's own files (fixtures, templates, vendored assets) still pass.

Every file is made at test time. The last tests install the hooks in a scratch repository
built from this working tree and run ``git commit`` through pre-commit, as a developer would.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis.clean.ledger import QUARANTINE_COLUMNS, Ledger
from analysis.clean.pseudonymise import generate_key
from analysis.core.privacy import KEY_FILE_HEADER, QUARANTINE_SIGNATURE
from analysis.publish.render import render_markdown_page

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "guard_no_data", ROOT / "scripts" / "guard_no_data.py"
)
guard = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(guard)  # type: ignore[union-attr]

EXTRACT = [
    ["Client ID", "Name", "D.O.B.", "Postcode", "Date referred", "Case notes"],
    ["QZ-1001", "Invented Person", "03/02/2002", "ZZ1 1ZZ", "01/10/2014", "invented note"],
    ["QZ-1002", "Another Invention", "17/11/2001", "ZZ2 2ZZ", "12/10/2014", "invented too"],
]


def _csv(rows: list[list[str]], delimiter: str = ",") -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    for row in EXTRACT:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parquet() -> bytes:
    frame = pd.DataFrame({"person_key": ["0f3a9c1e22b7d4a85e61", "a81c0de9f3b2714c9e05"],
                          "service_id": ["S01", "S02"], "age_at_referral": [14, 15]})  # fmt: skip
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cases.csv", _csv(EXTRACT))
    return buf.getvalue()


def _quarantine() -> bytes:
    led = Ledger()
    led.read("extracts/S01/S01_2014-15_cases.csv", "", [2])
    led.quarantine_row("extracts/S01/S01_2014-15_cases.csv", "", 2, "gender", "?", "unknown")
    return led.quarantine_csv().encode("utf-8")


def _ledger() -> bytes:
    led = Ledger()
    led.read("extracts/S01/S01_2014-15_cases.csv", "", [2, 3])
    led.keep("extracts/S01/S01_2014-15_cases.csv", "", 2)
    led.keep("extracts/S01/S01_2014-15_cases.csv", "", 3)
    return led.to_json(missing_returns=[]).encode("utf-8")


def _report(tmp: Path) -> bytes:
    page = tmp / "page.md"
    page.write_text("# Report for 2015-16\n\nYoung people supported: 40.\n", "utf-8")
    return render_markdown_page(page, tmp / "page.html", title="Report 2015-16").read_bytes()


def _key() -> bytes:
    return KEY_FILE_HEADER.encode() + b"\n" + generate_key() + b"\n"


# The 13 files of the review (tests/.../issue 19), each made by the code that makes it.
FINDINGS: dict[str, Callable[[Path], bytes | None]] = {
    "notes/summary.txt": lambda tmp: _workbook(),  # a workbook renamed .txt
    "notebooks/cases.csv": lambda tmp: _csv(EXTRACT),  # CSVs under notebooks/ ...
    "notebooks/people_export.csv": lambda tmp: _csv(
        [["service_id", "person_key", "age_at_referral"], ["S01", "0f3a9c1e22b7d4a85e61", "14"]],
        delimiter=";",
    ),
    "tests/data/referrals.csv": lambda tmp: _csv(EXTRACT),  # ... and tests/data
    "docs/old/run/quarantine.csv": lambda tmp: _quarantine(),  # a nested quarantine.csv
    "docs/ledger.json": lambda tmp: _ledger(),
    "docs/report.html": _report,  # report HTML under docs/
    "secrets/hubspoke.key": lambda tmp: _key(),
    "exports/returns.zip": lambda tmp: _zip(),
    "exports/cases.CSV.gz": lambda tmp: gzip.compress(_csv(EXTRACT), mtime=0),
    "Data/raw/x.csv": lambda tmp: (ROOT / "tests/data/minimal/manifest.csv").read_bytes(),
    "notebooks/table.feather": lambda tmp: _parquet(),  # Parquet renamed .feather
    "notebooks/link.csv": None,  # a symlink (to a file outside the repository)
}


def plant(root: Path, path: str, tmp: Path) -> Path:
    """Create the finding ``path`` under ``root``."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    make = FINDINGS[path]
    if make is None:
        outside = tmp / "outside-the-repository.csv"
        outside.write_bytes(_csv(EXTRACT))
        target.symlink_to(outside)
    else:
        target.write_bytes(make(tmp))
    return target


@pytest.mark.parametrize("path", sorted(FINDINGS))
def test_each_finding_of_the_review_is_refused(path: str, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    plant(root, path, tmp_path)
    why = guard.reason(path, root, {})
    assert why is not None, path
    assert guard.content_reason(root / path) or path in ("Data/raw/x.csv", "notebooks/link.csv")


@pytest.mark.parametrize("path", sorted(p for p, make in FINDINGS.items() if make))
def test_content_is_refused_whatever_the_name(path: str, tmp_path: Path) -> None:
    """Renamed to an innocent name in an innocent folder, the content still gives it away
    (but the manifest copied under data/raw/, which only its folder gives away)."""
    plant(tmp_path, path, tmp_path)
    innocent = tmp_path / "src" / "notes.md"
    innocent.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / path, innocent)
    if path == "Data/raw/x.csv":
        assert guard.reason("src/notes.md", tmp_path, {}) is None
    else:
        assert guard.reason("src/notes.md", tmp_path, {}) is not None, path


def test_signatures_match_the_cleaner_and_the_renderer(tmp_path: Path) -> None:
    assert set(QUARANTINE_COLUMNS) >= QUARANTINE_SIGNATURE
    assert "rendered report" in guard.content_reason(_write(tmp_path / "r", _report(tmp_path)))
    ledger = json.loads(_ledger())
    assert set(ledger) >= guard.LEDGER_SIGNATURE


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_prose_source_and_plain_pages_pass(tmp_path: Path) -> None:
    samples = {
        "a.py": b'"""Docstring."""\n\ndef f(name, postcode):\n    return name, postcode\n',
        "b.md": b"# Title\n\n| name | postcode |\n|---|---|\n| column | column |\n",
        "c.html": b"<!DOCTYPE html>\n<html><head><title>x</title></head><body>hi</body></html>",
        "d.csv": b"year,countyreal,lpop\n2003,8001,5.9\n",
        "e.txt": b"short token\n",
    }
    for name, data in samples.items():
        _write(tmp_path / name, data)
        assert guard.reason(name, tmp_path, {}) is None, name


def test_an_allowed_file_passes_until_its_content_changes(tmp_path: Path) -> None:
    rel = "tests/data/cases.csv"
    (tmp_path / "tests/data").mkdir(parents=True)
    _write(tmp_path / rel, _csv(EXTRACT))
    (tmp_path / "scripts").mkdir()
    assert guard.reason(rel, tmp_path) is not None
    assert guard.allow([rel], tmp_path) == 0
    assert guard.reason(rel, tmp_path) is None
    _write(tmp_path / rel, _csv([*EXTRACT, ["QZ-9", "New Person", "01/01/2003", "ZZ9", "", ""]]))
    assert "content changed" in guard.reason(rel, tmp_path)
    link = tmp_path / "tests/data/link.csv"
    link.symlink_to(tmp_path / rel)
    assert guard.allow(["tests/data/link.csv"], tmp_path) == 1


def test_data_external_is_allowed_but_not_a_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "data/external/dfe"
    folder.mkdir(parents=True)
    _write(folder / "national.csv", b"time_period,la_name,number\n2024,England,100\n")
    assert guard.reason("data/external/dfe/national.csv", tmp_path, {}) is None
    (folder / "link.csv").symlink_to(folder / "national.csv")
    assert "symlink" in guard.reason("data/external/dfe/link.csv", tmp_path, {})
    (tmp_path / "Data/External").mkdir(parents=True)
    _write(tmp_path / "Data/External/national.csv", b"a,b\n1,2\n")
    assert guard.reason("Data/External/national.csv", tmp_path, {}) is not None


def _notebook(outputs: list, count: int | None) -> str:
    cell = {"cell_type": "code", "source": "1+1", "metadata": {}, "outputs": outputs,
            "execution_count": count}  # fmt: skip
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_executed_notebook_refused_whatever_its_name(tmp_path: Path) -> None:
    nb = tmp_path / "notebooks" / "a.ipynb"
    nb.parent.mkdir()
    nb.write_text(_notebook([{"output_type": "execute_result", "data": {}}], 1), "utf-8")
    assert "executed notebook" in guard.reason("notebooks/a.ipynb", tmp_path, {})
    shutil.copyfile(nb, tmp_path / "notebooks" / "a.json")
    assert "executed notebook" in guard.reason("notebooks/a.json", tmp_path, {})
    nb.write_text(_notebook([], None), "utf-8")
    assert guard.reason("notebooks/a.ipynb", tmp_path, {}) is None
    nb.write_text(_notebook([], 3), "utf-8")
    assert guard.reason("notebooks/a.ipynb", tmp_path, {}) is not None


def test_every_tracked_file_passes_and_the_allowlist_is_current() -> None:
    """The guard passes the whole tree (a commit made with --no-verify still fails here),
    and the allowlist names only tracked files that need it: data-like fixtures and
    screenshots, not files the content checks pass anyway."""
    assert guard.main(["--all"]) == 0
    tracked = set(guard._git(ROOT, "ls-files", "-z"))
    for path in guard.load_allowlist(ROOT):
        assert path in tracked or (ROOT / path).is_file(), f"{guard.ALLOWLIST}: {path} is gone"
        assert guard.reason(path, ROOT, {}) is not None, f"{path} needs no allowlist entry"


# ------------------------------------------------------------------ the hook in a clone
def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def scratch_clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A git repository holding this working tree's files, with the hooks installed and
    every file committed through them (only the data guard runs: SKIP names the others)."""
    base = tmp_path_factory.mktemp("guard-clone")
    clone = base / "clone"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    for name in filter(None, listed):
        src = ROOT / os.fsdecode(name)
        if src.is_file() and not src.is_symlink():
            (clone / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / os.fsdecode(name))
    (clone / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = dict(os.environ)
    env.update(
        PRE_COMMIT_HOME=str(base / "pre-commit-home"),
        SKIP="nbstripout,jupytext-sync,ruff,ruff-format",
        GIT_AUTHOR_NAME="Guard Test", GIT_AUTHOR_EMAIL="guard@example.invalid",
        GIT_COMMITTER_NAME="Guard Test", GIT_COMMITTER_EMAIL="guard@example.invalid",
    )  # fmt: skip
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "commit.gpgsign", "false"],
        [str(Path(sys.executable).parent / "pre-commit"), "install"],
    ):
        assert _run(args, clone, env).returncode == 0, args
    (clone / ".git" / "info" / "exclude").write_text(".venv\n", "utf-8")
    assert _run(["git", "add", "-A"], clone, env).returncode == 0
    done = _run(["git", "commit", "-q", "-m", "the project"], clone, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return clone, env


def test_hook_commits_the_project_with_its_fixtures(scratch_clone) -> None:
    clone, env = scratch_clone
    files = _run(["git", "ls-files"], clone, env).stdout.splitlines()
    assert "tests/data/minimal/returns/S01/S01_2014-15_v1.xlsx" in files
    assert set(guard.load_allowlist(ROOT)) <= set(files)
    assert "guard-no-data" in (clone / ".pre-commit-config.yaml").read_text("utf-8")


def test_hook_refuses_all_13_files(scratch_clone, tmp_path: Path) -> None:
    clone, env = scratch_clone
    for path in FINDINGS:
        plant(clone, path, tmp_path)
    assert _run(["git", "add", "--", *FINDINGS], clone, env).returncode == 0
    before = _run(["git", "rev-parse", "HEAD"], clone, env).stdout
    res = _run(["git", "commit", "-m", "data"], clone, env)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert _run(["git", "rev-parse", "HEAD"], clone, env).stdout == before
    for path in FINDINGS:
        assert f"refused: {path}:" in out, (path, out)
    # One at a time, each is refused on its own.
    _run(["git", "reset", "-q"], clone, env)
    for path in ("notebooks/link.csv", "Data/raw/x.csv"):
        _run(["git", "add", "--", path], clone, env)
        res = _run(["git", "commit", "-m", path], clone, env)
        assert res.returncode != 0 and f"refused: {path}:" in res.stdout + res.stderr
        _run(["git", "reset", "-q"], clone, env)
