"""Reading raw monitoring files: workbooks, CSVs, text numbers, dates, encodings, headers.

Every reader here is strict in the way the data contract asks: what can be read with
certainty is returned; what cannot raises :class:`CellError` (one cell) or
:class:`FileRejected` (a whole file) with a reason an analyst can act on. Nothing is
guessed. The functions are pure apart from the two file readers.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analysis.core.labels import COUNT_WORDS

MISSING_MARKERS: frozenset[str] = frozenset({"", "not recorded", "not known", "n/a"})
"""Cell texts (compared case-insensitively, after trimming) that mean "missing"."""

NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(COUNT_WORDS)}
"""English number words the contract allows in count cells (up to twenty)."""

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_RE_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_RE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?$")
_RE_DMONY = re.compile(r"^(\d{1,2})[- ]([A-Za-z]{3,9})[- ](\d{4})$")
_RE_INT = re.compile(r"^[+-]?\d+$")
_RE_INT_COMMAS = re.compile(r"^\d{1,3}(?:,\d{3})+$")


class CellError(ValueError):
    """One cell that cannot be read with certainty; ``str(exc)`` is the analyst's reason."""


class FileRejected(Exception):
    """A whole file that cannot be read; ``str(exc)`` is a one-line reason."""


# --------------------------------------------------------------------------- cells


def cell_text(value: Any) -> str:
    """The cell as trimmed text (``None`` → ``""``; integral floats without ``.0``)."""
    if type(value) is str:  # the common case first (hot path of the cleaner)
        return value.replace("\u00a0", " ").strip()
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").strip()


def is_missing(value: Any) -> bool:
    """True when the cell is empty or one of the contract's missing markers (any case)."""
    return cell_text(value).casefold() in MISSING_MARKERS


def parse_count(value: Any) -> int | None:
    """A whole number from a cell: digits (``"12 "``, ``"1,200"``) or words up to twenty.

    Returns ``None`` for a missing cell. Signs are read (``"-3"`` → ``-3``) so the caller
    can give the more useful reason "negative count". Raises :class:`CellError` otherwise.
    """
    if isinstance(value, bool):
        raise CellError(f"expected a whole number, found {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return int(value)
        raise CellError(f"expected a whole number, found {value:g}")
    text = cell_text(value)
    if text.casefold() in MISSING_MARKERS:
        return None
    if _RE_INT.match(text):
        return int(text)
    if _RE_INT_COMMAS.match(text):
        return int(text.replace(",", ""))
    if re.fullmatch(r"[+-]?\d+\.0+", text):
        return int(float(text))
    word = text.casefold()
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    raise CellError("not a whole number: counts must be digits or English words up to twenty")


def parse_score(value: Any) -> float | None:
    """A numeric score (whole or decimal) from a cell; ``None`` when missing."""
    if isinstance(value, bool):
        raise CellError("expected a number, found a true/false value")
    if isinstance(value, int | float):
        if value != value:
            return None
        return float(value)
    text = cell_text(value)
    if text.casefold() in MISSING_MARKERS:
        return None
    if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text):
        return float(text)
    if text.casefold() in NUMBER_WORDS:
        return float(NUMBER_WORDS[text.casefold()])
    raise CellError("not a number")


def parse_date(value: Any) -> date | None:
    """A UK date: ``dd/mm/yyyy``, ``yyyy-mm-dd`` or ``dd-Mon-yyyy``; ``None`` when missing.

    Excel date cells arrive as ``datetime`` and are taken as they are. Month-first (US)
    dates are not allowed: ``04/13/2015`` is quarantined as an impossible date, and an
    ambiguous ``04/03/2015`` is read day-first as the contract says.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError("a number where a date was expected (write dates as dd/mm/yyyy)")
    text = cell_text(value)
    if text.casefold() in MISSING_MARKERS:
        return None
    if m := _RE_DMY.match(text):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
        if mo > 12 and d <= 12:
            raise CellError("looks like a month-first (US) date; write dates as dd/mm/yyyy")
    elif m := _RE_ISO.match(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _RE_DMONY.match(text):
        mon = m[2][:3].casefold()
        if mon not in _MONTHS or (len(m[2]) > 3 and not _full_month(m[2])):
            raise CellError("unknown month name; write dates as dd/mm/yyyy")
        d, mo, y = int(m[1]), _MONTHS[mon], int(m[3])
    else:
        raise CellError("not a date in an accepted format (dd/mm/yyyy, yyyy-mm-dd, dd-Mon-yyyy)")
    try:
        return date(y, mo, d)
    except ValueError:
        raise CellError("not a real calendar date") from None


def _full_month(name: str) -> bool:
    full = [
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "sept",
    ]  # fmt: skip
    return name.casefold() in full


def parse_category(value: Any, codes: Mapping[str, str]) -> str | None:
    """Map a label to its code through ``codes`` (keys are normalised labels).

    Labels are compared after :func:`normalise_label`; a code itself is also accepted.
    Returns ``None`` for a missing cell; raises :class:`CellError` for an unknown label.
    """
    text = cell_text(value)
    if text.casefold() in MISSING_MARKERS:
        return None
    key = normalise_label(text)
    if key in codes:
        return codes[key]
    if key in set(codes.values()):
        return key
    raise CellError(f"unknown category; expected one of: {', '.join(sorted(set(codes.values())))}")


def parse_yes_no(value: Any) -> bool | None:
    """``yes``/``no`` (also ``y``/``n``, ``true``/``false``, ``1``/``0``) → bool; missing → None."""
    if isinstance(value, bool):
        return value
    text = cell_text(value).casefold()
    if text in MISSING_MARKERS:
        return None
    if text in {"yes", "y", "true", "1"}:
        return True
    if text in {"no", "n", "false", "0"}:
        return False
    raise CellError("expected yes or no")


@functools.lru_cache(maxsize=65536)
def normalise_label(text: str) -> str:
    """A label reduced to lower-case words joined by ``_`` (``"Children's Social Care"`` →
    ``childrens_social_care``)."""
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "").casefold()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def normalise_header(text: Any, aliases: Mapping[str, str] | None = None) -> str:
    """A column header normalised as the data contract says, then mapped through ``aliases``.

    Lower-case it, replace every run of characters other than ``a-z0-9`` by ``_`` and trim
    ``_`` from both ends (``Date of birth`` → ``date_of_birth``, ``D.O.B.`` → ``d_o_b``).
    """
    key = re.sub(r"[^a-z0-9]+", "_", cell_text(text).replace("\ufeff", "").lower()).strip("_")
    if aliases and key in aliases:
        return aliases[key]
    return key


# --------------------------------------------------------------------------- files


@dataclass
class Table:
    """Rows of one sheet or CSV: a header and data rows with their source row numbers.

    ``rows`` holds ``(row_number, {column: raw value})`` for non-blank rows; ``blank``
    counts rows whose every cell is empty. Row numbers are those a person sees in Excel or
    a text editor (the header is row ``header_row``).
    """

    file: str
    sheet: str
    header: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    blank: int = 0
    header_row: int = 1
    raw_header: list[str] = field(default_factory=list)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or Windows-1252.

    Returns ``(text, encoding)``; raises :class:`FileRejected` when the bytes are neither
    (or look binary).
    """
    if b"\x00" in data[:4096]:
        raise FileRejected("not a text (CSV) file: it contains binary data")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        raise FileRejected(
            "text is neither UTF-8 nor Windows-1252; re-save the file as CSV UTF-8"
        ) from None


def _build_table(
    file: str,
    sheet: str,
    records: list[tuple[int, list[Any]]],
    aliases: Mapping[str, str] | None,
) -> Table:
    """Turn numbered raw records into a :class:`Table` (first non-blank record = header)."""
    header_idx = next(
        (i for i, (_, rec) in enumerate(records) if any(not is_missing(c) for c in rec)), None
    )
    if header_idx is None:
        raise FileRejected("empty: no header row and no data")
    header_row, raw_header = records[header_idx]
    header = [normalise_header(h, aliases) for h in raw_header]
    while header and header[-1] == "":
        header.pop()
    dup = sorted({h for h in header if h and header.count(h) > 1})
    if dup:
        raise FileRejected(f"duplicate column(s) after normalising headers: {', '.join(dup)}")
    table = Table(
        file=file,
        sheet=sheet,
        header=header,
        header_row=header_row,
        raw_header=[cell_text(h) for h in raw_header[: len(header)]],
    )
    for row_no, rec in records[header_idx + 1 :]:
        if all(cell_text(c) == "" for c in rec):
            table.blank += 1
            continue
        values = {h: (rec[i] if i < len(rec) else None) for i, h in enumerate(header) if h}
        extra = [c for c in rec[len(header) :] if cell_text(c) != ""]
        if extra:
            values["__extra__"] = extra
        table.rows.append((row_no, values))
    return table


def read_csv_table(path: Path, file: str, aliases: Mapping[str, str] | None = None) -> Table:
    """Read a CSV file into a :class:`Table` (sheet name ``""``).

    Raises :class:`FileRejected` for an empty or undecodable file.
    """
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected("empty file (0 bytes or only whitespace)")
    text, _ = decode_text(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[Any]]] = []
    try:
        for rec in reader:
            records.append((reader.line_num, rec))
    except csv.Error as exc:
        raise FileRejected(f"not valid CSV near line {reader.line_num}: {exc}") from None
    return _build_table(file, "", records, aliases)


def check_workbook(path: Path) -> None:
    """Raise :class:`FileRejected` unless ``path`` looks like a readable ``.xlsx`` file."""
    data = path.read_bytes()
    if not data:
        raise FileRejected("empty file (0 bytes)")
    if data[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
        import msoffcrypto

        try:
            encrypted = msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted()
        except Exception:  # noqa: BLE001 - any failure means "old binary format"
            encrypted = False
        if encrypted:
            raise FileRejected(
                "password-protected workbook: ask the service to re-send it without a password"
            )
        raise FileRejected("old binary Excel (.xls) file: ask for it saved as .xlsx")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileRejected("not an Excel workbook (.xlsx) although it is named like one")


def read_workbook(
    path: Path, file: str, aliases: Mapping[str, str] | None = None
) -> dict[str, Table]:
    """Read every sheet of an ``.xlsx`` workbook into :class:`Table` objects (by sheet name).

    Raises :class:`FileRejected` for an empty, password-protected, corrupt or non-Excel file.
    Sheets that hold nothing at all map to an empty :class:`Table` with no header.
    """
    check_workbook(path)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for corrupt files
        raise FileRejected(
            f"unreadable workbook: damaged or not a real .xlsx ({type(exc).__name__}); "
            "re-save it from Excel"
        ) from None
    tables: dict[str, Table] = {}
    try:
        for ws in wb.worksheets:
            records = [(i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1)]
            try:
                tables[ws.title] = _build_table(file, ws.title, records, aliases)
            except FileRejected:
                tables[ws.title] = Table(file=file, sheet=ws.title, header=[])
    finally:
        wb.close()
    return tables


def sheet_cells(table: Table) -> dict[str, Any]:
    """A two-column "field | value" sheet (e.g. a cover sheet) as a dict of normalised fields.

    The header row is itself treated as a field row, so a cover sheet may or may not have
    a header.
    """
    out: dict[str, Any] = {}
    pairs = [(table.raw_header + [None, None])[:2]] + [
        [(list(v.values()) + [None, None])[0], (list(v.values()) + [None, None])[1]]
        for _, v in table.rows
    ]
    for k, v in pairs:
        key = normalise_label(cell_text(k))
        if key:
            out[key] = v
    return out
