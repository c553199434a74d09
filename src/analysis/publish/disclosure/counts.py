"""Disclosure control of count tables: counts by one or two categories with totals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.publish.disclosure.suppression import (
    _as_list,
    _base_notes,
    _counts,
    _fmt_count,
    _fmt_percent,
    _primary,
    _require_columns,
    protect,
    round_to_base,
)
from analysis.publish.disclosure.table import (
    CONFIDENTIAL,
    NOT_AVAILABLE,
    ROUNDS_TO_ZERO,
    TOTAL_LABEL,
    DisclosureError,
    _new,
)

if TYPE_CHECKING:
    from analysis.publish.disclosure.table import DisclosedTable


# --------------------------------------------------------------------------------------
# Public constructors
# --------------------------------------------------------------------------------------


def disclose_counts(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    columns: str | None,
    values: str,
    threshold: int,
    totals: bool = True,
    total_rounding: int,
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
    keys = [(row_index[r], col_labels[c]) for r in range(shape[0]) for c in range(shape[1])]
    return _new(
        table,
        nums,
        title=title,
        notes=_base_notes(threshold, total_rounding if totals else None, notes),
        threshold=threshold,
        kind="counts",
        total_label=TOTAL_LABEL if totals and (has_total_col or has_total_row) else None,
        structure=_structure(keys, relations, total_flat, total_rounding),
        primary=[keys[i] for i in np.flatnonzero(primary & mask.ravel())],
    ).audited()


def _structure(
    keys: Sequence[Any],
    relations: Sequence[tuple[Sequence[int], int]],
    total_flat: np.ndarray,
    total_rounding: int,
    ratios: Sequence[tuple[Any, Any, Any]] = (),
) -> list[tuple[Any, ...]]:
    """The table's arithmetic as :attr:`DisclosedTable.structure`: its sums over the grid
    (``keys`` names each flat position), the rounding of its totals and its percentages."""
    out: list[tuple[Any, ...]] = [
        ("sum", keys[total], tuple(keys[p] for p in parts)) for parts, total in relations
    ]
    if total_rounding > 1:
        out += [("rounded", keys[i], total_rounding) for i in np.flatnonzero(total_flat)]
    out += [("ratio", share, num, den) for share, num, den in ratios]
    return out


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
    threshold: int,
    total_row: bool = True,
    total_rounding: int,
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
    keys = [(row_index[r], count_cols[c]) for r in range(rows) for c in range(n_cols)]
    ratios = [
        ((row_index[r], name), (row_index[r], num), (row_index[r], den))
        for name, (num, den) in percent_columns.items()
        for r in range(rows)
    ]
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
        structure=_structure(keys, rel, total_flat, total_rounding, ratios),
        primary=[keys[i] for i in np.flatnonzero(primary & mask.ravel())],
    ).audited()
