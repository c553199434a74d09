"""A service's group-session records: ``groupwork/<service>/<service>_<period>_groups.csv``,
one row per group session with children and young people, in the service's own style (its
column names, labels, encoding), with counts sometimes typed as text and blank rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.synthesise.write.formats import (
    _order,
    blank_layout,
    format_day,
    number_as_text,
    post_as_written,
    write_csv,
)

if TYPE_CHECKING:
    from analysis.synthesise.write.formats import Style
    from analysis.synthesise.write.returns import Delivery, Sink

GROUP_COLUMNS: tuple[str, ...] = ("session_id", "session_date", "post_id", "setting", "attendees")
"""Canonical columns of a group-session file (data contract)."""

GROUP_HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "session_id": ("session_id", "Session ID", "Session ref", "Group session"),
    "session_date": ("session_date", "Session date", "Date", "Date of session"),
    "post_id": ("post_id", "Spoke post", "Worker post", "Post ID"),
    "setting": ("setting", "Setting", "Venue type", "Where held"),
    "attendees": ("attendees", "Attendees", "Young people attending", "Number attending"),
}
"""Header variants services use (the first is canonical); a service with renamed columns
uses one of the others, fixed for the service."""

SETTING_LABELS: dict[str, tuple[str, str]] = {
    "school": ("School", "School or college"),
    "youth_group": ("Youth group", "Youth club"),
    "other": ("Other", "Community venue"),
}
"""Setting code -> (label, alternative label)."""


def _header(style: Style, column: str) -> str:
    variants = GROUP_HEADER_VARIANTS[column]
    if not style.renamed:
        return variants[0]
    return variants[1 + style.order_seed % (len(variants) - 1)]


def write_group_sessions(
    sink: Sink,
    style: Style,
    svc: dict[str, Any],
    d: Delivery,
    sessions: pd.DataFrame,
    rng: np.random.Generator,
    mess: dict[str, Any],
) -> int:
    """Write one period's group sessions; return the number of sessions written."""
    sid, p = svc["service_id"], d.period
    rel = f"groupwork/{sid}/{sid}_{p.file_label}_groups.csv"
    cols = _order(style, list(GROUP_COLUMNS))
    row_nums, blank_rows = blank_layout(rng, len(sessions), mess["blank_row_rate"])
    out = []
    for j, r in enumerate(sessions.itertuples()):
        post = post_as_written(rng, sink, mess, rel, int(row_nums[j]), r.post_id)
        attendees = str(int(r.attendees))
        if rng.random() < mess["text_number_rate"]:
            attendees, readable = number_as_text(rng, int(r.attendees))
            sink.event("text_number", file=rel, row=int(row_nums[j]), column="attendees",
                       written=attendees, true=int(r.attendees), readable=readable)  # fmt: skip
        label = SETTING_LABELS[r.setting][1 if style.alt_labels else 0]
        vals = {
            "session_id": f"GW{int(r.session_no):04d}",
            "session_date": format_day(int(r.session_day), style.date_fmt),
            "post_id": post,
            "setting": label,
            "attendees": attendees,
        }
        out.append([vals[c] for c in cols])
    if blank_rows:
        sink.event("blank_rows", file=rel, rows=blank_rows)
    write_csv(sink.out_dir / rel, [_header(style, c) for c in cols], out,
              encoding=style.encoding, newline=style.newline, blank_rows=blank_rows)  # fmt: skip
    sink.add(rel, "groupwork", sid, p.label, "", d.received)
    return len(out)
