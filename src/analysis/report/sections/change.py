"""Section 7, Change over time: the trajectory, reach and rollout models, with their cautions."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.analyse.report_facts import predicted_trajectory
from analysis.core.catalog import MODELS, model_file
from analysis.core.io import read_json
from analysis.core.labels import count_word
from analysis.publish import figures
from analysis.report.context import YearContext
from analysis.report.sections.common import (
    caution_notes,
    estimate_figure,
    estimates_table,
    people_n,
    rounded_n,
)
from analysis.report.sections.rollout import rollout_section
from analysis.report.wording import FAMILY_NAMES, HTML, label, term_label
from analysis.report.writer import figure_item, table_item


def change_over_time(ctx: YearContext) -> list[Any]:
    """Section 7: the models, in plain English, with estimates, intervals and N used."""
    records = read_json(ctx.analysis_dir / MODELS)
    out: list[Any] = []
    out += _trajectory(ctx, records["trajectory"])
    out += _reach(ctx, records["reach"])
    out += rollout_section(ctx, records["rollout"])
    return out


def _trajectory(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    out: list[Any] = [HTML("<h3>Young people's outcome scores over time</h3>")]
    if not rec["fitted"]:
        return [*out, HTML(f"<p>{html.escape(rec['reason'])}</p>")]
    est = pd.read_parquet(ctx.analysis_dir / model_file("trajectory")).set_index("term")
    slope = est.loc["months_since_referral"]
    used, eligible = rec["n_units_used"], rec["n_units_eligible"]
    least = ctx.settings.min_assessments
    direction = "rose" if slope["estimate"] > 0 else "fell"
    significant = slope["ci_lower"] > 0 or slope["ci_upper"] < 0
    text = (
        f"<p>Across {people_n(ctx, used)} young people with {count_word(least)} or more "
        "outcome assessments, "
        f"the harmonised outcome score (0 = highest risk, 1 = safest) {direction} on average "
        f"by {abs(slope['estimate']):.3f} a month (95% confidence interval "
        f"{slope['ci_lower']:.3f} to {slope['ci_upper']:.3f}), about "
        f"{abs(12 * slope['estimate']):.2f} over a year"
        f"{'' if significant else ', which cannot be told apart from no change'}. "
        f"{people_n(ctx, eligible - used).capitalize()} young people with fewer than "
        f"{count_word(least)} "
        "assessments were left out. The model allows every young person their own starting "
        "point and rate of change, and compares services with each other only through "
        "fixed service effects.</p>"
    )
    out += [HTML(text), *caution_notes(ctx, rec)]
    main = est.loc[["Intercept", "months_since_referral"]].reset_index()
    table = estimates_table(
        ctx,
        main.assign(term=main["term"].map(term_label), n=rounded_n(ctx, used)),
        index="term",
        n_column="n",
        threshold=ctx.settings.threshold,
        decimals=4,
        title=f"Outcome score over time: estimates with 95% intervals, {ctx.year}",
        notes=(
            "N: young people used, rounded to the nearest "
            f"{ctx.settings.total_rounding}. The intercept is the score at referral at "
            "the reference service; service effects are in the model but not shown.",
        ),
    )
    out += table_item(table)
    pred = predicted_trajectory(est.reset_index())
    if pred is not None:
        pt = estimates_table(
            ctx,
            pred.assign(n=rounded_n(ctx, used)),
            index="months_since_referral",
            n_column="n",
            threshold=ctx.settings.threshold,
            decimals=3,
            title=f"Predicted average outcome score by months since referral, {ctx.year}",
            notes=(
                "Predicted from the model's average intercept and slope; no individual "
                "young person's trajectory is shown. The interval reflects uncertainty in "
                "the monthly change only, so it is zero at referral.",
            ),
        )
        out += table_item(pt)
        out += estimate_figure(
            ctx,
            pt,
            "predicted-trajectory",
            title="Predicted average outcome score",
            x_label="Months since referral",
            reference=None,
            value_label="Harmonised score (0-1)",
        )
    for group, what in (("instrument", "outcome instrument"),):
        path = ctx.analysis_dir / model_file("trajectory", f"by_{group}")
        if path.exists():
            out += _trajectory_by(ctx, pd.read_parquet(path), group, what)
    return out


def _trajectory_by(ctx: YearContext, frame: pd.DataFrame, group: str, what: str) -> list[Any]:
    """Monthly change by instrument or phase, and predicted average trajectories."""
    if frame.empty:
        return []
    names = frame["group"].map(lambda g: label(g) if group == "instrument" else f"Phase {g}")
    data = frame.assign(
        group=names,
        n=frame["n_people"].map(lambda n: rounded_n(ctx, n) if n > ctx.settings.threshold else n),
    )
    table = estimates_table(
        ctx,
        data.rename(columns={"group": what.capitalize()}),
        index=what.capitalize(),
        estimate_columns=("estimate", "ci_lower", "ci_upper"),
        n_column="n",
        threshold=ctx.settings.threshold,
        decimals=4,
        title=f"Monthly change in the outcome score by {what}, {ctx.year}",
        notes=(
            f"Fitted separately for each {what} with enough young people; descriptive "
            "(no service effects). N: young people used, rounded to the nearest "
            f"{ctx.settings.total_rounding}.",
        ),
    )
    out: list[Any] = [HTML(f"<h4>Does change differ by {what}?</h4>"), *table_item(table)]
    fitted = data.loc[data["fitted"]]
    if group == "instrument" and len(fitted) >= 1:
        months = (0, 3, 6, 9, 12)
        wide = pd.DataFrame(
            {
                row.group: [row.intercept + row.estimate * m for m in months]
                for row in fitted.itertuples()
            },
            index=pd.Index(months, name="months_since_referral"),
        ).reset_index()
        pt = estimates_table(
            ctx,
            wide.assign(n=float(fitted["n"].min())),
            index="months_since_referral",
            estimate_columns=tuple(fitted["group"]),
            n_column="n",
            threshold=ctx.settings.threshold,
            decimals=3,
            title=f"Predicted average outcome score by {what}, {ctx.year}",
            notes=(
                "Averages predicted by each instrument's model; no individual young "
                "person's trajectory is shown.",
            ),
        )
        out += table_item(pt)
        out += figure_item(
            figures.line_chart(
                pt.select(columns=list(fitted["group"])),
                title=f"Predicted average outcome score by {what}",
                x_label="Months since referral",
                value_label="Harmonised score (0-1)",
            ),
            f"predicted-trajectory-by-{group}",
        )
    return out


def _reach(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    out: list[Any] = [HTML("<h3>Reach: new young people per month as services mature</h3>")]
    if not rec["fitted"]:
        return [*out, HTML(f"<p>{html.escape(rec['reason'])}</p>")]
    est = pd.read_parquet(ctx.analysis_dir / model_file("reach"))
    row = est.set_index("term").loc["years_since_start"]
    rr, lo, hi = (float(row[c]) for c in ("rate_ratio", "rr_ci_lower", "rr_ci_upper"))
    family = rec.get("family", "negative_binomial")
    change = "more" if rr >= 1 else "fewer"
    text = (
        f"<p>For each year since a service started, it took on {abs(rr - 1):.0%} {change} "
        f"new young people per month open (rate ratio {rr:.2f}, 95% confidence interval "
        f"{lo:.2f} to {hi:.2f}), comparing each service with itself over "
        f"{rec['n_obs_used']} returns. The model is a {FAMILY_NAMES[family]} regression "
        "of new young people on years since the service started, with the months each "
        "return covers as exposure and a fixed effect for each service.</p>"
    )
    out += [HTML(text), *caution_notes(ctx, rec)]
    main = est.loc[~est["term"].str.startswith("C(")].assign(n=rec["n_obs_used"])
    cols = (
        ("rate_ratio", "rr_ci_lower", "rr_ci_upper")
        if "rate_ratio" in main
        else ("estimate", "ci_lower", "ci_upper")
    )
    main = main[["term", *cols, "n"]]
    out += table_item(
        estimates_table(
            ctx,
            main.assign(term=main["term"].map(term_label)),
            index="term",
            estimate_columns=cols,
            n_column="n",
            threshold=0,
            decimals=3,
            title=f"Reach over time: rate ratios with 95% intervals, {ctx.year}",
            notes=("N: service returns used (returns are not individuals).",),
        )
    )
    return out
