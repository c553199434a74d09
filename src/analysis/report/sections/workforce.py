"""The spoke workforce in a year's report: posts filled, recruitment and vacancies (section 2),
and the young people each kind of post worked with, by host agency type (outcome 2) and by
how the post was funded (outcome 3)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.analyse.workforce import posts_in_year, unlinked_young_people, workforce_by
from analysis.publish import disclosure
from analysis.report.context import YearContext
from analysis.report.sections.common import people_n
from analysis.report.wording import HTML, label
from analysis.report.writer import table_item

POSTS_NOTE = "Counts of spoke posts are not about individuals and are not suppressed."


def _group_labels(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(group=frame["group"].map(label))


def workforce_status(ctx: YearContext) -> list[Any]:
    """Posts filled in the year by qualification background and funding, with recruitment."""
    posts = ctx.seen.get("posts")
    if posts is None or posts.empty:
        return [HTML("<p>No spoke workforce roster was received, so posts are not shown.</p>")]
    filled = posts_in_year(posts, ctx.year)
    if filled.empty:
        return [HTML(f"<p>No spoke post was filled in {ctx.year}.</p>")]
    first = filled.sort_values("post_id").groupby("spoke_id").head(1)
    rounds = int((first["recruitment_rounds"] > 1).sum())
    vacancy = filled["vacancy_months"].astype("float64").median()
    stat, base = ctx.stats.number, f"workforce/{ctx.year}"
    n_posts = stat(f"{base}/posts-filled", len(filled))
    n_rounds = stat(f"{base}/areas-recruiting-more-than-once", rounds)
    n_first = stat(f"{base}/areas-with-a-first-post", len(first))
    months = stat(f"{base}/median-months-vacant", vacancy, unit="months")
    text = (
        f"<p>{n_posts} {'spoke post was' if len(filled) == 1 else 'spoke posts were'} filled "
        f"at some time in {ctx.year}. Recruitment took time: {n_rounds} of {n_first} spoke "
        "areas needed more than one round of recruitment to fill their first post, and a post "
        f"was vacant for a median of {months} months between the service's start and its first "
        "worker being in post. A part-funded post is co-funded by a statutory body (the "
        "local authority, police and crime commissioner or a health commissioner).</p>"
    )
    wide = (
        filled.assign(
            qualification=filled["qualification"].map(label),
            funding=filled["funding"].map(label),
            n=1,
        )
        .pivot_table(index="qualification", columns="funding", values="n", aggfunc="sum")
        .fillna(0)
        .reset_index()
        .rename(columns={"qualification": "Qualification background"})
    )
    cols = [c for c in wide.columns if c != "Qualification background"]
    table = disclosure.disclose_table(
        wide,
        index="Qualification background",
        count_columns=cols,
        threshold=0,
        total_rounding=1,
        title=f"Spoke posts filled in {ctx.year} by qualification background and funding",
        notes=(POSTS_NOTE,),
    )
    return [HTML(text), *table_item(table)]


def _people_table(
    ctx: YearContext, frame: pd.DataFrame, *, index: str, extra: dict[str, str], title: str,
    notes: tuple[str, ...],
) -> list[Any]:  # fmt: skip
    """Posts (exact) and the young people referred to them (disclosed), by group."""
    data = _group_labels(frame).rename(
        columns={
            "group": index,
            "posts": "Posts",
            "post_months": "Months in post",
            "young_people": "Young people referred",
            **extra,
        }
    )
    people_cols = ["Young people referred", *[v for k, v in extra.items() if k != "cse_focused"]]
    posts_cols = ["Posts", "Months in post"] + (
        [extra["cse_focused"]] if "cse_focused" in extra else []
    )
    posts_table = disclosure.disclose_table(
        data[[index, *posts_cols]],
        index=index,
        count_columns=posts_cols,
        threshold=0,
        total_rounding=1,
        title=f"{title}: posts",
        notes=(POSTS_NOTE,),
    )
    percent = {f"{v} (%)": (v, "Young people referred") for k, v in extra.items()
               if k in ("high_risk", "co_funder_kind")}  # fmt: skip
    people_table = disclosure.disclose_table(
        data[[index, *people_cols]],
        index=index,
        count_columns=people_cols,
        percent_columns=percent,
        threshold=ctx.settings.threshold,
        total_rounding=ctx.settings.total_rounding,
        title=f"{title}: young people referred",
        notes=notes,
    )
    return [*table_item(posts_table), *table_item(people_table)]


def _workforce(ctx: YearContext, by: str) -> pd.DataFrame | None:
    """:func:`workforce_by` for the year, or ``None`` without a roster or posts."""
    posts = ctx.seen.get("posts")
    if posts is None or posts.empty:
        return None
    frame = workforce_by(ctx.seen, ctx.year, by)
    return None if frame.empty else frame


def embedding_by_host(ctx: YearContext) -> list[Any]:
    """Outcome 2: posts and the young people referred to them, by host agency type."""
    frame = _workforce(ctx, "host_agency")
    if frame is None:
        return []
    unlinked = unlinked_young_people(ctx.seen, ctx.year)
    note = (
        "Young people referred in the year to a post hosted by each type of agency; reach per "
        "post can be read as young people referred per month in post."
    )
    notes = (note,) + (
        (f"Records naming no spoke post are left out ({people_n(ctx, unlinked)} young people).",)
        if unlinked
        else ()
    )
    return [
        HTML(
            "<p>Where spoke posts were hosted, how long they were filled in the year and how "
            "many young people they took on.</p>"
        ),
        *_people_table(
            ctx,
            frame,
            index="Host agency type",
            extra={},
            title=f"Spoke posts by host agency type, {ctx.year}",
            notes=notes,
        ),
    ]


def funding_mix(ctx: YearContext) -> list[Any]:
    """Outcome 3: programme-only and part-funded posts: time on CSE work and caseload mix."""
    frame = _workforce(ctx, "funding")
    if frame is None:
        return []
    return [
        HTML(
            "<p>The year-two summary found that statutory bodies co-funding a spoke post "
            "pressed it to take referrals of their own kind and high-risk cases, leaving less "
            "room for preventative and early work. The tables compare programme-only posts "
            "with part-funded ones: how many spend most of their time on CSE work, and how "
            "many of the young people referred to them were at high risk or referred by the "
            "agency that part-funds (for a programme-only post: would part-fund) a post with "
            "the same host.</p>"
        ),
        *_people_table(
            ctx,
            frame,
            index="Funding",
            extra={
                "cse_focused": "Posts mostly on CSE work",
                "high_risk": "High risk at referral",
                "co_funder_kind": "Referred by the co-funder's agency",
            },
            title=f"Spoke posts by funding, {ctx.year}",
            notes=(
                "Posts mostly on CSE work: at least three quarters of the post's time.",
                "Young people referred in the year to a post of each kind.",
            ),
        ),
    ]


OUTCOME_TABLES = {2: embedding_by_host, 3: funding_mix}
"""The workforce tables shown under an outcome measure, by outcome number."""
