"""The release spreadsheet (GSS guidance): cover, contents, notes, one table per sheet,
numbers stored as numbers, symbols in their own column, the same bytes on every run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from analysis.publish import disclosure
from analysis.publish.spreadsheet import Release, release_workbook, sheet_name

RELEASE = Release(
    title="Hub and Spoke evaluation",
    period="2016-17",
    published=dt.date(2017, 10, 28),
    next_update="none: this is the evaluation's final report",
    contact="The evaluation team",
)


def _tables() -> list[tuple[str, disclosure.DisclosedTable]]:
    frame = pd.DataFrame(
        {
            "service_id": ["S01", "S01", "S02", "S02"],
            "source": ["police", "health", "police", "health"],
            "n": np.array([3, 1200, 40, 12], dtype=float),
        }
    )
    counts = disclosure.disclose_counts(
        frame,
        index="service_id",
        columns="source",
        values="n",
        threshold=5,
        total_rounding=5,
        title="Referrals by service and source, 2016-17",
    )
    return [("3.1", counts), ("3.2", counts.with_title("Referrals again, 2016-17"))]


def test_workbook_follows_the_guidance_and_is_byte_stable(tmp_path: Path) -> None:
    first = release_workbook(_tables(), tmp_path / "a.xlsx", RELEASE)
    second = release_workbook(_tables(), tmp_path / "b.xlsx", RELEASE)
    assert first.read_bytes() == second.read_bytes()
    book = openpyxl.load_workbook(first)
    assert book.sheetnames == ["Cover", "Contents", "Notes", sheet_name("3.1"), "Table_3_2"]
    rows = list(book["Table_3_1"].iter_rows(values_only=True))
    header = next(
        i for i, r in enumerate(rows) if r[:4] == ("Service", "Source", "Value", "Status")
    )
    body = rows[header + 1 :]
    # numbers are numbers; a symbol stands in its own column (and, GSS: no blank cell)
    assert any(isinstance(r[2], int) and r[3] == "None" for r in body)
    assert ("S01", "Police", "[c]", "[c]") in body
    assert all(r[2] is not None and r[3] is not None for r in body)
    cover = [r[0] for r in book["Cover"].iter_rows(values_only=True) if r[0]]
    assert any("Published 28 October 2017" in str(c) for c in cover)
    assert "The evaluation team" in cover
