"""Section 7, Change over time: the trajectory, reach and rollout models, with their cautions."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.analyse.report_facts import band_terms, predicted_trajectory
from analysis.core.catalog import MODELS, model_file
from analysis.core.io import read_json
from analysis.core.labels import count_word
from analysis.publish import figures
from analysis.report.context import YearContext
from analysis.report.sections import reach
from analysis.report.sections.common import (
    caution_notes,
    estimate_figure,
    estimates_table,
    people_n,
    reason_html,
    rounded_n,
)
from analysis.report.sections.rollout import rollout_section
from analysis.report.wording import HTML, label, term_label
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
        return [*out, HTML(f"<p>{reason_html(ctx, rec)}</p>")]
    est = pd.read_parquet(ctx.analysis_dir / model_file("trajectory")).set_index("term")
    slope = est.loc["months_since_referral"]
    used, eligible = rec["n_units_used"], rec["n_units_eligible"]
    least = ctx.settings.min_assessments
    bands = band_terms(slope["estimate"], slope["ci_lower"], slope["ci_upper"])
    plain = _in_band_terms(ctx, bands)
    stats = ctx.stats

    def change(ident: str, value: float) -> str:
        return stats.number(f"trajectory/{ident}", value, unit="change", precision=3)

    text = (
        f"<p>{plain} This is {EVIDENCE_PHRASE[rec['evidence']]}: it describes how the "
        "assessments of young people the services supported changed, with no comparison "
        "group, so it cannot say how they would have changed without the services.</p>"
        f"<p>Technically: across {people_n(ctx, used, 'trajectory/young-people-used')} young "
        f"people with {count_word(least)} or more outcome assessments, the harmonised "
        "outcome score (on the 0-1 scale, where higher is safer) changed on average by "
        f"{change('monthly-change', slope['estimate'])} a month (95% confidence interval "
        f"{change('monthly-change-lower', slope['ci_lower'])} to "
        f"{change('monthly-change-upper', slope['ci_upper'])}). "
        f"{people_n(ctx, eligible - used, 'trajectory/young-people-left-out').capitalize()} "
        f"young people with fewer than {count_word(least)} assessments were left out. The "
        "model, its estimates and its assumptions are in the technical annex (section "
        "10).</p>"
    )
    out += [HTML(text), *caution_notes(ctx, rec)]
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


EVIDENCE_PHRASE: dict[str, str] = {
    "descriptive": "descriptive evidence",
    "associational": "associational evidence (a pattern in the data, which could have "
    "other causes)",
    "causal": "causal evidence under the stated assumptions",
}
"""How a model finding names its strength of evidence (its label in models.json)."""


def _in_band_terms(ctx: YearContext, bands: dict[str, Any]) -> str:
    """The trajectory's average change as a sentence in risk-band terms, its numbers
    registered (``trajectory/bands/...``)."""
    if bands["direction"] == "unclear":
        return (
            "The average change in young people's outcome scores cannot be told apart "
            "from no change: the model cannot say in which direction a typical young "
            "person's risk band moved."
        )
    low, high = bands["months_per_band_range"]

    def num(ident: str, value: float, precision: int = 0) -> str:
        return ctx.stats.number(
            f"trajectory/bands/{ident}", value, unit="estimate", precision=precision
        )

    return (
        f"On average, young people's outcome scores moved towards a {bands['direction']} "
        f"risk band by about {num('per-year', abs(bands['bands_per_year']), 1)} of a band "
        "a year (each of the three bands, high, medium and low risk, spans a third of the "
        "score): at that rate a typical young person would take about "
        f"{num('months-per-band', bands['months_per_band'])} months to move one band (95% "
        f"interval {num('months-per-band-lower', low)} to "
        f"{num('months-per-band-upper', high)} months)."
    )


def technical_annex(ctx: YearContext) -> list[Any]:
    """The methods section's technical annex: the trajectory and reach models' estimates
    with their intervals and N, and the assumptions each model's evidence rests on."""
    records = read_json(ctx.analysis_dir / MODELS)
    out: list[Any] = [HTML("<h3>Technical annex: model estimates</h3>")]
    for name, title in (("trajectory", "Outcome score over time"), ("reach", "Reach")):
        rec = records[name]
        if not rec["fitted"]:
            continue
        assumptions = "".join(f"<li>{html.escape(a)}</li>" for a in rec.get("assumptions", []))
        out.append(
            HTML(
                f"<h4>{title}</h4><p>Strength of evidence: "
                f"{html.escape(EVIDENCE_PHRASE[rec['evidence']])}. Assumptions:</p>"
                f"<ul>{assumptions}</ul>"
            )
        )
        out += _trajectory_table(ctx, rec) if name == "trajectory" else _reach_table(ctx, rec)
    return out


def _trajectory_table(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    est = pd.read_parquet(ctx.analysis_dir / model_file("trajectory")).set_index("term")
    used = rec["n_units_used"]
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
            "A linear mixed model fitted by REML: the harmonised score on months since "
            "referral, with a random intercept and slope for each young person and a fixed "
            "effect for each service. N: young people used, rounded to the nearest "
            f"{ctx.settings.total_rounding}. The intercept is the score at referral at "
            "the reference service; service effects are in the model but not shown.",
        ),
    )
    return table_item(table)


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
    out: list[Any] = [HTML("<h3>Reach: new young people as spoke posts mature</h3>")]
    return out + reach.reach_model_text(ctx, rec, EVIDENCE_PHRASE.get(rec.get("evidence", "")))


def _reach_table(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    return reach.reach_model_table(ctx, rec)
