"""Outcome 6 in section 7: young people's outcome scores over time, saying what the data can
and cannot show (issue 23).

Worded from the trajectory record's ``checks`` in ``models.json`` and the tables the analyse
stage wrote beside the model (:mod:`analysis.analyse.outcome_evidence`). The finding is
descriptive whatever the numbers: there is no comparison group. Every number in the prose is
registered (``ctx.stats``); every table goes through disclosure control.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.core.catalog import model_file
from analysis.publish import disclosure
from analysis.report.context import YearContext
from analysis.report.sections.common import (
    caution_notes,
    estimates_table,
    people_n,
    reason_html,
    rounded_n,
)
from analysis.report.wording import HTML, label
from analysis.report.writer import table_item

CANNOT_SHOW = (
    "There is no comparison group: the change is young people compared with themselves "
    "over time. Young people are often referred when their risk is at a peak, and scores "
    "measured at such a moment tend to move back towards the usual level at the next "
    "assessment whatever happens (regression to the mean); young people also mature and "
    "some recover without help. All of this is inside the change shown here, so it "
    "describes how the assessed young people's scores changed and cannot be attributed to "
    "the services."
)
"""What outcome 6's evidence cannot show, said in every report that shows it."""

BAND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("high", "High risk"),
    ("medium", "Medium risk"),
    ("low", "Low risk"),
)
"""Risk bands, highest risk first, and their column headings in the band table."""

ASSESSMENT_WORDS: dict[str, str] = {"first": "First", "latest": "Latest"}
"""How the band table names the first and latest assessment."""

PROSE_NAMES: dict[str, str] = {"risk3": "low, medium or high risk rating"}
"""Instrument names for prose whose label holds a number that is no statistic ("3-level")."""

ATTRITION_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("risk_at_referral", "Risk at referral"),
    ("closure_reason", "Closure reason"),
    ("service_id", "Service"),
)


def _read(ctx: YearContext, key: str) -> pd.DataFrame | None:
    path = ctx.analysis_dir / model_file("trajectory", key)
    return pd.read_parquet(path) if path.exists() else None


def _num(ctx: YearContext, ident: str, value: float, digits: int = 3, unit: str = "") -> str:
    return ctx.stats.number(
        f"outcome6/{ctx.year}/{ident}", float(value), unit=unit or "estimate", precision=digits
    )


def young_people_outcomes(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    """Outcome 6's part of section 7: what the data can show, and show it well."""
    out: list[Any] = [HTML("<h3>Young people's outcome scores over time</h3>")]
    if not rec["fitted"]:
        return [*out, HTML(f"<p>{reason_html(ctx, rec)}</p>")]
    checks = rec.get("checks", {})
    out.append(
        HTML(
            "<h4>What the data can and cannot show</h4>"
            f"<p>{CANNOT_SHOW} Strength of evidence: descriptive.</p>"
        )
    )
    out += _headline(ctx, rec, checks)
    out += _own_units(ctx, rec, checks)
    out += _own_bands(ctx)
    out += _ordinal(ctx)
    out += _regression(ctx, checks)
    out += _attrition(ctx, rec, checks)
    out += _programme_path(ctx, rec)
    out += caution_notes(ctx, rec)
    return out


def _headline(ctx: YearContext, rec: dict[str, Any], checks: dict[str, Any]) -> list[Any]:
    s = checks.get("slope", {})
    if not {"estimate", "ci_lower", "ci_upper"} <= set(s):
        return []
    used = rec["n_units_used"]
    services = int(s.get("services", 0))
    text = (
        f"<p>All young people with at least one outcome assessment, "
        f"{people_n(ctx, used, f'outcome6/{ctx.year}/people')}, are in the model (a young person assessed once still "
        "tells it where young people start). On the common 0-1 score (higher is safer) "
        f"the average change was {_num(ctx, 'slope', s['estimate'], 4)} a month (95% "
        f"interval {_num(ctx, 'slope-lower', s['ci_lower'], 4)} to "
        f"{_num(ctx, 'slope-upper', s['ci_upper'], 4)}; the interval allows for there being "
        f"only {_num(ctx, 'services', services, 0, 'count')} services, using a t "
        "distribution with one fewer degrees of freedom). "
    )
    if "mde" in s:
        text += (
            "With this many young people and services, the smallest average change the "
            "data could reliably tell apart from none (with "
            f"{_num(ctx, 'mde-power', 0.8, 0, 'percent')} power in a two-sided test at the "
            f"{_num(ctx, 'mde-level', 0.05, 0, 'percent')} level) is "
            f"{_num(ctx, 'mde', s['mde'], 4)} a month. "
        )
    two = checks.get("two_plus")
    if two and "estimate" in two:
        text += (
            "Using only young people with two or more assessments, as earlier reports did, "
            f"gives {_num(ctx, 'slope-two-plus', two['estimate'], 4)} a month. "
        )
    text += (
        "The common score is a straight-line rescale of different instruments, so it is a "
        "secondary view: the instruments' own scales come first, below.</p>"
    )
    return [HTML(text)]


def _own_units(ctx: YearContext, rec: dict[str, Any], checks: dict[str, Any]) -> list[Any]:
    frame = _read(ctx, "own_units")
    if frame is None or frame.empty:
        return []
    fitted = frame.loc[frame["fitted"].fillna(False).astype(bool)]
    if fitted.empty:
        return []
    data = pd.DataFrame(
        {
            "Instrument": fitted["instrument"].map(label),
            "Unit": fitted["unit"],
            "estimate": fitted["estimate"],
            "ci_lower": fitted["ci_lower"],
            "ci_upper": fitted["ci_upper"],
            "Effect size over a year": fitted["smd"],
            "Effect size lower": fitted["smd_lower"],
            "Effect size upper": fitted["smd_upper"],
            "n": fitted["people"].map(
                lambda n: rounded_n(ctx, n) if n > ctx.settings.threshold else n
            ),
        }
    )
    table = estimates_table(
        ctx,
        data,
        index="Instrument",
        estimate_columns=(
            "estimate",
            "ci_lower",
            "ci_upper",
            "Effect size over a year",
            "Effect size lower",
            "Effect size upper",
        ),  # fmt: skip
        text_columns=("Unit",),
        n_column="n",
        threshold=ctx.settings.threshold,
        decimals=3,
        title=f"Change per month in each instrument's own units, {ctx.year}",
        notes=(
            "Each instrument on its own scale: a mixed model of everyone with an assessment, "
            "with service effects within the instrument; intervals clustered by young "
            "person, since one residual spread does not fit every instrument. SERAF totals and the risk rating "
            "fall as risk falls. The effect size is the change over a year divided by the "
            "spread of scores at referral within service, signed so that positive means "
            "improvement; it compares instruments, each used by a few services only, so "
            "instrument and service cannot be told apart. N: young people, rounded.",
        ),
    )
    out: list[Any] = [HTML("<h4>Each instrument on its own scale</h4>"), *table_item(table)]
    meta = checks.get("meta_analysis", {})
    if {"pooled_smd", "pooled_lower", "pooled_upper", "q_p_value", "i2"} <= set(meta):
        out.append(
            HTML(
                "<p>Pooled across instruments by a random-effects meta-analysis, the "
                f"effect size over a year is {_num(ctx, 'pooled-smd', meta['pooled_smd'], 2)} "
                f"(95% interval {_num(ctx, 'pooled-smd-lower', meta['pooled_lower'], 2)} to "
                f"{_num(ctx, 'pooled-smd-upper', meta['pooled_upper'], 2)}). The instruments "
                "disagree more than chance would explain when the test of heterogeneity's "
                "p-value is small: here it is "
                f"{_num(ctx, 'heterogeneity-p', meta['q_p_value'], 3, 'p-value')}, with "
                f"{_num(ctx, 'i2', meta['i2'], 0, 'percent')} of the variation between "
                "instruments beyond chance. Because each instrument is used by its own "
                "services, a difference between instruments may be a difference between "
                "services.</p>"
            )
        )
    return out


def _regression(ctx: YearContext, checks: dict[str, Any]) -> list[Any]:
    r = checks.get("regression_to_mean", {})
    if not {"observed_change", "expected_from_regression", "observed_minus_expected"} <= set(r):
        return []
    rel = r.get("reliability", {})
    low, high = (min(rel.values()), max(rel.values())) if rel else (None, None)
    reliab = (
        f"between {_num(ctx, 'reliability-lowest', low, 2)} and "
        f"{_num(ctx, 'reliability-highest', high, 2)}"
        if rel
        else "not estimable"
    )
    text = (
        "<h4>How much regression to the mean alone would show</h4><p>From first to latest "
        "assessment, young people's common score changed by "
        f"{_num(ctx, 'observed-change', r['observed_change'])} on average. A score measured "
        "with error at a peak of risk moves back towards the level young people settle at "
        "by the share of its variation that is error (one minus the reliability), with no "
        "real change at all: with the "
        "instruments' reliability estimated from their repeated measures (the correlation "
        f"of first and second assessments, {reliab}) and the distance of referral scores "
        "from the level each service's young people settle at, regression to the mean alone "
        f"would show {_num(ctx, 'expected-regression', r['expected_from_regression'])}. "
        "The rest, "
        f"{_num(ctx, 'observed-minus-expected', r['observed_minus_expected'])}, is still "
        "descriptive: maturation, natural recovery and the services' work cannot be told "
        "apart without a comparison group.</p>"
    )
    return [HTML(text)]


def _attrition(ctx: YearContext, rec: dict[str, Any], checks: dict[str, Any]) -> list[Any]:
    frame = _read(ctx, "attrition")
    out: list[Any] = [HTML("<h4>Who has a follow-up assessment</h4>")]
    if frame is None:
        return []
    for dim, title in ATTRITION_DIMENSIONS:
        part = frame.loc[frame["dimension"] == dim]
        if part.empty or (dim == "service_id" and len(part) < 2):
            continue
        groups = part["group"] if dim == "service_id" else part["group"].map(label)
        data = pd.DataFrame(
            {
                title: groups.to_numpy(),
                "Young people": part["people"].to_numpy(),
                "With a follow-up": part["with_follow_up"].to_numpy(),
            }
        )
        table = disclosure.disclose_table(
            data,
            index=title,
            count_columns=["Young people", "With a follow-up"],
            percent_columns={"% with a follow-up": ("With a follow-up", "Young people")},
            threshold=ctx.settings.threshold,
            total_rounding=ctx.settings.total_rounding,
            title=f"Young people with an outcome assessment and a follow-up, by "
            f"{title.lower()}, {ctx.year}",
            notes=(
                "A follow-up is a second or later assessment. Counts of 1 to "
                f"{ctx.settings.threshold} are suppressed and totals rounded to the nearest "
                f"{ctx.settings.total_rounding}.",
            ),
        )
        out += table_item(table)
    by_reason = _read(ctx, "by_closure_reason")
    if by_reason is not None and not by_reason.empty:
        data = pd.DataFrame(
            {
                "Closure reason": by_reason["closure_reason"].map(label),
                "estimate": by_reason["predicted_monthly_change"],
                "Observed change, first to latest": by_reason["observed_change"],
                "n": by_reason["people"].map(
                    lambda n: rounded_n(ctx, n) if n > ctx.settings.threshold else n
                ),
            }
        )
        table = estimates_table(
            ctx,
            data,
            index="Closure reason",
            estimate_columns=("estimate", "Observed change, first to latest"),
            n_column="n",
            threshold=ctx.settings.threshold,
            decimals=4,
            title=f"Change in the common score by how the case closed, {ctx.year}",
            notes=(
                "Estimate: the average predicted monthly change of the young people with "
                "each closure reason, from the one model of everyone (shrunk towards the "
                "average for young people with few assessments); observed change: their "
                "mean change from first to latest assessment. Descriptive: how a case "
                "closed is itself an outcome.",
            ),
        )
        out += table_item(table)
    out += _sensitivity(ctx, rec, checks)
    return out


def _sensitivity(ctx: YearContext, rec: dict[str, Any], checks: dict[str, Any]) -> list[Any]:
    tip = checks.get("tipping_point", {})
    frame = _read(ctx, "delta_adjusted")
    if frame is None or frame.empty or "mar_change" not in tip:
        return []
    horizon = int(tip.get("horizon_months", 12))
    text = (
        "<p>The model is valid if whether a young person stays depends only on what was "
        "already observed. If those who disengaged did worse after their last assessment "
        "than the model assumes, the average change over the first "
        f"{_num(ctx, 'horizon', horizon, 0, 'months')} months "
        f"({_num(ctx, 'change-horizon', tip['mar_change'])} on the common score) would be "
        "smaller. "
    )
    if "estimate" in tip:
        text += (
            "The improvement would vanish if they did "
            f"{_num(ctx, 'tipping-point', tip['estimate'], 4)} a month worse than assumed "
            "(the tipping point), and could no longer be told apart from none at "
            f"{_num(ctx, 'tipping-point-interval', tip['significance'], 4)} a month. "
            "Few young people disengaged within the first year (on average "
            f"{_num(ctx, 'missed-months', tip['mean_missed_months'], 2, 'months')} of its "
            "months per young person went unobserved for that reason), so the tipping point "
            "is large beside the average change; it says how far from the model's assumption "
            "the truth would have to be, not that it is.</p>"
        )
    else:
        text += "No young person disengaged before then, so there is no tipping point.</p>"
    data = frame.assign(
        Departure=frame["delta"].map(lambda d: f"{d:.3f} a month worse"),
        n=rounded_n(ctx, rec["n_units_used"]),
    )
    table = estimates_table(
        ctx,
        data[["Departure", "change", "ci_lower", "ci_upper", "n"]].rename(
            columns={"change": "estimate"}
        ),
        index="Departure",
        n_column="n",
        threshold=ctx.settings.threshold,
        decimals=3,
        title=f"Change over the first year if those who disengaged did worse, {ctx.year}",
        notes=(
            "Delta-adjusted sensitivity analysis: after their last assessment, young people "
            "whose case closed as disengaged are assumed to change by the model's average "
            "minus the departure each month. The row with no departure is the model itself.",
        ),
    )
    return [HTML(text), *table_item(table)]


def _programme_path(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    path = _read(ctx, "programme_path")
    if path is None or path.empty:
        return []
    table = estimates_table(
        ctx,
        path.assign(n=rounded_n(ctx, rec["n_units_used"])),
        index="months_since_referral",
        n_column="n",
        threshold=ctx.settings.threshold,
        decimals=3,
        title=f"Predicted average common score by months since referral, {ctx.year}",
        notes=(
            "Averaged over the services (each service's level counted once), with the "
            "uncertainty of both the level and the change; no individual young person's "
            "trajectory is shown. A secondary view: the common score rescales different "
            "instruments onto 0-1.",
        ),
    )
    return table_item(table)


def band_counts(shares: pd.DataFrame) -> pd.DataFrame:
    """The stored band shares (``model_trajectory_band_shares``: one row per instrument,
    assessment and band) as one row per instrument and assessment (first, then latest),
    with the number of young people in each band on the instrument's own cut-offs and
    their sum; counts only, for :func:`analysis.publish.disclosure.disclose_table`."""
    wide = shares.pivot_table(
        index=["instrument", "assessment"], columns="band", values="people", aggfunc="sum"
    ).reindex(columns=[b for b, _ in BAND_COLUMNS], fill_value=0)
    wide = wide.fillna(0).astype("int64").reset_index()
    order = {k: i for i, k in enumerate(ASSESSMENT_WORDS)}
    wide = wide.sort_values(
        ["instrument", "assessment"], key=lambda c: c.map(order) if c.name == "assessment" else c
    )
    out = pd.DataFrame(
        {
            "Instrument": wide["instrument"].map(label).to_numpy(),
            "Assessment": wide["assessment"].map(ASSESSMENT_WORDS).to_numpy(),
            "Young people": wide[[b for b, _ in BAND_COLUMNS]].sum(axis=1).to_numpy(),
        }
    )
    for band, heading in BAND_COLUMNS:
        out[heading] = wide[band].to_numpy()
    return out


def _own_bands(ctx: YearContext) -> list[Any]:
    """Risk bands on each instrument's own cut-offs at the first and latest assessment."""
    shares = _read(ctx, "band_shares")
    if shares is None or shares.empty or not shares["people"].sum():
        return []
    data = band_counts(shares)
    table = disclosure.disclose_table(
        data,
        index=["Instrument", "Assessment"],
        count_columns=["Young people", *(h for _, h in BAND_COLUMNS)],
        relations={"Young people": [h for _, h in BAND_COLUMNS]},
        percent_columns={
            "% high risk": ("High risk", "Young people"),
            "% low risk": ("Low risk", "Young people"),
        },
        threshold=ctx.settings.threshold,
        total_row=False,
        total_rounding=ctx.settings.total_rounding,
        title=f"Risk bands on each instrument's own cut-offs at the first and latest "
        f"assessment, young people with a follow-up, {ctx.year}",
        notes=(
            "Each young person's band on their own instrument's cut-offs (SERAF's "
            "categories, the risk rating itself, and thirds of the Outcomes Star and "
            "bespoke scales), not on the common 0-1 score. Descriptive: no comparison "
            "group.",
        ),
    )
    return [HTML("<h4>Risk bands on each instrument's own cut-offs</h4>"), *table_item(table)]


def odds_ratio_per_year(log_odds: float, std_error: float) -> tuple[float, float, float]:
    """The odds ratio of being in a lower-risk band over 12 months, with its 95% interval,
    from the ordinal model's log-odds per month and its (person-clustered) standard
    error."""
    b, se = 12 * float(log_odds), 12 * float(std_error)
    return math.exp(b), math.exp(b - 1.96 * se), math.exp(b + 1.96 * se)


def _ordinal(ctx: YearContext) -> list[Any]:
    """The ordinal model of the risk band on months, for instruments recorded as bands."""
    frame = _read(ctx, "ordinal")
    if frame is None or frame.empty:
        return []
    fitted = frame.loc[frame["log_odds_per_month"].notna() & frame["std_error"].notna()]
    if fitted.empty:
        return []
    parts = []
    for row in fitted.itertuples(index=False):
        odds, low, high = odds_ratio_per_year(row.log_odds_per_month, row.std_error)
        inst = str(row.instrument)
        ident = f"ordinal/{inst}"
        people = people_n(ctx, row.people, f"outcome6/{ctx.year}/{ident}/people")
        parts.append(
            f"on the {PROSE_NAMES.get(inst, label(inst))} ({people} young people), the odds "
            "of being "
            f"in a lower-risk band were {_num(ctx, f'{ident}/odds-ratio-year', odds, 2)} "
            f"times as high for each year since referral (95% interval "
            f"{_num(ctx, f'{ident}/odds-ratio-year-lower', low, 2)} to "
            f"{_num(ctx, f'{ident}/odds-ratio-year-upper', high, 2)})"
        )
    return [
        HTML(
            "<p>For an instrument recorded as ordered bands, an ordinal (proportional-odds) "
            "model of the band on months since referral uses every assessment, with "
            "intervals that allow for the same young person being assessed more than once: "
            + "; ".join(parts)
            + ". Above one means young people were in lower-risk bands the longer they had "
            "been with the service; like the rest of this section it is descriptive.</p>"
        )
    ]
