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
    from analysis.synthesise.world import to_days

    rate = cal["group_sessions_per_worker_year"] / 12
    settings = cal["group_setting_probs"]
    keys = [k for k in GROUP_SETTINGS if k in settings]
    p = np.asarray([settings[k] for k in keys], dtype=float)
    rows = []
    for post in posts.itertuples():
        for m, first in enumerate(in_post_months(post)):
            length = to_days(add_months(first, 1)) - to_days(first)
            for _ in range(rng.poisson(rate * min(1.0, 0.5 + m / 6))):
                setting = keys[int(rng.choice(len(keys), p=p / p.sum()))]
                n = rng.normal(
                    cal["group_attendees_mean"][setting], cal["group_attendees_sd"][setting]
                )
                attendees = int(np.clip(np.rint(n), 3, cal["group_attendees_max"]))
                day = to_days(first) + int(rng.integers(0, length))
                rows.append((service_id, post.post_id, post.spoke_id, day, setting, attendees))
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
