"""Statistical disclosure control for every table and figure in the reports.

The rules (see ``docs`` and the shared domain notes):

* a count from 1 to ``threshold`` (default 9) is published as ``[c]`` (primary suppression);
  0 is a true zero and stays ``0``;
* secondary suppression: no suppressed cell can be recovered from row or column totals.
  Totals are treated as public knowledge even when a table does not show them, and the
  protection is checked exactly: a suppressed cell is recoverable when it is determined by
  the linear system "parts sum to their total" given every published value. While some
  suppressed cell is determined, the smallest non-zero unsuppressed cell on one of its
  lines is suppressed as well (ties broken by position, so the choice is deterministic);
* totals are rounded to the nearest ``total_rounding`` (default 5); a total that is small
  is suppressed like any other cell; a non-zero value that rounds to zero is ``[k]``;
* a percentage whose numerator or denominator is suppressed is suppressed;
* symbols follow the GSS guidance: see :data:`SYMBOL_KEY`.

Design by construction: every function here returns a :class:`DisclosedTable`, and only
this module can create one. ``DisclosedTable.__init__`` requires a private sentinel
(``_TOKEN``, an ``object()`` created when the module is imported) as its first argument and
raises ``TypeError`` for anything else; subclassing is refused and instances are frozen. The
report's table and figure helpers (:mod:`analysis.figures`) accept only this type, so an
unprotected count cannot reach a report by mistake. (Python cannot stop a determined
programmer from reaching into ``_TOKEN``; the guard is against accidents, and a code review
will notice any import of a private name.)
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.published import check_publishable, check_text

__all__ = [
    "CONFIDENTIAL",
    "LOW_RELIABILITY",
    "NOT_APPLICABLE",
    "NOT_AVAILABLE",
    "REVISED",
    "ROUNDS_TO_ZERO",
    "SYMBOL_KEY",
    "DisclosedTable",
    "DisclosureError",
    "disclose_counts",
    "disclose_programme_totals",
    "disclose_published",
    "disclose_estimates",
    "disclose_shares",
    "disclose_table",
    "mark_revised",
    "round_to_base",
    "symbol_key_html",
    "symbol_key_markdown",
]

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

    __slots__ = ("_kind", "_notes", "_numeric", "_table", "_threshold", "_title", "_total_label")

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

    def transposed(self) -> DisclosedTable:
        """The same published values with rows and columns swapped (e.g. years as rows)."""
        return self._derive(self._table.T, self._numeric.T)

    def with_title(self, title: str, notes: Sequence[str] | None = None) -> DisclosedTable:
        """The same values under another title (and notes)."""
        return self._derive(
            self._table, self._numeric, title=title, notes=self._notes if notes is None else notes
        )

    # -- output --------------------------------------------------------------------------
    def to_csv(self, path: Path | str) -> Path:
        """Write the display strings (the same suppression as the report) to ``path``."""
        out = Path(path)
        self._check(out.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = self._table.to_csv(lineterminator="\n")
        out.write_text(text, encoding="utf-8", newline="")
        return out

    def to_html(self, *, table_id: str | None = None) -> str:
        """An accessible HTML table: ``<caption>``, ``<th scope>``, notes underneath."""
        self._check(self._title)
        return check_text(_table_html(self, table_id=table_id), self._title)

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
    )


# --------------------------------------------------------------------------------------
# Core: primary and secondary suppression on a set of cells with additive relations
# --------------------------------------------------------------------------------------


def round_to_base(value: float, base: int) -> float:
    """Round half away from zero to the nearest multiple of ``base`` (base <= 1: unchanged)."""
    if base <= 1 or math.isnan(value):
        return value
    return float(math.floor(value / base + 0.5) * base)


def _primary(
    flat: np.ndarray, total_flat: np.ndarray, threshold: int, total_rounding: int
) -> np.ndarray:
    """Cells to suppress: small counts, and totals that are small before or after rounding."""
    return np.array(
        [
            is_small(v, threshold)
            or (bool(t) and is_small(round_to_base(v, total_rounding), threshold))
            for v, t in zip(flat, total_flat, strict=True)
        ],
        dtype=bool,
    )


def is_small(value: float, threshold: int) -> bool:
    """True for a count from 1 to ``threshold`` (the values that must be suppressed)."""
    return (not math.isnan(value)) and 1 <= value <= threshold


def _determined(matrix: np.ndarray, suppressed: list[int]) -> list[int]:
    """Suppressed cells whose value the relations pin down, given all published cells.

    ``matrix`` has one row per relation (coefficients on every cell). The unknowns are the
    suppressed cells; cell ``i`` is determined exactly when no vector in the null space of
    the relations restricted to the unknowns moves it.
    """
    if not suppressed or matrix.shape[0] == 0:
        return []
    sub = matrix[:, suppressed]
    if not np.any(sub):
        return []
    _, sing, vt = np.linalg.svd(sub, full_matrices=True)
    rank = int(np.sum(sing > 1e-9 * max(1.0, float(sing.max()))))
    null = vt[rank:]
    norms = np.sqrt(np.sum(null**2, axis=0)) if null.size else np.zeros(len(suppressed))
    return [cell for cell, norm in zip(suppressed, norms, strict=True) if norm < _TOL]


def protect(
    values: np.ndarray,
    relations: Sequence[tuple[Sequence[int], int]],
    *,
    primary: np.ndarray,
    suppressible: np.ndarray,
) -> np.ndarray:
    """Secondary suppression: return the boolean mask of suppressed cells.

    ``values`` is a flat array of cell values (NaN = not available, published as a symbol);
    ``relations`` lists ``(parts, total)``: the cells in ``parts`` sum to cell ``total``;
    ``primary`` marks cells that must be suppressed; ``suppressible`` marks cells that may
    be chosen as complements (cells that are public knowledge anyway are not). While some
    suppressed cell is determined by the relations, the smallest non-zero suppressible cell
    on one of its relations is added (zeros only when nothing else is left; ties broken by
    position). Raises :class:`DisclosureError` if no protection is possible.
    """
    n = values.size
    matrix = np.zeros((len(relations), n))
    lines: list[list[int]] = [[] for _ in range(n)]
    for k, (parts, total) in enumerate(relations):
        for p in parts:
            matrix[k, p] += 1.0
            lines[p].append(k)
        matrix[k, total] -= 1.0
        lines[total].append(k)
    members = [sorted({*parts, total}) for parts, total in relations]
    mask = primary.copy()
    while True:
        determined = _determined(matrix, [int(i) for i in np.flatnonzero(mask)])
        if not determined:
            return mask

        # Lines on which a cell is the only unknown are the ones that give it away:
        # complete those first; otherwise (a "bridge" between protected groups) use any
        # line through the first determined cell; as a last resort any cell at all.
        def open_cells(chosen: list[int]) -> list[int]:
            return sorted(
                {
                    j
                    for k in chosen
                    for j in members[k]
                    if not mask[j] and suppressible[j] and not math.isnan(values[j])
                }
            )

        candidates: list[int] = []
        for cell in determined:
            own = [k for k in lines[cell] if sum(bool(mask[j]) for j in members[k]) == 1]
            candidates = open_cells(own)
            if candidates:
                break
        if not candidates:
            candidates = open_cells(lines[determined[0]])
        if not candidates:
            candidates = [j for j in range(n) if not mask[j] and suppressible[j]]
        candidates = [j for j in candidates if not math.isnan(values[j])]
        if not candidates:
            raise DisclosureError(
                "secondary suppression impossible: a suppressed cell could be recovered "
                "from totals and no cell is left to suppress with it"
            )
        best = min(candidates, key=lambda j: (values[j] == 0, values[j], j))
        mask[best] = True


# --------------------------------------------------------------------------------------
# Validation and formatting helpers
# --------------------------------------------------------------------------------------


def _as_list(x: str | Sequence[str]) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def _require_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DisclosureError(
            f"{what}: column(s) {missing} not found; the table has {list(df.columns)}"
        )


def _counts(series: pd.Series, what: str) -> pd.Series:
    """Validate a count column: numeric, non-negative, whole (NaN = not available)."""
    try:
        values = pd.to_numeric(series, errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise DisclosureError(f"{what}: column {series.name!r} is not numeric ({exc})") from exc
    bad = values.notna() & ((values < 0) | (values != values.round()))
    if bad.any():
        row = bad.idxmax()
        raise DisclosureError(
            f"{what}: column {series.name!r}, row {row!r}: {values[row]!r} is not a "
            "non-negative whole number"
        )
    return values


def _fmt_count(value: float) -> str:
    return str(int(value))


def _fmt_number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if decimals == 0 and text == "-0" else text


def _fmt_percent(num: float, den: float, decimals: int) -> tuple[str, float]:
    """Display string and numeric value for ``num / den`` as a percentage."""
    if math.isnan(num) or math.isnan(den):
        return NOT_AVAILABLE, math.nan
    if den == 0:
        return NOT_APPLICABLE, math.nan
    pct = 100.0 * num / den
    shown = round(pct, decimals)
    if num != 0 and shown == 0:
        return ROUNDS_TO_ZERO, math.nan
    return _fmt_number(pct, decimals), float(shown)


def _base_notes(threshold: int, total_rounding: int | None, extra: Sequence[str]) -> list[str]:
    notes = (
        [
            f"{CONFIDENTIAL}: counts from 1 to {threshold} are suppressed, with further cells "
            "where needed so that they cannot be worked out from totals."
        ]
        if threshold > 0
        else []
    )
    if total_rounding and total_rounding > 1:
        notes.append(f"Totals are rounded to the nearest {total_rounding}.")
    notes.extend(extra)
    return notes


# --------------------------------------------------------------------------------------
# Public constructors
# --------------------------------------------------------------------------------------


def disclose_counts(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    columns: str | None,
    values: str,
    threshold: int = 9,
    totals: bool = True,
    total_rounding: int = 5,
    title: str,
    notes: Sequence[str] = (),
    missing: float | str = 0,
    index_order: Sequence[Any] | None = None,
    column_order: Sequence[Any] | None = None,
) -> DisclosedTable:
    """Cross-tabulate counts (``index`` × ``columns``) with full disclosure control.

    ``df`` is tidy: one row per (index, column) with the count in ``values``; repeated
    combinations are summed. Combinations absent from ``df`` become ``missing`` (0 by
    default, or a symbol such as ``"[z]"``). NaN counts are shown as ``[x]``. With
    ``totals`` a ``Total`` column (when there is more than one column) and a ``Total`` row
    (when there is more than one row) are shown, rounded to ``total_rounding``. Totals are
    protected against even when hidden (they may be published elsewhere).
    ``index_order`` / ``column_order`` fix the order of rows / columns and add any that
    have no data (treated as absent combinations).
    """
    index_cols = _as_list(index)
    needed = [*index_cols, values] + ([columns] if columns else [])
    _require_columns(df, needed, f"disclose_counts({title!r})")
    data = df[needed].copy()
    data[values] = _counts(data[values], f"disclose_counts({title!r})")
    if columns is None:
        data["__col__"] = values
        col_field = "__col__"
    else:
        col_field = columns
    grouped = data.groupby([*index_cols, col_field], observed=True, sort=True, dropna=False)[
        values
    ].sum(min_count=1)
    wide = grouped.unstack(col_field)
    if index_order is not None:
        wide = wide.reindex(index=list(index_order))
    if column_order is not None:
        wide = wide.reindex(columns=list(column_order))
    present = _present(data, index_cols, col_field, wide)
    absent = ~present
    symbol_fill: str | None = None
    if isinstance(missing, str):
        symbol_fill = missing
    else:
        wide = wide.mask(absent, float(missing))
        absent = absent & False
    wide.columns = [str(c) for c in wide.columns]
    if columns is None:
        wide.columns = [values]
    body = wide.to_numpy(dtype="float64")
    n_rows, n_cols = body.shape
    has_total_col = n_cols > 1
    has_total_row = n_rows > 1
    grid, relations, is_total = _grid_with_totals(body, has_total_col, has_total_row)
    shape = grid.shape
    flat = grid.ravel()
    total_flat = is_total.ravel()
    primary = _primary(flat, total_flat, threshold, total_rounding)
    suppressible = ~np.isnan(flat) & (totals | ~total_flat)
    if not totals:
        primary &= ~total_flat
    mask = protect(flat, relations, primary=primary, suppressible=suppressible).reshape(shape)

    display = np.empty(shape, dtype=object)
    numeric = np.full(shape, np.nan)
    absent_arr = absent.to_numpy()
    for r in range(shape[0]):
        for c in range(shape[1]):
            v = grid[r, c]
            total = is_total[r, c]
            if r < n_rows and c < n_cols and absent_arr[r, c]:
                display[r, c] = symbol_fill
            elif math.isnan(v):
                display[r, c] = NOT_AVAILABLE
            elif mask[r, c]:
                display[r, c] = CONFIDENTIAL
            elif total:
                shown = round_to_base(v, total_rounding)
                if shown == 0 and v != 0:
                    display[r, c] = ROUNDS_TO_ZERO
                else:
                    display[r, c], numeric[r, c] = _fmt_count(shown), shown
            else:
                display[r, c], numeric[r, c] = _fmt_count(v), v
    row_labels = list(wide.index)
    col_labels = list(wide.columns)
    if has_total_col:
        col_labels.append(TOTAL_LABEL)
    if has_total_row:
        row_labels.append(_total_row_label(wide.index))
    row_index = _make_index(row_labels, wide.index)
    keep_r = slice(None) if totals else slice(0, n_rows)
    keep_c = slice(None) if totals else slice(0, n_cols)
    table = pd.DataFrame(display, index=row_index, columns=col_labels).iloc[keep_r, keep_c]
    nums = pd.DataFrame(numeric, index=row_index, columns=col_labels).iloc[keep_r, keep_c]
    if columns is not None:
        table.columns.name = columns
        nums.columns.name = columns
    return _new(
        table,
        nums,
        title=title,
        notes=_base_notes(threshold, total_rounding if totals else None, notes),
        threshold=threshold,
        kind="counts",
        total_label=TOTAL_LABEL if totals and (has_total_col or has_total_row) else None,
    )


def _present(
    data: pd.DataFrame, index_cols: list[str], col_field: str, wide: pd.DataFrame
) -> pd.DataFrame:
    """True where a combination is present in the data (even with a NaN count)."""
    present = (
        data.assign(__one__=1.0)
        .groupby([*index_cols, col_field], observed=True, sort=True, dropna=False)["__one__"]
        .sum()
        .unstack(col_field)
        .reindex(index=wide.index, columns=wide.columns)
    )
    return present.notna()


def _total_row_label(index: pd.Index) -> Any:
    if isinstance(index, pd.MultiIndex):
        return (TOTAL_LABEL,) + ("",) * (index.nlevels - 1)
    return TOTAL_LABEL


def _make_index(labels: list[Any], like: pd.Index) -> pd.Index:
    if isinstance(like, pd.MultiIndex):
        tuples = [tuple(str(x) for x in t) for t in labels]
        return pd.MultiIndex.from_tuples(tuples, names=like.names)
    return pd.Index([str(x) for x in labels], name=like.name, dtype="str")


def _sum_or_nan(values: np.ndarray, axis: int) -> np.ndarray:
    """Sum ignoring NaN, but NaN where every value is NaN (nothing to add up)."""
    total = np.nansum(values, axis=axis)
    return np.where(np.all(np.isnan(values), axis=axis), np.nan, total)


def _grid_with_totals(
    body: np.ndarray, total_col: bool, total_row: bool
) -> tuple[np.ndarray, list[tuple[list[int], int]], np.ndarray]:
    """Append total column/row to ``body``; return grid, relations, and the total mask."""
    n_rows, n_cols = body.shape
    rows = n_rows + int(total_row)
    cols = n_cols + int(total_col)
    grid = np.full((rows, cols), np.nan)
    grid[:n_rows, :n_cols] = body
    is_total = np.zeros((rows, cols), dtype=bool)
    relations: list[tuple[list[int], int]] = []

    def idx(r: int, c: int) -> int:
        return r * cols + c

    if total_col:
        grid[:n_rows, n_cols] = _sum_or_nan(body, axis=1)
        is_total[:, n_cols] = True
    if total_row:
        grid[n_rows, :] = _sum_or_nan(grid[:n_rows, :], axis=0)
        is_total[n_rows, :] = True
    if total_col:
        for r in range(rows):
            relations.append(([idx(r, c) for c in range(n_cols)], idx(r, n_cols)))
    if total_row:
        for c in range(cols):
            relations.append(([idx(r, c) for r in range(n_rows)], idx(n_rows, c)))
    return grid, relations, is_total


def disclose_table(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    count_columns: Sequence[str],
    percent_columns: Mapping[str, tuple[str, str]] | None = None,
    relations: Mapping[str, Sequence[str]] | None = None,
    text_columns: Sequence[str] = (),
    threshold: int = 9,
    total_row: bool = True,
    total_rounding: int = 5,
    decimals: int = 0,
    title: str,
    notes: Sequence[str] = (),
) -> DisclosedTable:
    """Disclosure-control a tidy table: one row per ``index``, several count columns.

    * Each count column is protected against its column total (the programme figure),
      shown as a ``Total`` row when ``total_row`` (rounded to ``total_rounding``).
    * ``relations`` declares row-wise sums among the count columns, e.g.
      ``{"referrals": ["police", "social_care", "other"]}``; they are protected too.
    * ``percent_columns`` maps a new column name to ``(numerator, denominator)`` count
      columns; the percentage is computed from the *published* counts and is ``[c]`` when
      either is suppressed, ``[z]`` when the denominator is 0, ``[k]`` when it rounds to 0.
    * ``text_columns`` are passed through unchanged (labels that are safe to publish).
    """
    what = f"disclose_table({title!r})"
    index_cols = _as_list(index)
    count_cols = list(count_columns)
    percent_columns = dict(percent_columns or {})
    relations = dict(relations or {})
    for name, (num, den) in percent_columns.items():
        if num not in count_cols or den not in count_cols:
            raise DisclosureError(
                f"{what}: percentage {name!r} needs numerator {num!r} and denominator {den!r} "
                "among count_columns"
            )
    for total, parts in relations.items():
        unknown = [c for c in [total, *parts] if c not in count_cols]
        if unknown:
            raise DisclosureError(f"{what}: relation columns {unknown} are not count_columns")
    _require_columns(df, [*index_cols, *count_cols, *text_columns], what)
    if df.duplicated(index_cols).any():
        dup = df.loc[df.duplicated(index_cols), index_cols].iloc[0].tolist()
        raise DisclosureError(f"{what}: index {index_cols} is not unique (e.g. {dup})")
    data = df.set_index(index_cols)
    body = (
        np.column_stack([_counts(data[c], what).to_numpy(dtype="float64") for c in count_cols])
        if count_cols
        else np.zeros((len(data), 0))
    )
    n_rows, n_cols = body.shape
    has_total_row = n_rows > 1
    rows = n_rows + int(has_total_row)
    grid = np.full((rows, n_cols), np.nan)
    grid[:n_rows] = body
    if has_total_row:
        grid[n_rows] = _sum_or_nan(body, axis=0)

    def idx(r: int, c: int) -> int:
        return r * n_cols + c

    rel: list[tuple[list[int], int]] = []
    if has_total_row:
        for c in range(n_cols):
            rel.append(([idx(r, c) for r in range(n_rows)], idx(n_rows, c)))
    for total, parts in relations.items():
        tc = count_cols.index(total)
        pcs = [count_cols.index(p) for p in parts]
        for r in range(rows):
            rel.append(([idx(r, p) for p in pcs], idx(r, tc)))
    flat = grid.ravel()
    is_total = np.zeros(grid.shape, dtype=bool)
    if has_total_row:
        is_total[n_rows] = True
    total_flat = is_total.ravel()
    primary = _primary(flat, total_flat, threshold, total_rounding)
    suppressible = ~np.isnan(flat) & (total_row | ~total_flat)
    if not total_row:
        primary &= ~total_flat
    mask = protect(flat, rel, primary=primary, suppressible=suppressible).reshape(grid.shape)

    disp: dict[str, list[str]] = {}
    nums: dict[str, list[float]] = {}
    for c, name in enumerate(count_cols):
        col_d: list[str] = []
        col_n: list[float] = []
        for r in range(rows):
            v = grid[r, c]
            if math.isnan(v):
                col_d.append(NOT_AVAILABLE)
                col_n.append(math.nan)
            elif mask[r, c]:
                col_d.append(CONFIDENTIAL)
                col_n.append(math.nan)
            elif is_total[r, c]:
                shown = round_to_base(v, total_rounding)
                if shown == 0 and v != 0:
                    col_d.append(ROUNDS_TO_ZERO)
                    col_n.append(math.nan)
                else:
                    col_d.append(_fmt_count(shown))
                    col_n.append(shown)
            else:
                col_d.append(_fmt_count(v))
                col_n.append(v)
        disp[name], nums[name] = col_d, col_n
    for name, (num, den) in percent_columns.items():
        col_d, col_n = [], []
        for r in range(rows):
            d_num, d_den = disp[num][r], disp[den][r]
            if {d_num, d_den} & {CONFIDENTIAL, ROUNDS_TO_ZERO}:
                col_d.append(CONFIDENTIAL)
                col_n.append(math.nan)
            else:
                s, v = _fmt_percent(nums[num][r], nums[den][r], decimals)
                col_d.append(s)
                col_n.append(v)
        disp[name], nums[name] = col_d, col_n
    for name in text_columns:
        values = [str(v) if not pd.isna(v) else NOT_AVAILABLE for v in data[name]]
        disp[name] = values + ([""] if has_total_row else [])
        nums[name] = [math.nan] * rows
    order = [*text_columns, *count_cols, *percent_columns]
    labels = list(data.index)
    if has_total_row:
        labels.append(_total_row_label(data.index))
    row_index = _make_index(labels, data.index)
    table = pd.DataFrame({k: disp[k] for k in order}, index=row_index)
    numeric = pd.DataFrame({k: nums[k] for k in order}, index=row_index)
    if not total_row and has_total_row:
        table, numeric = table.iloc[:n_rows], numeric.iloc[:n_rows]
    extra = list(notes)
    if percent_columns:
        extra.insert(
            0,
            "Percentages are calculated from the published counts; a percentage "
            f"is {CONFIDENTIAL} when its numerator or denominator is.",
        )
    return _new(
        table,
        numeric,
        title=title,
        notes=_base_notes(threshold, total_rounding if total_row else None, extra),
        threshold=threshold,
        kind="table",
        total_label=TOTAL_LABEL if total_row and has_total_row else None,
    )


def disclose_shares(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    denominator: str,
    numerator: str | None = None,
    share: str | None = None,
    columns: str | None = None,
    threshold: int = 9,
    decimals: int = 0,
    show_denominator: bool = True,
    protect_complement: bool = False,
    title: str,
    notes: Sequence[str] = (),
    share_label: str = "Share (%)",
    denominator_label: str = "Number",
) -> DisclosedTable:
    """Shares (e.g. completeness: share of records with a field recorded) with their base.

    Give either ``numerator`` (a count column) or ``share`` (a 0–1 column; the numerator is
    ``round(share * denominator)``). Rows with the same ``index`` (and ``columns``) are
    pooled. A share is ``[c]`` when its denominator or numerator is from 1 to ``threshold``
    (and, with ``protect_complement``, when ``denominator - numerator`` is), ``[z]`` when
    the denominator is 0. With ``columns`` the result is a grid (index × columns) of
    shares, e.g. service × quarter for a heatmap; otherwise a tidy table with the share and,
    when ``show_denominator``, the (primary-suppressed) denominator. Numeric values are
    percentages (0–100).
    """
    what = f"disclose_shares({title!r})"
    if (numerator is None) == (share is None):
        raise DisclosureError(f"{what}: give exactly one of numerator= or share=")
    index_cols = _as_list(index)
    keys = [*index_cols] + ([columns] if columns else [])
    source_col = numerator if numerator is not None else share
    assert source_col is not None
    _require_columns(df, [*keys, denominator, source_col], what)
    den = _counts(df[denominator], what)
    if share is not None:
        sh = pd.to_numeric(df[share], errors="coerce").astype("float64")
        bad = sh.notna() & ((sh < 0) | (sh > 1))
        if bad.any():
            row = bad.idxmax()
            raise DisclosureError(f"{what}: column {share!r}, row {row!r}: share outside 0–1")
        num = (sh * den).round()
    else:
        num = _counts(df[source_col], what)
        over = num > den
        if over.any():
            row = over.idxmax()
            raise DisclosureError(
                f"{what}: row {row!r}: numerator {source_col!r} exceeds denominator"
            )
    pooled = (
        pd.DataFrame({k: df[k] for k in keys})
        .assign(__num__=num, __den__=den)
        .groupby(keys, observed=True, sort=True, dropna=False)[["__num__", "__den__"]]
        .sum(min_count=1)
    )

    def one(n: float, d: float) -> tuple[str, float]:
        if d == 0:
            return NOT_APPLICABLE, math.nan
        if math.isnan(d) or math.isnan(n):
            return NOT_AVAILABLE, math.nan
        if is_small(d, threshold) or is_small(n, threshold):
            return CONFIDENTIAL, math.nan
        if protect_complement and is_small(d - n, threshold):
            return CONFIDENTIAL, math.nan
        return _fmt_percent(n, d, decimals)

    shown = [one(n, d) for n, d in zip(pooled["__num__"], pooled["__den__"], strict=True)]
    disp = pd.Series([s for s, _ in shown], index=pooled.index, dtype="str")
    vals = pd.Series([v for _, v in shown], index=pooled.index, dtype="float64")
    extra = [
        *(
            [
                f"{CONFIDENTIAL}: a share is suppressed when the number of records or the "
                f"number recorded is from 1 to {threshold}."
            ]
            if threshold > 0
            else []
        ),
        *notes,
    ]
    if columns is not None:
        table = disp.unstack(columns).fillna(NOT_AVAILABLE)
        numeric = vals.unstack(columns)
        table.columns = [str(c) for c in table.columns]
        numeric.columns = table.columns
        table.index = _make_index(list(table.index), table.index)
        numeric.index = table.index
        table.columns.name = columns
    else:
        table = pd.DataFrame({share_label: disp})
        numeric = pd.DataFrame({share_label: vals})
        if show_denominator:
            d_disp, d_num = [], []
            for d in pooled["__den__"]:
                if math.isnan(d):
                    d_disp.append(NOT_AVAILABLE)
                    d_num.append(math.nan)
                elif is_small(d, threshold):
                    d_disp.append(CONFIDENTIAL)
                    d_num.append(math.nan)
                else:
                    d_disp.append(_fmt_count(d))
                    d_num.append(d)
            table[denominator_label] = d_disp
            numeric[denominator_label] = d_num
        table.index = _make_index(list(table.index), table.index)
        numeric.index = table.index
    return _new(
        table,
        numeric,
        title=title,
        notes=extra,
        threshold=threshold,
        kind="shares",
        total_label=None,
    )


def disclose_estimates(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    estimate_columns: Sequence[str] = ("estimate", "ci_lower", "ci_upper"),
    n_column: str = "n",
    p_value_column: str | None = None,
    reliability_column: str | None = None,
    text_columns: Sequence[str] = (),
    threshold: int = 9,
    decimals: int = 2,
    title: str,
    notes: Sequence[str] = (),
) -> DisclosedTable:
    """Model estimates: no counts except the N used, which is reported.

    A row whose N is from 1 to ``threshold`` has its N and every estimate suppressed
    (``[c]``); a missing estimate (model not fitted, "not enough data yet") is ``[x]``.
    With ``reliability_column`` (True = low reliability) the estimate is flagged ``[u]``.
    p-values are shown to 3 decimals (``<0.001`` below that).
    """
    what = f"disclose_estimates({title!r})"
    index_cols = _as_list(index)
    extra_cols = [c for c in (p_value_column, reliability_column) if c]
    _require_columns(
        df, [*index_cols, *estimate_columns, n_column, *extra_cols, *text_columns], what
    )
    if df.duplicated(index_cols).any():
        raise DisclosureError(f"{what}: index {index_cols} is not unique")
    data = df.set_index(index_cols)
    n = _counts(data[n_column], what)
    small = n.apply(lambda v: is_small(v, threshold))
    disp: dict[str, list[str]] = {}
    nums: dict[str, list[float]] = {}
    for name in text_columns:
        disp[name] = [NOT_AVAILABLE if pd.isna(v) else str(v) for v in data[name]]
        nums[name] = [math.nan] * len(data)
    low = (
        data[reliability_column].fillna(False).astype(bool)
        if reliability_column
        else pd.Series(False, index=data.index)
    )
    for name in estimate_columns:
        values = pd.to_numeric(data[name], errors="coerce").astype("float64")
        d_col, n_col = [], []
        for v, s, lo in zip(values, small, low, strict=True):
            if s:
                d_col.append(CONFIDENTIAL)
                n_col.append(math.nan)
            elif math.isnan(v):
                d_col.append(NOT_AVAILABLE)
                n_col.append(math.nan)
            else:
                text = _fmt_number(v, decimals)
                d_col.append(f"{text} {LOW_RELIABILITY}" if lo else text)
                n_col.append(round(v, decimals))
        disp[name], nums[name] = d_col, n_col
    if p_value_column:
        values = pd.to_numeric(data[p_value_column], errors="coerce").astype("float64")
        d_col, n_col = [], []
        for v, s in zip(values, small, strict=True):
            if s:
                d_col.append(CONFIDENTIAL)
                n_col.append(math.nan)
            elif math.isnan(v):
                d_col.append(NOT_AVAILABLE)
                n_col.append(math.nan)
            else:
                d_col.append("<0.001" if v < 0.001 else f"{v:.3f}")
                n_col.append(round(v, 3))
        disp[p_value_column], nums[p_value_column] = d_col, n_col
    d_col, n_col = [], []
    for v, s in zip(n, small, strict=True):
        if s:
            d_col.append(CONFIDENTIAL)
            n_col.append(math.nan)
        elif math.isnan(v):
            d_col.append(NOT_AVAILABLE)
            n_col.append(math.nan)
        else:
            d_col.append(_fmt_count(v))
            n_col.append(v)
    disp[n_column], nums[n_column] = d_col, n_col
    order = [
        *text_columns,
        *estimate_columns,
        *([p_value_column] if p_value_column else []),
        n_column,
    ]
    row_index = _make_index(list(data.index), data.index)
    table = pd.DataFrame({k: disp[k] for k in order}, index=row_index)
    numeric = pd.DataFrame({k: nums[k] for k in order}, index=row_index)
    extra = [
        *(
            [
                f"{CONFIDENTIAL}: estimates resting on 1 to {threshold} young people or "
                "services are suppressed."
            ]
            if threshold > 0
            else []
        ),
        f"{NOT_AVAILABLE}: not available (no data, or not enough data yet to fit the model).",
        *notes,
    ]
    return _new(
        table,
        numeric,
        title=title,
        notes=extra,
        threshold=threshold,
        kind="estimates",
        total_label=None,
    )


def mark_revised(dt: DisclosedTable, revised: pd.DataFrame) -> DisclosedTable:
    """Flag cells revised since an earlier report with ``[r]`` (numbers unchanged).

    ``revised`` is a boolean frame aligned to ``dt.table`` (missing cells count as False).
    """
    if not isinstance(dt, DisclosedTable):
        raise TypeError("mark_revised needs a DisclosedTable")
    flags = revised.reindex(index=dt._table.index, columns=dt._table.columns)
    flags = flags.fillna(False).astype(bool)
    table = dt._table.copy()
    for col in table.columns:
        table[col] = [
            f"{v} {REVISED}" if f and REVISED not in v else v
            for v, f in zip(table[col], flags[col], strict=True)
        ]
    notes = dt.notes
    if flags.to_numpy().any() and not any(REVISED in n for n in notes):
        notes = (*notes, f"{REVISED}: revised since the earlier report was published.")
    return dt._derive(table, dt._numeric, notes=notes)


def disclose_programme_totals(
    df: pd.DataFrame,
    *,
    index: str,
    columns: str,
    values: str,
    threshold: int = 9,
    total_rounding: int = 5,
    exact: Sequence[str] = (),
    title: str,
    notes: Sequence[str] = (),
) -> DisclosedTable:
    """Programme totals (e.g. key figures by year): each cell is itself a total.

    Every cell is rounded to the nearest ``total_rounding`` and suppressed when it is from 1
    to ``threshold`` before or after rounding (``[k]`` when a non-zero value rounds to 0).
    Rows named in ``exact`` (counts that are not about individuals, such as services
    active) are shown unrounded and never suppressed. No cell of such a table is a part of
    another, so no secondary suppression is needed.
    """
    what = f"disclose_programme_totals({title!r})"
    _require_columns(df, [index, columns, values], what)
    data = df[[index, columns, values]].copy()
    data[values] = _counts(data[values], what)
    wide = data.groupby([index, columns], sort=False)[values].sum(min_count=1).unstack(columns)
    wide = wide.reindex(index=list(dict.fromkeys(data[index])))
    display = pd.DataFrame(NOT_AVAILABLE, index=wide.index, columns=wide.columns, dtype="str")
    numeric = pd.DataFrame(np.nan, index=wide.index, columns=wide.columns)
    for r in wide.index:
        for c in wide.columns:
            v = wide.loc[r, c]
            if pd.isna(v):
                continue
            if r in exact:
                display.loc[r, c], numeric.loc[r, c] = _fmt_count(v), float(v)
                continue
            shown = round_to_base(float(v), total_rounding)
            if is_small(float(v), threshold) or is_small(shown, threshold):
                display.loc[r, c] = CONFIDENTIAL
            elif shown == 0 and v != 0:
                display.loc[r, c] = ROUNDS_TO_ZERO
            else:
                display.loc[r, c], numeric.loc[r, c] = _fmt_count(shown), shown
    display.index.name = index
    display.columns.name = columns
    numeric.index.name = index
    numeric.columns.name = columns
    base = [f"Programme totals are rounded to the nearest {total_rounding}."]
    if exact:
        base.append("Counts of services and areas are not about individuals and are shown exactly.")
    return _new(
        display,
        numeric,
        title=title,
        notes=[*_base_notes(threshold, None, ()), *base, *notes],
        threshold=threshold,
        kind="totals",
        total_label=None,
    )


_PUBLISHED_SYMBOLS: Mapping[str, str] = {
    "c": CONFIDENTIAL,
    "x": NOT_AVAILABLE,
    "z": NOT_APPLICABLE,
    "u": LOW_RELIABILITY,
    "k": ROUNDS_TO_ZERO,
}


def disclose_published(
    df: pd.DataFrame,
    *,
    index: str,
    columns: str,
    values: str,
    status: str,
    title: str,
    notes: Sequence[str] = (),
    decimals: int | Mapping[str, int] | None = None,
) -> DisclosedTable:
    """Figures another publisher released (e.g. DfE statistics), shown as they published them.

    ``df`` is long: one row per ``index`` x ``columns`` cell with a number in ``values`` and
    the publisher's status in ``status`` (``""`` or ``"ok"``: a published number; ``c``,
    ``x``, ``z``, ``u``, ``k``, bare or bracketed: shown as the GSS symbol with no number;
    anything else: ``[x]``). Nothing is suppressed or rounded again: the publisher's own
    suppression is kept. Numbers are shown with ``decimals`` places (default: whole numbers
    unrounded, others as given; a mapping gives places per column). A cell absent from
    ``df`` is ``[x]``.
    """
    what = f"disclose_published({title!r})"
    _require_columns(df, [index, columns, values, status], what)
    if df.duplicated([index, columns]).any():
        raise DisclosureError(f"{what}: more than one row for some {index!r} x {columns!r}")
    rows = list(dict.fromkeys(df[index].astype("str")))
    cols = list(dict.fromkeys(df[columns].astype("str")))
    display = pd.DataFrame(NOT_AVAILABLE, index=rows, columns=cols, dtype="str")
    numeric = pd.DataFrame(np.nan, index=rows, columns=cols)
    nums = pd.to_numeric(df[values], errors="coerce").astype("float64")
    for r, c, v, s in zip(
        df[index].astype("str"), df[columns].astype("str"), nums, df[status], strict=True
    ):
        code = "" if pd.isna(s) else str(s).strip().strip("[]").lower()
        if code in ("", "ok") and not math.isnan(v):
            places = decimals.get(c) if isinstance(decimals, Mapping) else decimals
            text = _fmt_number(v, places) if places is not None else _fmt_plain(v)
            display.loc[r, c], numeric.loc[r, c] = text, float(v)
        else:
            display.loc[r, c] = _PUBLISHED_SYMBOLS.get(code, NOT_AVAILABLE)
    display.index.name = numeric.index.name = index
    display.columns.name = numeric.columns.name = columns
    return _new(
        display,
        numeric,
        title=title,
        notes=list(notes),
        threshold=0,
        kind="published",
        total_label=None,
    )


def _fmt_plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


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


def _table_html(dt: DisclosedTable, *, table_id: str | None = None) -> str:
    table = dt._table
    idx = table.index
    n_levels = idx.nlevels
    names = [n if n is not None else "" for n in idx.names]
    id_attr = f' id="{html.escape(table_id)}"' if table_id else ""
    # A wide table scrolls sideways inside its wrapper: keyboard users must reach it
    # (axe "scrollable-region-focusable"), and screen readers hear what it holds.
    label = html.escape(dt.title, quote=True)
    parts = [
        f'<div class="disclosed-table" tabindex="0" role="region" aria-label="{label}">'
        f"<table{id_attr}>"
    ]
    parts.append(f"<caption>{html.escape(dt.title)}</caption>")
    parts.append("<thead><tr>")
    for name in names:
        label = _label_html(name) if name else '<span class="visually-hidden">Row</span>'
        parts.append(f'<th scope="col">{label}</th>')
    for col in table.columns:
        parts.append(f'<th scope="col">{_label_html(col)}</th>')
    parts.append("</tr></thead><tbody>")
    total = dt.total_label
    for row_label, row in zip(idx, table.itertuples(index=False), strict=True):
        labels = row_label if isinstance(row_label, tuple) else (row_label,)
        is_total = total is not None and _is_total_label(row_label, total)
        parts.append('<tr class="total">' if is_total else "<tr>")
        for k, lab in enumerate(labels[:n_levels]):
            parts.append(
                f'<th scope="row">{_label_html(lab)}</th>'
                if k == 0
                else f"<td>{_label_html(lab)}</td>"
            )
        for value in row:
            parts.append(f'<td class="num">{_cell_html(str(value))}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if dt.notes:
        parts.append('<ul class="table-notes">')
        parts.extend(f"<li>{html.escape(n)}</li>" for n in dt.notes)
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
