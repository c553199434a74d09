"""The disclosed-table type: an immutable table that has passed disclosure control (only this package can make one), the GSS symbols, and its accessible HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.core.io import csv_text
from analysis.core.published import check_publishable, check_text
from analysis.publish.disclosure.headers import (
    MEASURE_HEADER,
    STATUS_HEADER,
    VALUE_HEADER,
    human_header,
)
from analysis.publish.structure import swap_relation

CONFIDENTIAL = "[c]"
NOT_AVAILABLE = "[x]"
NOT_APPLICABLE = "[z]"
LOW_RELIABILITY = "[u]"
ROUNDS_TO_ZERO = "[k]"
REVISED = "[r]"

SYMBOL_KEY: Mapping[str, str] = {
    CONFIDENTIAL: "confidential: suppressed to protect individuals (a small number, or a "
    "cell suppressed so that a small number cannot be worked out from the totals)",
    NOT_AVAILABLE: "not available: the data were not collected or not returned",
    NOT_APPLICABLE: "not applicable: the figure cannot exist (for example a share of zero)",
    LOW_RELIABILITY: "low reliability: the estimate rests on little data",
    ROUNDS_TO_ZERO: "rounds to zero: a non-zero value that rounds to zero when shown",
    REVISED: "revised: changed since the report for an earlier year was published",
}
"""The symbols used in published tables and what they mean (GSS symbols guidance)."""

TOTAL_LABEL = "Total"

Key = tuple[Any, Any]
"""A cell of a disclosed table (shown or not): ``(row label, column label)``."""

Relation = tuple[Any, ...]
"""``("sum", total, parts)``, ``("ratio", share, numerator, denominator)`` or
``("rounded", cell, base)`` over :data:`Key` cells (:attr:`DisclosedTable.structure`)."""

_TOKEN = object()
"""Private sentinel: only code in this module can construct a :class:`DisclosedTable`."""

_TOL = 1e-8


class DisclosureError(ValueError):
    """Input that cannot be disclosure-controlled as asked (names the column and row)."""


# --------------------------------------------------------------------------------------
# The disclosed-table type
# --------------------------------------------------------------------------------------


class DisclosedTable:
    """A table that has passed disclosure control; immutable; only this module makes one.

    Attributes (read-only properties, each returning a copy):

    * ``table``: DataFrame of display strings (``str`` dtype) — what a report shows;
    * ``numeric``: DataFrame of floats with the same shape: the published numbers, ``NaN``
      wherever a symbol is shown (suppressed, not available, ...), for plotting;
    * ``title``, ``notes`` (tuple of str), ``threshold``, ``kind`` and ``total_label``
      (the label of the total row/column, or ``None``).
    """

    __slots__ = (
        "_kind",
        "_notes",
        "_numeric",
        "_periods",
        "_primary",
        "_structure",
        "_table",
        "_threshold",
        "_title",
        "_total_label",
    )

    def __init__(
        self,
        token: object,
        *,
        table: pd.DataFrame,
        numeric: pd.DataFrame,
        title: str,
        notes: Sequence[str] = (),
        threshold: int,
        kind: str,
        total_label: str | None = None,
        structure: Sequence[Relation] = (),
        primary: Sequence[Key] = (),
        periods: str | None = None,
    ) -> None:
        if token is not _TOKEN:
            raise TypeError(
                "DisclosedTable can only be created by the functions in analysis.disclosure "
                "(disclose_counts, disclose_table, disclose_shares, disclose_estimates)"
            )
        if table.shape != numeric.shape:
            raise ValueError("display and numeric tables differ in shape")
        display = table.astype("str")
        values = numeric.astype("float64")
        values.index = display.index
        values.columns = display.columns
        object.__setattr__(self, "_table", display)
        object.__setattr__(self, "_numeric", values)
        object.__setattr__(self, "_title", str(title))
        object.__setattr__(self, "_notes", tuple(str(n) for n in notes))
        object.__setattr__(self, "_threshold", int(threshold))
        object.__setattr__(self, "_kind", str(kind))
        object.__setattr__(self, "_total_label", total_label)
        object.__setattr__(self, "_structure", tuple(structure))
        object.__setattr__(self, "_primary", frozenset(primary))
        if periods not in (None, "rows", "columns"):
            raise ValueError(f"periods must be 'rows', 'columns' or None, not {periods!r}")
        object.__setattr__(self, "_periods", periods)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("DisclosedTable cannot be subclassed")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DisclosedTable is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("DisclosedTable is immutable")

    # -- read-only views ---------------------------------------------------------------
    @property
    def table(self) -> pd.DataFrame:
        """Display strings, as published (a copy)."""
        return self._table.copy()

    @property
    def numeric(self) -> pd.DataFrame:
        """Published numbers, NaN where a symbol is shown (a copy)."""
        return self._numeric.copy()

    @property
    def title(self) -> str:
        """Table title (used as the HTML caption)."""
        return self._title

    @property
    def notes(self) -> tuple[str, ...]:
        """Notes printed under the table."""
        return self._notes

    @property
    def threshold(self) -> int:
        """Largest count that was suppressed."""
        return self._threshold

    @property
    def kind(self) -> str:
        """``counts``, ``table``, ``shares`` or ``estimates``."""
        return self._kind

    @property
    def total_label(self) -> str | None:
        """Label of the total row/column, or None when the table has none."""
        return self._total_label

    @property
    def structure(self) -> tuple[Relation, ...]:
        """The arithmetic an intruder knows between the table's cells (and cells it does not
        show, such as a hidden total): ``("sum", total, parts)``, ``("ratio", share,
        numerator, denominator)`` (a percentage) and ``("rounded", cell, base)``. Cells are
        ``(row label, column label)`` keys; a key that is not a cell of :attr:`table` is a
        quantity the table does not show. Read by the registry and the release audit
        (``docs/disclosure.md``)."""
        return self._structure

    @property
    def primary(self) -> frozenset[Key]:
        """Keys of the cells suppressed for being small (the rest of ``[c]`` are
        complementary). Not published: the release audit's pass rule needs it."""
        return self._primary

    @property
    def periods(self) -> str | None:
        """``"rows"`` (or ``"columns"``) when each row (column) is the period its figures are
        about, such as an evaluation year: such a cell states the same quantity in every
        release that shows it, unless marked ``[r]`` (:meth:`by_period`)."""
        return self._periods

    def by_period(self, axis: str = "rows") -> DisclosedTable:
        """The same table, declared to have one period (evaluation year) per row or column:
        the release audit then treats its cells as the same quantities in every release
        (``docs/disclosure.md``)."""
        return self._derive(self._table, self._numeric, periods=axis)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the published table."""
        return self._table.shape

    @property
    def symbols(self) -> pd.DataFrame:
        """Boolean frame: True where a symbol is shown instead of a number."""
        return self._numeric.isna() & self._table.apply(lambda c: c.str.contains(r"\[", regex=True))

    def __repr__(self) -> str:
        return f"DisclosedTable({self._title!r}, kind={self._kind!r}, shape={self.shape})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DisclosedTable):
            return NotImplemented
        return (
            self._title == other._title
            and self._notes == other._notes
            and self._table.equals(other._table)
            and self._numeric.equals(other._numeric)
        )

    __hash__ = None  # type: ignore[assignment]

    # -- derived disclosed tables (a subset of published values is still published) -----
    def _derive(self, table: pd.DataFrame, numeric: pd.DataFrame, **changes: Any) -> DisclosedTable:
        meta: dict[str, Any] = {
            "title": self._title,
            "notes": self._notes,
            "threshold": self._threshold,
            "kind": self._kind,
            "total_label": self._total_label,
            "structure": self._structure,
            "primary": self._primary,
            "periods": self._periods,
        }
        meta.update(changes)
        return DisclosedTable(_TOKEN, table=table, numeric=numeric, **meta)

    def select(
        self,
        rows: Sequence[Any] | None = None,
        columns: Sequence[Any] | None = None,
        *,
        title: str | None = None,
    ) -> DisclosedTable:
        """A disclosed table holding only ``rows`` and ``columns`` (published values only)."""
        t, n = self._table, self._numeric
        if rows is not None:
            t, n = t.loc[list(rows)], n.loc[list(rows)]
        if columns is not None:
            t, n = t[list(columns)], n[list(columns)]
        return self._derive(t, n, title=title or self._title)

    def without_totals(self) -> DisclosedTable:
        """The same table without its total row and column (for plotting)."""
        if self._total_label is None:
            return self
        rows = [r for r in self._table.index if not _is_total_label(r, self._total_label)]
        cols = [c for c in self._table.columns if c != self._total_label]
        return self.select(rows, cols)

    def with_suppressed(self, keys: Sequence[Key]) -> DisclosedTable:
        """The same table with the cells ``keys`` suppressed as well (complementary cells
        chosen by the release audit), and every percentage whose numerator or denominator
        is now suppressed."""
        return self._derive(*_suppress(self._table, self._numeric, self._structure, keys))

    def audited(self) -> DisclosedTable:
        """This table with its complementary suppression completed by the release audit
        (:func:`analysis.publish.disclosure.audit.protect_table`)."""
        from analysis.publish.disclosure.complements import protect_table

        return protect_table(self)

    def transposed(self) -> DisclosedTable:
        """The same published values with rows and columns swapped (e.g. years as rows)."""
        return self._derive(
            self._table.T,
            self._numeric.T,
            structure=tuple(swap_relation(rel) for rel in self._structure),
            primary=frozenset((c, r) for r, c in self._primary),
            periods={"rows": "columns", "columns": "rows"}.get(self._periods or ""),
        )

    def with_title(self, title: str, notes: Sequence[str] | None = None) -> DisclosedTable:
        """The same values under another title (and notes)."""
        return self._derive(
            self._table, self._numeric, title=title, notes=self._notes if notes is None else notes
        )

    # -- output --------------------------------------------------------------------------
    def label_headers(self) -> list[str]:
        """Headings of the row-label columns of :meth:`tidy` (one per index level)."""
        return _label_headers(list(self._table.index.names))

    def measure_header(self) -> str:
        """Heading of :meth:`tidy`'s column-label column (the columns' name, or Measure)."""
        return human_header(self._table.columns.name) or MEASURE_HEADER

    def tidy(self) -> pd.DataFrame:
        """The table in tidy form, one row per published cell: the row labels (one column
        per index level), the column label, ``Value`` (the number as shown, without
        thousands separators, or the words of a text cell; empty where a symbol stands
        instead of a number) and ``Status`` (the GSS symbol shown with or instead of the
        number, if any). Every value is as the report shows it: the same suppression and
        rounding."""
        return _tidy(self)

    def to_csv(self, path: Path | str) -> Path:
        """Write the table in tidy form (:meth:`tidy`) to ``path``: one header row, values
        without symbols or separators, GSS symbols in their own column."""
        out = Path(path)
        self._check(out.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = csv_text(self.tidy(), index=False)
        out.write_text(text, encoding="utf-8", newline="")
        return out

    def to_html(
        self,
        *,
        table_id: str | None = None,
        stats: str | None = None,
        cell_ids: pd.DataFrame | None = None,
        notes_html: Sequence[str] | None = None,
        number: str | None = None,
    ) -> str:
        """An accessible HTML table: ``<caption>``, ``<th scope>``, notes underneath.

        With ``stats`` (the table's slug in the registry of published statistics) and
        ``cell_ids`` (each cell's statistic id, aligned to :attr:`table`), the table carries
        ``data-stats`` and each cell ``data-stat`` (its id after the table's slug and
        ``/``: :mod:`analysis.publish.registry`);
        ``notes_html`` replaces the escaped notes (the same notes, numbers tagged);
        ``number`` (``"6.2"``) numbers the caption ("Table 6.2: ...").
        """
        self._check(self._title)
        options = {"table_id": table_id, "stats": stats, "cell_ids": cell_ids}
        html_text = _table_html(self, notes_html=notes_html, number=number, **options)
        return check_text(html_text, self._title)

    def _check(self, what: str) -> None:
        """Refuse to publish a cell, row or column label that is NaN, infinite or None."""
        check_publishable(
            {
                "cells": self._table,
                "rows": [str(v) for v in self._table.index],
                "columns": [str(v) for v in self._table.columns],
            },
            what,
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_markdown_text(self) -> str:
        """Plain-text rendering (used as the notebook's text/plain representation)."""
        return f"{self._title}\n{self._table.to_string()}"


def _unique(names: Sequence[str]) -> list[str]:
    """Headings made unique from the end: ``Value`` and ``Status`` keep their names, an
    earlier heading that repeats a later one is numbered ("Group (1)")."""
    out: list[str] = []
    taken = set(names[-2:])
    for k, name in enumerate(names):
        if k < len(names) - 2 and (name in taken or name in out):
            n = 1
            while f"{name} ({n})" in taken or f"{name} ({n})" in out:
                n += 1
            name = f"{name} ({n})"
        out.append(name)
    return out


_SYMBOLS = tuple(SYMBOL_KEY)
_SHOWN_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?%?")


def split_status(text: str) -> tuple[str, str]:
    """``(value, status)`` of a displayed cell: ``"1,250 [r]"`` -> ``("1250", "[r]")``,
    ``"[c]"`` -> ``("", "[c]")``, ``"45%"`` -> ``("45", "")``; a cell of words is kept
    whole as the value (its symbol, if any, moved to the status)."""
    status = " ".join(s for s in _SYMBOLS if s in text)
    rest = text
    for symbol in _SYMBOLS:
        rest = rest.replace(symbol, " ")
    rest = " ".join(rest.split())
    if _SHOWN_NUMBER.fullmatch(rest):
        rest = rest.replace(",", "").replace("−", "-").rstrip("%")
    return rest, status


def _is_total_label(label: Any, total_label: str) -> bool:
    if isinstance(label, tuple):
        return bool(label) and label[0] == total_label
    return label == total_label


def _new(
    table: pd.DataFrame,
    numeric: pd.DataFrame,
    *,
    title: str,
    notes: Sequence[str],
    threshold: int,
    kind: str,
    total_label: str | None,
    structure: Sequence[Relation] = (),
    primary: Sequence[Key] = (),
) -> DisclosedTable:
    return DisclosedTable(
        _TOKEN,
        table=table,
        numeric=numeric,
        title=title,
        notes=notes,
        threshold=threshold,
        kind=kind,
        total_label=total_label,
        structure=structure,
        primary=primary,
    )


def _suppress(
    table: pd.DataFrame, numeric: pd.DataFrame, structure: Sequence[Relation], keys: Sequence[Key]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:meth:`DisclosedTable.with_suppressed`: ``keys`` and the shares resting on them."""
    table, numeric = table.copy(), numeric.copy()
    hidden = set(keys)
    for rel in structure:
        if rel[0] == "ratio" and hidden & {rel[2], rel[3]}:
            hidden.add(rel[1])
    for row, col in sorted(hidden, key=str):
        if row in table.index and col in table.columns:
            table.loc[row, col] = CONFIDENTIAL
            numeric.loc[row, col] = float("nan")
    return table, numeric


def _label_headers(names: list[Any]) -> list[str]:
    """:meth:`DisclosedTable.label_headers`: one heading per index level."""
    out = []
    for k, name in enumerate(names):
        text = human_header(name)
        out.append(text or ("Group" if len(names) == 1 else f"Group {k + 1}"))
    return out


def _tidy(dt: DisclosedTable) -> pd.DataFrame:
    """:meth:`DisclosedTable.tidy`."""
    labels = dt.label_headers()
    records: list[list[str]] = []
    for row_label, row in zip(dt._table.index, dt._table.itertuples(index=False), strict=True):
        parts = row_label if isinstance(row_label, tuple) else (row_label,)
        for column, text in zip(dt._table.columns, row, strict=True):
            value, status = split_status(str(text))
            records.append([*(str(p) for p in parts), human_header(column), value, status])
    columns = _unique([*labels, dt.measure_header(), VALUE_HEADER, STATUS_HEADER])
    return pd.DataFrame(records, columns=columns, dtype="str")


def _fmt_plain(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,g}"


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------


def _cell_html(text: str) -> str:
    """Escape a display string, wrapping GSS symbols in ``<abbr>`` with their meaning."""
    out = html.escape(text)
    for symbol, meaning in SYMBOL_KEY.items():
        if symbol in text:
            short = meaning.split(":")[0]
            out = out.replace(
                html.escape(symbol), f'<abbr title="{html.escape(short)}">{symbol}</abbr>'
            )
    return out


def _label_html(label: Any) -> str:
    return html.escape(str(label))


PRINT_MAX_ROWS = 16
"""A table with more rows (a breakdown by all 16 services and its total, or longer) is left
out of the printed report (the report's print stylesheet),
with a line saying where it is (the release spreadsheet, its CSV): the report prints short."""

_WORDS = re.compile(r"[A-Za-z]{3,}")
"""A cell holding words (a rating, a reason) is text, aligned left; numbers and the GSS
symbols align right."""


def _table_html(
    dt: DisclosedTable,
    *,
    table_id: str | None = None,
    stats: str | None = None,
    cell_ids: pd.DataFrame | None = None,
    notes_html: Sequence[str] | None = None,
    number: str | None = None,
) -> str:
    table = dt._table
    idx = table.index
    n_levels = idx.nlevels
    names = [human_header(n) for n in idx.names]
    id_attr = f' id="{html.escape(table_id)}"' if table_id else ""
    if stats:
        id_attr += f' data-stats="{html.escape(stats, quote=True)}"'
    ids = None if cell_ids is None else cell_ids.to_numpy()
    prefix = f"{stats}/" if stats else ""

    def _local(ident: str) -> str:
        """A cell's id within its table (the page is smaller; the table names the rest)."""
        return ident[len(prefix) :] if prefix and ident.startswith(prefix) else ident

    # A wide table scrolls sideways inside its wrapper: keyboard users must reach it
    # (axe "scrollable-region-focusable"), and screen readers hear what it holds.
    title = f"Table {number}: {dt.title}" if number else dt.title
    label = html.escape(title, quote=True)
    # A table of words (ratings, reasons) stacks into one card per row on a narrow screen
    # (report.css), each cell labelled with its column: it cannot be read by scrolling.
    cells = [str(v) for row in table.itertuples(index=False) for v in row]
    wordy = bool(cells) and sum(bool(_WORDS.search(c)) for c in cells) * 2 > len(cells)
    kind = "disclosed-table text-table" if wordy else "disclosed-table"
    long_table = len(table.index) > PRINT_MAX_ROWS
    if long_table:
        kind += " long-table"
    parts = [
        f'<div class="{kind}" tabindex="0" role="region" aria-label="{label}"><table{id_attr}>'
    ]
    parts.append(f"<caption>{html.escape(title)}</caption>")
    parts.append("<thead><tr>")
    for name in names:
        label = _label_html(name) if name else '<span class="visually-hidden">Row</span>'
        parts.append(f'<th scope="col">{label}</th>')
    for col in table.columns:
        parts.append(f'<th scope="col">{_label_html(human_header(col))}</th>')
    parts.append("</tr></thead><tbody>")
    total = dt.total_label
    for i, (row_label, row) in enumerate(zip(idx, table.itertuples(index=False), strict=True)):
        labels = row_label if isinstance(row_label, tuple) else (row_label,)
        is_total = total is not None and _is_total_label(row_label, total)
        parts.append('<tr class="total">' if is_total else "<tr>")
        for k, lab in enumerate(labels[:n_levels]):
            parts.append(
                f'<th scope="row">{_label_html(lab)}</th>'
                if k == 0
                else f"<td>{_label_html(lab)}</td>"
            )
        for j, (column, value) in enumerate(zip(table.columns, row, strict=True)):
            kind = "text" if _WORDS.search(str(value)) else "num"
            heading = html.escape(human_header(column), quote=True)
            stat = (
                "" if ids is None else f' data-stat="{html.escape(_local(ids[i, j]), quote=True)}"'
            )
            parts.append(
                f'<td class="{kind}" data-label="{heading}"{stat}>{_cell_html(str(value))}</td>'
            )
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if long_table:
        which = f"Table {number}" if number else "This table"
        parts.append(
            f'<p class="print-only">{which} is long and is not printed: it is in the '
            "release spreadsheet and in its CSV download.</p>"
        )
    if dt.notes:
        parts.append('<ul class="table-notes">')
        shown = [html.escape(n) for n in dt.notes] if notes_html is None else notes_html
        parts.extend(f"<li>{n}</li>" for n in shown)
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def symbol_key_markdown() -> str:
    """The symbol key as a Markdown list (for a report's notes section)."""
    return "\n".join(f"- `{s}` {m}" for s, m in SYMBOL_KEY.items())


def symbol_key_html() -> str:
    """The symbol key as an HTML definition list."""
    items = "".join(
        f"<dt>{html.escape(s)}</dt><dd>{html.escape(m)}</dd>" for s, m in SYMBOL_KEY.items()
    )
    return f'<dl class="symbol-key">{items}</dl>'
