"""Rules about monitoring returns that every stage shares, each defined once.

* which periods a service must return in an evaluation year (:func:`expected_periods`);
* which version of a return is current (:func:`current_rows`): a resubmission supersedes
  the earlier version, which stays in the tables marked ``superseded``;
* when a return is late (:data:`LATE_AFTER_DAYS`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.core import calendar

__all__ = ["LATE_AFTER_DAYS", "current_rows", "expected_periods"]

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
