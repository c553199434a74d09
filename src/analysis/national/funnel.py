"""Funnel plots of local authorities against England, with overdispersion, and small multiples of their trends."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis.national.sources import LOCAL, STATUS_OK
from analysis.national.tables import SOURCE_NOTE
from analysis.publish import disclosure, figures

# --------------------------------------------------------------------------------------
# Funnel plot
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelResult:
    """Funnel plot data for one year: points, target rate, limits and areas outside."""

    year: int
    points: pd.DataFrame
    target: float
    dispersion: float
    excluded: int
    limits: pd.DataFrame

    def outside(self, level: float = 0.998) -> pd.DataFrame:
        """Areas outside the ``level`` limits (``above`` True = higher than expected)."""
        col = _limit_name(level)
        pts = self.points
        out = pts[pts[f"outside_{col}"]]
        return out.sort_values(["rate"], ascending=False, ignore_index=True)


def _limit_name(level: float) -> str:
    return f"{level * 100:g}".replace(".", "_")


def _limits(target: float, population: np.ndarray, level: float, phi: float, per: float):
    z = float(stats.norm.ppf(0.5 + level / 2))
    sd = np.sqrt(phi * target / population)
    return (target - z * sd) * per, (target + z * sd) * per


def winsorised_dispersion(count: np.ndarray, expected: np.ndarray, tail: float = 0.1) -> float:
    """Overdispersion factor from z-scores winsorised at ``tail`` (Spiegelhalter 2005).

    ``z = (O - E) / sqrt(E)``; the lowest and highest ``tail`` fractions are set to the
    ``tail`` and ``1 - tail`` quantiles so outlying areas do not widen their own limits;
    ``phi = mean(z^2)``.
    """
    z = (count - expected) / np.sqrt(expected)
    lo, hi = np.quantile(z, [tail, 1 - tail])
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def funnel_data(
    frame: pd.DataFrame,
    year: int,
    *,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: bool = False,
    per: float = 10_000,
) -> FunnelResult:
    """Local authority rates in ``year`` against child population, with control limits.

    The target is the pooled rate over the LAs with published count and population; limits
    are the normal approximation to Poisson, ``target +/- z * sqrt(phi * target / pop)``,
    with ``phi = 1`` or, with ``overdispersion``, the Pearson dispersion of the LA counts
    about the target from winsorised z-scores (:func:`winsorised_dispersion`; multiplicative
    adjustment, Spiegelhalter 2005; only when above 1). LAs
    whose count or population was not published are left out and counted in ``excluded``.
    """
    rows = frame[(frame["year"] == year) & (frame["geographic_level"] == LOCAL)]
    if rows.empty:
        raise ValueError(f"funnel_data: no local authority rows for {year}")
    ok = (
        (rows["status"] == STATUS_OK) & (rows["pop_status"] == STATUS_OK) & (rows["population"] > 0)
    )
    pts = rows[ok]
    count = pts["value"].to_numpy(dtype=float)
    pop = pts["population"].to_numpy(dtype=float)
    target = float(count.sum() / pop.sum())
    expected = target * pop
    phi = 1.0
    if overdispersion:
        phi = max(1.0, winsorised_dispersion(count, expected))
    out = pd.DataFrame(
        {
            "area_code": pts["area_code"].to_numpy(),
            "area_name": pts["area_name"].to_numpy(),
            "count": count,
            "population": pop,
            "rate": count / pop * per,
            "expected": expected,
        }
    )
    grid = np.geomspace(max(pop.min() * 0.8, 1.0), pop.max() * 1.1, 200)
    limits = pd.DataFrame({"population": grid})
    for level in levels:
        name = _limit_name(level)
        lo, hi = _limits(target, pop, level, phi, per)
        # a rate cannot be below zero: neither can its lower limit
        out[f"lower_{name}"], out[f"upper_{name}"] = np.clip(lo, 0, None), hi
        out[f"outside_{name}"] = (out["rate"] < lo) | (out["rate"] > hi)
        glo, ghi = _limits(target, grid, level, phi, per)
        limits[f"lower_{name}"], limits[f"upper_{name}"] = np.clip(glo, 0, None), ghi
    out = out.assign(above=out["rate"] > target * per)
    return FunnelResult(
        year=int(year),
        points=out.sort_values("area_code", ignore_index=True),
        target=target * per,
        dispersion=phi,
        excluded=int((~ok).sum()),
        limits=limits,
    )


def funnel_plot(
    result: FunnelResult, *, measure: str = "CSE identified", label_top: int = 15
) -> Figure:
    """Funnel plot of LA rates against child population, naming the areas outside 99.8%.

    Areas outside the 99.8% limits are labelled on the plot (up to ``label_top`` of them,
    the furthest out first) and all of them are named in the alt text.
    """
    import matplotlib.pyplot as plt

    pts, lim = result.points, result.limits
    outside = result.outside(0.998)
    tiny = pts["population"] < MIN_PLOTTED_POPULATION
    shown = pts.loc[~tiny]
    lim = lim.loc[lim["population"] >= shown["population"].min() * 0.8]
    with figures.house_style():
        fig, ax = plt.subplots(figsize=(figures.A4_WIDTH_IN, 4.6))
        inside = ~shown["outside_99_8"]
        ax.scatter(
            shown.loc[inside, "population"],
            shown.loc[inside, "rate"],
            s=10,
            color=figures.PALETTE[0],
            alpha=0.7,
            label="Within 99.8% limits",
        )
        ax.scatter(
            shown.loc[~inside, "population"],
            shown.loc[~inside, "rate"],
            s=18,
            color=figures.PALETTE[2],
            marker="D",
            label="Outside 99.8% limits",
        )
        ax.axhline(
            result.target, color="#333333", linewidth=1, label=f"England (LAs) {result.target:.1f}"
        )
        for name, style in (("95", "--"), ("99_8", ":")):
            label = "95% limits" if name == "95" else "99.8% limits"
            ax.plot(
                lim["population"],
                lim[f"upper_{name}"],
                style,
                color="#505a5f",
                linewidth=1,
                label=label,
            )
            ax.plot(lim["population"], lim[f"lower_{name}"], style, color="#505a5f", linewidth=1)
        ax.set_xscale("log")
        top = float(max(shown["rate"].max(), lim["upper_95"].median())) * 1.15
        ax.set_ylim(0, top)
        ax.set_xlim(shown["population"].min() * 0.8, shown["population"].max() * 1.25)
        drawn = outside.loc[outside["population"] >= MIN_PLOTTED_POPULATION]
        far = drawn.assign(
            dist=(drawn["rate"] - result.target).abs() / (drawn["upper_99_8"] - result.target)
        )
        ranked = far.sort_values("dist", ascending=False).head(label_top)
        _label_points(ax, fig, ranked)
        ax.set_xlabel("Children aged 0 to 17 (log scale)")
        ax.set_ylabel(f"{measure} per 10,000 children")
        ax.set_title(f"{measure} per 10,000 children by local authority, {result.year}", loc="left")
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
    high = outside[outside["above"]]["area_name"].tolist()
    low = outside[~outside["above"]]["area_name"].tolist()
    alt = (
        f"Funnel plot of {measure} per 10,000 children in {len(pts)} local authorities in "
        f"{result.year} against their child population, with the England rate over these "
        f"authorities ({result.target:.1f}) and 95% and 99.8% control limits"
        + (
            f" (widened for overdispersion, factor {result.dispersion:.2f})"
            if result.dispersion > 1
            else ""
        )
        + f". {len(outside)} authorities lie outside the 99.8% limits: "
        + (f"above: {', '.join(high)}" if high else "none above")
        + "; "
        + (f"below: {', '.join(low)}" if low else "none below")
        + "."
        + (
            f" {result.excluded} authorities are not shown (count suppressed or not published)."
            if result.excluded
            else ""
        )
        + (
            f" {int(tiny.sum())} authorities with fewer than {MIN_PLOTTED_POPULATION:,} "
            "children are not drawn (their limits are too wide to judge them); they are "
            "in the table when outside the limits."
            if tiny.any()
            else ""
        )
    )
    return figures.set_alt_text(fig, alt)


MIN_PLOTTED_POPULATION = 5_000
"""Authorities with fewer children are not drawn on the funnel plot: two very small
authorities would stretch the axis and their limits are too wide to judge them."""


def _label_points(ax: Any, fig: Any, rows: pd.DataFrame) -> None:
    """Name each point in ``rows`` beside it, moving labels apart so none overlaps another
    (a thin line joins a moved label to its point)."""
    if rows.empty:
        return
    fig.canvas.draw()
    to_px = ax.transData.transform
    scale = fig.dpi / 72  # pixels per point
    height = 6 * 1.2 * scale  # one line of 6-point text
    # the labelled points themselves are obstacles too: a label never covers a marker
    placed: list[tuple[float, float, float]] = []  # x0, x1, y of each box in pixels
    for _, row in rows.iterrows():
        px, py = to_px((row["population"], row["rate"]))
        placed.append((px - 4 * scale, px + 4 * scale, py))
    for _, row in rows.sort_values("rate", ascending=False).iterrows():
        x, y = to_px((row["population"], row["rate"]))
        text = str(row["area_name"])
        width = 3.3 * scale * len(text) + 4 * scale
        right = x + width + 30 < ax.bbox.x1
        gap = 5 * scale
        x0, x1 = (x + gap, x + gap + width) if right else (x - gap - width, x - gap)
        ty = y
        for _ in range(60):
            clash = [p for p in placed if p[0] < x1 and x0 < p[1] and abs(p[2] - ty) < height]
            if not clash:
                break
            ty = min(p[2] for p in clash) - height
        placed.append((x0, x1, ty))
        dx, dy = (x0 - x) if right else (x1 - x), ty - y
        ax.annotate(
            text,
            (row["population"], row["rate"]),
            xytext=(dx * 72 / fig.dpi, dy * 72 / fig.dpi),
            textcoords="offset points",
            fontsize=6,
            ha="left" if right else "right",
            va="center",
            color="#0b0c0c",
            arrowprops={"arrowstyle": "-", "color": "#505a5f", "linewidth": 0.5}
            if abs(dy) > 2
            else None,
        )


def funnel_outside_table(result: FunnelResult) -> disclosure.DisclosedTable:
    """The areas outside the 99.8% limits: position, rate, limits and published count.

    Rates and limits are rounded to 1 decimal place; counts are as published (LA counts
    are unrounded and not suppressed when shown).
    """
    out = result.outside(0.998)
    area = out["area_name"].astype("str") + np.where(out["above"], " (above)", " (below)")
    columns = {
        "Rate per 10,000": out["rate"].round(1),
        "Lower 99.8% limit": out["lower_99_8"].round(1),
        "Upper 99.8% limit": out["upper_99_8"].round(1),
        "Count": out["count"],
        "Children aged 0 to 17": out["population"],
    }
    long = pd.concat(
        [
            pd.DataFrame({"Local authority": area, "column": name, "v": values, "s": STATUS_OK})
            for name, values in columns.items()
        ],
        ignore_index=True,
    )
    return disclosure.disclose_published(
        long,
        index="Local authority",
        columns="column",
        values="v",
        status="s",
        title=f"Local authorities outside the 99.8% control limits, {result.year}",
        notes=[
            "Above or below: the rate is higher or lower than the 99.8% limits allow for an "
            "authority of that size.",
            SOURCE_NOTE,
        ],
        decimals={"Rate per 10,000": 1, "Lower 99.8% limit": 1, "Upper 99.8% limit": 1},
    )


# --------------------------------------------------------------------------------------
# Regional small multiples
# --------------------------------------------------------------------------------------


def small_multiples(
    table: disclosure.DisclosedTable,
    *,
    value_label: str = "per 10,000 children",
    reference: str | None = "England",
) -> Figure:
    """One small panel per column of ``table`` (rows = years), same axes, with ``reference``.

    Takes a :class:`DisclosedTable` like every report figure; values shown as symbols are
    gaps.
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, disclosure.DisclosedTable):
        raise TypeError("small_multiples accepts only a DisclosedTable")
    data = table.numeric
    ref = data[reference] if reference and reference in data.columns else None
    panels = [c for c in data.columns if c != reference]
    n_cols = 3
    n_rows = math.ceil(len(panels) / n_cols)
    x = np.arange(len(data.index))
    top = float(np.nanmax(data.to_numpy(dtype=float))) * 1.1
    with figures.house_style():
        fig, axes = plt.subplots(
            n_rows,
            n_cols,
            figsize=(figures.A4_WIDTH_IN, 1.7 * n_rows + 0.6),
            sharex=True,
            sharey=True,
        )
        flat = np.atleast_1d(axes).ravel()
        for ax, col in zip(flat, panels, strict=False):
            if ref is not None:
                ax.plot(x, ref.to_numpy(dtype=float), color="#999999", linewidth=1, label=reference)
            ax.plot(
                x,
                data[col].to_numpy(dtype=float),
                color=figures.PALETTE[0],
                marker="o",
                markersize=2.5,
                linewidth=1.4,
            )
            ax.set_title(str(col), fontsize=8, loc="left")
            ax.set_ylim(0, top)
            ax.set_xticks(x[::2], [str(i) for i in data.index[::2]], fontsize=6)
            ax.tick_params(axis="y", labelsize=6)
        for ax in flat[len(panels) :]:
            ax.set_visible(False)
        fig.supylabel(value_label, fontsize=8)
        fig.suptitle(table.title, fontsize=9, x=0.01, ha="left")
        fig.tight_layout()
    first, last = data.index[0], data.index[-1]
    parts = [
        f"{c}: {data[c].iloc[0]:.1f} in {first} to {data[c].iloc[-1]:.1f} in {last}"
        for c in panels
        if not (math.isnan(data[c].iloc[0]) or math.isnan(data[c].iloc[-1]))
    ]
    alt = (
        f"{table.title}. Small multiples, one panel per region, {value_label} from {first} to "
        f"{last}"
        + (f", with {reference} in grey in each panel" if ref is not None else "")
        + ". "
        + "; ".join(parts)
        + "."
    )
    return figures.set_alt_text(fig, alt)
