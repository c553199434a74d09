"""Evaluation years and report cut-offs.

The evaluation year runs 1 September to 31 August and is written ``2014-15``. A year's
report sees periods up to 31 August and returns received by its cut-off, a number of days
after the year end (``report.cutoff_days_after_year_end`` in ``params.yaml``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

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
