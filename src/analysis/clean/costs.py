"""Reading the programme's grants (``register/grants.csv``): one row per grant holder (a
service, or ``evaluation``) and evaluation year, each kept or quarantined in the ledger."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.clean.intake import RowReader, _extra_cells, _quarantine, _read_csv
from analysis.clean.masking import SERVICE_ID, shown
from analysis.clean.registers import _frame, _unique_rows
from analysis.core import labels as L

if TYPE_CHECKING:
    from analysis.clean.intake import State

GRANTS_FILE = "register/grants.csv"
_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


def read_grants(st: State) -> pd.DataFrame:
    """The ``grants`` table from ``register/grants.csv`` (empty, with a note, when absent).

    A grant holder is a service of the register or ``evaluation``; the year is an
    evaluation year from 2013-14 to 2018-19 (grants run past the evaluation); the amount is
    whole pounds ≥ 0. A holder and year listed twice is quarantined in every row.
    """
    path = st.raw_dir / GRANTS_FILE
    if not path.is_file():
        st.notes.append({"file": GRANTS_FILE, "note": "missing: no programme grants"})
        return _frame([], "grants")
    table = _read_csv(st, path, None, L.GRANTS_COLUMNS)
    if table is None:
        return _frame([], "grants")
    seen: dict[tuple, list[int]] = defaultdict(list)
    kept: dict[int, dict[str, Any]] = {}
    for row, values in table.rows:
        rr = RowReader(values)
        holder = rr.text("grant_holder", required=True)
        if holder and holder != L.EVALUATION_GRANT and holder not in st.services:
            rr.fail(
                "grant_holder",
                f"unknown grant holder {shown(holder, SERVICE_ID, 'holder')} (a service in "
                "register/services.csv or "
                f"{L.EVALUATION_GRANT})",
            )
        year = rr.code("evaluation_year", L.GRANT_YEARS)
        amount = rr.count("amount_gbp", required=True, lo=0)
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        kept[row] = {"grant_holder": holder, "evaluation_year": year, "amount_gbp": amount}
        seen[(holder, year)].append(row)
        st.ledger.keep(table.file, "", row)
    recs = _unique_rows(
        st, table.file, seen, kept, "grant_holder",
        lambda k: (k[0], f"grant to {k[0]} for {k[1]} appears in more than one row"),
    )  # fmt: skip
    return _frame(recs, "grants")
