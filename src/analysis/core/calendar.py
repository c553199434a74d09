"""Evaluation years and report cut-offs.

The evaluation year runs 1 September to 31 August and is written ``2014-15``. A year's
report sees periods up to 31 August and returns received by its cut-off, a number of days
after the year end (``report.cutoff_days_after_year_end`` in ``params.yaml``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

LAST_DAY = date(2017, 8, 31)
"""End of the programme's final evaluation year (2016-17): nothing is simulated after it."""

PHASE_STARTS: tuple[date, ...] = (date(2014, 1, 1), date(2015, 1, 1), date(2016, 1, 1))
"""When the services of each of the three phases started (January 2014, 2015, 2016)."""

_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


def parse_year(year: str) -> int:
    """Return the starting calendar year of an evaluation year label (``2014-15`` → 2014)."""
    match = _YEAR.match(str(year).strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"not an evaluation year label like '2014-15': {year!r}")
    return int(match.group(1))


def year_label(start: int) -> str:
    """The label of the evaluation year starting in September of ``start``."""
    return f"{start}-{(start + 1) % 100:02d}"


def year_start(year: str) -> date:
    """1 September opening an evaluation year."""
    return year_bounds(year)[0]


def year_end(year: str) -> date:
    """31 August closing an evaluation year."""
    return year_bounds(year)[1]


def year_bounds(year: str) -> tuple[date, date]:
    """First and last day (1 September, 31 August) of an evaluation year."""
    start = parse_year(year)
    return date(start, 9, 1), date(start + 1, 8, 31)


def cutoff_date(year: str, days_after_year_end: int) -> date:
    """The date by which a return must have arrived to count in ``year``'s report."""
    return year_bounds(year)[1] + timedelta(days=int(days_after_year_end))


def previous_year(year: str) -> str:
    """The evaluation year before ``year``."""
    return year_label(parse_year(year) - 1)


def year_of(day: date) -> str:
    """The evaluation year a date falls in."""
    return year_label(day.year if day.month >= 9 else day.year - 1)


# --------------------------------------------------------------------------- periods
# Reporting periods: an evaluation year or one of its quarters (September-November is Q1).

_RE_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:\s*Q([1-4]))?$")


@dataclass(frozen=True)
class Period:
    """One reporting period: an evaluation year (``2014-15``) or a quarter (``2014-15 Q1``)."""

    period: str
    evaluation_year: str
    frequency: str
    start: date
    end: date


def parse_period(text: str) -> Period:
    """Read ``2014-15``, ``2014-15 Q2`` or the file-name form ``2014-15Q2``.

    Raises ``ValueError`` for anything else (including ``2014-16``).
    """
    if type(text) is str:  # periods repeat on every row: parse each distinct label once
        return _parse_period_cached(text)
    return _parse_period(text)


def _parse_period(text: str) -> Period:
    """:func:`parse_period` without the cache."""
    m = _RE_PERIOD.match(str(text).strip())
    if not m:
        raise ValueError(f"not a period like 2014-15 or 2014-15 Q2: {text!r}")
    y1, y2 = int(m[1]), int(m[2])
    if (y1 + 1) % 100 != y2:
        raise ValueError(f"not an evaluation year (Sep–Aug): {text!r}")
    year = f"{y1}-{y2:02d}"
    if m[3] is None:
        return Period(year, year, "annual", *year_bounds(year))
    q = int(m[3])
    start_month = 9 + 3 * (q - 1)
    sy = y1 + (start_month - 1) // 12
    sm = (start_month - 1) % 12 + 1
    end_first = pd.Timestamp(sy, sm, 1) + pd.DateOffset(months=3) - pd.Timedelta(days=1)
    return Period(f"{year} Q{q}", year, "quarterly", date(sy, sm, 1), end_first.date())


_parse_period_cached = functools.lru_cache(maxsize=4096)(_parse_period)


def quarter_of(d: date) -> str:
    """The evaluation quarter (``2014-15 Q2``) a date falls in."""
    q = ((d.month - 9) % 12) // 3 + 1
    return f"{year_of(d)} Q{q}"


FIRST_PANEL_YEAR = 2012
"""Quarter index 1 is the first quarter (September-November) of this evaluation year."""


def quarter_index(quarter: str) -> int:
    """1 for ``2012-13 Q1`` (Sep–Nov 2012), counting up one per quarter."""
    p = parse_period(quarter)
    if p.frequency != "quarterly":
        raise ValueError(f"not a quarter: {quarter!r}")
    return (int(p.evaluation_year[:4]) - FIRST_PANEL_YEAR) * 4 + int(p.period[-1])


def quarter_index_of(day: date) -> int:
    """Quarter index of a date (1 = Sep–Nov 2012): ``quarter_index(quarter_of(day))``."""
    q = ((day.month - 9) % 12) // 3 + 1
    return (parse_year(year_of(day)) - FIRST_PANEL_YEAR) * 4 + q


def quarter_label(index: int) -> str:
    """``2012-13 Q1`` for quarter index 1."""
    y, q = FIRST_PANEL_YEAR + (index - 1) // 4, (index - 1) % 4 + 1
    return f"{year_label(y)} Q{q}"


def quarter_bounds(start_year: int, quarter: int) -> tuple[date, date]:
    """First and last day of quarter ``quarter`` (1–4) of the evaluation year ``start_year``."""
    month0 = 8 + 3 * (quarter - 1)  # months after January of start_year, 0-based: Sep = 8
    sy, sm = start_year + month0 // 12, month0 % 12 + 1
    ey, em = start_year + (month0 + 3) // 12, (month0 + 3) % 12 + 1
    return date(sy, sm, 1), date(ey, em, 1) - timedelta(days=1)
