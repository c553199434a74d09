"""The event-study chart over a whole window with its simultaneous band (issue 22): the
house style and disclosure rules of :mod:`analysis.publish.figures`, one more chart."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from analysis.publish.disclosure import DisclosedTable
from analysis.publish.figures import (
    A4_WIDTH_IN,
    DEFAULT_HEIGHT_IN,
    PALETTE,
    _body,
    _err,
    _finish,
    _omitted_note,
    _require_disclosed,
    house_style,
    plt,
)

__all__ = ["event_study_band_plot"]


def event_study_band_plot(
    table: DisclosedTable,
    *,
    estimate: str,
    lower: str,
    upper: str,
    band_lower: str,
    band_upper: str,
    value_label: str,
    x_label: str,
    title: str | None = None,
) -> Figure:
    """An event study over its whole window: point estimates with pointwise 95% intervals
    and the simultaneous 95% band as a shaded area (a reference period with no interval
    is drawn as an open circle at its value)."""
    dt = _require_disclosed(table, "event_study_band_plot")
    data = _body(dt, [estimate, lower, upper, band_lower, band_upper])
    _, note = _omitted_note(dt, data[[estimate]])
    x = np.array([float(lab) for lab in data.index])
    est = data[estimate].to_numpy(dtype=float)
    lo, hi = data[lower].to_numpy(dtype=float), data[upper].to_numpy(dtype=float)
    blo, bhi = data[band_lower].to_numpy(dtype=float), data[band_upper].to_numpy(dtype=float)
    ok = ~np.isnan(est)
    with_ci = ok & ~np.isnan(lo) & ~np.isnan(hi)
    with house_style():
        fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, DEFAULT_HEIGHT_IN))
        ax.fill_between(
            x, blo, bhi, color=PALETTE[0], alpha=0.15, linewidth=0,
            label="Simultaneous 95% band",
        )  # fmt: skip
        ax.errorbar(
            x[with_ci], est[with_ci], yerr=_err(est, lo, hi, with_ci), fmt="o",
            color=PALETTE[0], ecolor=PALETTE[0], capsize=2, markersize=3.5,
            label="Estimate with pointwise 95% interval",
        )  # fmt: skip
        ref = ok & ~with_ci
        if ref.any():
            ax.plot(
                x[ref], est[ref], "o", markerfacecolor="white", color=PALETTE[0],
                markersize=4, label="Reference quarter (0 by definition)",
            )  # fmt: skip
        ax.axhline(0.0, color="#555555", linewidth=0.8)
        if x.size and x.min() < 0 <= x.max():
            ax.axvline(-0.5, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
        ax.set_xlabel(x_label)
        ax.set_ylabel(value_label)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        ax.set_title(title or dt.title, loc="left")
    outside = [
        f"{v:g}" for v, a, b in zip(x, blo, bhi, strict=True)
        if v < -1 and not np.isnan(a) and (a > 0 or b < 0)
    ]  # fmt: skip
    description = (
        f"Event-study plot over {len(x)} quarters, from {x.min():g} to {x.max():g} quarters "
        "relative to arrival, with pointwise 95% intervals and a simultaneous 95% band. "
        + (
            f"Before arrival the band excludes zero at quarters {', '.join(outside)}."
            if outside
            else "Before arrival the band includes zero at every quarter."
        )
    )
    return _finish(fig, dt, description, note, None)
