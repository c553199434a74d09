"""Section 4, Who was supported: young people's characteristics, with what was not recorded."""

from __future__ import annotations

import html
from typing import Any

from analysis.analyse.report_facts import age_band, people_in_year
from analysis.core.labels import NOT_RECORDED
from analysis.publish import disclosure
from analysis.publish.disclosure import TOTAL_LABEL, DisclosedTable
from analysis.publish.disclosure.audit import AuditError
from analysis.publish.disclosure.complements import protect_jointly
from analysis.publish.registry import Registry
from analysis.report.context import YearContext
from analysis.report.sections.common import (
    counts_table,
    people_n,
    rounded_n,
    service_breakdown_allowed,
)
from analysis.report.wording import HTML, label, slug
from analysis.report.writer import table_item


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def who(ctx: YearContext) -> list[Any]:
    """Section 4: characteristics of young people supported, with the share not recorded."""
    people = people_in_year(ctx.seen, ctx.year)
    open_id = f"who/young-people-open/{ctx.year}"
    out: list[Any] = [
        HTML(
            f"<p>{_cap(people_n(ctx, len(people), open_id))} young "
            f"people were open to a service at some time in {ctx.year}, counted once per "
            "service from the case-level extracts (the monitoring returns' figures in "
            "section 3 may differ slightly). "
            "For each characteristic the first table shows the programme's young people by "
            "category and the second the share not recorded, by service.</p>"
        )
    ]
    people = people.assign(age_band=age_band(people["age_at_referral"]))
    pairs: list[tuple[str, DisclosedTable, DisclosedTable | None]] = []
    for column, title in (
        ("age_band", "Age at referral"),
        ("gender", "Gender"),
        ("ethnicity", "Ethnicity"),
        ("sexuality", "Sexuality"),
        ("disability", "Disability"),
    ):
        frame = people.assign(category=people[column].map(label), n=1)
        t = counts_table(
            ctx,
            frame,
            index="category",
            columns=None,
            values="n",
            title=f"{title} of young people supported, {ctx.year}",
        )
        recorded = people.groupby("service_id", as_index=False).agg(
            total=(column, "size"), recorded=(column, lambda s: int(s.notna().sum()))
        )
        recorded = recorded.assign(not_recorded=recorded["total"] - recorded["recorded"])
        shares = (
            disclosure.disclose_shares(
                recorded.rename(columns={"service_id": "Service"}),
                index="Service",
                numerator="not_recorded",
                denominator="total",
                threshold=ctx.settings.threshold,
                protect_complement=True,
                title=f"{title}: share not recorded by service, {ctx.year}",
                share_label="Not recorded (%)",
                denominator_label="Young people",
            )
            if service_breakdown_allowed(ctx)
            else None
        )
        pairs.append((title, t, shares))
    return out + _protected(ctx, pairs, open_id, len(people))


def _protected(
    ctx: YearContext,
    pairs: list[tuple[str, DisclosedTable, DisclosedTable | None]],
    open_id: str,
    n_people: int,
) -> list[Any]:
    """The five characteristics' tables, protected together by the release audit: they
    count the same young people (each table's total, the services' young people in every
    by-service table, the opening sentence's number; ``docs/disclosure.md``). When no
    choice of complements protects every service, the by-service tables are left out."""
    tables: list[tuple[DisclosedTable, str]] = []
    same: list[tuple[str, str]] = []
    first: DisclosedTable | None = None
    for _, t, shares in pairs:
        tables.append((t, slug(t.title)))
        if shares is None:
            continue
        tables.append((shares, slug(shares.title)))
        same += _same_people(t, shares)
        if first is None:
            first = shares
            continue
        same += [
            (
                Registry.cell_id(first, slug(first.title), row, "Young people"),
                Registry.cell_id(shares, slug(shares.title), row, "Young people"),
            )
            for row in shares.table.index
            if row in first.table.index
        ]
    totals = [
        Registry.cell_id(t, slug(t.title), TOTAL_LABEL, t.table.columns[0]) for _, t, _ in pairs
    ]
    opening = (
        [(open_id, rounded_n(ctx, n_people), ctx.settings.total_rounding)]
        if n_people > ctx.settings.threshold
        else []
    )
    relations = [(total, [open_id]) for total in totals] if opening else []
    note: list[Any] = []
    try:
        done = protect_jointly(
            tables,
            same=same,
            threshold=ctx.settings.threshold,
            numbers=opening,
            relations=relations,
        )
    except AuditError:
        done = [t for t, _ in tables]
        tables = [(t, name) for t, name in tables if t.kind != "shares"]
        done = [t for t in done if t.kind != "shares"]
        same = []
        note = [
            HTML(
                "<p>The share not recorded by service is not shown: with so few services, "
                "a small number could be worked out from it.</p>"
            )
        ]
    for a, b in same:
        ctx.stats.same(a, b)
    for total, parts in relations:
        ctx.stats.relation(total, parts)
    by_title = {t.title: t for t in done}
    out: list[Any] = []
    for title, t, shares in pairs:
        out += [HTML(f"<h3>{html.escape(title)}</h3>"), *table_item(by_title[t.title])]
        if shares is not None and shares.title in by_title:
            out += table_item(by_title[shares.title])
    return out + note


def _same_people(by_category: DisclosedTable, shares: DisclosedTable) -> list[tuple[str, str]]:
    """For the release audit: the category table and the service table count the same
    young people: its total is the services' young people summed, its "Not recorded" row
    the services' not recorded (``docs/disclosure.md``)."""
    cell, a, b = Registry.cell_id, slug(by_category.title), slug(shares.title)
    column = by_category.table.columns[0]
    same = [
        (cell(by_category, a, TOTAL_LABEL, column), cell(shares, b, TOTAL_LABEL, "Young people"))
    ]
    if NOT_RECORDED in by_category.table.index:
        same.append(
            (
                cell(by_category, a, NOT_RECORDED, column),
                cell(shares, b, TOTAL_LABEL, "Not recorded (%): numerator"),
            )
        )
    return same
