"""Section 7, Change over time: the trajectory, reach and rollout models, with their cautions."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.core.catalog import MODELS, model_file
from analysis.core.io import read_json
from analysis.publish import figures
from analysis.report.context import YearContext
from analysis.report.sections import reach
from analysis.report.sections.common import (
    estimates_table,
    rounded_n,
)
from analysis.report.sections.rollout import rollout_section
from analysis.report.sections.young_people import young_people_outcomes
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
    """Outcome 6 (:mod:`analysis.report.sections.young_people`), then the common 0-1 score
    by instrument as a labelled secondary view."""
    out = young_people_outcomes(ctx, rec)
    if not rec["fitted"]:
        return out
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
        title=f"Monthly change in the common 0-1 score by {what}, {ctx.year}",
        notes=(
            f"From each {what}'s own-scale model (service effects within the instrument); "
            "descriptive. N: young people used, rounded to the nearest "
            f"{ctx.settings.total_rounding}.",
        ),
    )
    out: list[Any] = [
        HTML(
            f"<h4>Secondary view: the common 0-1 score by {what}</h4><p>Each instrument's "
            "own-scale change above, put through its straight-line rescale onto 0-1; the "
            "instruments' own scales come first.</p>"
        ),
        *table_item(table),
    ]
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
                "The mean common score at first assessment plus each instrument's monthly "
                "change; no individual young person's trajectory is shown.",
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
