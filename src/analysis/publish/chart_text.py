"""What a chart says in words: the message its alt text states (largest and smallest
bars, each line's first and last values, the range shown)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _describe_range(data: pd.DataFrame) -> str:
    values = data.to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return "No values can be shown."
    return f"Values range from {_num(values.min())} to {_num(values.max())}."


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _bar_message(data: pd.DataFrame, value_label: str, *, stacked: bool) -> str:
    """What a bar chart shows, in a sentence: the largest and smallest bars."""
    what = value_label.lower()
    totals = data.sum(axis=1, min_count=1) if stacked or data.shape[1] == 1 else None
    if totals is None:
        return f"Bar chart of {what} by {data.shape[0]} rows and {data.shape[1]} series. " + (
            _describe_range(data)
        )
    totals = totals.dropna()
    if totals.empty:
        return f"Bar chart of {what}: no value can be shown."
    if len(totals) == 1:
        return f"Bar chart of {what}: {totals.index[0]}, {_num(float(totals.iloc[0]))}."
    top, low = totals.idxmax(), totals.idxmin()
    return (
        f"Bar chart of {what}: highest {top} ({_num(float(totals[top]))}), lowest {low} "
        f"({_num(float(totals[low]))})."
    )


def _line_message(data: pd.DataFrame, value_label: str) -> str:
    """What a line chart shows: each series' first and last values."""
    if not len(data.index):
        return f"Line chart of {value_label.lower()}: no value can be shown."
    first, last = str(data.index[0]), str(data.index[-1])
    parts = []
    for col in data.columns:
        series = data[col].dropna()
        if series.empty:
            parts.append(f"{col}: not shown")
        elif len(series) == 1:
            parts.append(f"{col}: {_num(float(series.iloc[0]))} in {series.index[0]}")
        else:
            parts.append(
                f"{col}: from {_num(float(series.iloc[0]))} in {series.index[0]} to "
                f"{_num(float(series.iloc[-1]))} in {series.index[-1]}"
            )
    return f"Line chart of {value_label.lower()}, {first} to {last}. " + "; ".join(parts) + "."
