"""Rules about monitoring returns that every stage shares, each defined once.

* which periods a service must return in an evaluation year (:func:`expected_periods`);
* which submission supersedes another (:func:`submission_order`,
  :func:`superseded_flags`): for one service, period and kind of file the highest version
  wins, then the latest received date, whatever the files are called;
* which version of a return is current (:func:`current_rows`): a resubmission supersedes
  the earlier version, which stays in the tables marked ``superseded``;
* when a return is late (:data:`LATE_AFTER_DAYS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from analysis.core import calendar

__all__ = [
    "LATE_AFTER_DAYS",
    "current_rows",
    "expected_periods",
    "submission_order",
    "superseded_flags",
]

LATE_AFTER_DAYS = 30
"""A return received more than this many days after its period ended is late."""


def expected_periods(reporting: str, start: Any, funded_until: Any, year: str) -> list[str]:
    """Periods a service is expected to return for ``year``.

    Annual services send one (``2014-15``); quarterly services one per quarter of the
    evaluation year that overlaps their funded months (``2014-15 Q2`` …).
    """
    if str(reporting) != "quarterly":
        return [year]
    base = pd.Timestamp(calendar.year_start(year))
    periods = []
    for q in range(1, 5):
        q_start = base + pd.DateOffset(months=3 * (q - 1))
        q_end = q_start + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        if q_end >= pd.Timestamp(start) and (
            pd.isna(funded_until) or q_start <= pd.Timestamp(funded_until)
        ):
            periods.append(f"{year} Q{q}")
    return periods


def submission_order(version: Any, received_date: Any, file: str) -> tuple[int, date, str]:
    """Sort key of one submission among those of the same service, period and kind of file.

    The one rule for resubmissions and duplicates (``docs/data-contract.md``, "Resubmissions
    and duplicates"), shared by the cleaner, the vintages of :mod:`analysis.analyse.vintage`
    and the data-quality tables of :mod:`analysis.publish.quality`: the **highest version**
    wins (a missing version counts as 0: extracts, assessments and training files have none);
    among equal versions, the **latest received date**; the file name only orders files that
    are equal on both (the cleaner keeps one of them when their contents are identical and
    rejects them all when they differ). The last submission in this order is current.
    """
    v = 0 if version is None or pd.isna(version) else int(version)
    r = date.min if received_date is None or pd.isna(received_date) else received_date
    if isinstance(r, pd.Timestamp):
        r = r.date()
    return (v, r, str(file))


def superseded_flags(
    frame: pd.DataFrame,
    *,
    group: Sequence[str],
    version: str = "version",
    received: str = "received_date",
    file: str = "file",
) -> pd.Series:
    """True for each row whose submission is not the last of its ``group`` by
    :func:`submission_order` (version, then received date, then file name)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="bool")
    keys = pd.DataFrame(
        {
            **{f"_g{i}": frame[c].astype("str").fillna("").to_numpy() for i, c in enumerate(group)},
            "_v": pd.to_numeric(frame[version], errors="coerce").fillna(0).to_numpy(),
            "_r": pd.to_datetime(frame[received]).fillna(pd.Timestamp.min).to_numpy(),
            "_f": frame[file].astype("str").fillna("").to_numpy(),
        }
    )
    by = [f"_g{i}" for i in range(len(group))]
    order = keys.sort_values([*by, "_v", "_r", "_f"], kind="mergesort")
    current = order.groupby(by, sort=False).tail(1).index.to_numpy()
    flags = pd.Series(True, index=range(len(frame)), dtype="bool")
    flags.iloc[current] = False
    return pd.Series(flags.to_numpy(), index=frame.index, dtype="bool")


def current_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of current returns: those not marked ``superseded`` by a resubmission.

    The one rule for "current" everywhere the analysis and reports read return-level
    tables: a missing flag counts as current (a table without the column passes through).
    After :func:`analysis.analyse.vintage.tables_as_of`, this leaves one return per
    service, period and measure.
    """
    if "superseded" not in frame.columns:
        return frame
    flag = frame["superseded"].astype("boolean").fillna(False).astype("bool")
    return frame.loc[~flag]
