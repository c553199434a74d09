"""How a registered table's arithmetic reaches the registry of published statistics.

A :class:`~analysis.publish.disclosure.DisclosedTable` knows what an intruder knows about
its cells (:attr:`~analysis.publish.disclosure.DisclosedTable.structure`: sums, hidden
totals, shares as ratios, rounding; which cells are small; whether each row is a period).
When the registry registers the table, :func:`record_structure` writes that arithmetic over
the statistics' ids, for the release audit (``docs/disclosure.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.publish.disclosure.table import DisclosedTable
    from analysis.publish.registry import Registry


def _is_total(label: Any, total: str | None) -> bool:
    first = label[0] if isinstance(label, tuple) and label else label
    return total is not None and first == total


def record_structure(
    registry: Registry, table: DisclosedTable, name: str, ids: dict[Any, str]
) -> None:
    """Record ``table``'s sums, ratios and rounding over the ids of its cells (``ids``:
    ``(row, column)`` -> id); a cell it does not show gets ``<name>/~/<row>/<col>``
    (:meth:`Registry.cell_id`). Small cells go to the registry's private ``primary``;
    a table with one period per row (or column) lists its cells as ``persistent``."""

    def ident(key: Any) -> str:
        return ids[key] if key in ids else registry.cell_id(table, name, *key)

    for rel in table.structure:
        if rel[0] == "sum":
            registry.relation(ident(rel[1]), [ident(k) for k in rel[2]])
        elif rel[0] == "ratio":
            registry.relations.append(
                {
                    "kind": "ratio",
                    "share": ident(rel[1]),
                    "numerator": ident(rel[2]),
                    "denominator": ident(rel[3]),
                }
            )
        else:
            registry.rounded(ident(rel[1]), rel[2])
    registry.primary.update(ident(k) for k in table.primary)
    if table.periods is not None:
        axis = 0 if table.periods == "rows" else 1
        keep = [out for key, out in ids.items() if not _is_total(key[axis], table.total_label)]
        registry.relations.append({"kind": "persistent", "ids": sorted(keep)})


def swap_relation(rel: tuple[Any, ...]) -> tuple[Any, ...]:
    """A table relation (:data:`analysis.publish.disclosure.table.Relation`) with every key's row and column swapped (for a transposed table)."""

    def sw(key: Any) -> Any:
        return (key[1], key[0]) if isinstance(key, tuple) and len(key) == 2 else key

    kind = rel[0]
    if kind == "sum":
        return ("sum", sw(rel[1]), tuple(sw(k) for k in rel[2]))
    if kind == "ratio":
        return ("ratio", sw(rel[1]), sw(rel[2]), sw(rel[3]))
    return ("rounded", sw(rel[1]), rel[2])
