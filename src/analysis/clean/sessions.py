"""Reading the group-session records (``groupwork/<service>/<service>_<period>_groups.csv``):
one row per group session that a spoke worker ran with children and young people, each row
kept or quarantined in the ledger like every other source row."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from analysis.clean.intake import RowReader, _extra_cells, _quarantine, _read_csv
from analysis.clean.pseudonymise import to_month
from analysis.clean.returns import is_missing
from analysis.clean.submissions import Submission
from analysis.clean.workforce import check_post
from analysis.core import labels as L

if TYPE_CHECKING:
    from analysis.clean.intake import State
    from analysis.core.calendar import Period

GROUPWORK_FOLDER = "groupwork"


def check_session_date(rr: RowReader, when: date | None, received: date, period: Period) -> None:
    """A session (training or group work) is held within its file's period, and not after
    the file was received."""
    if when:
        if when > received:
            rr.fail("session_date", "session date is after the file was received (future)")
        elif not period.start <= when <= period.end:
            rr.fail("session_date", f"session date is outside {period.period}")


def read_group_sessions(st: State, sub: Submission) -> list[dict[str, Any]]:
    """Validate one period's group-session file; the kept sessions as records.

    A session needs its ID (unique in the file: a repeated ID quarantines every row that
    has it), a date within the period and not after the file arrived, the spoke post that
    ran it (a post of the service in the roster), a setting (school, youth group, other;
    missing allowed) and the number attending (a whole number of at least 1).
    """
    sid, period, received = sub.service_id, sub.period, sub.received
    table = _read_csv(st, sub.path, L.GROUP_COLUMNS, L.GROUP_REQUIRED)
    if table is None:
        return []
    kept: list[tuple[int, str, dict[str, Any]]] = []
    rows_of: dict[str, list[int]] = defaultdict(list)
    for row, values in table.rows:
        rr = RowReader(values)
        session = rr.text("session_id", required=True)
        when = rr.date("session_date", required=True)
        if st.posts is not None and is_missing(values.get("post_id")):
            rr.fail("post_id", "post_id is required but missing: which spoke post ran it?")
        post = check_post(st, rr, sid, table.file)
        setting = rr.cat("setting", L.GROUP_SETTING)
        attendees = rr.count("attendees", required=True, lo=1)
        check_session_date(rr, when, received, period)
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        assert session is not None and when is not None
        rows_of[session].append(row)
        kept.append(
            (
                row,
                session,
                {
                    "service_id": sid,
                    "period": period.period,
                    "evaluation_year": period.evaluation_year,
                    "received_date": received,
                    "session_id": session,
                    "session_month": to_month(when),
                    "post_id": post,
                    "setting": setting,
                    "attendees": attendees,
                },
            )
        )
        st.ledger.keep(table.file, "", row)
    out = []
    for row, session, rec in kept:
        rows = rows_of[session]
        if len(rows) > 1:
            st.ledger.quarantine_row(
                table.file, "", row, "session_id", session,
                f"the same session ID appears in {len(rows)} rows of this file "
                f"(rows {', '.join(map(str, rows))}); cannot tell which is right",
            )  # fmt: skip
            continue
        out.append(rec)
    return out
