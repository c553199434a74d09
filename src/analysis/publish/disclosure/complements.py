"""Suppression chosen by the release audit (``docs/disclosure.md``): while the audit
(:mod:`analysis.publish.disclosure.audit`) finds a suppressed cell an intruder can narrow
down too far, the cheapest related published count is suppressed as well."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from analysis.publish.disclosure.audit import AuditError, CellRange, audit
from analysis.publish.disclosure.table import CONFIDENTIAL, DisclosedTable
from analysis.publish.registry import RULES, Registry

__all__ = ["protect_jointly", "protect_table"]


def _neighbours(reg: Registry) -> dict[str, set[str]]:
    """Ids that share a sum, a ratio's counts or a "same" with each id."""
    groups: list[list[str]] = []
    for rel in reg.relations:
        if rel["kind"] == "sum":
            groups.append([rel["total"], *rel["parts"]])
        elif rel["kind"] == "ratio":
            groups.append([rel["numerator"], rel["denominator"]])
    groups += [list(pair) for pair in reg.links]
    out: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        for ident in group:
            out[ident].update(group)
    return out


def _complement(reg: Registry, failing: str, taken: set[str]) -> str | None:
    """The cheapest published count to suppress next to ``failing``: the nearest (in
    relations) with the smallest value, ties broken by id."""
    near = _neighbours(reg)
    shares = {rel["share"] for rel in reg.relations if rel["kind"] == "ratio"}
    sums = [{rel["total"], *rel["parts"]} for rel in reg.relations if rel["kind"] == "sum"]
    hidden = taken | {failing}
    # a rounded total is often restated elsewhere (a sentence, another table): a part first
    rounded = {rel["id"] for rel in reg.relations if rel["kind"] == "rounded"}

    def exposes(j: str) -> int:
        """Sums that would hold ``j`` as their only suppressed cell (each needs another
        complement later): fewer is cheaper, so complements close rectangles first."""
        return sum(1 for group in sums if j in group and not (group & hidden))

    seen, frontier = {failing}, [failing]
    while frontier:
        layer = sorted({j for i in frontier for j in near.get(i, ())} - seen)
        seen.update(layer)
        options = [
            (reg.stats[j].value, j)
            for j in layer
            if j in reg.stats
            and j not in taken
            and reg.stats[j].status is None
            and reg.stats[j].value is not None
            and j not in shares
            and reg.stats[j].unit not in ("text", "estimate")
        ]
        if options:
            return min(
                options,
                key=lambda o: (exposes(o[1]), o[1] in rounded, o[0] == 0, o[0], o[1]),
            )[1]
        frontier = layer
    return None


def protect_jointly(
    tables: Sequence[tuple[DisclosedTable, str]],
    *,
    same: Sequence[tuple[str, str]] = (),
    threshold: int,
    public: Sequence[Registry] = (),
    numbers: Sequence[tuple[str, float, int]] = (),
    relations: Sequence[tuple[str, Sequence[str]]] = (),
    max_rounds: int = 200,
) -> list[DisclosedTable]:
    """Complementary suppression chosen by the release audit for tables published together.

    ``tables`` are ``(table, slug)`` pairs as the report publishes them; ``same`` declares
    cells of different tables that state one quantity (ids as :meth:`Registry.cell_id`
    gives them); ``public`` are registries already public (earlier releases); ``numbers`` (id, value, base) and ``relations`` (total, parts): what
    sentences beside the tables state about them (a rounded number and what it equals). While the
    audit finds a suppressed cell an intruder can narrow down, the cheapest published count
    related to it (smallest non-zero value, then id) is suppressed as well, with the
    percentages that depend on it. Raises :class:`AuditError` when nothing is left to
    suppress.
    """
    current = [t for t, _ in tables]
    for _ in range(max_rounds):
        reg = Registry("joint")
        reg.number(RULES["threshold"], threshold)
        where: dict[str, tuple[int, Any]] = {}
        for k, (table, (_, name)) in enumerate(zip(current, tables, strict=True)):
            ids = reg.table(table, name)
            for row in ids.index:
                for col in ids.columns:
                    where[str(ids.loc[row, col])] = (k, (row, col))
        for a, b in same:
            reg.same(a, b)
        for ident, value, base in numbers:  # stated in prose, rounded to ``base``
            reg.number(ident, value)
            reg.rounded(ident, base)
        for total, parts in relations:
            reg.relation(total, parts)
        result = audit([*public, reg], primary={"joint": reg.primary})
        failing = [c for c in result.failures if isinstance(c, CellRange) and c.vintage == "joint"]
        if not failing:
            return current
        taken = {i for i, s in reg.stats.items() if s.status == CONFIDENTIAL}
        near = _neighbours(reg)
        chosen: list[str] = []
        for cell in failing:  # one complement per failing cell not already helped this round
            if near.get(cell.id, set()) & set(chosen):
                continue
            choice = _complement(reg, cell.id, taken | set(chosen))
            if choice is not None and choice in where:
                chosen.append(choice)
        if not chosen:
            raise AuditError(
                f"no published count left to protect {failing[0].describe()}: merge categories"
            )
        by_table: dict[int, list[Any]] = defaultdict(list)
        for choice in chosen:
            k, key = where[choice]
            by_table[k].append(key)
        for k, keys in by_table.items():
            current[k] = current[k].with_suppressed(keys)
    raise AuditError(f"suppression did not converge in {max_rounds} rounds")


def protect_table(table: DisclosedTable) -> DisclosedTable:
    """A table's own complementary suppression checked and completed by the audit (ranges,
    not only exact recovery): unchanged when it suppresses nothing."""
    if table.threshold <= 0 or not table.primary:
        return table
    return protect_jointly([(table, "table")], threshold=table.threshold)[0]
