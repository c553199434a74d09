"""Write the cleaner's hand-made test inputs: ``tests/data/minimal/`` and ``tests/data/bad/``.

Provenance: every file under ``tests/data/minimal`` and ``tests/data/bad`` is written by this
script (``python tests/data/make_clean_fixtures.py``); all names, dates of birth, postcodes,
case IDs and notes are invented (postcodes in the non-existent ``ZZ`` area). ``minimal`` is
a tiny valid raw folder per docs/data-contract.md (2 services, 3 returns + 1 resubmission).
Each ``bad/<case>/`` folder holds only the files that differ from ``minimal`` (plus, for
removals, a ``DELETE`` list); ``tests/test_clean_bad.py`` overlays it on a copy of
``minimal`` and asserts the exact outcome.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
MINIMAL = HERE / "minimal"
BAD = HERE / "bad"

# Planted identifying values: the privacy test searches every output byte for these.
PLANTED = {
    "name": "Zelda Quimbyfox",
    "dob_text": "14/07/2001",
    "postcode": "ZZ9 9QX",
    "case_id": "QZ-CASE-7731",
    "note": "Planted note: met at the riverside arcade",
}

EXTRACT_HEADER = [
    "Client ID", "Name", "D.O.B.", "Sex", "Ethnic origin", "Sexual orientation", "Disabled",
    "Date referred", "Referred by", "Primary need", "Initial risk", "Missing episodes", "LAC",
    "Drugs alcohol", "Date closed", "Reason for closure", "Postcode", "Case notes",
]  # fmt: skip


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def workbook(sheets: dict[str, list[list]]) -> openpyxl.Workbook:
    """A workbook holding ``sheets`` (name → rows), with fixed document dates."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.properties.created = datetime(2015, 1, 1)
    wb.properties.modified = datetime(2015, 1, 1)
    return wb


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook(sheets).save(path)


def return_sheets(
    sid: str, period: str, start: str, end: str, received: str, template: str = "v2",
    referrals: dict[str, object] | None = None, yp: tuple = (3, 4, 1),
) -> dict[str, list[list]]:  # fmt: skip
    """The sheets of a return workbook (v1 or v2 template)."""
    referrals = referrals or {"Children's social care": 2, "Police": "one", "Education": 0,
                              "Health": 0, "Other voluntary / youth service": 0,
                              "Self / family": 0, "Other": "n/a"}  # fmt: skip
    v1 = template == "v1"
    cover = [["Item", "Entry"] if v1 else ["Field", "Value"],
             ["Service ID", sid], ["Service name", "Fictional Hub Trust"], ["Period", period],
             ["Period start", start], ["Period end", end], ["Template version", template],
             ["Date received", received]]  # fmt: skip
    refs = [["Source", "Number"] if v1 else ["Referral source", "Referrals"]]
    refs += [[k, v] for k, v in referrals.items()]
    if v1:
        young = [["New referrals", "Total open", "Cases closed"], list(yp)]
        acts = [["Activity", "Sessions"], ["Direct work sessions", 20], ["Group work sessions", 2]]
        outs = [["Output", "Count"], ["Training sessions delivered", 1],
                ["Professionals trained", 3], ["Awareness events", 0]]  # fmt: skip
    else:
        young = [["Measure", "Young people"], ["New", yp[0]], [None, None], ["Open", yp[1]],
                 ["Closed", yp[2]]]  # fmt: skip
        acts = [["Activity", "Sessions"], ["Direct work sessions", "12 "],
                ["Group work sessions", 1], ["Consultations", 4]]  # fmt: skip
        outs = [["Output", "Count"], ["Training sessions delivered", 1],
                ["Professionals trained", 3], ["Awareness events", 1],
                ["Multi-agency meetings attended", 5]]  # fmt: skip
    return {"Cover": cover, "Referrals": refs, "Young people": young, "Activities": acts,
            "Outputs": outs}  # fmt: skip


def extract_row(case_id: str, dob: str, referred: str, closed: str = "", **kw: str) -> list[str]:
    """One case-extract row in EXTRACT_HEADER order."""
    base = {
        "Client ID": case_id, "Name": "Pat Example", "D.O.B.": dob, "Sex": "F",
        "Ethnic origin": "White - British", "Sexual orientation": "Not recorded",
        "Disabled": "No", "Date referred": referred, "Referred by": "Social care",
        "Primary need": "CSE", "Initial risk": "Category 3", "Missing episodes": "Y",
        "LAC": "N", "Drugs alcohol": "n/a", "Date closed": closed,
        "Reason for closure": "Planned ending" if closed else "", "Postcode": "ZZ1 1AA",
        "Case notes": "",
    }  # fmt: skip
    base.update({k.replace("_", " "): v for k, v in kw.items()})
    return [base[h] for h in EXTRACT_HEADER]


def write_minimal(root: Path = MINIMAL) -> None:
    """A tiny, valid raw folder."""
    if root.exists():
        shutil.rmtree(root)
    p = PLANTED
    _csv(root / "register/services.csv", [
        ["service_id", "hub_organisation", "phase", "start_date", "funded_until", "reporting",
         "instrument"],
        ["S01", "Fictional Hub Trust", "1", "01/01/2014", "31/12/2016", "annual", "seraf"],
        ["S02", "Imaginary Youth Project", "2", "01/01/2015", "31/12/2017", "quarterly", "star5"],
    ])  # fmt: skip
    _csv(root / "register/spokes.csv", [
        ["spoke_id", "service_id", "area_code", "area_name", "host_agency", "spoke_workers",
         "start_date"],
        ["S01-1", "S01", "LA001", "Northwold", "police", "2", "01/03/2014"],
        ["S02-1", "S02", "LA002", "Eastmere", "multi_agency", "1", "01/01/2015"],
    ])  # fmt: skip
    _csv(root / "register/funding.csv", [
        ["service_id", "spoke_id", "evaluation_year", "funding_source", "funded_until"],
        ["S01", "S01-1", "2014-15", "programme", "31/12/2016"],
        ["S01", "S01-1", "2016-17", "local_authority", "31/03/2018"],
        ["S02", "S02-1", "2015-16", "programme", "31/12/2017"],
    ])  # fmt: skip
    panel = [["area_code", "area_name", "quarter", "cse_concerns", "child_population"]]
    for code, name in (("LA001", "Northwold"), ("LA002", "Eastmere"), ("LA050", "Westvale")):
        for q in ("2014-15 Q1", "2014-15 Q2", "2014-15 Q3"):
            panel.append([code, name, q, "7" if code != "LA050" else "x", "41000"])
    _csv(root / "area_panel.csv", panel)
    _csv(root / "fieldwork.csv", [
        ["evaluation_year", "phase", "participant_role", "interviews"],
        ["2014-15", "1", "spoke_worker", "6"], ["2014-15", "2", "hub_manager", "3"],
    ])  # fmt: skip

    # returns
    _xlsx(root / "returns/S01/S01_2014-15_v1.xlsx", return_sheets(
        "S01", "2014-15", "01/09/2014", "31/08/2015", "15/10/2015", "v1",
        {"Social care": 2, "Police force": 1, "School": 0, "Health": 0, "Voluntary sector": 0,
         "Parent/carer": 0, "Other agency": 0, "Total": 3}, (3, 4, 1)))  # fmt: skip
    _xlsx(root / "returns/S01/S01_2015-16_v1.xlsx", return_sheets(
        "S01", "2015-16", datetime(2015, 9, 1), datetime(2016, 8, 31), "2016-10-01",
        yp=(0, 3, 1), referrals={"Children's social care": 0}))  # fmt: skip
    _xlsx(root / "returns/S01/S01_2015-16_v2.xlsx", return_sheets(
        "S01", "2015-16", "01-Sep-2015", "31-Aug-2016", "20/12/2016",
        yp=(0, 3, 2), referrals={"Children's social care": 0}))  # fmt: skip
    _xlsx(root / "returns/S02/S02_2015-16Q2_v1.xlsx", return_sheets(
        "S02", "2015-16 Q2", "01/12/2015", "29/02/2016", "15/03/2016",
        yp=(1, 2, 0), referrals={"Police": 1, "Total": 1}))  # fmt: skip

    # extracts (S01 annual: 2014-15 and 2015-16; S02 quarterly: 2015-16 Q2)
    h = EXTRACT_HEADER
    _csv(root / "extracts/S01/S01_2014-15_cases.csv", [
        h,
        extract_row(p["case_id"], p["dob_text"], "03/10/2014", Name=p["name"],
                    Postcode=p["postcode"], Case_notes=p["note"]),
        extract_row("A-002", "2000-02-01", "12-Jan-2015", "20/06/2015"),
        ["" for _ in h],
        extract_row("A-003", "01/05/1999", "05/03/2015", **{"Referred by": "Police force"}),
        extract_row("A-004", "11/11/2000", "01/04/2015", Sex="Not known"),
    ], encoding="cp1252")  # fmt: skip
    _csv(root / "extracts/S01/S01_2015-16_cases.csv", [
        h,
        extract_row(p["case_id"], p["dob_text"], "03/10/2014", "15/02/2016",
                    Name=p["name"], Postcode=p["postcode"], Case_notes=p["note"]),
        extract_row("A-003", "01/05/1999", "05/03/2015", **{"Referred by": "Police force"}),
        extract_row("A-004", "11/11/2000", "01/04/2015", Sex="Female"),
    ])  # fmt: skip
    _csv(root / "extracts/S02/S02_2015-16Q2_cases.csv", [
        h,
        extract_row("B-1", "03/03/2001", "10/12/2015", **{"Referred by": "Police"}),
        extract_row("B-2", "04/04/2002", "10/10/2015", Sex="M"),
    ])  # fmt: skip
    _csv(root / "assessments/S01/S01_2015-16_assessments.csv", [
        ["Client ID", "Date of assessment", "Tool", "Measure", "Score"],
        [p["case_id"], "01/10/2015", "SERAF", "total_score", "14"],
        [p["case_id"], "01/10/2015", "SERAF", "category", "Category 3"],
        [p["case_id"], "05/01/2016", "SERAF", "total_score", "eight"],
        [p["case_id"], "05/01/2016", "SERAF", "category", "Category 2"],
        ["A-003", "01/11/2015", "seraf", "total_score", "n/a"],
        ["A-003", "01/11/2015", "seraf", "category", "Category 1"],
    ])  # fmt: skip
    _csv(root / "assessments/S02/S02_2015-16Q2_assessments.csv", [
        ["case_id", "assessment_date", "instrument", "measure", "value"],
        ["B-1", "15/12/2015", "star5", "Safety", "2"],
        ["B-1", "15/12/2015", "star5", "Relationships", "3"],
        ["B-1", "15/12/2015", "star5", "Sexual health", "n/a"],
        ["B-1", "20/02/2016", "star5", "Safety", "4"],
    ])  # fmt: skip
    _csv(root / "training/S02/S02_2015-16Q2_training.csv", [
        ["Session ID", "Date", "Agency", "Pre", "Post"],
        ["T1", "05/01/2016", "Police", "2", "4"],
        ["T1", "05/01/2016", "School", "3", "five"],
        ["T1", "05/01/2016", "Health", "n/a", "4"],
    ])  # fmt: skip
    files = [
        ("register/services.csv", "register", "", "", "", ""),
        ("register/spokes.csv", "register", "", "", "", ""),
        ("register/funding.csv", "register", "", "", "", ""),
        ("area_panel.csv", "area_panel", "", "", "", ""),
        ("fieldwork.csv", "fieldwork", "", "", "", ""),
        ("returns/S01/S01_2014-15_v1.xlsx", "return", "S01", "2014-15", "1", "2015-10-15"),
        ("extracts/S01/S01_2014-15_cases.csv", "extract", "S01", "2014-15", "", "2015-10-15"),
        ("returns/S01/S01_2015-16_v1.xlsx", "return", "S01", "2015-16", "1", "2016-10-01"),
        ("returns/S01/S01_2015-16_v2.xlsx", "return", "S01", "2015-16", "2", "2016-12-20"),
        ("extracts/S01/S01_2015-16_cases.csv", "extract", "S01", "2015-16", "", "2016-10-01"),
        ("assessments/S01/S01_2015-16_assessments.csv", "assessments", "S01", "2015-16", "",
         "2016-10-01"),
        ("returns/S02/S02_2015-16Q2_v1.xlsx", "return", "S02", "2015-16 Q2", "1", "2016-03-15"),
        ("extracts/S02/S02_2015-16Q2_cases.csv", "extract", "S02", "2015-16 Q2", "",
         "2016-03-15"),
        ("assessments/S02/S02_2015-16Q2_assessments.csv", "assessments", "S02", "2015-16 Q2",
         "", "2016-03-15"),
        ("training/S02/S02_2015-16Q2_training.csv", "training", "S02", "2015-16 Q2", "",
         "2016-03-15"),
    ]  # fmt: skip
    _csv(
        root / "manifest.csv",
        [["file", "kind", "service_id", "period", "version", "received_date"], *map(list, files)],
    )


# =============================================================================== bad cases


BAD_README = """# Broken inputs for the cleaner

Written by `tests/data/make_clean_fixtures.py` (run it to regenerate; every value is invented,
postcodes are in the non-existent `ZZ` area). Each folder holds only the files that differ
from `tests/data/minimal/`; `tests/test_clean_bad.py` overlays a folder on a copy of
`minimal`, runs the cleaner and asserts the exact quarantine lines or rejected file
(`EXPECTED` in that test file, one entry per folder).
"""


def _bad(case: str) -> Path:
    d = BAD / case
    d.mkdir(parents=True, exist_ok=True)
    return d


def _edit_csv(rel: str, case: str, edit, encoding: str = "utf-8") -> None:
    src = MINIMAL / rel
    data = src.read_bytes()
    try:
        text, enc = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, enc = data.decode("cp1252"), "cp1252"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = edit(rows)
    _csv(_bad(case) / rel, rows, encoding if encoding != "utf-8" else enc)


def _set(rows: list[list[str]], row: int, col: str, value: str) -> list[list[str]]:
    """Set a cell: ``row`` is the 1-based file row (header = 1), ``col`` a header text."""
    rows[row - 1][rows[0].index(col)] = value
    return rows


def write_bad() -> None:
    """One folder per broken input (see the module docstring)."""
    if BAD.exists():
        shutil.rmtree(BAD)
    BAD.mkdir(parents=True)
    (BAD / "README.md").write_text(BAD_README, "utf-8")
    ext = "extracts/S01/S01_2014-15_cases.csv"
    ret = "returns/S02/S02_2015-16Q2_v1.xlsx"
    q2 = ("S02", "2015-16 Q2", "01/12/2015", "29/02/2016", "15/03/2016")

    # whole-file problems -----------------------------------------------------
    (_bad("empty_workbook") / ret).parent.mkdir(parents=True, exist_ok=True)
    (_bad("empty_workbook") / ret).write_bytes(b"")
    (_bad("not_excel") / ret).parent.mkdir(parents=True, exist_ok=True)
    (_bad("not_excel") / ret).write_text("service,period\nS02,2015-16 Q2\n", "utf-8")
    (_bad("password_protected") / ret).parent.mkdir(parents=True, exist_ok=True)
    # An OLE2 compound file header with an EncryptionInfo stream, as Excel writes for a
    # password-protected .xlsx; built by msoffcrypto-tool when available, else a stub.
    _write_encrypted(MINIMAL / ret, _bad("password_protected") / ret)
    (_bad("corrupt_zip") / ret).parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    (_bad("corrupt_zip") / ret).write_bytes(buf.getvalue())
    sheets = return_sheets(*q2, yp=(1, 2, 0), referrals={"Police": 1})
    del sheets["Outputs"]
    _xlsx(_bad("missing_sheet") / ret, sheets)
    _xlsx(_bad("unknown_template") / ret, return_sheets(*q2, template="v3", yp=(1, 2, 0)))
    _xlsx(
        _bad("cover_period_mismatch") / ret.replace("Q2", "Q2"),
        return_sheets("S02", "2015-16 Q3", "01/03/2016", "31/05/2016", "15/03/2016"),
    )
    _xlsx(_bad("unknown_service") / "returns/S09/S09_2015-16Q2_v1.xlsx",
          return_sheets("S09", *q2[1:]))  # fmt: skip
    _xlsx(
        _bad("period_outside_programme") / "returns/S02/S02_2018-19Q1_v1.xlsx",
        return_sheets("S02", "2018-19 Q1", "01/09/2018", "30/11/2018", "15/12/2018"),
    )
    _xlsx(
        _bad("wrong_frequency") / "returns/S01/S01_2015-16Q1_v1.xlsx",
        return_sheets("S01", "2015-16 Q1", "01/09/2015", "30/11/2015", "15/12/2015"),
    )
    _xlsx(
        _bad("not_in_manifest") / "returns/S02/S02_2015-16Q3_v1.xlsx",
        return_sheets("S02", "2015-16 Q3", "01/03/2016", "31/05/2016", "15/06/2016"),
    )
    (_bad("empty_extract") / ext).parent.mkdir(parents=True, exist_ok=True)
    (_bad("empty_extract") / ext).write_bytes(b"")
    _csv(_bad("header_only_extract") / ext, [EXTRACT_HEADER])
    _edit_csv(ext, "missing_column", lambda r: [row[:7] + row[8:] for row in r])
    (_bad("binary_csv") / ext).parent.mkdir(parents=True, exist_ok=True)
    (_bad("binary_csv") / ext).write_bytes(b"\x00\x01\x02PK\x03\x04" * 20)
    (_bad("stray_file") / "returns/S02/notes.txt").parent.mkdir(parents=True, exist_ok=True)
    (_bad("stray_file") / "returns/S02/notes.txt").write_text("call back Tuesday", "utf-8")

    # row problems in a return -----------------------------------------------
    _xlsx(_bad("negative_count") / ret, return_sheets(*q2, yp=(1, -2, 0)))
    _xlsx(_bad("text_count") / ret, return_sheets(*q2, yp=(1, "a couple", 0)))
    _xlsx(
        _bad("unknown_referral_source") / ret,
        return_sheets(*q2, referrals={"Police": 1, "Neighbour": 2}),
    )
    _xlsx(_bad("duplicate_label") / ret, return_sheets(*q2, referrals={"Police": 1, "police ": 2}))
    full = {
        "Children's social care": 0,
        "Police": 1,
        "Education": 0,
        "Health": 0,
        "Other voluntary / youth service": 0,
        "Self / family": 0,
        "Other": 0,
    }
    _xlsx(_bad("total_mismatch") / ret, return_sheets(*q2, referrals={**full, "Total": 9}))
    _xlsx(
        _bad("cover_received_mismatch") / ret,
        return_sheets(*q2[:4], "01/04/2016", yp=(1, 2, 0), referrals={"Police": 1}),
    )

    # row problems in an extract ----------------------------------------------
    _edit_csv(ext, "age_out_of_range", lambda r: _set(r, 3, "D.O.B.", "01/02/2012"))
    _edit_csv(ext, "referral_after_closure", lambda r: _set(r, 3, "Date closed", "01/01/2015"))
    _edit_csv(ext, "future_date", lambda r: _set(r, 5, "Date referred", "01/01/2017"))
    _edit_csv(ext, "us_date", lambda r: _set(r, 5, "Date referred", "03/25/2015"))
    _edit_csv(ext, "unknown_gender", lambda r: _set(r, 6, "Sex", "Fmale"))
    _edit_csv(ext, "missing_case_id", lambda r: _set(r, 5, "Client ID", "n/a"))
    _edit_csv(ext, "duplicate_case_id", lambda r: _set(r, 6, "Client ID", "A-003"))
    _edit_csv(ext, "conflicting_person", lambda r: _set(r, 5, "Ethnic origin", "Asian"))
    _edit_csv(ext, "extra_cells", lambda r: [r[0], r[1] + ["surplus"], *r[2:]])
    _edit_csv(ext, "closed_before_period",
              lambda r: _set(_set(r, 3, "Date closed", "20/06/2014"), 3, "Date referred",
                             "12-Jan-2014"))  # fmt: skip
    # windows-1252 bytes that are not UTF-8 are fine; undefined cp1252 bytes are not
    (_bad("bad_encoding") / ext).parent.mkdir(parents=True, exist_ok=True)
    (_bad("bad_encoding") / ext).write_bytes(
        (MINIMAL / ext).read_bytes().replace(b"Pat Example", b"Pat \x81\x8d\x90")
    )

    # assessments / training ---------------------------------------------------
    asr = "assessments/S02/S02_2015-16Q2_assessments.csv"
    _edit_csv(asr, "star_out_of_range", lambda r: _set(r, 2, "value", "7"))
    _edit_csv(asr, "unknown_case_assessment", lambda r: _set(r, 5, "case_id", "B-99"))
    _edit_csv(asr, "wrong_instrument", lambda r: _set(r, 5, "instrument", "seraf"))
    sa = "assessments/S01/S01_2015-16_assessments.csv"
    _edit_csv(sa, "seraf_category_mismatch", lambda r: _set(r, 3, "Score", "Category 4"))
    tr = "training/S02/S02_2015-16Q2_training.csv"
    _edit_csv(tr, "training_outside_period", lambda r: _set(r, 2, "Date", "05/11/2015"))

    # registers ------------------------------------------------------------------
    _edit_csv("area_panel.csv", "panel_duplicate", lambda r: r + [r[1]])
    _edit_csv(
        "register/spokes.csv",
        "spoke_unknown_service",
        lambda r: r + [["S07-1", "S07", "LA009", "Nowhere", "police", "1", "01/01/2016"]],
    )


def _write_encrypted(src: Path, dst: Path) -> None:
    import msoffcrypto

    try:
        from msoffcrypto.format.ooxml import OOXMLFile

        with open(src, "rb") as fin, open(dst, "wb") as fout:
            OOXMLFile(fin).encrypt("secret", fout)
    except Exception:  # noqa: BLE001 - older msoffcrypto without encrypt()
        dst.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504)
    del msoffcrypto


if __name__ == "__main__":
    write_minimal()
    write_bad()
    print(f"wrote {MINIMAL} and {sum(p.is_dir() for p in BAD.iterdir())} cases under {BAD}")
