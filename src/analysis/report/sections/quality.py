"""Sections 9 and 10: data quality (returns, ledger, quarantine) and methods (section 8, the
fieldwork, is :mod:`analysis.report.sections.fieldwork`)."""

from __future__ import annotations

import html
from typing import Any

from analysis.analyse.report_facts import returns_expected
from analysis.core.rules import LATE_AFTER_DAYS
from analysis.publish import disclosure, figures
from analysis.publish.quality import delivered_files, ledger_totals, quarantine_by_reason
from analysis.publish.registry import RULES
from analysis.report.context import YearContext, version_hashes
from analysis.report.sections import to_date
from analysis.report.sections.common import counts_table
from analysis.report.wording import HTML, disclosure_sentence, label
from analysis.report.writer import figure_item, table_item


def data_quality(ctx: YearContext) -> list[Any]:
    """Section 9: completeness, returns received vs expected, reconciliation, quarantine, ledger."""
    ctx.stats.number(RULES["late_days"], LATE_AFTER_DAYS, unit="days")
    out: list[Any] = []
    comp = ctx.seen["completeness"]
    comp = comp.loc[comp["evaluation_year"] == ctx.year]
    if len(comp):
        long = comp.assign(
            recorded_share=comp[
                [
                    "gender_recorded",
                    "ethnicity_recorded",
                    "sexuality_recorded",
                    "disability_recorded",
                ]
            ].mean(axis=1),
            quarter=comp["period"].astype("str"),
        )
        heat = disclosure.disclose_shares(
            long,
            index="service_id",
            columns="quarter",
            share="recorded_share",
            denominator="young_people",
            threshold=ctx.settings.threshold,
            title=f"Completeness: share of characteristics recorded, by service and period, {ctx.year}",
            notes=(
                "Mean of the shares of young people with gender, ethnicity, sexuality and "
                "disability recorded.",
            ),
        )
        out += table_item(heat)
        out += figure_item(
            figures.heatmap(heat, title="Completeness of recording by service and period"),
            "completeness-heatmap",
        )
    exp = returns_expected(ctx.seen, ctx.year).rename(
        columns={
            "service_id": "Service",
            "expected": "Expected",
            "received": "Received",
            "late": "Late",
        }  # fmt: skip
    )
    out += table_item(
        disclosure.disclose_table(
            exp,
            index="Service",
            count_columns=["Expected", "Received", "Late"],
            threshold=0,
            total_rounding=1,
            title=f"Returns expected and received by service, {ctx.year}",
            notes=(
                "Counts of returns are not about individuals and are not suppressed. Late: "
                f"received more than {LATE_AFTER_DAYS} days after the period ended.",
            ),
        )
    )
    rec = ctx.seen["reconciliation"]
    rec = rec.loc[rec["period"].astype("str").str[:7] == ctx.year]
    if len(rec):
        summary = (
            rec.assign(
                Agree=(rec["difference"] == 0).fillna(False).astype(int),
                Differ=(rec["difference"] != 0).fillna(False).astype(int),
                **{"Cannot compare": rec["difference"].isna().astype(int)},
                Measure=rec["measure"].map(label),
            )
            .groupby("Measure", as_index=False)[["Agree", "Differ", "Cannot compare"]]
            .sum()
        )
        out += table_item(
            disclosure.disclose_table(
                summary,
                index="Measure",
                count_columns=["Agree", "Differ", "Cannot compare"],
                threshold=0,
                total_rounding=1,
                title=f"Reconciliation of returns against case extracts, {ctx.year}",
                notes=(
                    "Number of returns whose total agrees with, or differs from, the count in "
                    "the case extracts for the same service and period; 'cannot compare' "
                    "where either figure is missing.",
                ),
            )
        )
    files = delivered_files(ctx.processed_dir, ctx.year, ctx.settings.cutoff)
    q = quarantine_by_reason(ctx.processed_dir, files)
    if len(q):
        out += table_item(
            counts_table(
                ctx,
                q.rename(columns={"reason": "Reason", "rows": "Rows"}),
                index="Reason",
                columns=None,
                values="Rows",
                threshold=0,
                title=f"Rows quarantined by reason, files received by the {ctx.year} cut-off",
                notes=(
                    "Rows of source files, not young people; the quarantine file itself "
                    "never leaves the analysts' environment.",
                ),
            )
        )
    ledger = ledger_totals(ctx.processed_dir, files)
    if len(ledger):
        cols = [c for c in ("Read", "Kept", "Quarantined", "Superseded", "Blank") if c in ledger]
        out += table_item(
            disclosure.disclose_table(
                ledger,
                index="Source",
                count_columns=cols,
                relations={"Read": ["Kept", "Quarantined", "Superseded"]},
                threshold=0,
                total_rounding=1,
                title=f"Ledger: source rows read, kept and quarantined, files received by the {ctx.year} cut-off",
                notes=(
                    "Rows of files, not young people. Every row read is kept, quarantined or "
                    "superseded by a resubmission; blank rows are counted apart. The "
                    "registers, area panel and fieldwork log span every year and are "
                    "accounted for in the cleaning step's full ledger.",
                ),
            )
        )
    return out + to_date.adjusted_totals(ctx)


def methods(ctx: YearContext) -> list[Any]:
    """Section 10: methods, assumptions, caveats and the version that produced the report."""
    version = version_hashes(ctx.processed_dir)
    items = "".join(
        f"<li><strong>{html.escape(k)}</strong>: <code>{html.escape(v)}</code></li>"
        for k, v in {"Data this report may see": ctx.input_hash, **version}.items()
    )
    sentence = disclosure_sentence(ctx.settings.threshold, ctx.settings.total_rounding)
    rules = ctx.stats.tag_notes([sentence])[0]  # the threshold and rounding, tagged
    text = f"""
<p>Figures come from the services' monitoring returns, case-level extracts and outcome
assessments, cleaned and pseudonymised by the pipeline; the report for {ctx.year} uses
periods up to the end of August and returns received by the cut-off in
{ctx.settings.cutoff:%B %Y}. Outcome
instruments are mapped to a common 0–1 score (higher is safer and better) and three risk
bands. Models: a linear mixed model of the harmonised score against months since referral
with a random intercept and slope per young person; a negative binomial model of new young
people per month open (quasi-Poisson in a year where the negative binomial cannot be fitted,
as the reach section then says); and Callaway and Sant'Anna group-time effects of a spoke's arrival
on CSE concerns identified, against areas no spoke reached.</p>
<p>Disclosure control: {rules} The report is also audited together with every earlier
report still public, as an intruder would read them (every table, percentage, sentence and
revised figure): for each suppressed number, the range that can be worked out from all of
them must be at least as wide as the rule itself reveals. A report is published only when
this audit passes; this one passed.</p>
<p>See the <a href="../aqa/assumptions-and-caveats.html">assumptions and caveats log</a>
and the <a href="../aqa/data-log.html">data log</a>.</p>
<h3>Symbols</h3>{disclosure.symbol_key_html()}
<h3>Version</h3><ul>{items}</ul>
<p>The same hashes of data, parameters and code reproduce this report exactly
(<code>dvc repro</code>).</p>"""
    from analysis.report.sections.change import technical_annex

    return [HTML(text), *technical_annex(ctx), *to_date.published_comparison(ctx)]
