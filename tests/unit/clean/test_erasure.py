"""Erasure: given a case ID and the key, every raw row and processed row holding that young
person is listed, and after the raw rows are removed and the pipeline re-run none remains
(docs/data-protection.md, "Erasure"). Runs on a copy of the hand-made minimal returns.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from analysis.clean.erasure import find_person, output_folders
from analysis.clean.pipeline import clean_returns
from analysis.core import paths
from analysis.runner.cli import main as cli_main

MINIMAL = paths.TESTS_DIR / "data" / "minimal"
CASE = "QZ-CASE-7731"  # a planted young person of the minimal returns (service S01)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "secure"
    (folder / "data").mkdir(parents=True)
    shutil.copytree(MINIMAL, folder / "data" / "raw")
    # A second mention: a quarantined row of the same young person, and a note elsewhere.
    extract = folder / "data/raw/extracts/S01/S01_2015-16_cases.csv"
    rows = list(csv.reader(io.StringIO(extract.read_text("utf-8"))))
    bad = list(rows[1])
    bad[3] = "Zq"  # a gender the vocabulary does not know: the row is quarantined
    bad[0] = f" {CASE.lower()} "
    rows.append(bad)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    extract.write_text(buf.getvalue(), "utf-8")
    return folder


def _clean(folder: Path) -> None:
    clean_returns(folder / "data" / "raw", folder / "data" / "processed")


def _erase(folder: Path, case: str) -> None:
    """What the procedure asks of the team: remove the young person's raw rows."""
    for path in sorted((folder / "data" / "raw").rglob("*.csv")):
        text = path.read_text("utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        kept = [r for r in rows if not (r and r[0].strip().casefold() == case.casefold())]
        if len(kept) != len(rows):
            buf = io.StringIO(newline="")
            csv.writer(buf, lineterminator="\n").writerows(kept)
            path.write_text(buf.getvalue(), "utf-8")


def test_every_record_is_listed_then_none_remains_after_the_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    _clean(folder)
    held = {h.where: h for h in find_person(CASE, folder / "data/raw", output_folders(folder),
                                            service="S01")}  # fmt: skip
    assert held["data/raw/extracts/S01/S01_2014-15_cases.csv"].what == "rows 2"
    assert held["data/raw/extracts/S01/S01_2015-16_cases.csv"].count == 2
    assert held["data/raw/assessments/S01/S01_2015-16_assessments.csv"].what == "rows 2, 3, 4, 5"
    assert held["data/processed/young_people.parquet"].count == 1
    assert held["data/processed/case_periods.parquet"].count >= 1
    assert held["data/processed/assessments.parquet"].count >= 1
    assert "about its raw rows" in held["data/processed/quarantine.csv"].what
    assert not any(h.startswith("data/raw/extracts/S02") for h in held)  # another service

    assert cli_main(["erasure", CASE, str(folder), "--service", "S01"]) == 1
    out = capsys.readouterr().out
    assert "young_people.parquet" in out and CASE not in out

    _erase(folder, CASE)
    _clean(folder)  # the re-run: every processed table is rebuilt from the raw returns
    assert find_person(CASE, folder / "data/raw", output_folders(folder)) == []
    assert cli_main(["erasure", CASE, str(folder)]) == 0
    assert "No record of this young person remains" in capsys.readouterr().out


def test_erasure_needs_the_key_of_real_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    monkeypatch.delenv("HUBSPOKE_KEY_FILE")
    assert cli_main(["erasure", CASE, str(folder)]) == 2
    assert "HUBSPOKE_KEY_FILE" in capsys.readouterr().err
