"""Where one young person is held, for erasure (``python -m analysis erasure``).

Given a service-side case ID (and, through :func:`key_for_returns`, the key), list every
place under a data folder that holds that young person:

* **raw**: each row of a case extract or assessment file whose case ID matches (compared
  without regard to case or surrounding spaces), and every other line or workbook that
  mentions the case ID (a note, a resubmitted file, an unreadable copy);
* **processed**: each table with a ``person_key`` column (``young_people``,
  ``case_periods``, ``assessments`` ... and anything under ``data/interim``) and its rows
  holding the person's key, the lines of ``quarantine.csv`` about the raw rows found, and
  any other output file (JSON, CSV, HTML, executed notebook) that mentions the key or the
  case ID.

The erasure procedure (``docs/data-protection.md``): list, remove the raw rows, re-run the
pipeline, list again: nothing may remain. Nothing here prints the case ID, a key or a value.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.clean.pseudonymise import key_for_returns, person_key
from analysis.clean.returns import FileRejected, cell_text, decode_text, read_csv_table
from analysis.core import labels as L
from analysis.core.catalog import QUARANTINE
from analysis.core.privacy import folder_files

__all__ = ["Holding", "find_person", "output_folders"]

CASE_ID_ALIASES = {
    **{v: c for v, c in L.EXTRACT_COLUMNS.items() if c == "case_id"},
    **{v: c for v, c in L.ASSESSMENT_COLUMNS.items() if c == "case_id"},
}


@dataclass(frozen=True)
class Holding:
    """One file that holds the young person: where (relative to the folder), what and how
    many rows or lines."""

    where: str
    what: str
    count: int

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def output_folders(folder: Path) -> list[Path]:
    """The folders the pipeline writes under a data folder (the repository or a real-data
    folder): cleaned tables, analyses and executed notebooks, metrics, reports."""
    return [folder / "data" / "processed", folder / "data" / "interim", folder / "metrics",
            folder / "reports"]  # fmt: skip


def _norm(text: str) -> str:
    return text.strip().casefold()


def _ranges(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in sorted(set(numbers)))


def _service_of(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 else None


def _texts(data: bytes) -> list[tuple[str, str]]:
    """``(part, text)`` of a file: its text, or each member of a ZIP (a workbook)."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return [(n, zf.read(n).decode("utf-8", "replace")) for n in zf.namelist()]
        except (zipfile.BadZipFile, OSError, RuntimeError):
            return [("", data.decode("latin-1"))]
    try:
        text, _ = decode_text(data)
    except FileRejected:
        text = data.decode("latin-1")
    return [("", text)]


def _mentions(data: bytes, needles: Sequence[str]) -> tuple[list[int], bool]:
    """Line numbers (of a text file) mentioning any needle, and whether a needle occurs
    anywhere (a workbook's XML, a binary file)."""
    lines: list[int] = []
    found = False
    for part, text in _texts(data):
        folded = text.casefold()
        if not any(n in folded for n in needles):
            continue
        found = True
        if not part:
            lines += [
                i
                for i, line in enumerate(folded.splitlines(), 1)
                if any(n in line for n in needles)
            ]
    return lines, found


def _raw_rows(path: Path, rel: str, case: str) -> list[int]:
    try:
        table = read_csv_table(path, rel, CASE_ID_ALIASES)
    except FileRejected:
        return []
    if "case_id" not in table.header:
        return []
    return [row for row, v in table.rows if _norm(cell_text(v.get("case_id"))) == case]


def _raw(raw_dir: Path, case: str, service: str | None) -> tuple[list[Holding], set]:
    out, rows_found = [], set()
    files, _ = folder_files(raw_dir)
    for rel in files:
        if rel.startswith("_truth/") or (service and _service_of(rel) not in (None, service)):
            continue
        path = raw_dir / rel
        data = path.read_bytes()
        rows = _raw_rows(path, rel, case) if rel.lower().endswith(".csv") else []
        lines, found = _mentions(data, [case])
        rows_found |= {(rel, r) for r in rows}
        other = sorted(set(lines) - set(rows))
        if rows:
            out.append(Holding(f"data/raw/{rel}", f"rows {_ranges(rows)}", len(rows)))
        if other:
            out.append(Holding(f"data/raw/{rel}", f"mentioned on lines {_ranges(other)}",
                               len(other)))  # fmt: skip
        elif found and not rows:
            out.append(Holding(f"data/raw/{rel}", "mentioned in the file", 1))
    return out, rows_found


def _quarantine(path: Path, rows: set, where: str) -> Holding | None:
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [
            i
            for i, r in enumerate(csv.DictReader(fh), 2)
            if (r.get("file", ""), int(r["row"]) if str(r.get("row", "")).isdigit() else -1) in rows
        ]
    return (
        Holding(where, f"lines {_ranges(lines)} (about its raw rows)", len(lines))
        if lines
        else None
    )


def _outputs(folder: Path, roots: Sequence[Path], keys: set[str], case: str, rows: set):
    out = []
    needles = sorted({k.casefold() for k in keys} | {case})
    for root in roots:
        if not root.is_dir():
            continue
        files, _ = folder_files(root)
        for rel in files:
            path = root / rel
            where = path.relative_to(folder).as_posix()
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                if "person_key" in frame.columns:
                    n = int(frame["person_key"].isin(keys).sum())
                    if n:
                        out.append(Holding(where, f"{n} row(s) with its person key", n))
                continue
            if path.name == QUARANTINE:
                found = _quarantine(path, rows, where)
                if found:
                    out.append(found)
            lines, mentioned = _mentions(path.read_bytes(), needles)
            if lines:
                out.append(Holding(where, f"mentioned on lines {_ranges(lines)}", len(lines)))
            elif mentioned:
                out.append(Holding(where, "mentioned in the file", 1))
    return out


def find_person(
    case_id: str,
    raw_dir: Path,
    outputs: Sequence[Path],
    *,
    service: str | None = None,
    folder: Path | None = None,
) -> list[Holding]:
    """Every file under ``raw_dir`` and ``outputs`` that holds the young person with the
    service-side ``case_id`` (at ``service``, or at any service); ``[]`` when none does.

    The person key is computed with the key the raw folder calls for
    (:func:`analysis.clean.pseudonymise.key_for_returns`: ``HUBSPOKE_KEY_FILE`` on real
    data). Paths are shown relative to ``folder`` (default: ``raw_dir``'s grandparent).
    """
    case = _norm(case_id)
    if not case:
        raise ValueError("the case ID is empty")
    raw_dir = Path(raw_dir)
    folder = Path(folder) if folder else raw_dir.parent.parent
    key = key_for_returns(raw_dir)
    services = [service] if service else sorted(
        {p.name for kind in ("extracts", "assessments", "returns") for p in
         (raw_dir / kind).glob("*") if p.is_dir()}
    )  # fmt: skip
    variants = {case_id.strip(), case_id.strip().upper(), case_id.strip().lower()}
    keys = {person_key(key, s, v) for s in services for v in variants}
    held, rows = _raw(raw_dir, case, service)
    return held + _outputs(folder, outputs, keys, case, rows)
