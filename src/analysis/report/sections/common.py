"""What the report's sections share: disclosed count and estimate tables, figures of estimates, and the rules for showing a service breakdown."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.analyse import outcomes
from analysis.publish import disclosure, figures
from analysis.publish.disclosure import DisclosedTable
from analysis.publish.registry import RULES
from analysis.report.context import YearContext
from analysis.report.wording import DISPLAY_NAMES, HTML
from analysis.report.writer import figure_item


def estimate_figure(ctx: YearContext, table: DisclosedTable, name: str, **kwargs: Any) -> list[Any]:
    """Estimates with 95% intervals from a table made by :meth:`_estimates`."""
    return figure_item(
        figures.estimate_plot(
            table,
            estimate=DISPLAY_NAMES["estimate"],
            lower=DISPLAY_NAMES["ci_lower"],
            upper=DISPLAY_NAMES["ci_upper"],
            **kwargs,
        ),
        name,
    )


def counts_table(
    ctx: YearContext,
    frame: pd.DataFrame,
    *,
    index: str | list[str],
    columns: str | None,
    values: str,
    title: str,
    notes: tuple[str, ...] = (),
    threshold: int | None = None,
    totals: bool = True,
) -> DisclosedTable:
    names = {c: DISPLAY_NAMES.get(c, c) for c in frame.columns}
    index_names = [names[i] for i in ([index] if isinstance(index, str) else index)]
    return disclosure.disclose_counts(
        frame.rename(columns=names),
        index=index_names[0] if isinstance(index, str) else index_names,
        columns=names[columns] if columns else None,
        values=names[values],
        threshold=ctx.settings.threshold if threshold is None else threshold,
        # Counts that are not about individuals (threshold 0) are shown exactly.
        total_rounding=ctx.settings.total_rounding if threshold != 0 else 1,
        totals=totals,
        title=title,
        notes=notes,
    )


def service_breakdown_allowed(ctx: YearContext) -> bool:
    """Service-level tables need enough services that no row is itself the programme."""
    return n_services(ctx) >= ctx.settings.min_services


def n_services(ctx: YearContext) -> int:
    sy = outcomes.service_years(outcomes.prepare_tables(ctx.seen), ctx.year)
    return int((sy["evaluation_year"] == ctx.year).sum())


def no_breakdown(ctx: YearContext, what: str) -> list[Any]:
    return [
        HTML(
            f"<p>{html.escape(what)} by service are not shown for {ctx.year}: with fewer "
            f"than {ctx.stats.cite(RULES['min_services'])} services active, a service's figures would "
            "be the programme's own, unrounded.</p>"
        )
    ]


def estimates_table(
    ctx: YearContext,
    frame: pd.DataFrame,
    *,
    index: str,
    estimate_columns: tuple[str, ...] = ("estimate", "ci_lower", "ci_upper"),
    text_columns: tuple[str, ...] | list[str] = (),
    **kwargs: Any,
) -> DisclosedTable:
    """Disclosed estimates with reader-friendly column names."""
    names = {c: DISPLAY_NAMES.get(c, c) for c in frame.columns}
    data = frame.rename(columns=names)
    return disclosure.disclose_estimates(
        data,
        index=names.get(index, index),
        estimate_columns=tuple(names.get(c, c) for c in estimate_columns),
        text_columns=[names.get(c, c) for c in text_columns],
        **{k: (names.get(v, v) if k == "n_column" else v) for k, v in kwargs.items()},
    )


def rounded_n(ctx: YearContext, n: float) -> float:
    """A programme count as published: rounded to the base (small counts become 0
    here and are suppressed by the disclosure functions that receive them)."""
    return float(disclosure.round_to_base(float(n), ctx.settings.total_rounding))


def people_n(ctx: YearContext, n: float, ident: str | None = None) -> str:
    """A number of young people for a sentence: rounded, or 'fewer than 10'.

    With ``ident`` the number is registered in ``ctx.stats`` under that id and returned
    tagged (HTML); the small-count bound is the registered rule parameter."""
    if n <= ctx.settings.threshold:
        bound = ctx.stats.cite(RULES["smallest_shown"]) if ident else ctx.settings.threshold + 1
        return f"fewer than {bound}"
    if ident:
        tagged = ctx.stats.number(ident, rounded_n(ctx, n))
        ctx.stats.rounded(ident, ctx.settings.total_rounding)
        return f"about {tagged}"
    return f"about {rounded_n(ctx, n):,.0f}"


def caution_notes(ctx: YearContext, rec: dict[str, Any]) -> list[Any]:
    return [
        HTML(f'<p class="warning"><strong>Caution:</strong> {html.escape(w)}</p>')
        for w in rec.get("warnings", [])
        if "left out" not in w
    ]


def reason_html(ctx: YearContext, rec: dict[str, Any]) -> str:
    """Why a model was not fitted, as HTML: the rule parameters its reason states
    (``reason_values`` in the model's record) published as registered numbers
    (``rules/<model>/<name>``), the words escaped."""
    template = rec.get("reason_template")
    if template is None:
        return html.escape(rec["reason"])
    tagged = {
        key: ctx.stats.number(f"rules/{rec['name']}/{key.replace('_', '-')}", value)
        for key, value in rec["reason_values"].items()
    }
    return html.escape(template).format(**tagged)
