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

    def _repr_html_(self) -> str:
        return self.table.to_html(
            stats=self.name, cell_ids=self.cell_ids, notes_html=self.notes_html
        )

    def __repr__(self) -> str:
        return repr(self.table)


@dataclass
class ReportWriter:
    """Writes a report's tables and figures into ``out_dir`` and returns display blocks.

    Every table cell it publishes is registered in ``registry`` (the report's published
    statistics, written to ``statistics.json`` beside the tables after each section)."""

    out_dir: Path
    tables_written: list[str] = field(default_factory=list)
    table_index: list[dict[str, Any]] = field(default_factory=list)
    registry: Registry | None = None
    _registered: int = -1

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        (self.out_dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.out_dir / "figures").mkdir(parents=True, exist_ok=True)

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
            self._registered = len(self.registry.stats)
        return out

    def _table(self, table: DisclosedTable) -> list[Any]:
        name = slug(table.title)
        if f"{name}.csv" in self.tables_written:
            raise ValueError(
                f"two tables would be written to {name}.csv: give them distinct titles"
            )
        path = table.to_csv(self.out_dir / "tables" / f"{name}.csv")
        self.tables_written.append(path.name)
        self.table_index.append(
            {
                "file": path.name,
                "title": table.title,
                "kind": table.kind,
                "threshold": table.threshold,
            }
        )
        write_json(self.table_index, self.out_dir / "tables" / "index.json")
        link = (
            f'<p class="download"><a href="tables/{html.escape(path.name)}" download>'
            f"Download this table as CSV</a></p>"
        )
        if self.registry is None:
            return [table, HTML(link)]
        ids = self.registry.table(table, name)
        notes = tuple(self.registry.tag_notes(table.notes))
        return [TableBlock(table, name, ids, notes), HTML(link)]

    def _figure(self, fig: Any, name: str) -> Any:
        stem = self.out_dir / "figures" / slug(name)
        return figures.show_figure(fig, save_to=stem)  # draws the PNG once for both
