"""The landing page (``reports/index.html``): every year's report and the headline trend.

The trend is built from each year's metrics (``metrics/<year>.json``, written by the
``analyse`` stage) and passes disclosure control like any report table: programme totals
are rounded and small ones suppressed. ``reports/headline_trend.csv`` holds the same
disclosed values for ``dvc plots``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.core import calendar, paths
from analysis.core.catalog import INDEX_STATISTICS, REVISIONS
from analysis.core.io import csv_text, read_json
from analysis.core.labels import COUNT_WORDS
from analysis.core.settings import load_settings
from analysis.publish import disclosure, figures
from analysis.publish.registry import RULES, Registry
from analysis.publish.render import images_without_alt, page_html
from analysis.report.wording import EXACT_FIGURES, slug

TREND_FIGURES: dict[str, str] = {
    "young_people_supported": "Young people supported",
    "group_attendees": "Children and young people at group sessions",
    "referrals": "Referrals",
    "professionals_trained": "Professionals trained",
    "training_sessions": "Training sessions",
    "services_active": "Services active",
    "spoke_areas_reached": "Spoke areas reached",
    "spoke_posts_filled": "Spoke posts filled",
}


TREND_YEAR = "Evaluation year"
"""The year column's heading in ``headline_trend.csv``."""

NOT_PLOTTED: tuple[str, ...] = ("Services active", "Spoke areas reached", "Spoke posts filled")
"""Figures left out of the trend chart (small counts on another scale; in the table)."""


def trend_frame(metrics: dict[str, dict]) -> pd.DataFrame:
    """Tidy (figure, evaluation_year, value) rows of the headline figures across years."""
    rows = []
    for year, values in metrics.items():
        for key, name in TREND_FIGURES.items():
            value = values.get(key)
            rows.append({"Figure": name, "evaluation_year": year, "value": value})
    return pd.DataFrame(rows, columns=["Figure", "evaluation_year", "value"])


def disclosed_trend(
    metrics: dict[str, dict], *, threshold: int, total_rounding: int
) -> disclosure.DisclosedTable:
    """The headline trend across years, disclosure-controlled."""
    return disclosure.disclose_programme_totals(
        trend_frame(metrics),
        index="Figure",
        columns="evaluation_year",
        values="value",
        threshold=threshold,
        total_rounding=total_rounding,
        exact=EXACT_FIGURES,
        title="Headline figures by evaluation year (programme)",
    )


def trend_csv(table: disclosure.DisclosedTable) -> pd.DataFrame:
    """The disclosed trend as ``dvc plots`` and spreadsheets read it: one row per year,
    readers' headings ("Evaluation year", "Young people supported" ...), whole numbers
    written without a decimal point, empty where a figure is suppressed."""
    numeric = table.numeric.T
    out = numeric.rename_axis(TREND_YEAR).reset_index()
    for column in numeric.columns:
        out[column] = out[column].astype("Int64")
    return out


def latest_figures(
    metrics: dict[str, dict], revisions: dict[str, dict]
) -> tuple[dict[str, dict], pd.DataFrame]:
    """Each year's headline figures as known now (``revisions``: the latest analysis's
    view of earlier years) over the first-published ``metrics``, and a frame (figure x
    year) flagging the figures that differ from their first publication."""
    latest = {year: {**values, **revisions.get(year, {})} for year, values in metrics.items()}
    flags = pd.DataFrame(False, index=list(TREND_FIGURES.values()), columns=list(metrics))
    for year, values in revisions.items():
        for key, name in TREND_FIGURES.items():
            first = metrics.get(year, {}).get(key)
            if year in flags.columns and key in values and first is not None:
                flags.loc[name, year] = values[key] != first
    return latest, flags


def _latest_revisions(analysis_dir: Path, years: list[str]) -> dict[str, dict]:
    """The revisions file of the latest year that has one (empty if none has)."""
    for year in reversed(years):
        path = analysis_dir / year / REVISIONS
        if path.exists():
            return read_json(path)
    return {}


def _most_in(metrics: dict[str, dict], key: str) -> tuple[str, int] | None:
    """The year with the most of ``key`` and that number (the first such year)."""
    values = [(y, v[key]) for y, v in metrics.items() if isinstance(v.get(key), int | float)]
    if not values:
        return None
    year, value = max(values, key=lambda yv: yv[1])
    return year, int(value)


Cite = Callable[[str, str, int], str]
"""``cite(key, year, value)``: the number as the page states it (tagged)."""


def programme_sentence(metrics: dict[str, dict], cite: Cite | None = None) -> str:
    """What the programme is, with its services, areas and spoke posts counted from the
    years' metrics (never restated as fixed numbers, so every scale reads correctly).

    ``cite`` states each number (the index tags it with the trend table's statistic);
    by default the numbers are plain text."""
    say: Cite = cite or (lambda _key, _year, value: f"{value:,}")

    def most(key: str) -> str | None:
        found = _most_in(metrics, key)
        return None if not found or not found[1] else say(key, *found)

    services = most("services_active")
    areas = most("spoke_areas_reached")
    posts = most("spoke_posts_filled")
    phases = COUNT_WORDS[len(calendar.PHASE_STARTS)]
    first, last = calendar.PHASE_STARTS[0].year, calendar.PHASE_STARTS[-1].year
    who = (
        f"{services} voluntary-sector child sexual exploitation services"
        if services
        else "voluntary-sector child sexual exploitation services"
    )
    where = f"{areas} new local authority areas" if areas else "new areas"
    text = (
        f"{who} that placed specialist spoke workers in {where} of England in {phases} "
        f"phases ({first}–{last})"
    )
    if posts:
        text += f", with up to {posts} spoke posts filled in a year"
    return text + "."


def build_index(
    reports_dir: Path,
    *,
    metrics_dir: Path | None = None,
    analysis_dir: Path | None = None,
    params_file: Path | None = None,
) -> Path:
    """Write ``reports_dir/index.html`` and ``headline_trend.csv``; return the page's path.

    The trend shows each year's figures as the latest report knows them, marked [r] where
    late or resubmitted returns revised them since their first publication."""
    reports_dir = Path(reports_dir)
    settings = load_settings(params_file)
    years = list(settings.years)
    metrics_dir = Path(metrics_dir) if metrics_dir else paths.METRICS_DIR
    metrics = {}
    for year in years:
        path = metrics_dir / f"{year}.json"
        metrics[year] = read_json(path) if path.exists() else {}
    revisions = _latest_revisions(Path(analysis_dir or paths.INTERIM_DIR), years)
    latest, revised = latest_figures(metrics, revisions)
    table = disclosed_trend(
        latest,
        threshold=settings.report.suppression_threshold,
        total_rounding=settings.report.total_rounding,
    )
    table = disclosure.mark_revised(table, revised.reindex_like(table.table).fillna(False))
    (reports_dir / "headline_trend.csv").write_text(
        csv_text(trend_csv(table), index=False), "utf-8", newline=""
    )
    registry = Registry(years[-1] if years else "")
    registry.number(RULES["threshold"], settings.report.suppression_threshold)
    registry.number(RULES["rounding"], settings.report.total_rounding)
    name = slug(table.title)
    ids = registry.table(table, name)

    def cite(key: str, year: str, value: int) -> str:
        row = TREND_FIGURES[key]
        if row in ids.index and year in ids.columns:
            return registry.cite(ids.loc[row, year], f"{value:,}")
        return registry.number(f"index/{key}/most-in-a-year", value)

    sentence = programme_sentence(latest, cite)
    trend_html = table.to_html(stats=name, cell_ids=ids, notes_html=registry.tag_notes(table.notes))

    items = []
    for year in years:
        exists = (reports_dir / year / "report.html").exists()
        link = f'<a href="{year}/report.html">Evaluation report {year}</a>'
        items.append(f"<li>{link}{'' if exists else ' (not yet produced)'}</li>")
    plotted = table.select(rows=[r for r in table.table.index if r not in NOT_PLOTTED])
    fig = figures.line_chart(
        plotted.transposed(),
        value_label="Number",
        x_label="Evaluation year",
        title="Headline figures by evaluation year",
        panels=True,
    )
    national = reports_dir / "national" / "report.html"
    context = (
        '<p><a href="national/report.html">National context: children in need and CSE '
        "identified at assessment (DfE)</a></p>"
        if national.exists()
        else ""
    )
    synthetic_note = (
        '<p class="warning"><strong>Synthetic data.</strong> The year reports describe the '
        "synthetic programme the pipeline generates to exercise every step, not real services "
        "or young people. The national context page uses real published statistics.</p>"
        if settings.synthetic_data
        else ""
    )
    body = f"""
<p>Year-by-year evaluation reports of the CSE Hub and Spoke programme: {sentence}
Each report uses the data received by its cut-off; figures that a later report revises are
marked [r] there.</p>
{synthetic_note}
<h2>Reports</h2>
<ul>{"".join(items)}</ul>
<h2>The headline trend</h2>
{trend_html}
{figures.show_figure(fig).data}
<h2>Quality assurance</h2>
<ul>
<li><a href="aqa/assumptions-and-caveats.html">Assumptions and caveats log</a></li>
<li><a href="aqa/data-log.html">Data log</a></li>
</ul>
{context}
<h2>Symbols</h2>
{disclosure.symbol_key_html()}
"""
    page = page_html(title="Hub and Spoke evaluation: reports", body=body)
    missing = images_without_alt(page)
    if missing:
        raise ValueError(f"index page has images without alt text: {missing}")
    out = reports_dir / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8", newline="\n")
    registry.write(reports_dir / Path(INDEX_STATISTICS).name)
    return out
