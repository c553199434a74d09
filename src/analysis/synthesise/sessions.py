"""Group work, talks and awareness sessions that spoke workers run with children and young
people (in schools, youth groups and elsewhere): one row per session, with its date, the
post that ran it, the setting and the number attending.

Each service draws from its own ``groups`` stream, so sessions do not move the young people
or the training, and a service's sessions do not depend on any other service.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.core.labels import GROUP_SETTINGS
from analysis.synthesise.design import add_months
from analysis.synthesise.workforce import in_post_months


def session_days(
    rng: np.random.Generator, months: list[Any], per_month: float
) -> tuple[np.ndarray, np.ndarray]:
    """Days (day numbers) of the sessions a post runs in its filled ``months``, at
    ``per_month`` once ramped up: half the rate in its first month, full from the sixth.
    Returns the days in month order and the number of sessions in each month."""
    from analysis.synthesise.world import to_days

    m = np.arange(len(months))
    n_month = rng.poisson(per_month * np.minimum(1.0, 0.5 + m / 6))
    first = np.asarray([to_days(d) for d in months], dtype="int64")
    length = np.asarray([to_days(add_months(d, 1)) for d in months], dtype="int64") - first
    offsets = rng.integers(0, np.repeat(length, n_month)) if n_month.sum() else np.zeros(0, int)
    return np.repeat(first, n_month) + offsets, n_month


def simulate_group_sessions(
    rng: np.random.Generator, service_id: str, posts: pd.DataFrame, cal: dict[str, Any]
) -> pd.DataFrame:
    """The service's group sessions with children and young people.

    Each filled post runs sessions at ``group_sessions_per_worker_year`` (half the rate in
    its first month, full after six, as for training); a session's setting is drawn from
    ``group_setting_probs`` and its attendance from a normal distribution per setting
    (``group_attendees_mean``/``_sd``), at least 3 and at most ``group_attendees_max``.
    Columns: ``service_id``, ``post_id``, ``spoke_id``, ``session_day``, ``setting``,
    ``attendees``, ``session_no`` (1, 2, … in date order within the service).
    """
    rate = cal["group_sessions_per_worker_year"] / 12
    settings = cal["group_setting_probs"]
    keys = [k for k in GROUP_SETTINGS if k in settings]
    p = np.asarray([settings[k] for k in keys], dtype=float)
    means = np.asarray([cal["group_attendees_mean"][k] for k in keys], dtype=float)
    sds = np.asarray([cal["group_attendees_sd"][k] for k in keys], dtype=float)
    rows = []
    for post in posts.itertuples():
        days, _ = session_days(rng, in_post_months(post), rate)
        where = rng.choice(len(keys), size=len(days), p=p / p.sum())
        n = np.clip(np.rint(rng.normal(means[where], sds[where])), 3, cal["group_attendees_max"])
        rows += [
            (service_id, post.post_id, post.spoke_id, int(d), keys[w], int(a))
            for d, w, a in zip(days, where, n, strict=True)
        ]
    cols = ["service_id", "post_id", "spoke_id", "session_day", "setting", "attendees"]
    sessions = pd.DataFrame(rows, columns=cols)
    sessions = sessions.sort_values(["session_day", "post_id"], kind="stable").reset_index(
        drop=True
    )
    sessions["session_no"] = np.arange(1, len(sessions) + 1)
    return sessions


def group_estimands(cal: dict[str, Any]) -> dict[str, Any]:
    """Expected attendance per session (before the cap at ``group_attendees_max``)."""
    settings = cal["group_setting_probs"]
    total = sum(settings.values())
    mean = sum(settings[k] / total * cal["group_attendees_mean"][k] for k in settings)
    return {"mean_attendees_per_session": float(mean), "settings": dict(settings)}
