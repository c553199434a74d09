"""The report's figures: one house style, disclosed values only, deterministic files.

Every plotting helper accepts only a :class:`analysis.disclosure.DisclosedTable` (anything
else raises ``TypeError``) and plots its published numbers (``DisclosedTable.numeric``):
suppressed or unavailable values are left out, and the figure says so in a note and in its
alt text. Each helper returns a matplotlib ``Figure`` with alt text attached
(:func:`alt_text`); :func:`show_figure` displays it in a notebook as an ``<img>`` with that
alt text, and :func:`save_figure` writes byte-identical PNG and SVG files.

House style: seaborn ``whitegrid`` theme, the Okabe–Ito colour-blind-safe palette, the
``cividis`` colour map for heatmaps, figures 16 cm wide (A4 text width) with 9-point text.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib

# Files are drawn with Agg everywhere (pipeline, tests, papermill kernels). `make lab` sets
# HUBSPOKE_LAB=1 so JupyterLab kernels keep their inline backend and an analyst's own
# plots still show after this module is imported; the files it writes are the same.
if os.environ.get("HUBSPOKE_LAB") != "1":
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.publish.chart_text import (  # noqa: E402
    _bar_message,
    _describe_range,
    _line_message,
)
from analysis.publish.disclosure import DisclosedTable  # noqa: E402
from analysis.publish.disclosure.table import human_header  # noqa: E402
from analysis.publish.palette import (  # noqa: E402
    PALETTE,
    SUPPRESSED_COLOUR,
    series_styles,
)

__all__ = [
    "A4_WIDTH_IN",
    "DPI",
    "PALETTE",
    "alt_text",
    "bar_chart",
    "estimate_plot",
    "figure_html",
    "heatmap",
    "house_style",
    "line_chart",
    "png_bytes",
    "save_figure",
    "set_house_style",
    "show_figure",
    "show_table",
    "table_html",
]

SEQUENTIAL_CMAP = "cividis"
A4_WIDTH_IN = 6.3  # 16 cm: the text width of an A4 page with 2.5 cm margins
DEFAULT_HEIGHT_IN = 3.6
DPI = 150
SVG_HASHSALT = "hubspoke"

_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (A4_WIDTH_IN, DEFAULT_HEIGHT_IN),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "none",
    "path.simplify": True,
}

_ALT_ATTR = "_hubspoke_alt_text"
_SOURCE_ATTR = "_hubspoke_source_table"


def set_house_style() -> None:
    """Apply the house style globally (seaborn theme, palette, sizes)."""
    sns.set_theme(context="paper", style="whitegrid", palette=list(PALETTE), rc=_RC)


@contextmanager
def house_style() -> Iterator[None]:
    """Context manager applying the house style temporarily."""
    with sns.axes_style("whitegrid"), plt.rc_context(_RC), sns.color_palette(list(PALETTE)):
        yield


def _require_disclosed(table: object, func: str) -> DisclosedTable:
    if not isinstance(table, DisclosedTable):
        raise TypeError(
            f"{func} accepts only a DisclosedTable (made by analysis.disclosure), "
            f"not {type(table).__name__}: publish counts through disclosure control first"
        )
    return table


def alt_text(fig: Figure) -> str:
    """The alt text attached to a figure by the helpers in this module (or ``""``)."""
    return str(getattr(fig, _ALT_ATTR, ""))


def set_alt_text(fig: Figure, text: str) -> Figure:
    """Attach ``text`` as the figure's alt text and return the figure."""
    setattr(fig, _ALT_ATTR, " ".join(text.split()))
    return fig


def _omitted_note(dt: DisclosedTable, data: pd.DataFrame) -> tuple[int, str]:
    """Count of values not plotted (suppressed or unavailable) and a sentence about them."""
    missing = int(data.isna().to_numpy().sum())
    if not missing:
        return 0, ""
    shown = dt.table.reindex(index=data.index, columns=data.columns)
    symbols = sorted({s for s in shown.to_numpy().ravel() if isinstance(s, str) and "[" in s})
    sym = ", ".join(s.split()[-1] for s in symbols) if symbols else "symbols"
    word = "value is" if missing == 1 else "values are"
    return missing, f"{missing} {word} not shown ({sym}; see the table)."


def source_table(fig: Figure) -> str:
    """The title of the disclosed table a figure was drawn from (or ``""``)."""
    return str(getattr(fig, _SOURCE_ATTR, ""))


def figure_note(fig: Figure) -> str:
    """The note printed under a figure (suppressed values, a scale not from zero)."""
    return str(getattr(fig, "_hubspoke_note", ""))


def _finish(
    fig: Figure, dt: DisclosedTable, description: str, note: str, alt: str | None
) -> Figure:
    setattr(fig, _SOURCE_ATTR, dt.title)
    fig._hubspoke_note = note
    if note:
        fig.text(0.01, 0.005, note, ha="left", va="bottom", fontsize=7, color="#444444")
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    text = alt or f"{dt.title}. {description}"
    if note and note not in text:
        text = f"{text} {note}"
    return set_alt_text(fig, text)


def _body(dt: DisclosedTable, columns: Sequence[str] | None) -> pd.DataFrame:
    body = dt.without_totals().numeric
    if columns is not None:
        missing = [c for c in columns if c not in body.columns]
        if missing:
            raise KeyError(f"{dt.title!r}: columns {missing} not in {list(body.columns)}")
        body = body[list(columns)]
    body.index = [" ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in body.index]
    return body


def _hidden_in_total(dt: DisclosedTable, data: pd.DataFrame) -> pd.Series | None:
    """Per row of ``data``, the part of the row's published total that its suppressed
    cells hold (the total less the shown parts, where a part is suppressed), or ``None``
    when the table has no total column."""
    total = dt.total_label
    if total is None or total not in dt.numeric.columns:
        return None
    rows = [
        r for r in dt.numeric.index if not (r == total or (isinstance(r, tuple) and r[0] == total))
    ]
    totals = dt.numeric.loc[rows, total].to_numpy(dtype=float)
    shown = np.nansum(data.to_numpy(dtype=float), axis=1)
    hidden = np.where(data.isna().any(axis=1).to_numpy(), np.clip(totals - shown, 0, None), 0.0)
    return pd.Series(np.nan_to_num(hidden), index=data.index)


def _legend_outside(ax: Any, title: str | None = None) -> None:
    """A legend to the right of the plot, never over a bar or line."""
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        title=title or None,
        borderaxespad=0.0,
    )


def bar_chart(
    table: DisclosedTable,
    *,
    columns: Sequence[str] | None = None,
    horizontal: bool = True,
    stacked: bool = False,
    value_label: str = "Number",
    category_label: str | None = None,
    title: str | None = None,
    alt: str | None = None,
    height: float | None = None,
) -> Figure:
    """Bars for each row of ``table`` (one series per column), totals excluded.

    Each series keeps its category's colour on every chart (:func:`category_style`); the
    value axis starts at zero. Stacked bars never drop a suppressed part: where a row's
    parts are suppressed, the part of the row's published total they hold is drawn hatched
    and labelled, so each bar reaches the published total."""
    dt = _require_disclosed(table, "bar_chart")
    data = _body(dt, columns)
    _, note = _omitted_note(dt, data)
    hidden = _hidden_in_total(dt, data) if stacked and columns is None else None
    if hidden is not None and float(hidden.sum()) > 0:
        note = (
            "Hatched: suppressed counts ([c]), drawn as the part of each published total they hold."
        )
    else:
        hidden = None
    n_rows, n_cols = len(data.index), len(data.columns)
    size_h = height or max(DEFAULT_HEIGHT_IN, 0.28 * n_rows * (1 if stacked else n_cols))
    with house_style():
        fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, min(size_h, 9.0)))
        plot_data = data.iloc[::-1] if horizontal else data
        pos = np.arange(n_rows)
        base = np.zeros(n_rows)
        width = 0.8 if stacked or n_cols == 1 else 0.8 / n_cols
        draw = ax.barh if horizontal else ax.bar
        styles = series_styles(list(plot_data.columns))
        for k, col in enumerate(plot_data.columns):
            values = np.nan_to_num(plot_data[col].to_numpy(dtype=float))
            colour, hatch = styles[k]
            offset = pos if stacked or n_cols == 1 else pos - 0.4 + width * (k + 0.5)
            extra = {"left": base} if horizontal else {"bottom": base}
            draw(
                offset,
                values,
                width if not horizontal else width,
                color=colour,
                hatch=hatch or None,
                edgecolor="white",
                linewidth=0.5,
                label=str(col),
                **(extra if stacked else {}),
            )
            if stacked:
                base = base + values
        if hidden is not None:
            rest = (hidden.iloc[::-1] if horizontal else hidden).to_numpy(dtype=float)
            extra = {"left": base} if horizontal else {"bottom": base}
            draw(
                pos,
                rest,
                0.8,
                color="white",
                hatch="///",
                edgecolor=SUPPRESSED_COLOUR,
                linewidth=0.8,
                label="Suppressed [c]",
                **extra,
            )
        ticks = [str(i) for i in plot_data.index]
        if stacked:
            tallest = float(np.max(base + (0 if hidden is None else hidden.to_numpy())))
        else:
            tallest = float(np.nanmax(plot_data.to_numpy(dtype=float), initial=0))
        top = max(tallest * 1.05, 1.0)
        if horizontal:
            ax.set_yticks(pos, ticks)
            ax.set_xlabel(value_label)
            ax.set_ylabel(category_label or _axis_name(dt.table.index.name))
            ax.set_xlim(0, top)
            ax.grid(axis="y", visible=False)
        else:
            ax.set_xticks(pos, ticks)
            ax.set_ylabel(value_label)
            ax.set_xlabel(category_label or _axis_name(dt.table.index.name))
            ax.set_ylim(0, top)
            ax.grid(axis="x", visible=False)
            if n_rows > 6 or max((len(t) for t in ticks), default=0) > 10:
                ax.tick_params(axis="x", labelrotation=45)
        ax.set_title(title or dt.title, loc="left")
        if n_cols > 1 or hidden is not None:
            _legend_outside(ax, _axis_name(dt.table.columns.name))
    description = _bar_message(data, value_label, stacked=stacked) + (
        f" Series: {', '.join(map(str, data.columns))}." if n_cols > 1 else ""
    )
    return _finish(fig, dt, description, note, alt)


def _axis_name(name: Any) -> str:
    return human_header(name)


def value_scale(value_label: str) -> tuple[float, float] | None:
    """The fixed range of a value axis whose label names a bounded scale ("(0-1)": the
    harmonised score), so that charts of one measure share one axis; else ``None``."""
    return (0.0, 1.0) if re.search(r"\b0\s*[-–]\s*1\b", value_label) else None


def line_chart(
    table: DisclosedTable,
    *,
    columns: Sequence[str] | None = None,
    value_label: str = "Number",
    x_label: str | None = None,
    title: str | None = None,
    alt: str | None = None,
    panels: bool = False,
) -> Figure:
    """One line per column across the rows (in order: e.g. periods), totals excluded.

    Suppressed points leave a gap; isolated points are still drawn as markers. Each line
    keeps its category's colour (:func:`category_style`). The value axis starts at zero
    (or spans the measure's scale, :func:`value_scale`). With ``panels``, each series gets
    its own panel and axis (series of different magnitudes are not drawn on one axis).
    """
    dt = _require_disclosed(table, "line_chart")
    data = _body(dt, columns)
    _, note = _omitted_note(dt, data)
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    scale = value_scale(value_label)
    x = np.arange(len(data.index))
    n_panels = len(data.columns) if panels else 1
    with house_style():
        if panels:
            n_across = 2 if n_panels > 1 else 1
            n_down = math.ceil(n_panels / n_across)
            fig, grid = plt.subplots(
                n_down,
                n_across,
                figsize=(A4_WIDTH_IN, min(9.0, 1.9 * n_down + 0.8)),
                squeeze=False,
            )
            axes = list(grid.ravel())
            for extra in axes[n_panels:]:
                extra.set_visible(False)
        else:
            fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, DEFAULT_HEIGHT_IN))
            axes = [ax]
        styles = series_styles(list(data.columns))
        for k, col in enumerate(data.columns):
            ax = axes[k] if panels else axes[0]
            # in panels, each series has its own axis: one colour is enough
            colour = PALETTE[0] if panels else styles[k][0]
            ax.plot(
                x,
                data[col].to_numpy(dtype=float),
                marker=markers[k % len(markers)],
                color=colour,
                label=str(col),
                linewidth=1.6,
                markersize=4,
            )
            if panels:
                ax.set_title(str(col), loc="left", fontsize=9)
        for ax in axes[:n_panels]:
            ax.set_xticks(x, [str(i) for i in data.index])
            if len(x) > 6 or (panels and len(x) > 3):
                ax.tick_params(axis="x", labelrotation=45)
            values = data.to_numpy(dtype=float)
            if scale is not None:
                ax.set_ylim(*scale)
            elif np.nanmin(values, initial=0) >= 0:
                ax.set_ylim(bottom=0)
                if panels:
                    ax.set_ylim(top=max(1.0, ax.get_ylim()[1]))
            ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
            if scale is not None:
                ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.2f}"))
        if panels:
            fig.suptitle(title or dt.title, x=0.01, ha="left", fontsize=10)
            fig.supylabel(value_label, fontsize=9)
            fig.supxlabel(x_label or _axis_name(dt.table.index.name), fontsize=9)
        else:
            ax = axes[0]
            ax.set_ylabel(value_label)
            ax.set_xlabel(x_label or _axis_name(dt.table.index.name))
            ax.set_title(title or dt.title, loc="left")
            if len(data.columns) > 1:
                _legend_outside(ax, _axis_name(dt.table.columns.name))
    description = _line_message(data, value_label) + (
        " Each series has its own panel and axis." if panels and n_panels > 1 else ""
    )
    return _finish(fig, dt, description, note, alt)


def heatmap(
    table: DisclosedTable,
    *,
    value_label: str = "Share recorded (%)",
    title: str | None = None,
    alt: str | None = None,
    vmin: float | None = None,
    vmax: float | None = 100,
    annotate: bool = True,
) -> Figure:
    """Heatmap of the grid (e.g. completeness by service × quarter); symbols in grey cells.

    The colour scale runs from ``vmin`` (by default 0, or the tens below the smallest
    value when every value is over 50, said in the figure's note) to ``vmax``; each cell
    prints its value, so colour is never the only cue."""
    dt = _require_disclosed(table, "heatmap")
    data = _body(dt, None)
    shown = dt.without_totals().table
    _, note = _omitted_note(dt, data)
    low = np.nanmin(data.to_numpy(dtype=float), initial=np.inf)
    if vmin is None:
        vmin = 0.0 if not np.isfinite(low) or low <= 50 else math.floor(low / 10) * 10
        if vmin > 0:
            note = f"Colour scale from {vmin:.0f} to {vmax:.0f}, not from zero. {note}".strip()
    columns_name = _axis_name(dt.table.columns.name)
    if columns_name == "Quarter" and not all(re.search(r"Q[1-4]$", str(c)) for c in data.columns):
        columns_name = "Period (year or quarter)"
    n_rows, n_cols = data.shape
    height = min(9.0, max(2.4, 0.3 * n_rows + 1.4))
    with house_style():
        fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, height))
        ax.set_facecolor("#DDDDDD")
        ax.grid(False)
        sns.heatmap(
            data.astype(float),
            ax=ax,
            cmap=SEQUENTIAL_CMAP,
            vmin=vmin,
            vmax=vmax,
            mask=data.isna(),
            annot=shown.to_numpy() if annotate and n_cols <= 16 else False,
            fmt="",
            annot_kws={"fontsize": 6},
            linewidths=0.5,
            linecolor="white",
            cbar_kws={"label": value_label},
        )
        if annotate and n_cols <= 16:
            for r in range(n_rows):
                for c in range(n_cols):
                    if math.isnan(float(data.iat[r, c])):
                        ax.text(
                            c + 0.5,
                            r + 0.5,
                            shown.iat[r, c],
                            ha="center",
                            va="center",
                            fontsize=6,
                            color="#333333",
                        )
        ax.set_title(title or dt.title, loc="left")
        ax.set_xlabel(columns_name)
        ax.set_ylabel(_axis_name(dt.table.index.name))
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
    fig._hubspoke_heatmap = True
    description = (
        f"Heatmap with {n_rows} rows ({_axis_name(dt.table.index.name).lower() or 'rows'}) "
        f"and {n_cols} columns ({columns_name.lower() or 'columns'}); "
        f"darker means lower {value_label.lower()}. {_describe_range(data)}"
    )
    return _finish(fig, dt, description, note, alt)


def estimate_plot(
    table: DisclosedTable,
    *,
    estimate: str = "estimate",
    lower: str = "ci_lower",
    upper: str = "ci_upper",
    value_label: str = "Estimate (95% confidence interval)",
    x_label: str | None = None,
    reference: float | None = 0.0,
    event_study: bool | None = None,
    title: str | None = None,
    alt: str | None = None,
) -> Figure:
    """Point estimates with 95% intervals, one per row.

    With a numeric row index (event time, months since referral...) time is on the x axis,
    with a dashed line between periods -1 and 0 when the index has both negative and
    non-negative values (event-study style); otherwise rows are labelled on the y axis.
    """
    dt = _require_disclosed(table, "estimate_plot")
    data = _body(dt, [estimate, lower, upper])
    _, note = _omitted_note(dt, data[[estimate]])
    labels = list(data.index)
    if event_study is None:
        event_study = all(_is_number(lab) for lab in labels) and len(labels) > 0
    est = data[estimate].to_numpy(dtype=float)
    lo = data[lower].to_numpy(dtype=float)
    hi = data[upper].to_numpy(dtype=float)
    ok = ~np.isnan(est)
    with house_style():
        fig, ax = plt.subplots(
            figsize=(
                A4_WIDTH_IN,
                DEFAULT_HEIGHT_IN if event_study else max(2.4, 0.35 * len(labels) + 1.2),
            )
        )
        if event_study:
            x = np.array([float(lab) for lab in labels])
            ax.errorbar(
                x[ok],
                est[ok],
                yerr=_err(est, lo, hi, ok),
                fmt="o",
                color=PALETTE[0],
                ecolor=PALETTE[0],
                capsize=3,
                markersize=4,
            )
            if reference is not None:
                ax.axhline(reference, color="#555555", linewidth=0.8)
            if x.size and x.min() < 0 <= x.max():
                # Between the last period before and the first period after the event.
                ax.axvline(-0.5, color="#555555", linewidth=0.8, linestyle="--")
            if len(x) <= 24:
                ax.set_xticks(x, [f"{v:g}" for v in x])
            if value_scale(value_label) is not None:
                ax.set_ylim(*value_scale(value_label))
            ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
            ax.set_xlabel(x_label or "Quarters relative to the spoke starting")
            ax.set_ylabel(value_label)
        else:
            y = np.arange(len(labels))[::-1]
            ax.errorbar(
                est[ok],
                y[ok],
                xerr=_err(est, lo, hi, ok),
                fmt="o",
                color=PALETTE[0],
                ecolor=PALETTE[0],
                capsize=3,
                markersize=4,
            )
            ax.set_yticks(y, [str(lab) for lab in labels])
            if reference is not None:
                ax.axvline(reference, color="#555555", linewidth=0.8)
            ax.set_xlabel(value_label)
        ax.set_title(title or dt.title, loc="left")
    parts = []
    for lab, e, a, b, good in zip(labels, est, lo, hi, ok, strict=True):
        if good:
            parts.append(f"{lab}: {e:.2f} ({a:.2f} to {b:.2f})")
    description = (
        (
            "Event-study plot"
            if event_study and any(_is_number(v) and float(v) < 0 for v in labels)
            else "Plot"
        )
        + " of point estimates with 95% confidence intervals. "
        + (
            "; ".join(parts[:12]) + ("; ..." if len(parts) > 12 else "") + "."
            if parts
            else "No estimate can be shown yet."
        )
    )
    return _finish(fig, dt, description, note, alt)


def _is_number(x: Any) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


def _err(est: np.ndarray, lo: np.ndarray, hi: np.ndarray, ok: np.ndarray) -> np.ndarray:
    lower = np.where(np.isnan(lo), 0.0, est - lo)[ok]
    upper = np.where(np.isnan(hi), 0.0, hi - est)[ok]
    return np.vstack([np.clip(lower, 0, None), np.clip(upper, 0, None)])


# The files and the page (re-exported: ``figures.show_figure`` is the one way to show one).
from analysis.publish.figure_output import (  # noqa: E402
    figure_html,
    png_bytes,
    save_figure,
    show_figure,
    show_table,
    table_html,
)
