"""Broken inputs under tests/data/bad/: each yields exactly the quarantine lines or rejected
file listed here, the other files are still processed and the ledger balances.

Each case folder holds only the files that differ from tests/data/minimal (see
tests/data/make_clean_fixtures.py, which wrote them). EXPECTED lists, per case, the
quarantine lines (file, sheet, row, column, reason) that the case adds to the quarantine of
the unbroken minimal folder.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from analysis.clean.pipeline import clean_returns
from analysis.core.paths import TESTS_DIR

DATA = TESTS_DIR / "data"
MINIMAL = DATA / "minimal"
BAD = DATA / "bad"

EXPECTED = {
    "age_out_of_range": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "3",
            "date_of_birth",
            "age at referral 2 is outside 8–25: check the date of birth and referral date",
        ),
    ],
    "bad_encoding": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "",
            "",
            "file rejected: text is neither UTF-8 nor Windows-1252; re-save the file as CSV UTF-8",
        ),
    ],
    "binary_csv": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "",
            "",
            "file rejected: not a text (CSV) file: it contains binary data",
        ),
    ],
    "closed_before_period": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "3",
            "closure_date",
            "case closed before 2014-15 started, so it should not be in this extract",
        ),
    ],
    "conflicting_person": [
        (
            "extracts/S01/S01_2015-16_cases.csv",
            "",
            "3",
            "date_of_birth",
            "conflicting records for one young person: date_of_birth differs from the value in the 2014-15 extract; correct the case record and re-send",
        ),
    ],
    "corrupt_zip": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: unreadable workbook: damaged or not a real .xlsx (KeyError); re-save it from Excel",
        ),
    ],
    "cover_period_mismatch": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: Period on the Cover sheet does not match the file name",
        ),
    ],
    "cover_received_mismatch": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Cover",
            "8",
            "date_received",
            "Date received on the Cover (01/04/2016) differs from manifest.csv (15/03/2016); the manifest date is used",
        ),
    ],
    "duplicate_case_id": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "5",
            "case_id",
            "the same case ID appears in 2 rows of this extract (rows 5, 6); cannot tell which is right",
        ),
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "6",
            "case_id",
            "the same case ID appears in 2 rows of this extract (rows 5, 6); cannot tell which is right",
        ),
    ],
    "duplicate_label": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Referrals",
            "2",
            "referral_source",
            "referral source police appears in 2 rows; cannot tell which is right",
        ),
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Referrals",
            "3",
            "referral_source",
            "referral source police appears in 2 rows; cannot tell which is right",
        ),
    ],
    "empty_extract": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "",
            "",
            "file rejected: empty file (0 bytes or only whitespace)",
        ),
    ],
    "empty_workbook": [
        ("returns/S02/S02_2015-16Q2_v1.xlsx", "", "", "", "file rejected: empty file (0 bytes)"),
    ],
    "extra_cells": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "2",
            "__extra__",
            "row has more cells than the header has columns (1 more): a comma inside an "
            "unquoted value may have shifted the cells after it",
        ),
    ],
    "future_date": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "5",
            "referral_date",
            "referral date is after the file was received (future)",
        ),
    ],
    "header_only_extract": [],
    "missing_case_id": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "5",
            "case_id",
            "case ID missing: the row cannot be linked to a young person",
        ),
    ],
    "missing_column": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "",
            "",
            "file rejected: missing required column(s): referral_date (columns found: "
            "case_id, name, date_of_birth, gender, ethnicity, sexuality, disability, "
            "referral_source, referral_reason, risk_at_referral, going_missing, looked_after, "
            "substance_misuse, closure_date, closure_reason, postcode, notes)",
        ),
    ],
    "missing_sheet": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: missing sheet(s): Outputs",
        ),
    ],
    "negative_count": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Young people",
            "4",
            "young_people",
            "young_people: negative count (-2); counts are whole numbers ≥ 0",
        ),
    ],
    "not_excel": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: not an Excel workbook (.xlsx) although it is named like one",
        ),
    ],
    "not_in_manifest": [
        (
            "returns/S02/S02_2015-16Q3_v1.xlsx",
            "",
            "",
            "",
            "file rejected: not listed in manifest.csv with a received date: add it to the delivery log",
        ),
    ],
    "panel_duplicate": [
        ("area_panel.csv", "", "2", "quarter", "area LA001 has more than one row for 2014-15 Q1"),
        ("area_panel.csv", "", "11", "quarter", "area LA001 has more than one row for 2014-15 Q1"),
    ],
    "password_protected": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: password-protected workbook: ask the service to re-send it without a password",
        ),
    ],
    "period_outside_programme": [
        (
            "returns/S02/S02_2018-19Q1_v1.xlsx",
            "",
            "",
            "",
            "file rejected: period 2018-19 Q1 is outside the programme (2013-14 to 2016-17)",
        ),
    ],
    "referral_after_closure": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "3",
            "closure_date",
            "closure date is before the referral date",
        ),
    ],
    "seraf_category_mismatch": [
        (
            "assessments/S01/S01_2015-16_assessments.csv",
            "",
            "2",
            "value",
            "SERAF category 4 does not match total 14 (category 3)",
        ),
        (
            "assessments/S01/S01_2015-16_assessments.csv",
            "",
            "3",
            "value",
            "SERAF category 4 does not match total 14 (category 3)",
        ),
    ],
    "spoke_unknown_service": [
        (
            "register/spokes.csv",
            "",
            "4",
            "service_id",
            "unknown service S07 (not in register/services.csv)",
        ),
    ],
    "star_out_of_range": [
        (
            "assessments/S02/S02_2015-16Q2_assessments.csv",
            "",
            "2",
            "value",
            "value 7 is outside 1–5 for safety",
        ),
    ],
    "stray_file": [
        (
            "returns/S02/notes.txt",
            "",
            "",
            "",
            "file rejected: file name does not follow <service>_<period>_v<n>.xlsx",
        ),
    ],
    "text_count": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Young people",
            "4",
            "young_people",
            "young_people: not a whole number: counts must be digits or English words up to twenty",
        ),
    ],
    "total_mismatch": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Referrals",
            "9",
            "referrals",
            "Total row (9) does not match the sum of the recorded sources (1); the sources are kept, the Total row is not used",
        ),
    ],
    "training_outside_period": [
        (
            "training/S02/S02_2015-16Q2_training.csv",
            "",
            "2",
            "session_date",
            "session date is outside 2015-16 Q2",
        ),
    ],
    "unknown_case_assessment": [
        (
            "assessments/S02/S02_2015-16Q2_assessments.csv",
            "",
            "5",
            "case_id",
            "no young person with this case ID in S02's case extracts",
        ),
    ],
    "unknown_gender": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "6",
            "gender",
            "gender: unknown category; expected one of: female, male, other",
        ),
    ],
    "unknown_referral_source": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "Referrals",
            "3",
            "referral_source",
            "unknown referral source label; expected one of: childrens_social_care, education, health, other, police, self_family, voluntary_youth",
        ),
    ],
    "unknown_service": [
        (
            "returns/S09/S09_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: unknown service S09 (not in register/services.csv)",
        ),
    ],
    "unknown_template": [
        (
            "returns/S02/S02_2015-16Q2_v1.xlsx",
            "",
            "",
            "",
            "file rejected: unknown template version 'v3' (expected v1 or v2)",
        ),
    ],
    "us_date": [
        (
            "extracts/S01/S01_2014-15_cases.csv",
            "",
            "5",
            "referral_date",
            "referral_date: looks like a month-first (US) date; write dates as dd/mm/yyyy",
        ),
    ],
    "wrong_frequency": [
        (
            "returns/S01/S01_2015-16Q1_v1.xlsx",
            "",
            "",
            "",
            "file rejected: period 2015-16 Q1 is quarterly but S01 makes annual returns",
        ),
    ],
    "wrong_instrument": [
        (
            "assessments/S02/S02_2015-16Q2_assessments.csv",
            "",
            "5",
            "instrument",
            "instrument 'seraf' is not S02's registered instrument (star5)",
        ),
    ],
}


@pytest.fixture(autouse=True)
def _no_schema_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schemas are exercised in test_clean.py; here they would only slow 40 runs down."""
    from analysis.clean import pipeline

    monkeypatch.setattr(pipeline, "VALIDATE_SCHEMAS", False)


def _run(raw: Path, out: Path) -> tuple[set[tuple[str, ...]], dict]:
    clean_returns(raw, out)
    with open(out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        lines = {
            (r["file"], r["sheet"], r["row"], r["column"], r["reason"]) for r in csv.DictReader(fh)
        }
    return lines, json.loads((out / "ledger.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, ...]]:
    lines, ledger = _run(MINIMAL, tmp_path_factory.mktemp("base") / "out")
    assert ledger["rejected"] == []
    return lines


def test_at_least_25_cases_each_tested() -> None:
    cases = sorted(p.name for p in BAD.iterdir() if p.is_dir())  # README.md is not a case
    assert len(cases) >= 25
    assert cases == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_input(case: str, baseline: set, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(MINIMAL, raw)
    shutil.copytree(BAD / case, raw, dirs_exist_ok=True)
    lines, ledger = _run(raw, tmp_path / "out")
    added = lines - baseline
    assert added == set(EXPECTED[case])
    rejected = {r["file"] for r in ledger["rejected"]}
    assert rejected == {
        f for f, _, _, _, reason in EXPECTED[case] if reason.startswith("file rejected")
    }
    for line in ledger["files"]:
        assert line["read"] == line["kept"] + line["quarantined"] + line["superseded"], line
    # the other files are still processed: the unbroken S01 2015-16 return is always there
    assert (tmp_path / "out" / "returns.parquet").exists()


def test_identifying_values_masked_in_quarantine(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(MINIMAL, raw)
    shutil.copytree(BAD / "duplicate_case_id", raw, dirs_exist_ok=True)
    shutil.copytree(BAD / "age_out_of_range", raw, dirs_exist_ok=True)
    clean_returns(raw, tmp_path / "out")
    with open(tmp_path / "out" / "quarantine.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["column"] in ("case_id", "date_of_birth")]
    assert rows and all(
        re.fullmatch(r"\[[a-z -]+; \d+ chars?; #[0-9a-f]{8}\]", r["value"]) for r in rows
    )
    text = (tmp_path / "out" / "quarantine.csv").read_text("utf-8")
    assert "A-003" not in text and "01/02/2012" not in text
