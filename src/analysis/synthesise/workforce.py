"""The spoke workforce: the posts each spoke area funds, how long they stayed vacant while
services recruited (often in more than one round), who filled them (social work, youth work
or other backgrounds), how each was funded (by the programme alone, or part-funded by a
statutory body that asked for referrals of its own kind) and when the worker left.

Every draw comes from the ``posts`` stream, so the roster does not move the young people
or the sessions, which draw from their own streams.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.labels import CO_FUNDER_SOURCE, HOST_CO_FUNDER, POST_FUNDING
from analysis.synthesise.design import LAST_DAY, add_months

__all__ = ["CO_FUNDER_SOURCE", "build_posts", "in_post_months"]

FUNDING: tuple[str, ...] = POST_FUNDING
CO_FUNDER_OF_HOST = HOST_CO_FUNDER


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _month_end_before(day: date, months: int) -> date:
    """The last day of the month ``months`` months before the month after ``day``."""
    first_next = add_months(date(day.year, day.month, 1), 1)
    return add_months(first_next, -months) - timedelta(days=1)


def build_posts(
    rng: np.random.Generator,
    services: pd.DataFrame,
    spokes: pd.DataFrame,
    sustained: dict[str, bool],
    cal: dict[str, Any],
) -> pd.DataFrame:
    """One row per spoke post: the roster's true state.

    A spoke area funds ``spoke_workers`` posts from its service's start. The first is
    filled on the spoke's start date (its recruitment delay); each further post after a
    further delay drawn from the same distribution. A recruitment round takes about
    ``recruitment_round_months``; a round can fail (``extra_round_prob``). Posts end when the
    programme grant ends unless the spoke secured funding beyond it; some workers leave up to
    six months before the grant ends (``early_leaving_prob``). ``end_date`` is ``None`` for
    a post still filled on the last day of the data.
    """
    svc = services.set_index("service_id")
    delay_p = np.asarray(cal["spoke_delay_months_probs"], dtype=float)
    quals = cal["qualification_probs"]
    qual_keys = list(quals)
    qual_p = np.asarray([quals[k] for k in qual_keys], dtype=float)
    rows = []
    for sp in spokes.sort_values("spoke_id", kind="stable").itertuples():
        s = svc.loc[sp.service_id]
        funded_from, until = s["start_date"], s["funded_until"]
        for j in range(int(sp.spoke_workers)):
            extra = 0 if j == 0 else int(rng.choice(len(delay_p), p=delay_p / delay_p.sum()))
            start = add_months(sp.start_date, extra)
            vacancy = _months_between(funded_from, start)
            rounds = 1 + vacancy // int(cal["recruitment_round_months"])
            rounds += int(rng.random() < cal["extra_round_prob"])
            qualification = qual_keys[int(rng.choice(len(qual_keys), p=qual_p / qual_p.sum()))]
            part = bool(rng.random() < cal["part_funded_share"])
            lo, hi = cal["cse_time_share_ranges"][FUNDING[int(part)]]
            cse_time = float(np.round(rng.uniform(lo, hi), 2))
            leaves_early = bool(rng.random() < cal["early_leaving_prob"])
            months_early = int(rng.integers(1, 7))
            end: date | None = None
            if not sustained[sp.spoke_id]:
                end = _month_end_before(until, months_early) if leaves_early else until
                if end <= start:
                    end = until
            rows.append(
                {
                    "post_id": f"{sp.spoke_id}-P{j + 1}",
                    "service_id": sp.service_id,
                    "spoke_id": sp.spoke_id,
                    "host_agency": sp.host_agency,
                    "qualification": qualification,
                    "funding": FUNDING[int(part)],
                    "co_funder": CO_FUNDER_OF_HOST[sp.host_agency] if part else "",
                    "recruitment_rounds": int(rounds),
                    "advertised_date": funded_from,
                    "start_date": start,
                    "end_date": end if end is not None and end <= LAST_DAY else None,
                    "cse_time_share": cse_time,
                }
            )
    return pd.DataFrame(rows)


def in_post_months(post: Any) -> list[date]:
    """First days of the months a post was filled, up to the last day of the data."""
    last = post.end_date if post.end_date is not None else LAST_DAY
    months, first = [], date(post.start_date.year, post.start_date.month, 1)
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months
