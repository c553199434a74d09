"""Section 8: the fieldwork beside the numbers.

Worded here from what the analyse stage computed (``fieldwork_prevalence.parquet``,
``fieldwork_configurations.parquet``, ``fieldwork.json``: :mod:`analysis.analyse.fieldwork`);
nothing is counted or chosen here. In order:

1. who took part: interviews with staff and professionals by role and phase, shown exactly
   (they are not children), and young people's interviews by phase, disclosed (counts from
   1 to the threshold suppressed);
2. the joint displays: for each outcome measure, the indicator and rating beside the
   fieldwork evidence (sources and sites raising the outcome's theme, the configurations
   behind it, one quote), and whether they agree; each has the anchor
   ``joint-display-<n>`` the verdict table links to;
3. the themes: a chart and table of each theme's share of the year's interviews and case
   studies with its 95% interval, and tables by role group, phase and host type;
4. the context-mechanism-outcome configurations of the fieldwork to date, in plain English;
5. the year's case studies summarised by theme.

Quotes are attributed to role group and phase only (the rule: ``docs/disclosure.md``,
"Quotes and attribution"). No count of sources is shown beside the shares: with young
people's interviews suppressed, a total of sources would give them away.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from analysis.analyse.fieldwork import read_evidence
from analysis.analyse.outcomes.definitions import INDICATORS
from analysis.core.catalog import VERDICTS
from analysis.core.io import read_json
from analysis.publish import disclosure, figures
from analysis.report.context import YearContext
from analysis.report.sections.common import counts_table
from analysis.report.sections.verdicts import (
    EVIDENCE_WORDS,
    JOINT_DISPLAY_ANCHOR,
    evidence_line,
)
from analysis.report.wording import HTML, label
from analysis.report.writer import figure_item, table_item

ROLE_GROUP_NAMES: dict[str, str] = {
    "programme_staff": "Programme staff",
    "partner_agency": "Partner agencies",
    "young_person": "Young people",
    "case_study": "Case studies",
}
"""How a role group is named in the report (the finest a quote is attributed to)."""

QUALITATIVE_WORDS = (
    "Qualitative: what participants described in interviews and case studies; it shows "
    "what happened and how, at the sites visited, not how often it happened across the "
    "programme."
)
"""The evidence label of fieldwork evidence, as the report states it."""


SHARE_STEP = 0.05
"""Shares are published to the nearest five percentage points and their interval widened
outwards to the same step: with young people's interviews suppressed, exact shares of all
sources could give away how many sources (and so young people) lie behind them."""


def round_share(x: float, how: str = "nearest") -> float:
    """``x`` on the :data:`SHARE_STEP` grid: ``nearest``, ``down`` (a lower limit) or ``up``."""
    steps = x / SHARE_STEP
    k = {"nearest": round(steps), "down": math.floor(steps + 1e-9), "up": math.ceil(steps - 1e-9)}
    return round(k[how] * SHARE_STEP, 2)


def _pct(x: float, how: str = "nearest") -> str:
    return f"{round_share(x, how):.0%}"


def share_text(row: Any) -> str:
    """A theme's share with its interval, as a cell: ``35% (25% to 45%)``."""
    return f"{_pct(row.share)} ({_pct(row.lower, 'down')} to {_pct(row.upper, 'up')})"


def _suppressed_young(row: Any, threshold: int) -> bool:
    """A young people's share is shown only when neither it nor its complement rests on a
    count from 1 to the threshold, and there are more sources than the threshold."""
    small = lambda n: 0 < n <= threshold  # noqa: E731
    return row.sources <= threshold or small(row.raised) or small(row.sources - row.raised)


def text_table(
    ctx: YearContext, frame: pd.DataFrame, index: str, title: str, notes: tuple[str, ...]
) -> Any:
    """A table of text cells (shares written with their intervals, "k of n sites"): no
    count cell to suppress; every cell is registered as published."""
    return disclosure.disclose_table(
        frame,
        index=index,
        count_columns=[],
        text_columns=[c for c in frame.columns if c != index],
        threshold=0,
        total_rounding=ctx.settings.total_rounding,
        total_row=False,
        title=title,
        notes=notes,
    )


def _lc(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def participation(ctx: YearContext) -> list[Any]:
    """Interviews by role and phase: staff and professionals exactly, young people
    disclosed."""
    fw = ctx.seen["fieldwork"]
    fw = fw.loc[fw["evaluation_year"] == ctx.year]
    if fw.empty:
        return [HTML(f"<p>No fieldwork interviews are recorded for {ctx.year}.</p>")]
    fw = fw.assign(
        role=fw["participant_role"].map(label), phase=fw["phase"].map(lambda p: f"Phase {p}")
    )
    adults = fw.loc[fw["participant_role"] != "young_person"]
    young = fw.loc[fw["participant_role"] == "young_person"]
    out: list[Any] = [HTML("<p>Interviews the evaluation team held in the year.</p>")]
    out += table_item(
        counts_table(
            ctx,
            adults,
            index="role",
            columns="phase",
            values="interviews",
            threshold=0,
            title=f"Fieldwork interviews with staff and professionals by role and phase, {ctx.year}",
            notes=(
                "Staff and professionals are not children: their interviews are shown exactly.",
            ),
        )
    )
    if len(young):
        out += table_item(
            counts_table(
                ctx,
                young,
                index="role",
                columns="phase",
                values="interviews",
                title=f"Young people's participation in the fieldwork by phase, {ctx.year}",
                notes=(
                    "Young people's interviews are disclosure-controlled like every count "
                    "of children.",
                ),
            )  # fmt: skip
        )
    return out


def _display_table(ctx: YearContext, d: dict[str, Any], v: dict[str, Any], quote: Any) -> Any:
    """One outcome's joint display: its numbers beside its fieldwork."""
    n = d["outcome"]
    labels = {i.indicator: i.label for i in INDICATORS}
    rating = v["rating"] if not v["reason"] else f"too early to tell: {v['reason']}"
    others = [labels.get(i["indicator"], i["indicator"]) for i in d["indicators"][1:]]
    rows = [
        ("Numbers: primary indicator", evidence_line(v, ctx)),
        ("Numbers: rating", f"{rating[:1].upper()}{rating[1:]} ({EVIDENCE_WORDS[v['evidence']].lower()})"),
    ]  # fmt: skip
    if others:
        rows.append(("Numbers: other indicators (section 6)", "; ".join(others)))
    if d.get("sources", 0) and "share" in d:
        rows.append((
            "Fieldwork: interviews and case studies raising it",
            f"{_pct(d['share'])} ({_pct(d['lower'], 'down')} to {_pct(d['upper'], 'up')}, "
            "95% interval)",
        ))  # fmt: skip
        rows.append(
            ("Fieldwork: sites raising it", f"{d['sites_raised']} of {d['sites']} sites visited")
        )
    else:
        rows.append(("Fieldwork", "No fieldwork in the year"))
    for c in d.get("configurations", [])[:2]:
        rows.append((
            "Fieldwork: what goes with it",
            f"Where {_lc(c['context'])}, {_lc(c['mechanism'])} ({c['sources']} sources at "
            f"{c['sites']} sites, fieldwork to date)",
        ))  # fmt: skip
    if quote is not None:
        who = ROLE_GROUP_NAMES.get(quote["role_group"], quote["role_group"]).lower()
        rows.append(
            (
                "Fieldwork: in their words",
                f"\u201c{quote['text']}\u201d ({who}, phase {quote['phase']})",
            )
        )
    rows.append(
        (
            "Agree or diverge",
            f"{d['agreement'][:1].upper()}{d['agreement'][1:]}: {d['explanation']}",
        )
    )
    frame = pd.DataFrame(rows, columns=["Evidence", "What it shows"])
    frame["Evidence"] = [f"{i + 1}. {e}" for i, e in enumerate(frame["Evidence"])]
    return text_table(
        ctx,
        frame,
        "Evidence",
        f"Joint display, outcome {n}: {v['title']}, {ctx.year}",
        (QUALITATIVE_WORDS,),
    )


def joint_displays(ctx: YearContext, evidence: dict[str, Any]) -> list[Any]:
    """Each outcome's joint display, under a heading the verdict table links to."""
    verdicts = {v["outcome"]: v for v in read_json(ctx.analysis_dir / VERDICTS)["verdicts"]}
    quotes = {q["outcome_measure"]: q for q in evidence.get("quotes", [])}
    out: list[Any] = [
        HTML(
            "<p>For each outcome measure, the indicators and rating beside the fieldwork: "
            "how widely the outcome came up in interviews and case studies, what went with "
            "it, and whether the two kinds of evidence agree.</p>"
        )
    ]
    for d in evidence["joint_displays"]:
        n = d["outcome"]
        out.append(
            # the anchor is on a wrapper: the page renderer gives headings their own ids
            HTML(
                f'<div class="joint-display" id="{JOINT_DISPLAY_ANCHOR.format(n=n)}">'
                f"<h4>Outcome {n}: {html.escape(verdicts[n]['title'])}</h4></div>"
            )
        )
        out += table_item(_display_table(ctx, d, verdicts[n], quotes.get(n)))
    return out


def _themes(prev: pd.DataFrame) -> pd.DataFrame:
    return prev.assign(Theme=prev["code"])


def theme_tables(ctx: YearContext, prevalence: pd.DataFrame) -> list[Any]:
    """The year's themes: chart and table of shares with intervals, then by role group and
    by phase and host type (shares as text, young people's disclosed)."""
    year = prevalence.loc[
        (prevalence["dimension"] == "evaluation_year") & (prevalence["group"] == ctx.year)
    ]
    if year.empty:
        return []
    out: list[Any] = []
    est = pd.DataFrame({
        "Theme": [f"{g}: {c}" for g, c in zip(year["code_group"], year["code"], strict=True)],
        "Share (%)": [100 * round_share(x) for x in year["share"]],
        "Lower 95% limit": [100 * round_share(x, "down") for x in year["lower"]],
        "Upper 95% limit": [100 * round_share(x, "up") for x in year["upper"]],
        "Sites visited": year["sites"].to_numpy(),
        "Sites raising it": [f"{a} of {b}" for a, b in zip(year["sites_raised"], year["sites"], strict=True)],
    })  # fmt: skip
    table = disclosure.disclose_estimates(
        est,
        index="Theme",
        estimate_columns=("Share (%)", "Lower 95% limit", "Upper 95% limit"),
        n_column="Sites visited",
        text_columns=("Sites raising it",),
        threshold=0,
        decimals=0,
        title=f"Themes raised in the fieldwork: share of interviews and case studies, {ctx.year}",
        notes=(
            "Share of the year's interviews and case studies in which the theme was coded, "
            "to the nearest five percentage points; the 95% interval allows for sources "
            "clustering in sites (Wilson interval on the effective number of sources), "
            "widened outwards to the same step.",
            QUALITATIVE_WORDS,
        ),
    )
    out += table_item(table)
    out += figure_item(
        figures.estimate_plot(
            table,
            estimate="Share (%)",
            lower="Lower 95% limit",
            upper="Upper 95% limit",
            value_label="Share of interviews and case studies raising it (%)",
            reference=None,
            title="Themes raised in the fieldwork",
        ),
        "fieldwork-themes",
    )
    names = {
        "role_group": ("role group", lambda g: ROLE_GROUP_NAMES.get(g, g)),
        "phase": ("phase", lambda g: f"Phase {g}"),
        "host_type": ("host type", label),
    }
    for dims, what in (
        (("role_group",), "role group"),
        (("phase", "host_type"), "phase and host type"),
    ):
        part = prevalence.loc[prevalence["dimension"].isin(dims)]
        if part.empty:
            continue
        cells = {}
        for r in part.itertuples(index=False):
            column = names[r.dimension][1](r.group)
            hidden = r.group == "young_person" and _suppressed_young(r, ctx.settings.threshold)
            cells.setdefault(f"{r.code_group}: {r.code}", {})[column] = (
                "[c]" if hidden else share_text(r)
            )
        frame = pd.DataFrame.from_dict(cells, orient="index").fillna("[z]")
        frame.index.name = "Theme"
        frame = frame.reset_index()
        out += table_item(
            text_table(
                ctx,
                frame,
                "Theme",
                f"Themes raised in the fieldwork by {what}, {ctx.year}",
                (
                    "Share of the group's interviews and case studies raising the theme, to the "
                    "nearest five percentage points (95% interval allowing for clustering in "
                    "sites, widened outwards to the same step).",
                    "Young people's shares are shown only when no count behind them is small "
                    "enough to be suppressed ([c] otherwise).",
                ),
            )
        )
    return out


def configurations(ctx: YearContext, configs: pd.DataFrame, shown: int = 8) -> list[Any]:
    """The configurations of the fieldwork to date, most supported first, in plain English."""
    if configs.empty:
        return [HTML("<p>No context-mechanism-outcome configuration is yet supported by "
                     "enough sources at two sites or more.</p>")]  # fmt: skip
    base = f"fieldwork/{ctx.year}/configurations"
    total = ctx.stats.number(f"{base}/count", len(configs))
    items = []
    for i, c in enumerate(configs.head(shown).itertuples(index=False), start=1):
        n_src = ctx.stats.number(f"{base}/{i}/sources", int(c.sources))
        n_sites = ctx.stats.number(f"{base}/{i}/sites", int(c.sites))
        outcome = html.escape(_lc(str(c.outcome)))
        items.append(
            f"<li>Where {html.escape(_lc(c.context))}, {html.escape(_lc(c.mechanism))}; "
            f"this went with {outcome} ({n_src} interviews and case studies at {n_sites} "
            "sites).</li>"
        )
    return [
        HTML(
            "<p>Realist configurations: a context, a mechanism and an outcome raised together "
            f"in one interview or case study. {total} are supported by enough sources at two "
            "sites or more in the fieldwork to date; the most supported:</p>"
            f"<ol>{''.join(items)}</ol>"
        )
    ]


def case_studies(ctx: YearContext, prevalence: pd.DataFrame) -> list[Any]:
    """The year's practice case studies summarised by theme."""
    cs = prevalence.loc[
        (prevalence["dimension"] == "role_group") & (prevalence["group"] == "case_study")
    ]
    if cs.empty:
        return []
    cs = cs.loc[cs["raised"] > 0]
    frame = pd.DataFrame({
        "Theme": [f"{g}: {c}" for g, c in zip(cs["code_group"], cs["code"], strict=True)],
        "Case studies raising it": [f"{a} of {b}" for a, b in zip(cs["raised"], cs["sources"], strict=True)],
        "Sites": [f"{a} of {b}" for a, b in zip(cs["sites_raised"], cs["sites"], strict=True)],
    })  # fmt: skip
    return table_item(
        text_table(
            ctx,
            frame,
            "Theme",
            f"Practice case studies by theme, {ctx.year}",
            (
                "Case studies are written by the evaluators about a service's practice; "
                "they are counted as documents, and never quoted.",
            ),
        )
    )


def fieldwork(ctx: YearContext) -> list[Any]:
    """Section 8: who took part, the joint displays, themes, configurations and case
    studies (module docstring)."""
    out = participation(ctx)
    evidence = read_evidence(ctx.analysis_dir)
    if not evidence["joint_displays"]:
        return out
    out.append(HTML("<h3>The numbers beside the fieldwork</h3>"))
    out += joint_displays(ctx, evidence)
    out.append(HTML("<h3>Themes</h3>"))
    out += theme_tables(ctx, evidence["prevalence"])
    out.append(HTML("<h3>What works, where: configurations</h3>"))
    out += configurations(ctx, evidence["configurations"])
    out.append(HTML("<h3>Case studies</h3>"))
    out += case_studies(ctx, evidence["prevalence"])
    return out
