"""The one writer of a year's report: saves what the sections return and shows it.

Sections (:mod:`analysis.report.sections`) are pure: they return text, disclosed tables
and figures. A table meant for download is wrapped by :func:`table_item`, a figure by
:func:`figure_item`; :class:`ReportWriter` writes each table's CSV (and the tables'
``index.json``), each figure's PNG and SVG, and returns what the notebook displays: the
table with its download link, the figure inline. Nothing else writes into a report folder.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.core.catalog import STATISTICS
from analysis.core.io import write_json
from analysis.publish import figures
from analysis.publish.disclosure import DisclosedTable
from analysis.publish.registry import Registry
from analysis.publish.release import archived, revise, write_reasons
from analysis.report.wording import HTML, slug


@dataclass(frozen=True)
class TableItem:
    """A disclosed table to show and to offer as a CSV download."""

    table: DisclosedTable


@dataclass(frozen=True)
class FigureItem:
    """A figure to show inline and to save as PNG and SVG under ``name``."""

    figure: Any
    name: str


def table_item(table: DisclosedTable) -> list[Any]:
    """A section's table with a download (one-element list, to splice into a section)."""
    return [TableItem(table)]


def figure_item(fig: Any, name: str) -> list[Any]:
    """A section's figure, saved as ``figures/<slug(name)>.png`` and ``.svg``."""
    return [FigureItem(fig, name)]


@dataclass(frozen=True)
class TableBlock:
    """A published table as the page shows it: its cells carry their statistics' ids."""

    table: DisclosedTable
    name: str
    cell_ids: Any
    notes_html: tuple[str, ...]
    number: str | None = None

    def _repr_html_(self) -> str:
        return self.table.to_html(
            table_id=f"table-{self.number.replace('.', '-')}" if self.number else None,
            stats=self.name if self.cell_ids is not None else None,
            cell_ids=self.cell_ids,
            notes_html=self.notes_html,
            number=self.number,
        )

    def __repr__(self) -> str:
        return repr(self.table)


def table_file(year: str, number: str) -> str:
    """The download name of table ``number`` ("6.2") of the ``year`` report: unique
    across years and tables, so downloads from different years never overwrite each other."""
    return f"hub-and-spoke-{year}-table-{number.replace('.', '-')}.csv"


@dataclass
class ReportWriter:
    """Writes a report's tables and figures into ``out_dir`` and returns display blocks.

    Every table cell it publishes is registered in ``registry`` (the report's published
    statistics, written to ``statistics.json`` beside the tables after each section).
    Tables are numbered within their section ("Table 6.2", :meth:`begin_section`), their
    CSVs named by year and number (:func:`table_file`)."""

    out_dir: Path
    tables_written: list[str] = field(default_factory=list)
    table_index: list[dict[str, Any]] = field(default_factory=list)
    registry: Registry | None = None
    year: str | None = None
    section: int = 0
    tables: list[tuple[str, DisclosedTable]] = field(default_factory=list)
    _registered: int = -1
    _counts: dict[int, int] = field(default_factory=dict)
    _figure_counts: dict[int, int] = field(default_factory=dict)
    private_dir: Path | None = None
    """Where the private list of which suppressed cells are small goes (``<year>.json``,
    :func:`~analysis.publish.release.write_reasons`); None: not written."""

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.year is None:
            self.year = self.registry.vintage if self.registry is not None else self.out_dir.name
        if self.registry is not None:  # what frozen releases published that it shows again
            self.registry.archive = archived(self.out_dir.parent, str(self.year))
        (self.out_dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.out_dir / "figures").mkdir(parents=True, exist_ok=True)

    def begin_section(self, number: int) -> None:
        """The tables published next belong to section ``number`` (Table <number>.1 ...)."""
        self.section = int(number)

    def _next_number(self) -> str:
        count = self._counts.get(self.section, 0) + 1
        self._counts[self.section] = count
        return f"{self.section}.{count}" if self.section else str(count)

    def publish(self, items: list[Any]) -> list[Any]:
        """Save every table and figure among ``items``; return the blocks to display."""
        out: list[Any] = []
        for item in items:
            if isinstance(item, TableItem):
                out += self._table(item.table)
            elif isinstance(item, FigureItem):
                out.append(self._figure(item.figure, item.name))
            else:
                out.append(item)
        if self.registry is not None and len(self.registry.stats) != self._registered:
            self.registry.write(self.out_dir / STATISTICS)
            if self.private_dir is not None:
                write_reasons(self.registry, Path(self.private_dir) / f"{self.year}.json")
            self._registered = len(self.registry.stats)
        return out

    def _table(self, table: DisclosedTable) -> list[Any]:
        name = slug(table.title)
        if any(entry["slug"] == name for entry in self.table_index):
            raise ValueError(
                f"two tables would both be published as {name!r}: give them distinct titles"
            )
        if self.registry is not None:  # a figure a frozen release published differently
            table = revise(table, name, self.registry)
        number = self._next_number()
        path = table.to_csv(self.out_dir / "tables" / table_file(str(self.year), number))
        self.tables_written.append(path.name)
        self.tables.append((number, table))
        self.table_index.append(
            {
                "file": path.name,
                "number": number,
                "slug": name,
                "title": table.title,
                "kind": table.kind,
                "threshold": table.threshold,
            }
        )
        write_json(self.table_index, self.out_dir / "tables" / "index.json")
        link = (
            f'<p class="download"><a href="tables/{html.escape(path.name)}" download>'
            f"Download table {number} (CSV)</a></p>"
        )
        ids = None if self.registry is None else self.registry.table(table, name)
        notes = (
            tuple(html.escape(n) for n in table.notes)
            if self.registry is None
            else tuple(self.registry.tag_notes(table.notes))
        )
        return [TableBlock(table, name, ids, notes, number), HTML(link)]

    def _figure(self, fig: Any, name: str) -> Any:
        stem = self.out_dir / "figures" / slug(name)
        count = self._figure_counts.get(self.section, 0) + 1
        self._figure_counts[self.section] = count
        number = f"{self.section}.{count}" if self.section else str(count)
        title = fig.axes[0].get_title(loc="left") if fig.axes else ""
        if not title and getattr(fig, "_suptitle", None) is not None:
            title = fig._suptitle.get_text()
        parts = [f"<strong>Figure {number}</strong>: {html.escape(title)}."]
        source = figures.source_table(fig)
        entry = next((e for e in self.table_index if e["title"] == source), None)
        if entry is not None:
            anchor = f"table-{entry['number'].replace('.', '-')}"
            parts.append(
                f'<a href="#{anchor}">Data for figure {number}: table {entry["number"]}</a>'
            )
        return figures.show_figure(fig, save_to=stem, caption_html=" ".join(parts))
