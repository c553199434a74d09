"""The fault corpus of issue 20 (``fault_corpus.py``): every fault gets a clear message
naming the file (and sheet, row, column where they apply), no traceback, nothing lost (the
ledger balances and names what was set aside) and nothing identifying in any output.

Disk full and interruption are simulated here: the previous complete output stays as it
was, and the stages that read the processed folder refuse one without its completion
marker or mixing two runs.
"""

from __future__ import annotations

import csv
import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.clean import pipeline
from analysis.clean.pipeline import clean_returns
from analysis.core.catalog import COMPLETE
from analysis.core.errors import UserError
from analysis.core.io import load_tables

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_corpus import FAULTS, MINIMAL, PLANTED, leaks, quarantine_lines, run  # noqa: E402

FORMULA_START = ("=", "+", "@", "\t", "\r")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, ...]]:
    out = tmp_path_factory.mktemp("minimal") / "out"
    clean_returns(MINIMAL, out)
    return quarantine_lines(out)


def test_the_corpus_holds_every_fault_of_the_issue() -> None:
    names = {f.name for f in FAULTS}
    assert len(names) == len(FAULTS) >= 19
    assert {f.group for f in FAULTS} == {
        "Identifiers in quarantine.csv and ledger.json",
        "Silent loss",
        "Crashes and half-written output",
        "Unclear messages",
    }


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_fault(fault, baseline: set, tmp_path: Path) -> None:
    res = run(fault, tmp_path, baseline)
    assert not res.error, res.error
    assert res.added == set(fault.lines)
    assert set(res.rejected) == set(fault.rejected)
    for line in res.ledger["files"]:
        assert line["read"] == line["kept"] + line["quarantined"] + line["superseded"], line
    assert leaks(res.out, fault.planted + tuple(PLANTED.values())) == []
    with open(res.out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    if fault.check is not None:
        fault.check(res)


def _hashes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_disk_full_leaves_the_previous_output(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "processed"
    clean_returns(MINIMAL, out)
    before = _hashes(out)
    calls = []
    real = pipeline.write_parquet

    def full(frame, path):
        calls.append(path)
        if len(calls) == 5:
            path.write_bytes(b"PAR1 truncated")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(frame, path)

    monkeypatch.setattr(pipeline, "write_parquet", full)
    with pytest.raises(UserError, match="No space left on device; the previous output there"):
        clean_returns(MINIMAL, out)
    assert _hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]  # no temporary folder
    load_tables(out)  # still complete


def test_interruption_leaves_the_previous_output(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "processed"
    clean_returns(MINIMAL, out)
    before = _hashes(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_complete_marker", interrupted)
    with pytest.raises(KeyboardInterrupt):
        clean_returns(MINIMAL, out)
    assert _hashes(out) == before


def test_analyse_refuses_an_incomplete_or_mixed_folder(tmp_path: Path) -> None:
    out, other = tmp_path / "processed", tmp_path / "other"
    clean_returns(MINIMAL, out)
    raw = tmp_path / "raw"
    shutil.copytree(MINIMAL, raw)
    (raw / "extracts/S02/S02_2015-16Q2_cases.csv").unlink()
    clean_returns(raw, other)
    shutil.copy(other / "case_periods.parquet", out / "case_periods.parquet")
    with pytest.raises(UserError, match="mixes outputs of different runs: case_periods.parquet"):
        load_tables(out)
    (out / COMPLETE).unlink()
    with pytest.raises(UserError, match="not a complete output of the clean step"):
        load_tables(out)
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "analyse", str(out), "2015-16", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a complete output of the clean step" in proc.stderr


def test_output_folder_with_other_files_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("not the cleaner's", "utf-8")
    with pytest.raises(UserError, match="holds files the clean step did not write"):
        clean_returns(MINIMAL, out)
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]


def test_the_completion_marker_lists_every_file(tmp_path: Path) -> None:
    out = tmp_path / "processed"
    clean_returns(MINIMAL, out)
    marker = json.loads((out / COMPLETE).read_text("utf-8"))
    assert marker["stage"] == "clean"
    assert sorted(marker["files"]) == sorted(p.name for p in out.iterdir() if p.name != COMPLETE)
