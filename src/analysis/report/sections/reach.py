"""Reach per spoke as its posts mature (outcome 4 and the reach model of section 7):
individual and group reach by spoke and year of operation, and the spoke-level rate model,
worded by what it shows and what it cannot, with its strength of evidence."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.core.catalog import MODELS, model_file
from analysis.core.io import read_json
from analysis.publish import disclosure
from analysis.report.context import YearContext
from analysis.report.sections.common import (
    caution_notes,
    counts_table,
    estimates_table,
    no_breakdown,
    reason_html,
    rounded_n,
    service_breakdown_allowed,
)
from analysis.report.wording import HTML, term_label
from analysis.report.writer import table_item

YEAR_NOTE = (
    "A spoke's year of operation counts from the month its first post was filled; "
    "post-months are the months each of its posts was filled."
)


def _year(k: Any) -> str:
    return f"Year {int(k)}"


def _change(ctx: YearContext, row: pd.Series, term: str, period: str) -> tuple[str, bool]:
    """``"about 92% more over a spoke's first year (95% interval +42% to +159%)"`` and
    whether the interval excludes no change; each number registered (``reach/<term>/...``)."""
    rr, lo, hi = (float(row[c]) for c in ("rate_ratio", "rr_ci_lower", "rr_ci_upper"))
    clear = lo > 1 or hi < 1
    word = "more" if rr >= 1 else "fewer"
    stats = ctx.stats
    change = stats.number(f"reach/{term}/change", abs(rr - 1), unit="percent")
    low = stats.number(f"reach/{term}/lower", lo - 1, unit="percent", text=f"{lo - 1:+.0%}")
    high = stats.number(f"reach/{term}/upper", hi - 1, unit="percent", text=f"{hi - 1:+.0%}")
    return (
        f"about {change} {word} {period} (95% interval {low} to {high})"
        f"{'' if clear else ', which cannot be told apart from no change'}",
        clear,
    )


def reach_model_text(
    ctx: YearContext, rec: dict[str, Any], evidence_phrase: str | None = None
) -> list[Any]:
    """The reach model in plain words: what it shows (how reach grows as a spoke's posts
    mature), what it cannot show, and its strength of evidence (``evidence_phrase``, as
    section 7 names it; the framework's label when not given), then the method in one
    technical sentence (the estimates are in the technical annex)."""
    if not rec["fitted"]:
        return [HTML(f"<p>{reason_html(ctx, rec)}</p>")]
    est = pd.read_parquet(ctx.analysis_dir / model_file("reach")).set_index("term")
    first, _ = _change(
        ctx, est.loc["first_year"], "first_year", "over a spoke's first year of operation"
    )
    if "later_years" in est.index:
        later, _ = _change(ctx, est.loc["later_years"], "later_years", "a year after it")
        later = f", and {later}"
    else:
        later = " (no spoke has yet been observed long enough to estimate later years)"
    checks = rec.get("checks", {})
    services, spokes = checks.get("services", 0), rec["n_units_used"]
    evidence = evidence_phrase or f"{rec.get('evidence', '')} evidence"
    text = (
        f"<p>As a spoke's posts matured, each month a post was filled brought {first}"
        f"{later}. This is {html.escape(evidence)}: each spoke is compared with itself over "
        f"{ctx.stats.number('reach/spoke-months', rec['n_obs_used'])} spoke-months "
        f"({ctx.stats.number('reach/spokes', spokes)} spokes of "
        f"{ctx.stats.number('reach/services', services)} services), so it "
        "describes how reach grew as posts matured, not whether the young people a spoke "
        "took on would otherwise have gone without specialist support, nor whether the "
        "growth came from the posts maturing rather than from other changes over the same "
        "months (referral routes, awareness of CSE). Months with no post filled do not "
        "count as low reach: the months posts were filled are the exposure.</p>"
        "<p>Technically: a Poisson regression of new young people per spoke-month on years "
        "of operation (a linear spline with its knot at one year), with the post-months "
        "filled as exposure, a fixed effect for each spoke, and intervals clustered by "
        "service with a small-sample correction (t with one degree of freedom fewer than "
        "there are services); "
        "estimates and assumptions are in the technical annex (section 10).</p>"
    )
    return [HTML(text), *caution_notes(ctx, rec)]


def reach_model_table(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    """The reach model's rate ratios with their intervals (N: spoke-months)."""
    if not rec["fitted"]:
        return []
    est = pd.read_parquet(ctx.analysis_dir / model_file("reach"))
    cols = ("rate_ratio", "rr_ci_lower", "rr_ci_upper")
    main = est[["term", *cols]].assign(n=rec["n_obs_used"])
    return table_item(
        estimates_table(
            ctx,
            main.assign(term=main["term"].map(term_label)),
            index="term",
            estimate_columns=cols,
            n_column="n",
            threshold=0,
            decimals=3,
            title=f"Reach as spoke posts mature: rate ratios with 95% intervals, {ctx.year}",
            notes=("N: spoke-months used (months are not individuals).", YEAR_NOTE),
        )
    )


def outcome_reach(ctx: YearContext) -> list[Any]:
    """Outcome 4: individual and group reach by year of operation for the programme and
    per spoke, then the reach model."""
    rec = read_json(ctx.analysis_dir / MODELS)["reach"]
    path = ctx.analysis_dir / model_file("reach", "by_spoke_year")
    out: list[Any] = [HTML("<h4>Reach per spoke by year of operation</h4>")]
    by = pd.read_parquet(path) if path.exists() else pd.DataFrame()
    if by.empty:
        return [*out, HTML("<p>No spoke post had been filled by the end of the year.</p>")]
    from analysis.report.sections.change import EVIDENCE_PHRASE  # change imports this module

    out += _programme_by_year(ctx, by)
    out += reach_model_text(ctx, rec, EVIDENCE_PHRASE.get(rec.get("evidence", "")))
    if not service_breakdown_allowed(ctx):
        return out + no_breakdown(ctx, "Reach figures")
    frame = by.assign(
        **{"Year of operation": by["year_of_operation"].map(_year), "Spoke": by["spoke_id"]}
    )
    years = [_year(k) for k in sorted(by["year_of_operation"].unique())]
    for value, what, person in (
        ("new_young_people", "New young people", True),
        ("group_sessions", "Group sessions", False),
        ("group_attendances", "Attendances at group sessions", True),
    ):
        # A year a spoke has not reached is not applicable ([z]), not zero.
        out += table_item(
            disclosure.disclose_counts(
                frame,
                index="Spoke",
                columns="Year of operation",
                values=value,
                threshold=ctx.settings.threshold if person else 0,
                total_rounding=ctx.settings.total_rounding if person else 1,
                title=f"{what} by spoke and year of operation, to the end of {ctx.year}",
                notes=(YEAR_NOTE, "[z]: the spoke had not reached that year of operation."),
                missing="[z]",
                column_order=years,
            )
        )
    return out


def _programme_by_year(ctx: YearContext, by: pd.DataFrame) -> list[Any]:
    """The programme's post-months, new young people, group sessions and attendances by
    year of operation (one disclosed table)."""
    keys = {
        "post_months": "Post-months filled",
        "new_young_people": "New young people",
        "group_sessions": "Group sessions",
        "group_attendances": "Attendances at group sessions",
    }
    totals = by.groupby("year_of_operation", as_index=False)[list(keys)].sum()
    long = totals.melt(
        id_vars=["year_of_operation"], value_vars=list(keys), var_name="m", value_name="n"
    )
    # The programme's counts of young people are published rounded, as every programme
    # total is (so that they agree with the per-spoke tables' rounded totals).
    person = long["m"].isin(["new_young_people", "group_attendances"])
    rounded = long["n"].map(lambda n: rounded_n(ctx, float(n))).astype("int64")
    long = long.assign(
        n=long["n"].where(~person, rounded),
        **{
            "Year of operation": long["year_of_operation"].map(_year),
            "Measure": long["m"].map(keys),
        },
    )
    return table_item(
        counts_table(
            ctx,
            long,
            index="Measure",
            columns="Year of operation",
            values="n",
            title=f"Individual and group reach by spoke's year of operation, to the end of {ctx.year}",
            notes=(
                YEAR_NOTE,
                "New young people and attendances are rounded to the nearest "
                f"{ctx.settings.total_rounding}; attendances count a young person once per "
                "session attended.",
            ),
            totals=False,
        )
    )
