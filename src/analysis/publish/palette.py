"""The charts' colours: the UK Government Analysis Function palette (``afcharts``), whose
colours each reach 3:1 against a white background (WCAG 1.4.11), and one style per
category, kept on every chart of every year."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.core.labels import INSTRUMENTS
from analysis.core.schemas import REFERRAL_SOURCES

PALETTE: tuple[str, ...] = (
    "#12436D",  # dark blue
    "#28A197",  # turquoise
    "#801650",  # dark pink
    "#F46A25",  # orange
    "#3D3D3D",  # dark grey
    "#A285D1",  # light purple
)
"""The UK Government Analysis Function categorical palette (``afcharts``): each colour
reaches 3:1 against a white background (WCAG 1.4.11, graphical objects)."""

SUPPRESSED_COLOUR = "#6F777B"
"""Suppressed parts of a stacked bar: grey, hatched, labelled (4.5:1 against white)."""

HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "++")
"""A second cue beside colour, used once a chart has more series than colours."""

CATEGORY_GROUPS: tuple[tuple[str, ...], ...] = (REFERRAL_SOURCES, INSTRUMENTS)
"""Vocabularies (codes of :data:`analysis.core.labels.LABELS`) whose categories keep one
place in the palette on every chart of every year: referral sources, outcome instruments."""


def _af_palette() -> tuple[str, ...]:
    """The Analysis Function palette as ``afcharts`` gives it (the same six colours)."""
    try:
        from afcharts.af_colours import get_af_colours
    except ImportError:  # pragma: no cover - afcharts is a dependency
        return PALETTE
    return tuple(str(c).upper() for c in get_af_colours("categorical", number_of_colours=6))


def _fixed_place(label: Any) -> int | None:
    from analysis.core.labels import LABELS

    text = str(label)
    for group in CATEGORY_GROUPS:
        for place, code in enumerate(group):
            if text in (code, LABELS.get(code)):
                return place
    return None


def _style(place: int) -> tuple[str, str]:
    return PALETTE[place % len(PALETTE)], HATCHES[(place // len(PALETTE)) % len(HATCHES)]


def category_style(label: Any) -> tuple[str, str]:
    """The ``(colour, hatch)`` of a category of :data:`CATEGORY_GROUPS` (the same on every
    chart of every year), or of the first place for any other label."""
    place = _fixed_place(label)
    return _style(place if place is not None else 0)


def series_styles(labels: Sequence[Any]) -> list[tuple[str, str]]:
    """The ``(colour, hatch)`` of each series of one chart: a category of
    :data:`CATEGORY_GROUPS` keeps its fixed style; other labels take, in order, the styles
    the chart has not used (colours first, then hatches past six series)."""
    fixed = [_fixed_place(label) for label in labels]
    used = {p for p in fixed if p is not None}
    free = (p for p in range(len(PALETTE) * len(HATCHES)) if p not in used)
    return [_style(p if p is not None else next(free)) for p in fixed]
