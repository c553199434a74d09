"""Programme-to-date totals in a year's report: in the data-quality appendix, the totals that
missing returns undercount beside their adjusted estimates; in the methods annex of the
report whose year holds the date the published figures run to, the programme-to-date
indicators beside the real programme's published figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.analyse.adjust import ADJUSTED
from analysis.core.catalog import PROGRAMME_TO_DATE
from analysis.publish import disclosure
from analysis.publish.registry import RULES
from analysis.report.context import YearContext
from analysis.report.sections.costs import grant_per_output
from analysis.report.wording import HTML
from analysis.report.writer import table_item


def _table(ctx: YearContext) -> pd.DataFrame:
    frame = pd.read_parquet(ctx.analysis_dir / PROGRAMME_TO_DATE)
    return frame.assign(as_of=pd.to_datetime(frame["as_of"]))


def adjusted_totals(ctx: YearContext) -> list[Any]:
    """Data-quality appendix: reported totals to date and their adjustment for missing returns."""
    frame = _table(ctx)
    out: list[Any] = []
    for as_of, part in frame.groupby("as_of", sort=True):
        rows = part.loc[part["indicator"].isin(ADJUSTED)].set_index("indicator")
        if rows.empty:
            continue
        expected = int(rows["returns_expected"].iloc[0])
        missing = int(rows["returns_missing"].iloc[0])
        share = missing / expected if expected else 0.0
        when = f"the end of {as_of:%B %Y}"  # a month, never a day (disclosure rule)
        stat, base = ctx.stats.number, f"to-date/{as_of:%Y-%m}"
        n_expected = stat(f"{base}/returns-expected", expected)
        n_missing = stat(f"{base}/returns-missing", missing)
        p_missing = stat(f"{base}/returns-missing-share", share, unit="percent")
        text = (
            f"<h3>Totals to {when} and missing returns</h3><p>Of the {n_expected} returns "
            f"expected for periods up to {when}, {n_missing} ({p_missing}) had not arrived by "
            f"the cut-off. A missing return takes its period's files with it, so the totals "
            "undercount: young people referred in that period and closed before the next "
            "return are in no extract, and the professionals and children at its sessions "
            "are not recorded. The adjusted estimate imputes each missing period from the "
            "same service's neighbouring periods, less the young people a later extract "
            "already shows; the range is an approximate 95% range (method in the project's "
            "outcomes document). Rows the cleaner quarantined are not imputed.</p>"
        )
        if ctx.settings.synthetic:
            text += (
                "<p>On the synthetic programme, whose true totals are known, the reported "
                "number of young people falls short of the true number by about the share "
                "of returns missing (the project's calibration test checks it is within "
                f"{stat('methods/calibration-tolerance', 5, unit='percentage points')} "
                "percentage points), and the adjusted range is meant to cover the true "
                "number.</p>"
            )
        long = []
        for key, row in rows.iterrows():
            for column, name in (
                ("value", "Reported"),
                ("adjusted", "Adjusted estimate"),
                ("adjusted_low", "Lower end of range"),
                ("adjusted_high", "Upper end of range"),
            ):
                value = row[column]
                long.append(
                    {
                        "Figure": str(row["label"]),
                        "column": name,
                        "value": float(np.rint(value)) if pd.notna(value) else np.nan,
                    }
                )
            del key
        table = disclosure.disclose_programme_totals(
            pd.DataFrame(long),
            index="Figure",
            columns="column",
            values="value",
            threshold=ctx.settings.threshold,
            total_rounding=ctx.settings.total_rounding,
            title=f"Totals to {when}, reported and adjusted for missing returns",
            notes=(
                "Group attendances count a child at two sessions twice. Estimates are "
                "rounded like the totals.",
            ),
        )
        out += [HTML(text), *table_item(table)]
    return out


def _person_total(ctx: YearContext, value: float) -> str:
    """A programme total of people as published: ``[c]`` when small, else rounded."""
    if float(value) <= ctx.settings.threshold:
        return "[c]"
    return f"{disclosure.round_to_base(float(value), ctx.settings.total_rounding):,.0f}"


def published_comparison(ctx: YearContext) -> list[Any]:
    """Methods annex: the programme-to-date indicators beside the published figures (only
    in the report whose year holds the date the published figures run to)."""
    from analysis.core.published_figures import load_published_figures, published_reference_date

    ref = published_reference_date()
    frame = _table(ctx)
    part = frame.loc[frame["as_of"] == pd.Timestamp(ref)]
    if part.empty:
        return []
    figures = load_published_figures()
    rows = []
    for r in part.itertuples():
        fig = figures.get(r.indicator)
        if fig is None:
            continue
        rows.append((r, fig))
    if not rows:
        return []
    when = f"the end of {ref:%B %Y}"
    source = "synthetic programme" if ctx.settings.synthetic else "programme"
    ours_col, adj_col = f"This {source} (reported)", "Adjusted for missing returns"
    base = ctx.settings.total_rounding
    records = []
    for r, fig in rows:
        person = r.indicator in ADJUSTED
        records.append(
            {
                "Figure": fig.label,
                # totals of people are rounded like every programme total (and a small one
                # suppressed); posts, areas, services and interviews are not about
                # individuals and are exact
                ours_col: _person_total(ctx, r.value) if person else f"{r.value:,.0f}",
                adj_col: (
                    _person_total(ctx, r.adjusted) if person and pd.notna(r.adjusted) else "[z]"
                ),
                "Published": f"{fig.value:,.0f}",
                "Source": fig.source.citation,
            }
        )
    table = disclosure.disclose_table(
        pd.DataFrame(records),
        index="Figure",
        count_columns=[],
        text_columns=[ours_col, adj_col, "Published", "Source"],
        threshold=ctx.settings.threshold,
        total_row=False,
        total_rounding=base,
        title=f"Programme to {when}: this {source} beside the published figures",
        notes=(
            "Published figures are shown as published; [z]: no adjustment applies (the "
            "figure comes from the registers or the fieldwork log, which are received whole).",
        ),
    )
    text = (
        f"<h3>The programme to {when} and the published figures</h3><p>The real "
        "programme's published figures run to this date. The programme-to-date indicators "
        "are counted as the published evaluation counted them: young people by referral "
        "date, professionals and children by the date of the session, spoke workers and "
        "areas by the date the first worker was in post. Totals of people are rounded to "
        f"the nearest {ctx.stats.cite(RULES['rounding'])}.</p>"
    )
    if ctx.settings.synthetic:
        text += (
            "<p>The synthetic programme is calibrated to the published figures, so the two "
            "columns should be close; they describe different programmes and are not a "
            "check on the real one.</p>"
        )
    return [HTML(text), *table_item(table)]


SUMMARY_ROWS: tuple[tuple[str, str | None], ...] = (
    ("individual_support", "young_people"),
    ("group_reach", "group_attendances"),
    ("professionals_reached", "professionals"),
    ("spoke_posts_filled", None),
    ("spoke_areas", None),
    ("services", None),
)
"""The summary's programme-to-date rows (indicator, the cost measure it is divided into)."""


def summary_to_date(ctx: YearContext) -> list[Any]:
    """Summary: the programme from its start to the end of the year (reported, allowing for
    missing returns) and the grants to services per output, an upper bound."""
    frame = _table(ctx)
    if frame.empty:
        return []
    as_of = frame["as_of"].max()
    part = frame.loc[frame["as_of"] == as_of].set_index("indicator")
    has_grants = "grants" in ctx.seen and not ctx.seen["grants"].empty
    per = grant_per_output(ctx, "to_date") if has_grants else {}
    when = f"the end of {as_of:%B %Y}"
    records = []
    for indicator, measure in SUMMARY_ROWS:
        if indicator not in part.index:
            continue
        row = part.loc[indicator]
        person = indicator in ADJUSTED
        records.append(
            {
                "Figure": str(row["label"]),
                "Reported": _person_total(ctx, row["value"]) if person else f"{row['value']:,.0f}",
                "Allowing for missing returns": (
                    _person_total(ctx, row["adjusted"])
                    if person and pd.notna(row["adjusted"])
                    else "[z]"
                ),
                "Grant per output": per[measure][1] if measure in per else "[z]",
            }
        )
    if "post_years" in per:
        records.append(
            {
                "Figure": "Spoke post-years filled",
                "Reported": per["post_years"][0],
                "Allowing for missing returns": "[z]",
                "Grant per output": per["post_years"][1],
            }
        )
    frame_out = pd.DataFrame(records)
    table = disclosure.disclose_table(
        frame_out,
        index="Figure",
        count_columns=[],
        text_columns=[c for c in frame_out.columns if c != "Figure"],
        # no count cells left to disclose: totals of people were rounded (or [c]) above;
        # posts, areas and services are not about individuals and are exact
        threshold=0,
        total_rounding=ctx.settings.total_rounding,
        total_row=False,
        title=f"The programme to {when}",
        notes=(
            "Totals of people are rounded to the nearest "
            f"{ctx.settings.total_rounding}; the estimate allowing for missing returns is "
            "explained in the data quality appendix. [z]: does not apply.",
            "Grant per output divides all the grants to services so far by one output: the "
            "same grant paid for casework, group work and training, so each is an upper "
            "bound on that output's cost, not a unit cost (to the nearest £10).",
        ),
    )
    text = (
        f"<h3>The programme to date</h3><p>From the programme's start to {when}, counted "
        "as the published evaluation counted them (young people by referral date, "
        "children and professionals by the date of the session). Value for money is shown "
        "as the grants to services per output.</p>"
    )
    return [HTML(text), *table_item(table)]
