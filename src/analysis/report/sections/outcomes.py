"""Section 6, Outcome measures: the six key outcome measures' indicators by service and for the programme."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.analyse import outcomes
from analysis.core.catalog import INDICATORS, PROGRAMME_INDICATORS
from analysis.publish import disclosure
from analysis.publish.registry import Registry, parse_number
from analysis.report.context import YearContext
from analysis.report.sections import reach, workforce
from analysis.report.sections.common import (
    estimates_table,
    no_breakdown,
    rounded_n,
    service_breakdown_allowed,
)
from analysis.report.sections.verdicts import headline_share
from analysis.report.wording import (
    HTML,
    PERSON_FREE_INDICATORS,
    UNIT_NOTES,
    outcome_titles,
    slug,
)
from analysis.report.writer import table_item


def outcome_measures(ctx: YearContext) -> list[Any]:
    """Section 6: each outcome's indicators for the programme and per service.

    Per service, an indicator shows its value or, where the data cannot support one,
    the reason. Shares use their own numerators and denominators, so suppressed cells
    stay suppressed; the three risk-band outcomes share one table so that one cannot be
    worked out from the other two.
    """
    ind = pd.read_parquet(ctx.analysis_dir / INDICATORS)
    ind = ind.loc[ind["evaluation_year"] == ctx.year]
    every_year = pd.read_parquet(ctx.analysis_dir / PROGRAMME_INDICATORS)
    prog = every_year.loc[every_year["evaluation_year"] == ctx.year].set_index("indicator")
    before = every_year.loc[every_year["evaluation_year"] == ctx.settings.previous_year]
    prog_before = before.set_index("indicator")
    breakdown = service_breakdown_allowed(ctx)
    out: list[Any] = [
        HTML(
            "<p>Each of the evaluation's six key outcome measures has operational "
            "indicators computed from the returns (their definitions are in the project's "
            "outcomes document). For each outcome the programme's figures come first, then "
            "each service's value or, where its data cannot support one, the reason.</p>"
        )
    ]
    titles = outcome_titles()
    for number in range(1, 7):
        specs = [x for x in outcomes.INDICATORS if x.outcome == number]
        out.append(HTML(f"<h3>Outcome {number}: {html.escape(titles[number])}</h3>"))
        out.append(HTML(_programme_findings(ctx, specs, prog, prog_before)))
        if number in workforce.OUTCOME_TABLES:
            out += workforce.OUTCOME_TABLES[number](ctx)
        if number == 4:
            out += reach.outcome_reach(ctx)
        if not breakdown:
            out += no_breakdown(ctx, f"Outcome {number} indicators")
            continue
        if number == 6:
            out += _outcome6(ctx, ind)
            continue
        for spec in specs:
            rows = ind.loc[ind["indicator"] == spec.indicator]
            if rows.empty or spec.unit == outcomes.CHANGE:
                continue
            out += _indicator(ctx, spec, rows)
    return out


def _programme_findings(
    ctx: YearContext, specs: list[Any], prog: pd.DataFrame, prog_before: pd.DataFrame
) -> str:
    """The programme's value of each indicator as a sentence list (disclosed). A change
    against the year before is the difference of the two published figures (as known
    now), so it always agrees with them."""
    items = []
    base = f"indicators/{ctx.year}"
    for spec in specs:
        if spec.indicator not in prog.index:
            continue
        row = prog.loc[spec.indicator]
        label = html.escape(spec.label)
        if spec.unit == outcomes.CHANGE:
            shown = _published_change(ctx, spec, prog, prog_before, stats=ctx.stats)
            items.append(f"<li>{label}: <strong>{shown}</strong></li>")
            continue
        shown = _programme_value(ctx, spec, row)
        value, _, status = parse_number(shown)
        if value is not None and spec.unit == outcomes.SHARE:
            value = value / 100  # a share is registered as a fraction, shown as 34%
        tagged = ctx.stats.number(
            f"{base}/{spec.indicator}",
            value,
            unit=_UNITS.get(spec.unit, "count"),
            precision=_precision(shown),
            text=shown,
            status=status,
        )
        services = int(row["services_with_value"])
        n = ctx.stats.number(f"{base}/{spec.indicator}/services-with-a-figure", services)
        noun = "service" if services == 1 else "services"
        items.append(f"<li>{label}: <strong>{tagged}</strong> ({n} {noun} with a figure)</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


_UNITS = {outcomes.SHARE: "percent", outcomes.MEAN_CHANGE: "mean change"}


def _precision(shown: str) -> int:
    _, decimals, _ = parse_number(shown)
    return decimals or 0


def _published_count(ctx: YearContext, indicator: str, table: pd.DataFrame) -> float | None:
    """A programme count as the report publishes it (rounded when it counts young
    people, exact otherwise), or None when it is missing or suppressed."""
    if indicator not in table.index or pd.isna(table.loc[indicator, "value"]):
        return None
    value = float(table.loc[indicator, "value"])
    if indicator in PERSON_FREE_INDICATORS:
        return value
    return None if 0 < value <= ctx.settings.threshold else rounded_n(ctx, value)


def _published_change(
    ctx: YearContext,
    spec: Any,
    prog: pd.DataFrame,
    prog_before: pd.DataFrame,
    *,
    stats: Registry | None = None,
) -> str:
    """The change in a count from the year before, from the two published figures (with
    ``stats``, HTML: each number registered and tagged, the figures under the ids the
    summary's verdicts use)."""
    now = _published_count(ctx, spec.change_of, prog)
    before = _published_count(ctx, spec.change_of, prog_before)
    if now is None or before is None:
        return "[x] (no published figure for both years)"
    prev = ctx.settings.previous_year
    same = ", no change" if now == before else ""
    if stats is None:
        return (
            f"{signed(now - before)}{same} ({now:,.0f} against {before:,.0f} in {prev}, as "
            "known now)"
        )
    change = stats.number(
        f"indicators/{ctx.year}/{spec.indicator}",
        now - before,
        unit="change",
        text=signed(now - before),
    )
    then = stats.number(f"{spec.change_of}/{prev}", before)
    this = stats.number(f"{spec.change_of}/{ctx.year}", now)
    return f"{change}{same} ({this} against {then} in {prev}, as known now)"


def signed(value: float) -> str:
    """A change as published: ``+12``, ``-3``, and ``0`` (never ``+0`` or ``-0``)."""
    return "0" if round(value) == 0 else f"{value:+,.0f}"


def _programme_value(ctx: YearContext, spec: Any, row: pd.Series) -> str:
    value, den = row["value"], row["denominator"]
    personal = spec.indicator not in PERSON_FREE_INDICATORS
    if pd.isna(value):
        return "[x]"
    if spec.unit in (outcomes.SHARE, outcomes.MEAN_CHANGE):
        if personal and pd.notna(den) and den <= ctx.settings.threshold:
            return "[c]"
        return f"{value:.0%}" if spec.unit == outcomes.SHARE else f"{value:.3f}"
    if spec.unit == outcomes.CHANGE:
        if personal:
            return f"{signed(rounded_n(ctx, value))} (rounded)"
        return signed(value)
    if personal:
        return "[c]" if 0 < value <= ctx.settings.threshold else f"{rounded_n(ctx, value):,.0f}"
    return f"{value:,.0f}"


def _indicator(ctx: YearContext, spec: Any, rows: pd.DataFrame) -> list[Any]:
    """One indicator by service: its disclosed values and the reasons for gaps."""
    personal = spec.indicator not in PERSON_FREE_INDICATORS
    threshold = ctx.settings.threshold if personal else 0
    title = f"{spec.label}, {ctx.year}"
    has_value = rows.loc[rows["value"].notna()]
    reasons = rows.loc[rows["value"].isna(), ["service_id", "reason"]]
    out: list[Any] = []
    if len(has_value):
        if spec.unit == outcomes.COUNT:
            table = disclosure.disclose_table(
                has_value[["service_id", "value"]].rename(
                    columns={"service_id": "Service", "value": "Number"}
                ),
                index="Service",
                count_columns=["Number"],
                threshold=threshold,
                total_rounding=ctx.settings.total_rounding if personal else 1,
                title=title,
            )
        elif spec.unit == outcomes.SHARE:
            table = disclosure.disclose_shares(
                has_value.rename(columns={"service_id": "Service"}),
                index="Service",
                numerator="numerator",
                denominator="denominator",
                threshold=threshold,
                protect_complement=personal,
                title=title,
                denominator_label="Out of",
            )
        else:
            data = has_value.assign(
                estimate=has_value["value"].astype("float64"),
                n=has_value["denominator"].astype("float64"),
            )[["service_id", "estimate", "n"]]
            table = estimates_table(
                ctx,
                data,
                index="service_id",
                estimate_columns=("estimate",),
                n_column="n",
                threshold=threshold,
                decimals=3,
                title=title,
                notes=(UNIT_NOTES.get(spec.indicator, ""),) if spec.indicator in UNIT_NOTES else (),
            )
        out += table_item(table)
    if len(reasons):
        items = "".join(
            f"<li>{html.escape(str(r.service_id))}: {ctx.stats.tag_notes([str(r.reason)])[0]}</li>"
            for r in reasons.itertuples()
        )
        out.append(
            HTML(f'<p class="reasons">{html.escape(spec.label)}: no figure for</p><ul>{items}</ul>')
        )
    return out


def _outcome6(ctx: YearContext, ind: pd.DataFrame) -> list[Any]:
    """Outcome 6 by service: assessed, used, and risk-band change in one protected table."""
    wide = ind.pivot_table(
        index="service_id", columns="indicator", values="numerator", aggfunc="first"
    )
    counts = ind.pivot_table(
        index="service_id", columns="indicator", values="value", aggfunc="first"
    )
    frame = pd.DataFrame(index=counts.index)
    frame["Assessed"] = counts.get("assessed_young_people")
    frame["Two or more"] = counts.get("two_plus_assessments")
    for key, name in (
        ("improved", "Improved"),
        ("unchanged", "Unchanged"),
        ("worsened", "Worsened"),
    ):
        frame[name] = wide.get(f"risk_band_{key}_share")
    frame = frame.dropna(how="all")
    out: list[Any] = []
    if len(frame):
        frame["Fewer than two"] = frame["Assessed"] - frame["Two or more"]
        bands = frame[["Improved", "Unchanged", "Worsened"]]
        frame["Band not comparable"] = frame["Two or more"] - bands.sum(axis=1, min_count=1)
        # Categories merged before any cell is suppressed (docs/disclosure.md): a small
        # "Worsened" would otherwise take "Improved" (and its share) with it.
        frame["Unchanged or worsened"] = frame[["Unchanged", "Worsened"]].sum(axis=1, min_count=1)
        frame = frame.reset_index().rename(columns={"service_id": "Service"})
        cols = ["Assessed", "Fewer than two", "Two or more", "Improved",
                "Unchanged or worsened", "Band not comparable"]  # fmt: skip
        out += table_item(
            disclosure.disclose_table(
                frame[["Service", *cols]],
                index="Service",
                count_columns=cols,
                relations={
                    "Assessed": ["Fewer than two", "Two or more"],
                    "Two or more": ["Improved", "Unchanged or worsened", "Band not comparable"],
                },
                percent_columns={"Improved (%)": ("Improved", "Two or more")},
                threshold=ctx.settings.threshold,
                total_rounding=ctx.settings.total_rounding,
                title=f"Young people assessed and change in risk band by service, {ctx.year}",
                notes=(
                    "Young people with an outcome assessment in the year; those with two or "
                    "more assessments, by how their risk band on their own instrument's "
                    "cut-offs changed from the first to the latest assessment.",
                ),
            )
        )
        table = out[-1].table  # the verdict's "n% improved (out of N)" restates its totals
        ids = {c: Registry.cell_id(table, slug(table.title), "Total", c) for c in cols}
        headline_share(
            ctx, 6, ids["Improved"], ids["Two or more"], indicator="risk_band_improved_share"
        )
    spec = outcomes.INDICATOR_BY_ID["outcome_score_change_mean"]
    rows = ind.loc[ind["indicator"] == spec.indicator]
    if len(rows):
        out += _indicator(ctx, spec, rows)
    return out
