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

import base64
import html
import io
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

# Files are drawn with Agg everywhere (pipeline, tests, papermill kernels). `make lab` sets
# HUBSPOKE_LAB=1 so JupyterLab kernels keep their inline backend and an analyst's own
# plots still show after this module is imported; the files it writes are the same.
if os.environ.get("HUBSPOKE_LAB") != "1":
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.publish.disclosure import DisclosedTable  # noqa: E402

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

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe–Ito colour-blind-safe palette."""

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
    "svg.fonttype": "path",
    "path.simplify": True,
}

_ALT_ATTR = "_hubspoke_alt_text"


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


def _finish(
    fig: Figure, dt: DisclosedTable, description: str, note: str, alt: str | None
) -> Figure:
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


def _describe_range(data: pd.DataFrame) -> str:
    values = data.to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return "No values can be shown."
    return f"Values range from {_num(values.min())} to {_num(values.max())}."


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


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
    """Bars for each row of ``table`` (one series per column), totals excluded."""
    dt = _require_disclosed(table, "bar_chart")
    data = _body(dt, columns)
    _, note = _omitted_note(dt, data)
    n_rows = len(data.index)
    size_h = height or max(DEFAULT_HEIGHT_IN, 0.28 * n_rows * (1 if stacked else len(data.columns)))
    with house_style():
        fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, min(size_h, 9.0)))
        plot_data = data if not horizontal else data.iloc[::-1]
        plot_data.plot(
            kind="barh" if horizontal else "bar",
            stacked=stacked,
            ax=ax,
            color=list(PALETTE[: len(data.columns)]),
            width=0.8,
            legend=len(data.columns) > 1,
        )
        ax.grid(axis="y" if horizontal else "x", visible=False)
        if horizontal:
            ax.set_xlabel(value_label)
            ax.set_ylabel(category_label or _axis_name(dt.table.index.name))
        else:
            ax.set_ylabel(value_label)
            ax.set_xlabel(category_label or _axis_name(dt.table.index.name))
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_title(title or dt.title, loc="left")
        if len(data.columns) > 1:
            ax.legend(title=_axis_name(dt.table.columns.name), frameon=False)
    description = (
        f"{'Horizontal' if horizontal else 'Vertical'} bar chart of {value_label.lower()} "
        f"for {n_rows} categories"
        + (
            f" and {len(data.columns)} series ({', '.join(map(str, data.columns))})."
            if len(data.columns) > 1
            else "."
        )
        + " "
        + _describe_range(data)
    )
    return _finish(fig, dt, description, note, alt)


def _axis_name(name: Any) -> str:
    return "" if name is None else str(name).replace("_", " ").capitalize()


def line_chart(
    table: DisclosedTable,
    *,
    columns: Sequence[str] | None = None,
    value_label: str = "Number",
    x_label: str | None = None,
    title: str | None = None,
    alt: str | None = None,
) -> Figure:
    """One line per column across the rows (in order: e.g. periods), totals excluded.

    Suppressed points leave a gap; isolated points are still drawn as markers.
    """
    dt = _require_disclosed(table, "line_chart")
    data = _body(dt, columns)
    _, note = _omitted_note(dt, data)
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    with house_style():
        fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, DEFAULT_HEIGHT_IN))
        x = np.arange(len(data.index))
        for k, col in enumerate(data.columns):
            ax.plot(
                x,
                data[col].to_numpy(dtype=float),
                marker=markers[k % len(markers)],
                color=PALETTE[k % len(PALETTE)],
                label=str(col),
                linewidth=1.6,
                markersize=4,
            )
        ax.set_xticks(x, [str(i) for i in data.index])
        if len(x) > 6:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_ylabel(value_label)
        ax.set_xlabel(x_label or _axis_name(dt.table.index.name))
        ax.set_title(title or dt.title, loc="left")
        ax.set_ylim(bottom=0 if np.nanmin(data.to_numpy(dtype=float), initial=0) >= 0 else None)
        if len(data.columns) > 1:
            ax.legend(frameon=False, title=_axis_name(dt.table.columns.name))
    first, last = (str(data.index[0]), str(data.index[-1])) if len(data.index) else ("", "")
    description = (
        f"Line chart of {value_label.lower()} from {first} to {last}"
        + (
            f", one line for each of {', '.join(map(str, data.columns))}."
            if len(data.columns) > 1
            else "."
        )
        + " "
        + _describe_range(data)
    )
    return _finish(fig, dt, description, note, alt)


def heatmap(
    table: DisclosedTable,
    *,
    value_label: str = "Share recorded (%)",
    title: str | None = None,
    alt: str | None = None,
    vmin: float | None = 0,
    vmax: float | None = 100,
    annotate: bool = True,
) -> Figure:
    """Heatmap of the grid (e.g. completeness by service × quarter); symbols in grey cells."""
    dt = _require_disclosed(table, "heatmap")
    data = _body(dt, None)
    shown = dt.without_totals().table
    _, note = _omitted_note(dt, data)
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
        ax.set_xlabel(_axis_name(dt.table.columns.name))
        ax.set_ylabel(_axis_name(dt.table.index.name))
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
    description = (
        f"Heatmap with {n_rows} rows ({_axis_name(dt.table.index.name).lower() or 'rows'}) "
        f"and {n_cols} columns ({_axis_name(dt.table.columns.name).lower() or 'columns'}); "
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


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (deterministic: no timestamp, no software tag)."""
    buf = io.BytesIO()
    with plt.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=DPI, metadata=_png_metadata(fig))
    return buf.getvalue()


def _png_metadata(fig: Figure) -> dict[str, str | None]:
    meta: dict[str, str | None] = {"Software": None}
    if alt_text(fig):
        meta["Description"] = alt_text(fig)
    return meta


def save_figure(
    fig: Figure, path_stem: Path | str, *, png: bytes | None = None
) -> tuple[Path, Path]:
    """Write ``<path_stem>.png`` and ``<path_stem>.svg``; identical bytes on every run.

    ``png``, when given, must be ``png_bytes(fig)`` (saves drawing the figure again).
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png_path = stem.with_name(stem.name + ".png")
    svg = stem.with_name(stem.name + ".svg")
    png_path.write_bytes(png if png is not None else png_bytes(fig))
    buf = io.StringIO()
    with plt.rc_context(_RC):
        fig.savefig(
            buf,
            format="svg",
            metadata={
                "Date": None,
                "Creator": None,
                "Title": fig.axes[0].get_title(loc="left") if fig.axes else None,
                "Description": alt_text(fig) or None,
            },
        )
    svg.write_text(buf.getvalue(), encoding="utf-8", newline="\n")
    return png_path, svg


def figure_html(
    fig: Figure, *, alt: str | None = None, caption: str | None = None, png: bytes | None = None
) -> str:
    """``<figure>`` with the PNG inline (base64) and its alt text; raises if no alt text.

    ``png``, when given, must be ``png_bytes(fig)`` (saves drawing the figure again).
    """
    text = alt or alt_text(fig)
    if not text.strip():
        raise ValueError("a figure in a report needs alt text (pass alt=...)")
    data = base64.b64encode(png if png is not None else png_bytes(fig)).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="report-figure"><img src="data:image/png;base64,{data}" '
        f'alt="{html.escape(text, quote=True)}" />{cap}</figure>'
    )


def show_figure(
    fig: Figure,
    *,
    alt: str | None = None,
    caption: str | None = None,
    save_to: Path | str | None = None,
) -> Any:
    """Display a figure in a notebook as an ``<img>`` with alt text; optionally save it.

    Returns an ``IPython.display.HTML`` object (the notebook shows it when it is the last
    expression of a cell, or pass it to ``display``). The figure is closed afterwards so
    the inline backend does not show it a second time without alt text.
    """
    from IPython.display import HTML

    png = png_bytes(fig)  # drawn once, for the file and the page
    if save_to is not None:
        save_figure(fig, save_to, png=png)
    out = HTML(figure_html(fig, alt=alt, caption=caption, png=png))
    plt.close(fig)
    return out


def table_html(table: DisclosedTable, *, href: str | None = None) -> str:
    """The table's accessible HTML, with a CSV download link when ``href`` is given."""
    dt = _require_disclosed(table, "table_html")
    out = dt.to_html()
    if href:
        out += (
            f'<p class="download"><a href="{html.escape(href, quote=True)}" download>'
            f"Download this table as CSV: {html.escape(dt.title)}</a></p>"
        )
    return out


def show_table(
    table: DisclosedTable,
    *,
    csv_path: Path | str | None = None,
    href: str | None = None,
) -> Any:
    """Display a disclosed table in a notebook; optionally write its CSV and link to it.

    ``csv_path`` receives the CSV (display strings: the same suppression as the page);
    the link is ``href`` or, by default, the CSV's file name (a CSV beside the report).
    """
    from IPython.display import HTML

    dt = _require_disclosed(table, "show_table")
    link = href
    if csv_path is not None:
        written = dt.to_csv(csv_path)
        link = href or written.name
    return HTML(table_html(dt, href=link))
