"""The programme's cost: grants to each service by evaluation year, and to the evaluation.

The real programme cost £8m, which paid for the services' casework, training and group work
and for the evaluation. Here the total (``programme_cost_gbp`` × K) less the evaluation's
share is split between services in proportion to the posts they fund, and each service's
grant over the evaluation years in proportion to the months of its three-year grant falling
in each; the evaluation's grant runs from September 2013 to January 2017.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from analysis.core import calendar
from analysis.core.labels import EVALUATION_GRANT

EVALUATION = EVALUATION_GRANT
EVALUATION_SPAN = (date(2013, 9, 1), date(2017, 1, 31))
"""The evaluation ran from September 2013 to January 2017."""


def _months_by_year(start: date, end: date) -> dict[str, int]:
    """Months from ``start``'s month to ``end``'s month, by evaluation year."""
    out: dict[str, int] = {}
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        year = calendar.year_of(date(y, m, 1))
        out[year] = out.get(year, 0) + 1
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _whole_pounds(weights: list[float], total: int) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole pounds summing exactly."""
    raw = np.asarray(weights, dtype=float) / float(sum(weights)) * total
    out = np.floor(raw).astype(int)
    order = np.argsort(-(raw - out), kind="stable")
    out[order[: total - int(out.sum())]] += 1
    return [int(v) for v in out]


def build_grants(
    services: pd.DataFrame, posts: pd.DataFrame, scale: float, cal: dict[str, Any]
) -> pd.DataFrame:
    """Grants by holder (a service, or ``evaluation``) and evaluation year, in whole pounds.

    Columns ``grant_holder``, ``evaluation_year``, ``amount_gbp``; the amounts sum to
    ``programme_cost_gbp`` × ``scale`` exactly.
    """
    total = int(round(cal["programme_cost_gbp"] * scale))
    evaluation = int(round(total * cal["evaluation_cost_share"]))
    per_service = posts.groupby("service_id").size().reindex(services["service_id"]).fillna(1)
    shares = _whole_pounds([float(n) for n in per_service], total - evaluation)
    cells: list[tuple[str, str, float]] = []
    for svc, amount in zip(services.itertuples(), shares, strict=True):
        months = _months_by_year(svc.start_date, svc.funded_until)
        years = sorted(months)
        for year, pounds in zip(years, _whole_pounds([months[y] for y in years], amount),
                                strict=True):  # fmt: skip
            cells.append((svc.service_id, year, pounds))
    months = _months_by_year(*EVALUATION_SPAN)
    years = sorted(months)
    for year, pounds in zip(years, _whole_pounds([months[y] for y in years], evaluation),
                            strict=True):  # fmt: skip
        cells.append((EVALUATION, year, pounds))
    return pd.DataFrame(cells, columns=["grant_holder", "evaluation_year", "amount_gbp"])
