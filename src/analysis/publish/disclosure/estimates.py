"""Disclosure control of shares, estimates, programme totals and figures already published; marking revised figures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.publish.disclosure.counts import _make_index
from analysis.publish.disclosure.suppression import (
    _as_list,
    _base_notes,
    _counts,
    _fmt_count,
    _fmt_number,
    _fmt_percent,
    _require_columns,
    is_small,
    round_to_base,
)
from analysis.publish.disclosure.table import (
    CONFIDENTIAL,
    LOW_RELIABILITY,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    REVISED,
    ROUNDS_TO_ZERO,
    TOTAL_LABEL,
    DisclosedTable,
    DisclosureError,
    _fmt_plain,
    _new,
)


def disclose_shares(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    denominator: str,
    numerator: str | None = None,
    share: str | None = None,
    columns: str | None = None,
    threshold: int,
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
    structure, primary = _share_structure(
        table,
        pooled,
        columns=columns,
        share_label=share_label,
        denominator_label=denominator_label if show_denominator else None,
        threshold=threshold,
    )
    return _new(
        table,
        numeric,
        title=title,
        notes=extra,
        threshold=threshold,
        kind="shares",
        total_label=None,
        structure=structure,
        primary=primary,
    )


def _share_structure(
    table: pd.DataFrame,
    pooled: pd.DataFrame,
    *,
    columns: str | None,
    share_label: str,
    denominator_label: str | None,
    threshold: int,
) -> tuple[list[tuple[object, ...]], list[tuple[object, object]]]:
    """Each share as a ratio of a numerator (not shown) to its denominator (shown when
    ``denominator_label``), and the numerators and denominators that are small."""
    structure: list[tuple[object, ...]] = []
    primary: list[tuple[object, object]] = []
    for i, ((n, d), key) in enumerate(
        zip(
            pooled[["__num__", "__den__"]].itertuples(index=False, name=None),
            pooled.index,
            strict=True,
        )
    ):
        if columns is None:
            row = table.index[i]
            share = (row, share_label)
            den = (row, denominator_label or f"{share_label}: denominator")
        else:
            *r, c = key if isinstance(key, tuple) else (key,)
            row_key = tuple(str(x) for x in r) if len(r) > 1 else str(r[0])
            share = (row_key, str(c))
            den = (row_key, f"{c}: denominator")
        num = (share[0], f"{share[1]}: numerator")
        structure.append(("ratio", share, num, den))
        primary += [k for k, v in ((num, n), (den, d)) if is_small(v, threshold)]
    if columns is None and len(structure) > 1:
        # The programme's numerator and denominator (not shown; often published elsewhere).
        for part in (2, 3):
            total = (TOTAL_LABEL, structure[0][part][1])
            structure.append(("sum", total, tuple(rel[part] for rel in structure[: len(pooled)])))
    return structure, primary


def disclose_estimates(
    df: pd.DataFrame,
    *,
    index: str | Sequence[str],
    estimate_columns: Sequence[str] = ("estimate", "ci_lower", "ci_upper"),
    n_column: str = "n",
    p_value_column: str | None = None,
    reliability_column: str | None = None,
    text_columns: Sequence[str] = (),
    threshold: int,
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


def mark_revised(
    dt: DisclosedTable, revised: pd.DataFrame, reasons: tuple[str, ...] = ()
) -> DisclosedTable:
    """Flag cells revised since an earlier report with ``[r]`` (numbers unchanged).

    ``revised`` is a boolean frame aligned to ``dt.table`` (missing cells count as False);
    ``reasons`` are notes saying why (added when a cell is flagged).
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
    if flags.to_numpy().any():
        notes = (*notes, *(r for r in reasons if r not in notes))
    if flags.to_numpy().any() and not any(REVISED in n for n in notes):
        notes = (*notes, f"{REVISED}: revised since the earlier report was published.")
    return dt._derive(table, dt._numeric, notes=notes)


def disclose_programme_totals(
    df: pd.DataFrame,
    *,
    index: str,
    columns: str,
    values: str,
    threshold: int,
    total_rounding: int,
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
        structure=[
            ("rounded", (r, c), total_rounding)
            for r in wide.index
            for c in wide.columns
            if r not in exact and total_rounding > 1
        ],
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
