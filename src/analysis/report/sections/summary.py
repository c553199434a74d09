"""Section 1, Summary: the verdicts on the six outcome measures, the key findings, the
programme to date with the grants per output, the year's key figures and what changed since
the previous year."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.analyse.report_facts import _restrict, key_figures, revision_causes
from analysis.core.catalog import HEADLINE
from analysis.core.io import read_json
from analysis.publish import disclosure
from analysis.publish.disclosure import DisclosedTable
from analysis.publish.registry import RULES
from analysis.publish.release import revise
from analysis.report.context import YearContext
from analysis.report.sections.to_date import summary_to_date
from analysis.report.sections.verdicts import key_findings, verdict_table
from analysis.report.wording import EXACT_FIGURES, HTML, _fmt, slug
from analysis.report.writer import table_item

RESTATED: dict[str, str] = {
    "Young people supported": "young_people_supported",
    "Professionals trained": "professionals_trained",
    "Spoke areas reached": "spoke_areas_reached",
}
"""Key figures the verdicts, key findings and outcome measures restate under the
indicator's id (``<indicator>/<year>``): the registry refuses the report if they differ
(:meth:`analysis.publish.registry.Registry.same`, checked when either is registered)."""


# ----------------------------------------------------------------------- sections
def summary(ctx: YearContext) -> list[Any]:
    """Section 1: the year's key figures and what changed since the previous year.

    The previous year's column shows its figures as known now; where they differ from
    what the previous report published (late or resubmitted returns), they carry [r].
    """
    prev = ctx.settings.previous_year
    # The analyse stage computed this year's headline figures on the same tables.
    headline = read_json(ctx.analysis_dir / HEADLINE)
    rows = [key_figures(ctx.seen, ctx.year, headline=headline).assign(evaluation_year=ctx.year)]
    now = None
    if ctx.previous is not None:
        now = key_figures(_restrict(ctx.seen, prev), prev)
        rows.insert(0, now.assign(evaluation_year=prev))
    frame = pd.concat(rows, ignore_index=True).rename(columns={"figure": "Figure"})
    table = disclosure.disclose_programme_totals(
        frame,
        index="Figure",
        columns="evaluation_year",
        values="value",
        threshold=ctx.settings.threshold,
        total_rounding=ctx.settings.total_rounding,
        exact=EXACT_FIGURES,
        title=f"Key figures, {ctx.year} and the year before",
    )
    table = revise(_revise_previous(ctx, table, now), slug(table.title), ctx.stats)
    values = table.numeric
    ids = ctx.stats.table(table, slug(table.title))  # the prose below cites its cells
    lede = [
        f"<p>Evaluation year {ctx.year} (1 September to 31 August), from returns received "
        f"by the cut-off in {ctx.settings.cutoff:%B %Y}.</p>"
    ]
    if ctx.settings.synthetic:
        lede.append(
            '<p class="warning"><strong>Synthetic data</strong>: a generated programme, not '
            "real services or young people.</p>"
        )
    sentences = [
        "<h3>Key figures</h3>"
        f"<p>The cut-off for returns was {ctx.stats.cite(RULES['cutoff_days'])} days after "
        "the year "
        "end; returns that arrived later are counted in the next report. Figures the "
        "previous year's report gave differently, because returns arrived late or were "
        "resubmitted, are marked [r].</p>"
    ]
    if ctx.previous is None:
        sentences.append(
            "<p>This is the programme's first evaluation year: there is no previous year "
            "to compare with.</p>"
        )
    elif prev in values.columns and ctx.year in values.columns:
        changes = []
        for idx in values.index:
            a, b = values.loc[idx, prev], values.loc[idx, ctx.year]
            if pd.notna(a) and pd.notna(b) and a != b:
                direction = "rose" if b > a else "fell"
                was = ctx.stats.cite(ids.loc[idx, prev], _fmt(a))
                is_ = ctx.stats.cite(ids.loc[idx, ctx.year], _fmt(b))
                changes.append(f"{str(idx).lower()} {direction} from {was} to {is_}")
        if changes:
            sentences.append(f"<p>Compared with {prev}: " + "; ".join(changes) + ".</p>")
        causes = revision_causes(ctx.seen, ctx.previous, prev)
        if any(causes.values()):
            late, again = causes["late_returns"], causes["resubmitted_returns"]
            stat = ctx.stats.number
            parts = [
                f"{stat(f'revisions/{prev}/late-returns', late)} "
                f"return{'s' if late != 1 else ''} for {prev} arrived after its report's cut-off"
                if late
                else "",
                f"{stat(f'revisions/{prev}/resubmitted-returns', again)} "
                f"{'were' if again != 1 else 'was'} resubmitted since"
                if again
                else "",
            ]
            sentences.append(
                f"<p>Figures for {prev} marked [r] differ from its report because "
                + " and ".join(p for p in parts if p)
                + ".</p>"
            )
    for figure, indicator in RESTATED.items():  # one number per statistic
        for year in ids.columns:
            if figure in ids.index:
                ctx.stats.same(ids.loc[figure, year], f"{indicator}/{year}")
    return [
        HTML("".join(lede)),
        *verdict_table(ctx),
        *key_findings(ctx),
        *summary_to_date(ctx),
        HTML("".join(sentences)),
        *table_item(table),
    ]


def _revise_previous(
    ctx: YearContext, table: DisclosedTable, now_frame: pd.DataFrame | None
) -> DisclosedTable:
    """Mark with [r] the previous year's figures that differ from what was published."""
    if ctx.previous is None or now_frame is None:
        return table
    prev = ctx.settings.previous_year
    published = key_figures(ctx.previous, prev).set_index("figure")["value"]
    now = now_frame.set_index("figure")["value"]
    revised = pd.DataFrame(False, index=table.table.index, columns=table.table.columns)
    if prev in revised.columns:
        for fig in revised.index:
            if fig in published.index and fig in now.index and published[fig] != now[fig]:
                revised.loc[fig, prev] = True
    return disclosure.mark_revised(table, revised)
