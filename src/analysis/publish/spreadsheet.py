"""One spreadsheet per release, as the GSS guidance on releasing statistics in
spreadsheets asks: a cover sheet, a contents sheet, a notes sheet and one table per sheet,
numbers stored as numbers and the GSS symbols in their own column (``gptables``, the
Analysis Function's package for it). The file is byte-stable: the same tables give the same
bytes (fixed creation date; ``xlsxwriter`` stamps every part of the ZIP with a fixed time).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.publish.disclosure import DisclosedTable
from analysis.publish.disclosure.table import STATUS_HEADER, SYMBOL_KEY, VALUE_HEADER

__all__ = ["Release", "release_workbook", "sheet_name"]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Release:
    """What a release's cover says: its title, the period, when it was published, when
    the next one is due and whom to contact."""

    title: str
    period: str
    published: dt.date
    next_update: str
    contact: str
    about: tuple[str, ...] = ()


def sheet_name(number: str) -> str:
    """The worksheet holding table ``number`` ("6.2" -> "Table_6_2")."""
    return f"Table_{number.replace('.', '_')}"


def _cell(value: str, status: str) -> float | int | str:
    if _NUMBER.fullmatch(value):
        number = float(value)
        return int(number) if "." not in value else number
    # GSS: no blank cells; where a symbol stands instead of a number, the cell shows it
    return value or status


def _sheet_table(table: DisclosedTable) -> pd.DataFrame:
    tidy = table.tidy()
    values = [_cell(v, s) for v, s in zip(tidy[VALUE_HEADER], tidy[STATUS_HEADER], strict=True)]
    out = tidy.astype(object)
    out[VALUE_HEADER] = pd.Series(values, index=tidy.index, dtype=object)
    out[STATUS_HEADER] = tidy[STATUS_HEADER].where(tidy[STATUS_HEADER] != "", "None")
    return out


def release_workbook(
    tables: Sequence[tuple[str, DisclosedTable]], path: Path | str, release: Release
) -> Path:
    """Write the release's spreadsheet to ``path``: cover, contents, notes and one sheet
    per table (``(number, table)`` pairs, in order), each table in tidy form
    (:meth:`DisclosedTable.tidy`). Returns the path."""
    import gptables as gpt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    notes: dict[str, str] = {}
    sheets: dict[str, gpt.GPTable] = {}
    for number, table in tables:
        refs = []
        for note in table.notes:
            key = notes.setdefault(note, f"note{len(notes) + 1}")
            refs.append(f"$${key}$$")
        frame = _sheet_table(table)
        labels = len(table.label_headers()) + 1
        sheets[sheet_name(number)] = gpt.GPTable(
            table=frame,
            table_name=f"table_{number.replace('.', '_')}",
            title=f"Table {number}: {table.title}{''.join(refs)}",
            subtitles=[
                f"{VALUE_HEADER}: the figure as published; {STATUS_HEADER}: the GSS symbol "
                "shown with or instead of it (None when there is none)."
            ],
            scope=release.title,
            source="Hub and Spoke evaluation monitoring returns (synthetic data)",
            index_columns={k + 1: k for k in range(min(labels, 3))},
        )
    symbols = [f"{s} {meaning}" for s, meaning in SYMBOL_KEY.items()]
    cover = gpt.Cover(
        title=f"{release.title}: {release.period}",
        intro=[
            f"Published {release.published:%d %B %Y}. Next update: {release.next_update}.",
            "This workbook holds every table of the report, one table per sheet, "
            "with the same disclosure control as the report.",
        ],
        about=[*release.about, "Symbols used in the tables:", *symbols],
        contact=[release.contact],
    )
    notes_table = pd.DataFrame({"Note reference": list(notes.values()), "Note text": list(notes)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook = gpt.produce_workbook(
            filename=str(out),
            sheets=sheets,
            cover=cover,
            notes_table=notes_table if notes else None,
        )
    published = dt.datetime.combine(release.published, dt.time(9, 30))
    workbook.set_properties({"created": published, "title": release.title})
    workbook.close()
    return out
