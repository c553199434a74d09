"""The real programme's published figures and their sources, read from the one file that
holds them (``published_figures.yaml`` beside this module).

The synthetic programme is calibrated to these figures; the calibration test and the
2016-17 report's methods annex compare the programme-to-date indicators with them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

FIGURES_FILE: Path = Path(__file__).with_name("published_figures.yaml")
"""The documented file of published figures (values, dates, tolerances, sources)."""


@dataclass(frozen=True)
class Source:
    """Where a published figure comes from."""

    key: str
    citation: str
    note: str = ""


@dataclass(frozen=True)
class PublishedFigure:
    """One published figure of the real programme."""

    key: str
    label: str
    value: float
    unit: str
    source: Source
    tolerance: dict[str, Any]
    as_of: date | None = None
    note: str = ""

    def within(self, value: float) -> bool:
        """True when ``value`` is as close to the published figure as its tolerance allows."""
        tol = self.tolerance
        if tol.get("exact"):
            return float(value) == float(self.value)
        if "absolute" in tol:
            return abs(float(value) - float(self.value)) <= float(tol["absolute"])
        return abs(float(value) - float(self.value)) <= float(tol["relative"]) * float(self.value)

    @property
    def tolerance_text(self) -> str:
        """The tolerance in words (``within 10%``, ``within 3``, ``exactly``)."""
        tol = self.tolerance
        if tol.get("exact"):
            return "exactly"
        if "absolute" in tol:
            return f"within {float(tol['absolute']):g}"
        return f"within {float(tol['relative']) * 100:g}%"


def _figure(raw: dict[str, Any], sources: dict[str, Source]) -> PublishedFigure:
    as_of = raw.get("as_of")
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    return PublishedFigure(
        key=str(raw["key"]),
        label=str(raw["label"]),
        value=float(raw["value"]),
        unit=str(raw["unit"]),
        source=sources[str(raw["source"])],
        tolerance=dict(raw["tolerance"]),
        as_of=as_of,
        note=" ".join(str(raw.get("note", "")).split()),
    )


@functools.cache
def load_published_figures(path: Path = FIGURES_FILE) -> dict[str, PublishedFigure]:
    """Every published figure by key, in the file's order (read once per process)."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    sources = {
        key: Source(
            key, " ".join(str(s["citation"]).split()), " ".join(str(s.get("note", "")).split())
        )
        for key, s in doc["sources"].items()
    }
    return {f["key"]: _figure(f, sources) for f in doc["figures"]}


def published_reference_date() -> date:
    """The date the published counts of people run to (31 December 2016)."""
    dates = {f.as_of for f in load_published_figures().values() if f.as_of is not None}
    if len(dates) != 1:  # pragma: no cover - a malformed figures file
        raise ValueError(f"{FIGURES_FILE.name}: the dated figures disagree on their date {dates}")
    return dates.pop()
