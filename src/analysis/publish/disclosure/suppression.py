"""The suppression rules: primary suppression of small counts, exact secondary suppression so no suppressed cell can be worked out from totals, rounding, and number formats."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.publish.disclosure.table import (
    _TOL,
    CONFIDENTIAL,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    ROUNDS_TO_ZERO,
    DisclosureError,
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
    return f"{int(value):,}"


def _fmt_number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
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
