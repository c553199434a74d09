"""Leak scan: distinctive names, dates of birth, postcodes, case IDs and case notes planted in
every field the services (and the evaluation team) write; the pipeline runs end to end on
them; no output holds any of them.

The synthetic programme of the test configuration is generated in a copy of the repository,
then planted (:func:`plant`): in a quarter of the service files, every column of the file
gets a planted value in one row (so each field of each kind of file is covered, coded and
free-text alike); the name, postcode and notes columns of those files carry planted values
in every row (they are dropped by the cleaner, rows kept); kept rows carry a planted date of
birth; one extract loses its header row, one row has an unquoted comma, cells hold formula
payloads; workbooks get planted text in labels, values, the Cover and a hidden sheet; the
registers get planted text in coded columns. The generator's coded fieldwork
(``fieldwork/*.qdpx``) carries its own planted identifiers in the transcripts: young
people's and workers' names, places, schools, dates, phone numbers and postcodes (listed in
``_truth/redaction_register.csv`` and ``_truth/fieldwork.json``); the folder is real data
once planted, so the cleaner is given that register as the evaluators' own
(``HUBSPOKE_REDACTION_REGISTER``). Then ``dvc repro`` runs clean, analyse, report
and index. Every output is searched (processed tables cell by cell, quarantine, ledger,
completion marker, metrics, interim tables, executed notebooks, reports, CSV tables, SVG
figures) and so is the log of the run. PNG figures are pictures (no text to search); the
published area and organisation names are fictional register fields, not planted.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import PIPELINE_TEST_PARAMS, make_repo_copy, pipeline_env

pytestmark = [pytest.mark.pipeline]

NAMES = ("Quillon Marchbanks", "Ysolde Fairweather-Nkemelu")
DOBS = ("29/02/2004", "2004-02-29", "29-Feb-2004")
POSTCODES = ("ZZ99 7QJ", "ZZ98 4XW")
CASE_IDS = ("LEAKCASE-90210",)
NOTES = ("Case note: seen at Larkspur Arcade with an older male",)
PLANTS = NAMES + POSTCODES + CASE_IDS + NOTES
SEARCH = (
    *NAMES,
    "Marchbanks",
    "Fairweather",
    *DOBS,
    "20040229",
    *POSTCODES,
    *CASE_IDS,
    "Larkspur",
    "HYPERLINK",
    "cmd|",
)
FORMULAS = ('=HYPERLINK("http://zz.invalid","x")', "@SUM(1+1)*cmd|' /C calc'!A0")


def _rows(path: Path) -> tuple[list[list[str]], str]:
    data = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    return list(csv.reader(io.StringIO(text, newline=""))), enc


def _write(path: Path, rows: list[list[str]], enc: str) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8" if enc == "utf-8-sig" else enc, "replace"))


def _plant_csv(path: Path, k: int) -> None:
    rows, enc = _rows(path)
    if len(rows) < 3:
        return
    header = [h.strip().lower() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    values = list(PLANTS) + list(DOBS) + list(FORMULAS)
    for j, row in enumerate(body):
        for c, h in enumerate(header):
            if c >= len(row):
                continue
            if any(w in h for w in ("name", "postcode", "post code", "note", "comment")):
                row[c] = values[(j + c) % len(values)]  # dropped columns: every row
            elif h in ("dob", "d.o.b.", "date of birth", "date_of_birth"):
                row[c] = DOBS[(j + k) % len(DOBS)]  # a valid date of birth, rows kept
    for c in range(len(header)):  # every column once, in its own row
        target = body[c % len(body)]
        if c < len(target):
            target[c] = values[(c + k) % len(values)]
    _write(path, [rows[0], *body], enc)


def _plant_workbook(path: Path, k: int) -> None:
    wb = openpyxl.load_workbook(path)
    cover = wb["Cover"]
    for row in cover.iter_rows(min_row=2):
        if str(row[0].value).strip().lower() == "service name":
            row[1].value = NAMES[k % 2]
    sheets = [ws for ws in wb.worksheets if ws.title != "Cover"]
    ws = sheets[k % len(sheets)]
    ws.cell(row=2, column=1, value=NAMES[(k + 1) % 2])
    ws.cell(row=3, column=2, value=NOTES[0])
    ws.cell(row=ws.max_row + 1, column=1, value=POSTCODES[k % 2])
    ws.cell(row=ws.max_row, column=2, value=FORMULAS[k % 2])
    hidden = wb.create_sheet(f"{ws.title} ")
    hidden.sheet_state = "hidden"
    hidden.append([NAMES[0], DOBS[0], POSTCODES[0], NOTES[0]])
    wb.save(path)


def plant(raw: Path) -> int:
    """Plant identifying text in the raw folder (see the module docstring); the number of
    files planted."""
    n = 0
    for i, path in enumerate(sorted((raw / "extracts").rglob("*.csv"))):
        if i % 4 == 0:
            _plant_csv(path, i)
            n += 1
    for kind in ("assessments", "training"):
        for i, path in enumerate(sorted((raw / kind).rglob("*.csv"))):
            if i % 4 == 1:
                _plant_csv(path, i)
                n += 1
    for i, path in enumerate(sorted((raw / "returns").rglob("*.xlsx"))):
        if i % 4 == 2:
            _plant_workbook(path, i)
            n += 1
    extracts = sorted((raw / "extracts").rglob("*.csv"))
    headerless, comma = extracts[1], extracts[2]
    rows, enc = _rows(headerless)
    name_col = next((c for c, h in enumerate(rows[0]) if "name" in h.lower()), 1)
    rows[1][name_col] = NAMES[0]
    _write(headerless, rows[1:], enc)  # exported without its header row
    rows, enc = _rows(comma)
    text = "\n".join(",".join(r) for r in rows[:2])
    bad = list(rows[2])
    bad[1] = NAMES[1].replace(" ", ", ")  # an unquoted comma shifts the cells
    (comma).write_bytes(
        (text + "\n" + ",".join(bad) + "\n" + "\n".join(",".join(r) for r in rows[3:])).encode(
            "utf-8" if enc == "utf-8-sig" else enc, "replace"
        )
    )
    for rel, col in (("fieldwork.csv", 2), ("area_panel.csv", 3), ("register/spokes.csv", 4)):
        rows, enc = _rows(raw / rel)
        rows[-1][col] = NAMES[0]
        _write(raw / rel, rows, enc)
    return n + 5


def _texts(root: Path, log: str) -> dict[str, str]:
    out = {"dvc repro log": log}
    folders = ["data/processed", "data/interim", "metrics", "reports"]
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or path.suffix == ".png":
                continue
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                out[rel] = frame.astype("str").to_csv() + " ".join(map(str, frame.columns))
                for col in frame.columns:
                    if str(frame[col].dtype).startswith("datetime64"):
                        out[rel] += " ".join(frame[col].dropna().dt.strftime("%Y%m%d"))
            else:
                out[rel] = path.read_text("utf-8", errors="replace")
    return out


def _fieldwork_register(root: Path) -> Path:
    """A copy of the generator's register outside the raw folder (as evaluators keep it)."""
    out = root / "redaction_register.csv"
    out.write_bytes((root / "data/raw/_truth/redaction_register.csv").read_bytes())
    return out


def fieldwork_plants(root: Path) -> list[str]:
    """Every identifier the generator planted in the fieldwork transcripts: the names
    (whole and each part), places and schools of its register, and its dates, phone
    numbers and postcodes."""
    with open(root / "redaction_register.csv", encoding="utf-8", newline="") as fh:
        register = [(r["kind"], r["text"]) for r in csv.DictReader(fh)]
    truth = json.loads((root / "data/raw/_truth/fieldwork.json").read_text("utf-8"))
    values = {text for _, text in register}
    values |= {part for kind, text in register if kind == "person" for part in text.split()}
    values |= {v for vs in truth["planted"].values() for v in vs}
    return sorted(values)


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    root = make_repo_copy(tmp_path_factory.mktemp("leak") / "repo", PIPELINE_TEST_PARAMS)
    env = pipeline_env(root)
    bin_dir = Path(sys.executable).parent
    synthetic = PIPELINE_TEST_PARAMS["synthetic"]
    subprocess.run(
        [str(bin_dir / "python"), "-m", "analysis", "synthesise", "data/raw",
         "--seed", str(synthetic["seed"]), "--scale", str(synthetic["scale"])],
        cwd=root, env=env, check=True, capture_output=True,
    )  # fmt: skip
    planted = plant(root / "data" / "raw")
    env = {**env, "HUBSPOKE_REDACTION_REGISTER": str(_fieldwork_register(root))}
    log = ""
    for args in (["repro", "aqa", "national"], ["repro", "--downstream", "clean"]):
        proc = subprocess.run(
            [str(bin_dir / "dvc"), *args], cwd=root, env=env, capture_output=True, text=True
        )
        log += proc.stdout + proc.stderr
        assert proc.returncode == 0, log[-4000:]
    return root, log, planted


def test_the_planted_pipeline_runs_to_the_reports(planted_run) -> None:
    root, log, planted = planted_run
    assert planted >= 20
    for stage in ("clean", "analyse", "report", "index"):
        assert f"Running stage '{stage}'" in log
    assert (root / "reports" / "2016-17" / "report.html").exists()
    quarantine = (root / "data" / "processed" / "quarantine.csv").read_text("utf-8")
    assert quarantine.count("\n") > 100  # the planted rows were set aside, visibly


def test_no_output_holds_a_planted_value(planted_run) -> None:
    root, log, _ = planted_run
    texts = _texts(root, log)
    assert len(texts) > 50
    found = [
        f"{where}: {value}"
        for where, text in texts.items()
        for value in SEARCH
        if value.casefold() in text.casefold()
    ]
    assert found == []


def test_no_output_holds_a_fieldwork_identifier(planted_run) -> None:
    """The quotes reach the processed tables, redacted: no planted name, place, school,
    date, phone number or postcode in any output (digits bounded, so a planted 1/03/2015
    is not found inside an unrelated 01/03/2015)."""
    root, log, _ = planted_run
    quotes = pd.read_parquet(root / "data" / "processed" / "fieldwork_quotes.parquet")
    assert len(quotes) > 100
    assert quotes["text"].str.contains(r"\[(?:name|place|school|date|phone)\]").any()
    values = fieldwork_plants(root)
    assert len(values) > 50
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)
    texts = _texts(root, log)
    found = [f"{where}: {m[0]}" for where, text in texts.items() for m in pattern.finditer(text)]
    assert found == []


def test_no_csv_written_holds_a_formula(planted_run) -> None:
    root, _, _ = planted_run
    for path in [*(root / "reports").rglob("*.csv"), root / "data/processed/quarantine.csv"]:
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(("=", "@", "\t", "\r")), (path, cell)
                    assert not (cell.startswith(("+", "-")) and not _number(cell)), (path, cell)


def _number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True
