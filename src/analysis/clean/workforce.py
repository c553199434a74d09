"""Reading the spoke workforce roster (``register/posts.csv``): one row per spoke post, checked
against the service and spoke registers, with every row kept or quarantined in the ledger.

The kept posts are remembered in the cleaner's state (``State.posts``) so that a case
extract's ``post_id`` (the post that worked with a young person) can be checked against
them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.clean.intake import RowReader, _extra_cells, _quarantine, _read_csv
from analysis.clean.masking import SERVICE_ID, SPOKE_ID, shown
from analysis.clean.pseudonymise import to_month
from analysis.clean.registers import _frame
from analysis.core import labels as L

if TYPE_CHECKING:
    from analysis.clean.intake import State

POSTS_FILE = "register/posts.csv"
_POST_ID = re.compile(r"(S\d{2,4}-\d{1,2})-P\d{1,3}")


def _months(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _check_post(st: State, rr: RowReader, post_id: str | None, sid: str | None,
                spoke_id: str | None) -> None:  # fmt: skip
    """Problems with a post's identity: its ID, service and spoke, as the registers say."""
    if post_id:
        m = _POST_ID.fullmatch(post_id)
        if not m:
            rr.fail("post_id", "post_id must look like S01-1-P1 (the spoke's ID, -P, a number)")
        elif spoke_id and m[1] != spoke_id:
            rr.fail(
                "post_id",
                f"post_id {shown(post_id, _POST_ID, 'post ID')} does not belong to spoke "
                f"{shown(spoke_id, SPOKE_ID, 'spoke ID')}",
            )
    if sid and sid not in st.services:
        rr.fail(
            "service_id",
            f"unknown service {shown(sid, SERVICE_ID, 'service ID')} (not in "
            "register/services.csv)",
        )
    if not spoke_id:
        return
    spoke = st.spokes.get(spoke_id)
    if spoke is None:
        rr.fail(
            "spoke_id",
            f"unknown spoke {shown(spoke_id, SPOKE_ID, 'spoke ID')} (not kept from "
            "register/spokes.csv)",
        )
        return
    if sid and spoke["service_id"] != sid:
        rr.fail("service_id", f"spoke {spoke_id} belongs to service {spoke['service_id']}")
    for column in ("area_code", "host_agency"):
        value = rr.values.get(column)
        if value is not None and str(value).strip() and str(value).strip() != spoke[column]:
            rr.fail(
                column,
                f"{column} differs from register/spokes.csv ({spoke[column]}) for spoke {spoke_id}",
            )


def read_posts(st: State) -> pd.DataFrame:
    """The ``posts`` table from ``register/posts.csv`` (empty, with a note, when absent).

    Sets ``st.posts`` to the kept posts (``None`` when the roster is absent or unreadable).
    A post's dates must be in order (advertised, in post, left), not before its service
    started; a part-funded post names its co-funder and a programme-only post has none. A
    post ID listed twice is quarantined in every row (which one is right cannot be known).
    """
    path = st.raw_dir / POSTS_FILE
    if not path.is_file():
        st.notes.append({"file": POSTS_FILE, "note": "missing: no spoke workforce roster"})
        return _frame([], "posts")
    table = _read_csv(st, path, None, L.POSTS_COLUMNS)
    if table is None:
        return _frame([], "posts")
    by_id: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for row, values in table.rows:
        rr = RowReader(values)
        post_id = rr.text("post_id", required=True)
        sid = rr.text("service_id", required=True)
        spoke_id = rr.text("spoke_id", required=True)
        rr.text("area_code", required=True)
        rr.text("host_agency", required=True)
        _check_post(st, rr, post_id, sid, spoke_id)
        qualification = rr.code("qualification", L.QUALIFICATIONS)
        funding = rr.code("funding", L.POST_FUNDING)
        co_funder = rr.code("co_funder", L.CO_FUNDERS, required=False)
        if funding == "part_funded" and co_funder is None and not rr.problems:
            rr.fail("co_funder", "a part-funded post must name its co-funder")
        if funding == "programme_only" and co_funder is not None:
            rr.fail("co_funder", "a programme-only post has no co-funder")
        rounds = rr.count("recruitment_rounds", required=True, lo=1, hi=20)
        advertised = rr.date("advertised_date", required=True)
        start = rr.date("start_date")
        end = rr.date("end_date")
        share = rr.count("cse_time_share", required=True, lo=0, hi=100)
        svc = st.services.get(sid) if sid else None
        if advertised and svc and advertised < svc.start_date:
            rr.fail("advertised_date", "post advertised before its service's programme start")
        if start and advertised and start < advertised:
            rr.fail("start_date", "worker in post before the post was advertised")
        if end and not start:
            rr.fail("end_date", "an end date but no start date: the post was never filled")
        elif end and start and end < start:
            rr.fail("end_date", "end date is before the start date")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        rec = {
            "post_id": post_id,
            "service_id": sid,
            "spoke_id": spoke_id,
            "area_code": st.spokes[spoke_id]["area_code"],
            "host_agency": st.spokes[spoke_id]["host_agency"],
            "qualification": qualification,
            "funding": funding,
            "co_funder": co_funder,
            "recruitment_rounds": rounds,
            "advertised_month": to_month(advertised),  # type: ignore[arg-type]
            "start_month": to_month(start) if start else None,
            "end_month": to_month(end) if end else None,
            "vacancy_months": _months(advertised, start) if start else None,  # type: ignore[arg-type]
            "cse_time_share": float(share) / 100,  # type: ignore[arg-type]
        }
        by_id[post_id].append((row, rec))  # type: ignore[index]
        st.ledger.keep(table.file, "", row)
    st.posts = {}
    st.posts_set_aside = {
        str(v).strip() for r, v in ((r, vals.get("post_id")) for r, vals in table.rows) if v
    } - {p for p in by_id if len(by_id[p]) == 1}
    for post_id, items in sorted(by_id.items()):
        if len(items) > 1:
            rows = ", ".join(str(r) for r, _ in items)
            for r, _ in items:
                st.ledger.quarantine_row(
                    table.file, "", r, "post_id", post_id,
                    f"post_id {shown(post_id, _POST_ID, 'post ID')} appears in more than one row of posts.csv (rows {rows})",
                )  # fmt: skip
            continue
        st.posts[post_id] = items[0][1]
    return _frame(list(st.posts.values()), "posts")


def check_post(st: State, rr: RowReader, service_id: str, file: str) -> str | None:
    """The ``post_id`` of a case-extract row, checked against the roster.

    Missing when the row has none or there is no roster (noted once); a post the roster
    lists but quarantined is left out with a note for ``file`` (the young person or session
    is kept); a post the roster does not list, or one of another service, is a problem on
    the row (never guessed).
    """
    post = rr.text("post_id")
    if post is None:
        return None
    if st.posts is None:
        if not any(n["note"].startswith("post IDs") for n in st.notes):
            st.notes.append(
                {
                    "file": POSTS_FILE,
                    "note": "post IDs in the case extracts cannot be checked without the "
                    "roster and are left out",
                }
            )
        return None
    known = st.posts.get(post)
    if known is None and post in st.posts_set_aside:
        note = (
            f"post {shown(post, _POST_ID, 'post ID')} is quarantined in {POSTS_FILE} (see its reason): rows naming it "
            "are kept without the link to the post"
        )
        if {"file": file, "note": note} not in st.notes:
            st.notes.append({"file": file, "note": note})
        return None
    if known is None:
        rr.fail(
            "post_id",
            f"unknown spoke post {shown(post, _POST_ID, 'post ID')} (not kept from {POSTS_FILE})",
        )
        return None
    if known["service_id"] != service_id:
        rr.fail("post_id", f"spoke post {post} belongs to service {known['service_id']}")
        return None
    return post
