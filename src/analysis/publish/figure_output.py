"""A figure's files and its place in a page: deterministic PNG and SVG (fixed
``svg.hashsalt``, no date), the SVG inline with its text kept as text, ids unique on the
page and the alt text as its name, and the figure's caption."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from analysis.publish.disclosure import DisclosedTable
from analysis.publish.figures import (
    _RC,
    DPI,
    SVG_HASHSALT,
    _require_disclosed,
    alt_text,
)


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


def svg_text(fig: Figure, *, salt: str = "") -> str:
    """The figure as SVG text: text kept as text (it scales and can be selected), no date,
    ids from a fixed salt (``svg.hashsalt`` plus ``salt``): the same bytes on every run."""
    buf = io.StringIO()
    with plt.rc_context({**_RC, "svg.hashsalt": f"{SVG_HASHSALT}{salt}"}):
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
    return buf.getvalue()


def save_figure(
    fig: Figure, path_stem: Path | str, *, png: bytes | None = None, svg: str | None = None
) -> tuple[Path, Path]:
    """Write ``<path_stem>.png`` and ``<path_stem>.svg``; identical bytes on every run.

    ``png`` and ``svg``, when given, must be ``png_bytes(fig)`` and ``svg_text(fig)``
    (saves drawing the figure again).
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png_path = stem.with_name(stem.name + ".png")
    svg_path = stem.with_name(stem.name + ".svg")
    png_path.write_bytes(png if png is not None else png_bytes(fig))
    text = svg if svg is not None else svg_text(fig)
    svg_path.write_text(text, encoding="utf-8", newline="\n")
    return png_path, svg_path


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def inline_svg(svg: str, *, alt: str, prefix: str) -> str:
    """``svg`` (from :func:`svg_text`) ready to sit inside a page: no XML prolog or
    metadata, ids prefixed with ``prefix`` (unique on the page), scaled to its container,
    and exposed as one image named by ``alt`` (``role="img"``, ``<title>``)."""
    body = svg[svg.index("<svg") :]
    body = re.sub(r"<metadata>.*?</metadata>", "", body, flags=re.DOTALL)
    ids = _SVG_ID.findall(body)
    for ident in sorted(set(ids), key=len, reverse=True):
        new = f"{prefix}-{ident}"
        body = body.replace(f'id="{ident}"', f'id="{new}"')
        body = body.replace(f"url(#{ident})", f"url(#{new})")
        body = body.replace(f'href="#{ident}"', f'href="#{new}"')
    title_id = f"{prefix}-title"
    body = re.sub(
        r"<svg\b([^>]*?)\swidth=\"[^\"]*\"\s+height=\"[^\"]*\"",
        rf'<svg\1 role="img" aria-labelledby="{title_id}" class="chart"',
        body,
        count=1,
    )
    close = body.index(">", body.index("<svg")) + 1
    title = f'<title id="{title_id}">{html.escape(alt)}</title>'
    return body[:close] + title + body[close:].rstrip() + "\n"


def figure_html(
    fig: Figure,
    *,
    alt: str | None = None,
    caption: str | None = None,
    png: bytes | None = None,
    svg: str | None = None,
    name: str = "figure",
    caption_html: str | None = None,
) -> str:
    """``<figure>`` with the chart inline as SVG (text stays text and scales with the
    page), named by its alt text, and a caption; raises if there is no alt text.

    ``svg``, when given, must be ``svg_text(fig)`` (saves drawing the figure again); ``name``
    makes the SVG's ids unique on the page; ``caption_html`` is a caption already in HTML.
    ``png`` is accepted for compatibility and not used."""
    text = alt or alt_text(fig)
    if not text.strip():
        raise ValueError("a figure in a report needs alt text (pass alt=...)")
    chart = inline_svg(svg if svg is not None else svg_text(fig), alt=text, prefix=name)
    if caption_html is None and caption:
        caption_html = html.escape(caption)
    cap = f"<figcaption>{caption_html}</figcaption>" if caption_html else ""
    kind = " heatmap" if getattr(fig, "_hubspoke_heatmap", False) else ""
    # on a narrow screen the chart keeps a readable size and scrolls sideways in a region
    # a keyboard can reach (report.css)
    label = html.escape(f"Chart: {text[:80]}", quote=True)
    return (
        f'<figure class="report-figure{kind}"><div class="chart-scroll" tabindex="0" '
        f'role="region" aria-label="{label}">{chart}</div>{cap}</figure>'
    )


def show_figure(
    fig: Figure,
    *,
    alt: str | None = None,
    caption: str | None = None,
    save_to: Path | str | None = None,
    caption_html: str | None = None,
) -> Any:
    """Display a figure in a notebook as inline SVG with alt text; optionally save the same
    SVG as a file (``save_to``: the path without suffix; :func:`save_figure` writes PNG
    and SVG).

    Returns an ``IPython.display.HTML`` object (the notebook shows it when it is the last
    expression of a cell, or pass it to ``display``). The figure is closed afterwards so
    the inline backend does not show it a second time without alt text.
    """
    from IPython.display import HTML

    name = Path(save_to).name if save_to is not None else "figure"
    svg = svg_text(fig, salt=name)  # drawn once, for the file and the page
    if save_to is not None:
        # the page shows the SVG: it is the figure's file too (no raster copy to draw)
        stem = Path(save_to)
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_name(stem.name + ".svg").write_text(svg, encoding="utf-8", newline="\n")
    out = HTML(
        figure_html(fig, alt=alt, caption=caption, svg=svg, name=name, caption_html=caption_html)
    )
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
