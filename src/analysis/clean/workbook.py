"""Reading monitoring-return workbooks (``.xlsx``) without losing, guessing or over-reading.

Before a cell is read, the workbook's parts are inspected (:func:`inspect_workbook`): the
file size, the unpacked size, every sheet's name and visibility, and for each sheet to be
read its declared dimension, its real extent, its merged cells and its formulas that carry
no saved value. Limits (:mod:`analysis.clean.limits`) are checked there, so a tiny file
declaring a million rows is rejected before anything is allocated. Values are then read
with python-calamine (a Rust reader, several times faster than openpyxl and lean in
memory), sheet by sheet, only for the visible sheets asked for: a hidden sheet is listed,
never read in place of a visible one.

The reader gives the values a person sees in Excel: a formula's saved result, and nothing
for a formula Excel never calculated, which is why such cells (and merged cells, whose
value stands in one cell only) are reported as problems of their row.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from analysis.clean import limits
from analysis.clean.returns import FileRejected, Table, _build_table

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DIM = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([^\"]+)\"")
_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"")
_CELL = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([^\"]+)\"")
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_BODY = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF_ATTR = re.compile(rb"\br=\"([A-Z]{1,3})(\d+)\"")
_VALUE = re.compile(rb"<(?:\w+:)?v>\s*[^<\s]")
_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


@dataclass(frozen=True)
class SheetPart:
    """One sheet of a workbook as ``xl/workbook.xml`` lists it."""

    name: str
    hidden: bool
    part: str | None


@dataclass
class SheetRead:
    """One sheet read: its table and the cells whose value cannot be told.

    ``cell_problems`` maps a row number to ``(column number, reason)`` pairs: formulas
    with no saved value and merged cells (other than those inside the header row).
    """

    table: Table
    cell_problems: dict[int, list[tuple[int, str]]] = field(default_factory=dict)


@dataclass
class WorkbookRead:
    """What :func:`read_return_workbook` found: visible sheets read, and sheet names."""

    sheets: dict[str, SheetRead]
    visible: list[str]
    hidden: list[str]


def column_number(letters: str) -> int:
    """``A`` → 1, ``AB`` → 28."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    """1 → ``A``, 28 → ``AB``."""
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell(ref: str) -> tuple[int, int] | None:
    m = _A1.match(ref.strip())
    return (int(m[2]), column_number(m[1])) if m else None


def _range(ref: str) -> tuple[int, int, int, int] | None:
    """``B2:C4`` → (2, 2, 4, 3) (rows and columns, 1-based, inclusive)."""
    first, _, last = ref.partition(":")
    a, b = _cell(first), _cell(last or first)
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


def check_workbook(data: bytes) -> None:
    """Raise :class:`FileRejected` unless ``data`` looks like a readable ``.xlsx`` file."""
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


def _unreadable(exc: BaseException | str) -> FileRejected:
    what = exc if isinstance(exc, str) else type(exc).__name__
    return FileRejected(
        f"unreadable workbook: damaged or not a real .xlsx ({what}); re-save it from Excel"
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _rels(zf: zipfile.ZipFile, name: str) -> dict[str, tuple[str, str]]:
    """``{Id: (Type, Target)}`` of a relationships part (empty when it is absent)."""
    try:
        root = ElementTree.fromstring(zf.read(name))
    except KeyError:
        return {}
    return {
        el.get("Id", ""): (el.get("Type", ""), el.get("Target", ""))
        for el in root
        if _local(el.tag) == "Relationship"
    }


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for p in (PurePosixPath(base).parent / target).parts:
        if p == "..":
            if parts:
                parts.pop()
        elif p != ".":
            parts.append(p)
    return "/".join(parts)


def inspect_parts(zf: zipfile.ZipFile) -> list[SheetPart]:
    """The workbook's sheets in order, with visibility and the part holding each."""
    total = sum(info.file_size for info in zf.infolist())
    if total > limits.MAX_WORKBOOK_XML_BYTES:
        raise FileRejected(
            f"workbook unpacks to {limits.megabytes(total)}, over the limit of "
            f"{limits.megabytes(limits.MAX_WORKBOOK_XML_BYTES)}: re-save it from Excel "
            "without the extra sheets, images or empty formatted ranges"
        )
    book = next(
        (t for typ, t in _rels(zf, "_rels/.rels").values() if typ.endswith("/officeDocument")),
        "xl/workbook.xml",
    ).lstrip("/")
    rels = _rels(zf, _resolve(book, "_rels/" + PurePosixPath(book).name + ".rels"))
    root = ElementTree.fromstring(zf.read(book))
    out = []
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        rid = el.get(f"{{{_REL_NS}}}id") or next(
            (v for k, v in el.attrib.items() if _local(k) == "id"), ""
        )
        target = rels.get(rid, ("", ""))[1]
        out.append(
            SheetPart(
                name=el.get("name", ""),
                hidden=el.get("state", "visible") in ("hidden", "veryHidden"),
                part=_resolve(book, target) if target else None,
            )
        )
    return out


def _extent(xml: bytes) -> tuple[tuple[int, int] | None, int, int]:
    """(declared rows × columns or ``None``, highest row, highest column) of a sheet."""
    declared = None
    m = _DIM.search(xml)
    if m:
        rng = _range(m[1].decode("ascii", "replace"))
        if rng is not None:
            declared = (rng[2], rng[3])
    rows = max((int(r) for r in _ROW.findall(xml)), default=0)
    cols = 0
    for letters, row in _CELL.findall(xml):
        cols = max(cols, column_number(letters.decode("ascii")))
        rows = max(rows, int(row))
    return declared, rows, cols


def _unsaved_formulas(xml: bytes) -> list[tuple[int, int]]:
    """Cells holding a formula but no saved value (``<f>`` without a non-empty ``<v>``)."""
    if not _HAS_FORMULA.search(xml):
        return []
    out = []
    for attrs, body in _CELL_BODY.findall(xml):
        if body and _HAS_FORMULA.search(body) and not _VALUE.search(body):
            ref = _REF_ATTR.search(attrs)
            if ref:
                out.append((int(ref[2]), column_number(ref[1].decode("ascii"))))
    return out


def _sheet_problems(xml: bytes, header_row: int | None) -> dict[int, list[tuple[int, str]]]:
    problems: dict[int, list[tuple[int, str]]] = {}
    for row, col in _unsaved_formulas(xml):
        problems.setdefault(row, []).append(
            (
                col,
                f"cell {column_letters(col)}{row} holds a formula with no saved value (the "
                "workbook was saved without calculating it): open it in Excel, let it "
                "calculate, save it and re-send",
            )
        )
    for ref in _MERGE.findall(xml):
        rng = _range(ref.decode("ascii", "replace"))
        if rng is None or (rng[0] == rng[2] and rng[1] == rng[3]):
            continue
        r0, c0, r1, c1 = rng
        name = f"{column_letters(c0)}{r0}:{column_letters(c1)}{r1}"
        for row in range(r0, r1 + 1):
            if row == header_row:
                continue
            problems.setdefault(row, []).append(
                (
                    c0,
                    f"cells {name} are merged, so the value of each row cannot be told: "
                    "unmerge them, fill in every cell and re-send",
                )
            )
    return problems


def _check_size(declared: tuple[int, int] | None, rows: int, cols: int, sheet: str) -> None:
    d_rows, d_cols = declared or (0, 0)
    if max(d_rows, rows) > limits.MAX_SHEET_ROWS or max(d_cols, cols) > limits.MAX_SHEET_COLUMNS:
        size = f"{max(d_rows, rows):,} rows × {max(d_cols, cols):,} columns"
        raise FileRejected(
            f"sheet {sheet} declares or holds {size}, over the limit of "
            f"{limits.MAX_SHEET_ROWS:,} rows × {limits.MAX_SHEET_COLUMNS} columns: delete the "
            "empty rows and columns below and to the right of the data and re-save it"
        )


def _records(values: list[list[Any]], rows: int) -> list[tuple[int, list[Any]]]:
    """Calamine's rows numbered as Excel numbers them, padded with the empty rows the
    sheet lists after its last value (blank rows are counted, like any other row)."""
    out = [(i, [None if c == "" else c for c in rec]) for i, rec in enumerate(values, start=1)]
    out.extend((i, []) for i in range(len(values) + 1, rows + 1))
    return out


def read_return_workbook(
    path: Path,
    file: str,
    wanted: Callable[[str], bool] = lambda name: True,
    aliases: Mapping[str, str] | None = None,
) -> WorkbookRead:
    """Read the visible sheets of an ``.xlsx`` workbook whose name ``wanted`` accepts.

    Raises :class:`FileRejected` for a file over the size limits, an empty,
    password-protected, corrupt or non-Excel file, or a wanted sheet over the dimension
    limits. A wanted sheet that holds nothing maps to an empty :class:`Table`.
    """
    size = path.stat().st_size
    if size > limits.MAX_WORKBOOK_BYTES:
        raise FileRejected(
            f"workbook is {limits.megabytes(size)}, over the limit of "
            f"{limits.megabytes(limits.MAX_WORKBOOK_BYTES)} for a monitoring return"
        )
    data = path.read_bytes()
    check_workbook(data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        parts = inspect_parts(zf)
    except FileRejected:
        raise
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError, OSError) as exc:
        raise _unreadable(exc) from None
    visible = [p.name for p in parts if not p.hidden]
    hidden = [p.name for p in parts if p.hidden]
    chosen = [p for p in parts if not p.hidden and wanted(p.name)]
    xml: dict[str, bytes] = {}
    for p in chosen:
        try:
            xml[p.name] = zf.read(p.part) if p.part else b""
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise _unreadable(exc) from None
        _check_size(*_extent(xml[p.name]), p.name)
    from python_calamine import CalamineError, CalamineWorkbook

    sheets: dict[str, SheetRead] = {}
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as wb:
            for p in chosen:
                values = wb.get_sheet_by_name(p.name).to_python(skip_empty_area=False)
                _, rows, _ = _extent(xml[p.name])
                records = _records(values, rows)
                try:
                    table = _build_table(file, p.name, records, aliases)
                except FileRejected:
                    table = Table(file=file, sheet=p.name, header=[])
                header_row = table.header_row if table.header else None
                sheets[p.name] = SheetRead(table, _sheet_problems(xml[p.name], header_row))
    except CalamineError as exc:
        raise _unreadable(exc) from None
    return WorkbookRead(sheets=sheets, visible=visible, hidden=hidden)


def read_workbook(
    path: Path, file: str, aliases: Mapping[str, str] | None = None
) -> dict[str, Table]:
    """Every visible sheet of an ``.xlsx`` workbook as a :class:`Table` (by sheet name).

    Raises :class:`FileRejected` as :func:`read_return_workbook` does; hidden sheets are
    never read.
    """
    read = read_return_workbook(path, file, aliases=aliases)
    return {name: sheet.table for name, sheet in read.sheets.items()}
