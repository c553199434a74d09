"""Tests for analysis.figures: disclosed tables only, suppressed points omitted, alt text,
byte-identical PNG and SVG files."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.publish import disclosure as D
from analysis.publish import figures as F
from analysis.publish import palette as P


@pytest.fixture(scope="module")
def counts() -> D.DisclosedTable:
    rows = [
        {"quarter": f"2015-16 Q{q}", "service": f"S{s:02d}", "n": n}
        for q, ns in enumerate([[12, 3, 20], [15, 25, 30], [18, 22, 2], [40, 11, 12]], start=1)
        for s, n in enumerate(ns, start=1)
    ]
    return D.disclose_counts(
        pd.DataFrame(rows),
        index="quarter",
        columns="service",
        values="n",
        title="Referrals",
        threshold=9,
        total_rounding=5,
    )


@pytest.fixture(scope="module")
def shares() -> D.DisclosedTable:
    df = pd.DataFrame(
        {
            "service": ["S01", "S01", "S02", "S02", "S03", "S03"],
            "quarter": ["Q1", "Q2"] * 3,
            "yp": [40, 5, 30, 20, 12, 60],
            "rec": [0.9, 1.0, 0.5, 0.75, 0.5, 0.95],
        }
    )
    return D.disclose_shares(
        df,
        index="service",
        columns="quarter",
        share="rec",
        denominator="yp",
        title="Recorded",
        threshold=9,
    )


@pytest.fixture(scope="module")
def estimates() -> D.DisclosedTable:
    df = pd.DataFrame(
        {
            "t": [-2, -1, 0, 1, 2],
            "estimate": [0.0, 0.1, 0.3, 0.4, 0.2],
            "ci_lower": [-0.2, -0.1, 0.1, 0.1, -0.1],
            "ci_upper": [0.2, 0.3, 0.5, 0.7, 0.5],
            "n": [120, 130, 125, 110, 4],
        }
    )
    return D.disclose_estimates(df, index="t", title="Event study", threshold=9)


@pytest.mark.parametrize(
    "helper", [F.bar_chart, F.line_chart, F.heatmap, F.estimate_plot, F.show_table, F.table_html]
)
@pytest.mark.parametrize(
    "not_disclosed",
    [pd.DataFrame({"a": [1, 2]}), np.array([[1, 2]]), {"a": [1]}],
    ids=["dataframe", "array", "dict"],
)
def test_helpers_accept_only_disclosed_tables(helper, not_disclosed) -> None:
    with pytest.raises(TypeError, match="only a DisclosedTable"):
        helper(not_disclosed)


def test_bar_chart_plots_only_published_values(counts: D.DisclosedTable) -> None:
    fig = F.bar_chart(counts, horizontal=False)
    ax = fig.axes[0]
    heights = sorted(round(p.get_height()) for p in ax.patches if p.get_height() > 0)
    published = counts.without_totals().numeric.to_numpy().ravel()
    published = sorted(int(v) for v in published if not np.isnan(v))
    assert heights == published
    # No bar for a suppressed value, and no small count anywhere.
    assert all(not 1 <= h <= 9 for h in heights)
    # Totals are not plotted.
    assert "Total" not in [t.get_text() for t in ax.get_xticklabels()]
    n_missing = int(counts.without_totals().numeric.isna().to_numpy().sum())
    assert n_missing > 0
    assert f"{n_missing} values are not shown" in F.alt_text(fig)
    assert any("not shown" in t.get_text() for t in fig.texts)
    plt.close(fig)


def test_line_chart_gaps_for_suppressed(counts: D.DisclosedTable) -> None:
    fig = F.line_chart(counts)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    ys = np.concatenate([line.get_ydata() for line in ax.lines]).astype(float)
    assert np.isnan(ys).sum() == counts.without_totals().numeric.isna().to_numpy().sum()
    assert "Line chart" in F.alt_text(fig) and "Referrals" in F.alt_text(fig)
    plt.close(fig)


def test_heatmap_masks_suppressed(shares: D.DisclosedTable) -> None:
    fig = F.heatmap(shares)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "[c]" in texts  # S01 Q2 has 5 records
    assert "90" in texts
    assert "Heatmap" in F.alt_text(fig)
    plt.close(fig)


def test_estimate_plot_event_study(estimates: D.DisclosedTable) -> None:
    fig = F.estimate_plot(estimates)
    alt = F.alt_text(fig)
    assert "Event-study" in alt
    assert "0: 0.30 (0.10 to 0.50)" in alt
    assert "; 2: " not in alt  # N = 4: suppressed, not plotted
    assert "1 value is not shown" in alt
    plt.close(fig)


def _svg_ids(text: str) -> list[str]:
    return re.findall(r'id="([^"]+)"', text)


def test_save_figure_is_byte_identical(counts: D.DisclosedTable, tmp_path: Path) -> None:
    png1, svg1 = F.save_figure(F.bar_chart(counts), tmp_path / "a" / "fig")
    first = png1.read_bytes(), svg1.read_bytes()
    plt.close("all")
    # A brand-new figure from the same table, saved elsewhere: the same bytes.
    png2, svg2 = F.save_figure(F.bar_chart(counts), tmp_path / "b" / "fig")
    assert (png2.read_bytes(), svg2.read_bytes()) == first
    assert png1.suffix == ".png" and svg1.suffix == ".svg"
    svg_text = svg1.read_text(encoding="utf-8")
    assert "<dc:date>" not in svg_text
    assert "Matplotlib v" not in svg_text  # no creator/version stamp
    assert "Referrals" in svg_text  # title and description from the alt text
    assert b"Software" not in first[0][:2000]
    plt.close("all")


def test_show_figure_html_has_alt(counts: D.DisclosedTable) -> None:
    fig = F.line_chart(counts)
    shown = F.show_figure(fig)
    html = shown.data
    # inline SVG: text stays text, named by the alt text, ids unique to the figure
    assert html.startswith('<figure class="report-figure"><div class="chart-scroll" tabindex="0"')
    assert 'role="region"' in html and "<svg " in html
    assert 'role="img" aria-labelledby="figure-title"' in html
    assert '<title id="figure-title">Referrals. Line chart' in html
    assert "<text" in html and "<?xml" not in html and "<metadata>" not in html
    svg = html[html.index("<svg") :]
    assert all(i.startswith("figure-") for i in re.findall(r'\bid="([^"]+)"', svg))
    assert not plt.fignum_exists(fig.number)
    bare = plt.figure()
    with pytest.raises(ValueError, match="alt text"):
        F.figure_html(bare)
    plt.close(bare)


def _contrast(colour: str, against: str = "#FFFFFF") -> float:
    def lum(h: str) -> float:
        parts = [int(h.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = lum(colour), lum(against)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def test_house_style_palette_reaches_3_to_1_and_keeps_colours() -> None:
    """The Analysis Function palette (afcharts), each colour 3:1 against white; a category
    keeps its colour whatever else is drawn."""
    assert P._af_palette() == F.PALETTE
    assert all(_contrast(c) >= 3.0 for c in F.PALETTE)
    assert _contrast(P.SUPPRESSED_COLOUR) >= 3.0
    police = P.category_style("Police")
    assert P.category_style("police") == police
    # a referral source keeps its style whatever else the chart shows; others take free ones
    styles = P.series_styles(["Some label", "Police", "Another label"])
    assert styles[1] == police and len(set(styles)) == 3
    F.set_house_style()
    assert plt.rcParams["figure.figsize"][0] == pytest.approx(F.A4_WIDTH_IN)
    assert plt.rcParams["svg.hashsalt"] == F.SVG_HASHSALT


def test_show_table_writes_csv_and_links(counts: D.DisclosedTable, tmp_path: Path) -> None:
    shown = F.show_table(
        counts, csv_path=tmp_path / "tables" / "referrals.csv", href="tables/referrals.csv"
    )
    assert "<caption>Referrals</caption>" in shown.data
    assert 'href="tables/referrals.csv" download' in shown.data
    text = (tmp_path / "tables" / "referrals.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "Quarter,Service,Value,Status"
    assert "[c]" in text
