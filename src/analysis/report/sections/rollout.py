"""The rollout part of section 7: the effect of a spoke's arrival on CSE concerns identified,
worded from the analyse stage's numbers (``models.json``'s rollout record with its
``checks``, ``model_rollout_att_dynamic.parquet``, ``model_rollout_sensitivity.parquet``)
and from the model's strength of evidence (``evaluation-framework.yaml``).

How strongly the effect is worded follows one rule (:func:`reading`): a model whose evidence
label is not ``causal`` is never described as an effect of the spokes; a causal label is
used only without qualification when no pre-arrival check flags a problem and the
relative-magnitudes bounds exclude zero; a flagged pre-arrival check says the comparison's
key assumption is in doubt.
"""

from __future__ import annotations

import html
from typing import Any, Literal

import pandas as pd

from analysis.analyse.models import MIN_COHORT_UNITS
from analysis.analyse.models.did_cohorts import small_cohort_warning
from analysis.analyse.rollout import HONEST_MBAR
from analysis.core.calendar import quarter_label
from analysis.core.catalog import model_file
from analysis.core.labels import count_word
from analysis.publish.event_study import event_study_band_plot
from analysis.report.context import YearContext
from analysis.report.sections.common import caution_notes, estimates_table, reason_html
from analysis.report.wording import DISPLAY_NAMES, HTML
from analysis.report.writer import figure_item, table_item

SENSITIVITY_LABELS: dict[str, str] = {
    "main": "Main analysis: never-reached comparison areas",
    "not_yet_treated": "Comparison with areas not yet reached as well",
    "anticipation_1": "Allowing identification to change 1 quarter before arrival",
    "anticipation_2": "Allowing identification to change 2 quarters before arrival",
    "rate_per_10k": "As a rate per 10,000 children (not a count)",
    "doubly_robust_covariates": "Doubly robust, adjusted for child population",
    "cohorts_as_dated": "Each area's own arrival quarter (no pooling of small groups)",
    "relative_magnitudes": "Bounds: violations of parallel trends up to the largest before arrival",
}
"""What the report calls each row of the sensitivity table."""

Reading = Literal["supported", "fragile", "doubt", "associational"]


def reading(rec: dict[str, Any]) -> Reading:
    """How strongly the effect may be worded, from the evidence label and the flags:
    ``associational`` (the framework does not label the model causal), ``doubt`` (a
    pre-arrival check flags a problem), ``fragile`` (no flag, but violations no larger than
    the worst pre-arrival one could explain the effect, or the bounds are missing) or
    ``supported``."""
    if rec.get("evidence") != "causal":
        return "associational"
    flags = rec.get("checks", {}).get("flags", {})
    if flags.get("pre_test", False):
        return "doubt"
    if flags.get("bounds_include_zero", True):
        return "fragile"
    return "supported"


def _n(ctx: YearContext, ident: str, value: float, digits: int = 1) -> str:
    """An estimate from the rollout record, registered as ``rollout/<ident>`` and tagged."""
    return ctx.stats.number(f"rollout/{ident}", value, unit="estimate", precision=digits)


def _pct(ctx: YearContext, ident: str, value: float) -> str:
    """A share (a fraction) from the rollout record, registered and written as ``34%``."""
    return ctx.stats.number(f"rollout/{ident}", value, unit="percent")


def _headline(ctx: YearContext, rec: dict[str, Any], est: pd.Series) -> str:
    checks = rec.get("checks", {})
    significant = est["ci_lower"] > 0 or est["ci_upper"] < 0
    more = "more" if est["estimate"] > 0 else "fewer"
    text = (
        "In the quarters after a spoke arrived, children's social care in spoke areas "
        f"identified on average {_n(ctx, 'effect/size', abs(est['estimate']))} {more} CSE "
        "concerns per area and quarter than comparison areas that no spoke reached (95% "
        f"confidence interval {_n(ctx, 'effect/lower', est['ci_lower'])} to "
        f"{_n(ctx, 'effect/upper', est['ci_upper'])})"
        f"{'' if significant else ', which cannot be told apart from no difference'}, "
        f"across {ctx.stats.number('rollout/areas', rec['n_units_used'])} areas."
    )
    rel, mean = checks.get("relative_effect"), checks.get("pre_arrival_mean")
    if rel and mean:
        text += (
            f" That is {_pct(ctx, 'relative/estimate', rel['estimate'])} of the "
            f"{_n(ctx, 'pre-arrival-mean', mean)} concerns per quarter spoke areas recorded "
            "before their spoke arrived (95% confidence interval "
            f"{_pct(ctx, 'relative/lower', rel['ci_lower'])} to "
            f"{_pct(ctx, 'relative/upper', rel['ci_upper'])}, taking the pre-arrival mean "
            "as known)."
        )
    mde = checks.get("mde", {})
    if "value" in mde:
        share = (
            f", {_pct(ctx, 'relative/mde', rel['mde'])} of the pre-arrival mean"
            if rel and "mde" in rel
            else ""
        )
        text += (
            " The smallest effect this comparison would detect with "
            f"{_pct(ctx, 'mde/power', mde['power'])} power in a two-sided 5% test is "
            f"{_n(ctx, 'mde/value', mde['value'])} concerns per area and quarter{share}: "
            "smaller true effects would usually go unnoticed."
        )
    return f"<p>{text}</p>"


def _estimand(ctx: YearContext, rec: dict[str, Any]) -> str:
    checks = rec.get("checks", {})
    pooled = checks.get("pooled_cohorts", [])
    sizes = checks.get("cohort_sizes", {})
    groups = f"{count_word(len(sizes))} group{'s' if len(sizes) != 1 else ''}"
    if not pooled:
        return (
            f"<p>Spokes arrived in three phases; each of the {groups} of spoke areas that "
            "started in the same quarter is compared with the comparison areas over the same "
            "quarters (Callaway and Sant'Anna), so no area is compared with itself alone "
            "and areas reached later do not serve as comparisons.</p>"
        )
    moved = ctx.stats.number("rollout/pooled-areas", sum(int(p["areas"]) for p in pooled))
    listed = ", ".join(
        f"{ctx.stats.number(f'rollout/group-areas/{g}', int(sizes[g]))} areas"
        for g in sorted(sizes, key=int)
    )
    return (
        "<p>Spokes arrived in three phases. Within a phase, spokes that started in a quarter "
        f"shared with fewer than five other areas ({moved} areas in all) are counted from "
        f"their phase's first arrival, so each phase forms one group ({groups}: {listed}); "
        "one or two areas "
        "alone cannot measure their own uncertainty. The effect is therefore averaged from "
        "each phase's first arrival, an intention-to-treat effect: areas whose spoke came "
        "a quarter or two later count as reached from the phase's first arrival, which "
        "dilutes the early quarters. Each group is compared with the comparison areas over "
        "the same quarters (Callaway and Sant'Anna).</p>"
    )


def _pre_tests(ctx: YearContext, rec: dict[str, Any]) -> str:
    checks = rec.get("checks", {})
    flags = checks.get("flags", {})
    trend = checks.get("pre_trend", {})
    parts: list[str] = []
    if "estimate" in trend:
        rose = "rose" if trend["estimate"] > 0 else "fell"
        detected = trend["p_value"] < 0.05
        parts.append(
            f"Over the {count_word(trend['quarters_used'])} quarters before arrival, the "
            f"number of concerns spoke areas identified each quarter {rose} by "
            f"{_n(ctx, 'pre-trend/size', abs(trend['estimate']))} relative to comparison "
            "areas (the straight-line trend through the event study, accumulated over those "
            "quarters; 95% confidence interval "
            f"{_n(ctx, 'pre-trend/lower', trend['ci_lower'])} to "
            f"{_n(ctx, 'pre-trend/upper', trend['ci_upper'])}, p = "
            f"{_n(ctx, 'pre-trend/p-value', trend['p_value'], 2)}): "
            + (
                "a pre-arrival trend is detected, so the areas were already diverging."
                if detected
                else "no pre-arrival trend is detected."
            )
        )
    outside = flags.get("band_quarters_outside", [])
    if outside:
        listed = ", ".join(
            ctx.stats.number(f"rollout/band-outside/{q}", int(q), unit="quarter") for q in outside
        )
        parts.append(
            f"The simultaneous band excludes zero before arrival at quarter(s) {listed}: "
            "spoke and comparison areas differed then by more than chance allows."
        )
    else:
        parts.append(
            "The simultaneous band includes zero at every quarter before arrival (a joint "
            "check, allowing for the many quarters looked at)."
        )
    pre = rec.get("pretest")
    if pre and "p_value" in pre:
        smallest = min((int(v) for v in checks.get("cohort_sizes", {}).values()), default=0)
        caveat = (
            " With about as many pre-arrival cells as there are areas in a group, this "
            "joint test rejects far too often when trends are parallel, so the report does "
            "not rely on it."
            if pre["df"] >= smallest
            else ""
        )
        parts.append(
            "R did's joint Wald test over all "
            f"{ctx.stats.number('rollout/pretest/cells', int(pre['df']))} pre-arrival "
            f"group-quarter cells gives p = {_n(ctx, 'pretest/p-value', pre['p_value'], 2)}."
            f"{caveat}"
        )
    elif pre:
        parts.append("R did's joint Wald test could not be computed (its cells are collinear).")
    return "<p>" + " ".join(parts) + "</p>"


def _assumptions(ctx: YearContext, rec: dict[str, Any], how: Reading) -> str:
    checks = rec.get("checks", {})
    bounds = checks.get("bounds", {})
    evidence = rec.get("evidence", "descriptive")
    listed = "".join(f"<li>{html.escape(a)}</li>" for a in rec.get("assumptions", []))
    bound_text = ""
    if "lower" in bounds:
        bound_text = (
            " If, after arrival, spoke and comparison areas drifted apart by as much per "
            "quarter as the largest quarter-to-quarter movement seen in the "
            f"{count_word(bounds['pre_quarters'])} quarters before arrival "
            f"({_n(ctx, 'bounds/largest-pre-move', bounds['max_pre_move'])} concerns), the "
            f"effect could lie anywhere from {_n(ctx, 'bounds/lower', bounds['lower'])} to "
            f"{_n(ctx, 'bounds/upper', bounds['upper'])} (95% robust interval; Rambachan "
            f"and Roth's relative-magnitudes bounds with M = {_bounds_m(ctx, bounds)}, computed as "
            "the HonestDiD package does)."
        )
    verdicts = {
        "supported": (
            "The checks do not contradict the comparison, and the effect survives "
            "violations as large as the worst seen before arrival: within the assumptions "
            "below, it can be read as the effect of the spokes' arrival (evidence: "
            f"{evidence})."
        ),
        "fragile": (
            "No check flags a problem before arrival, but the checks have limited power "
            "and the bounds include zero, so violations of parallel trends no larger than "
            "those seen before arrival could account for the whole difference. Read it as "
            "the effect of the spokes' arrival only if spoke and comparison areas would "
            f"otherwise have moved together (evidence: {evidence}, with this "
            "qualification)."
        ),
        "doubt": (
            "A check before arrival flags a problem: spoke and comparison areas were "
            "already moving apart, so the comparison's key assumption is in doubt and the "
            "difference should not be read as caused by the spokes. It may reflect how "
            "spoke areas were chosen (for example, areas with rising need)."
        ),
        "associational": (
            "The evaluation framework does not rate this comparison as causal evidence: "
            "the difference is an association, not an effect of the spokes."
        ),
    }
    return (
        "<p><strong>What the comparison can and cannot show.</strong> "
        + html.escape(verdicts[how])
        + bound_text
        + " It rests on these assumptions:</p>"
        + (f"<ul>{listed}</ul>" if listed else "")
    )


def _bounds_m(ctx: YearContext, bounds: dict[str, Any]) -> str:
    """The relative-magnitudes bound's M (``Mbar``), a parameter of the analysis."""
    mbar = float(bounds.get("mbar", HONEST_MBAR))
    return ctx.stats.number("rules/rollout/bounds-m", mbar, unit="parameter", precision=0)


def _event_study(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    path = ctx.analysis_dir / model_file("rollout", "att_dynamic")
    if not path.exists():
        return []
    dyn = pd.read_parquet(path)
    band = rec.get("checks", {}).get("band", {})
    frame = pd.DataFrame(
        {
            "event_time": dyn["egt"].astype("int64"),
            "estimate": dyn["att"].astype("float64"),
            "ci_lower": dyn["ci_lower"].astype("float64"),
            "ci_upper": dyn["ci_upper"].astype("float64"),
            "band_lower": dyn["band_lower"].astype("float64"),
            "band_upper": dyn["band_upper"].astype("float64"),
            "n": float(rec["n_units_used"]),
        }
    )
    names = {"band_lower": "Lower band limit", "band_upper": "Upper band limit"}
    table = estimates_table(
        ctx,
        frame.rename(columns=names),
        index="event_time",
        estimate_columns=("estimate", "ci_lower", "ci_upper", *names.values()),
        n_column="n",
        threshold=0,
        decimals=2,
        title=f"Effect on CSE concerns identified by quarters since the spoke arrived, {ctx.year}",
        notes=(
            "Areas, not young people: no suppression needed. Every quarter is compared with "
            "the quarter before arrival (the reference quarter: zero by definition, with no "
            "interval).",
            "Limits: pointwise 95% intervals, each on its own. Band limits: the simultaneous "
            "95% band, which covers all the quarters' true values at once with at least 95% "
            "probability. Both are widened for the few areas behind each estimate (see the "
            "text above the table).",
        ),
    )
    out: list[Any] = [HTML(_band_text(ctx, band, len(frame) - 1))]
    out += table_item(table)
    out += figure_item(
        event_study_band_plot(
            table,
            estimate=DISPLAY_NAMES["estimate"],
            lower=DISPLAY_NAMES["ci_lower"],
            upper=DISPLAY_NAMES["ci_upper"],
            band_lower=names["band_lower"],
            band_upper=names["band_upper"],
            value_label="Extra CSE concerns per area and quarter",
            x_label="Quarters since the spoke arrived",
            title="Event study over the whole window, with its simultaneous band",
        ),
        "event-study",
    )
    return out


def _small_groups(rec: dict[str, Any]) -> dict[str, int]:
    """The groups of spoke areas (by first quarter) still below the smallest size after
    pooling, from the record's cohort sizes."""
    sizes = rec.get("checks", {}).get("cohort_sizes", {})
    return {g: int(k) for g, k in sorted(sizes.items(), key=lambda i: int(i[0]))
            if int(k) < MIN_COHORT_UNITS}  # fmt: skip


def _small_groups_text(ctx: YearContext, small: dict[str, int]) -> str:
    """The caution for groups too small to measure their own uncertainty, every number
    registered (the analysis's warning says the same in its own words)."""
    listed = ", ".join(
        f"{quarter_label(int(g))} ({ctx.stats.number(f'rollout/group-areas/{g}', k)} area{'s' if k != 1 else ''})"
        for g, k in small.items()
    )
    fewest = ctx.stats.number("rules/rollout/fewest-areas-per-group", MIN_COHORT_UNITS)
    return (
        f'<p class="warning"><strong>Caution:</strong> some groups of spoke areas have fewer '
        f"than {fewest} areas: those whose spoke arrived in {listed} (evaluation quarters). Their "
        "effects are in the estimates, but their intervals understate the uncertainty (a "
        "group of one area contributes no variance of its own): read them with caution.</p>"
    )


def _band_text(ctx: YearContext, band: dict[str, Any], intervals: int) -> str:
    """How the event study's intervals and band are computed, its numbers registered."""
    crit, fewest = band.get("critical_value"), band.get("fewest_areas")
    critical = (
        f" Its critical value is {_n(ctx, 'band/critical-value', crit, 2)} instead of 1.96, so that"
        if crit
        else " It is built so that"
    )
    return (
        "<p>The table and chart give each quarter's effect with a pointwise 95% interval "
        "and, around them all, a simultaneous 95% band."
        f"{critical} it covers all the quarters' true values at once with at least 95% "
        f"probability; with {ctx.stats.number('rollout/pointwise-intervals', intervals)} "
        "pointwise intervals about one in twenty would miss by chance. Both are widened for "
        "the few areas behind each estimate (t quantiles with one degree of freedom fewer "
        "than the areas, the band by its fewest"
        + (
            f", {ctx.stats.number('rollout/band/fewest-areas', int(fewest))} areas"
            if fewest
            else ""
        )
        + "); quarters behind fewer than "
        f"{ctx.stats.number('rules/rollout/fewest-areas-per-group', MIN_COHORT_UNITS)} areas "
        "have no band.</p>"
    )


def _sensitivity(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    path = ctx.analysis_dir / model_file("rollout", "sensitivity")
    if not path.exists():
        return []
    sens = pd.read_parquet(path)
    frame = pd.DataFrame(
        {
            "analysis": sens["analysis"].map(lambda a: SENSITIVITY_LABELS.get(a, a)),
            "estimate": sens["estimate"],
            "ci_lower": sens["ci_lower"],
            "ci_upper": sens["ci_upper"],
            "n": sens["n_areas"].astype("float64"),
        }
    )
    table = estimates_table(
        ctx,
        frame.rename(columns={"analysis": "Analysis"}),
        index="Analysis",
        n_column="n",
        threshold=0,
        decimals=2,
        title=f"How the rollout effect changes with the analysis, {ctx.year}",
        notes=(
            "Extra CSE concerns per area and quarter (the rate row: per 10,000 children), "
            "with 95% intervals; N: areas. [x]: the analysis could not be estimated.",
            "Bounds: Rambachan and Roth's relative magnitudes, allowing violations of "
            "parallel trends after arrival as large as the largest before it; the limits are "
            "the 95% robust interval for the main estimate.",
        ),
    )
    return [HTML("<h4>Sensitivity of the effect to the analysis</h4>"), *table_item(table)]


def rollout_section(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    """The rollout's effect, its estimand, event study, pre-arrival checks, sensitivity
    table and what the comparison can and cannot show."""
    out: list[Any] = [HTML("<h3>The rollout: CSE concerns identified after a spoke arrives</h3>")]
    if not rec["fitted"]:
        return [*out, HTML(f"<p>{reason_html(ctx, rec)}</p>")]
    est = pd.read_parquet(ctx.analysis_dir / model_file("rollout")).iloc[0]
    how = reading(rec)
    out += [HTML(_headline(ctx, rec, est)), HTML(_estimand(ctx, rec))]
    small = _small_groups(rec)
    described = small_cohort_warning({float(g): k for g, k in small.items()}, MIN_COHORT_UNITS)
    shown = [w for w in rec.get("warnings", []) if "were pooled" not in w and w != described]
    out += caution_notes(ctx, {"warnings": shown})
    if small:
        out += [HTML(_small_groups_text(ctx, small))]
    out += _event_study(ctx, rec)
    out += [HTML("<h4>Were spoke and comparison areas alike before arrival?</h4>")]
    out += [HTML(_pre_tests(ctx, rec))]
    out += _sensitivity(ctx, rec)
    out += [HTML(_assumptions(ctx, rec, how))]
    return out
