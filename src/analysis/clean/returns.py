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
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analysis.clean import limits
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
    counts rows whose every cell is empty. Row numbers are those a person sees in Excel,
    or in a spreadsheet opening the CSV (the header is row ``header_row``): a CSV record
    whose quoted text spans several lines is one row.
    """

    file: str
    sheet: str
    header: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    blank: int = 0
    header_row: int = 1
    raw_header: list[str] = field(default_factory=list)


def _binary_kind(data: bytes) -> str:
    """What a file that is not text most likely is, for the reason that rejects it."""
    if data[:4] == b"PK\x03\x04":
        return "an Excel workbook or ZIP archive"
    if data[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
        return "an old Excel (.xls) or other Office file"
    if data[:5] == b"%PDF-":
        return "a PDF document"
    return "binary data"


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or Windows-1252.

    Returns ``(text, encoding)``; raises :class:`FileRejected` when the bytes are neither,
    naming what they look like (UTF-16 text, a workbook, binary data).
    """
    head = data[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or _utf16(head):
        raise FileRejected(
            "text is UTF-16 (as Excel's 'Unicode Text' saves it), not UTF-8 or "
            "Windows-1252: save it as 'CSV UTF-8 (comma delimited)' and re-send"
        )
    if b"\x00" in head:
        kind = _binary_kind(data)
        raise FileRejected(
            "not a text (CSV) file: it contains binary data"
            + (f" ({kind})" if kind != "binary data" else "")
        )
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


def _utf16(head: bytes) -> bool:
    """True when ``head`` looks like UTF-16 text without a byte-order mark: a zero byte in
    (nearly) every other position and (nearly) none in the others."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    for zeros, others in ((odd, even), (even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and others.count(0) <= 0.1 * len(others):
            return True
    return False


def _build_table(
    file: str,
    sheet: str,
    records: list[tuple[int, list[Any]]],
    aliases: Mapping[str, str] | None,
    known: Collection[str] | None = None,
) -> Table:
    """Turn numbered raw records into a :class:`Table` (first non-blank record = header).

    Columns whose normalised header repeats are an error only among ``known`` names (the
    columns the reader uses; every name when ``known`` is ``None``): an unknown column is
    ignored anyway. The error never repeats a header cell that is not a known name.
    """
    header_idx = next(
        (i for i, (_, rec) in enumerate(records) if any(not is_missing(c) for c in rec)), None
    )
    if header_idx is None:
        raise FileRejected("empty: no header row and no data")
    header_row, raw_header = records[header_idx]
    header = [normalise_header(h, aliases) for h in raw_header]
    while header and header[-1] == "":
        header.pop()
    counts = Counter(h for h in header if h)
    dup = sorted(h for h, n in counts.items() if n > 1 and (known is None or h in known))
    if dup:
        raise FileRejected(f"duplicate column(s) after normalising headers: {', '.join(dup)}")
    positions = {h: i for i, h in enumerate(header) if h}
    table = Table(
        file=file,
        sheet=sheet,
        header=header,
        header_row=header_row,
        raw_header=[cell_text(h) for h in raw_header[: len(header)]],
    )
    width = len(header)
    for row_no, rec in records[header_idx + 1 :]:
        if all(cell_text(c) == "" for c in rec):
            table.blank += 1
            continue
        n = len(rec)
        values = {h: (rec[i] if i < n else None) for h, i in positions.items()}
        if n > width:
            extra = [c for c in rec[width:] if cell_text(c) != ""]
            if extra:
                values["__extra__"] = extra
        table.rows.append((row_no, values))
    return table


def read_csv_table(
    path: Path,
    file: str,
    aliases: Mapping[str, str] | None = None,
    known: Collection[str] | None = None,
) -> Table:
    """Read a CSV file into a :class:`Table` (sheet name ``""``).

    The file's size is checked before it is read (:data:`analysis.clean.limits.MAX_CSV_BYTES`)
    and its rows while they are parsed (:data:`~analysis.clean.limits.MAX_CSV_ROWS`). Row
    numbers count CSV records, so a quoted value holding a line break does not shift them.
    Raises :class:`FileRejected` for an empty, oversized or undecodable file.
    """
    size = path.stat().st_size
    if size > limits.MAX_CSV_BYTES:
        raise FileRejected(
            f"file is {limits.megabytes(size)}, over the limit of "
            f"{limits.megabytes(limits.MAX_CSV_BYTES)} for a CSV file: split it by period or "
            "check that it is the file the contract describes"
        )
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected("empty file (0 bytes or only whitespace)")
    text, _ = decode_text(data)
    del data
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[Any]]] = []
    try:
        for number, rec in enumerate(reader, start=1):
            if number > limits.MAX_CSV_ROWS:
                raise FileRejected(
                    f"more than {limits.MAX_CSV_ROWS:,} rows, the limit for a CSV file: split "
                    "it by period or check that it is the file the contract describes"
                )
            records.append((number, rec))
    except csv.Error as exc:
        raise FileRejected(
            f"not valid CSV near row {len(records) + 1} (line {reader.line_num}): {exc}"
        ) from None
    return _build_table(file, "", records, aliases, known)


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
