"""Harmonisation: the outcome-instrument mapping. The reporting periods
(:mod:`analysis.core.calendar`) and the young-person dedupe rule (:mod:`analysis.core.people`),
which the year's vintage applies too, are defined in ``core/`` and re-exported here.

Outcome instruments map to a common score (0–1, higher = safer and better) and a common
three-band risk level (``low``/``medium``/``high``). The mapping is versioned
(:data:`MAPPING_VERSION`); every assessment row records the version that scored it. The
table in ``docs/data-contract.md`` ("Outcome mapping") mirrors :data:`MAPPING_TABLE`.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.calendar import Period, parse_period, quarter_index, quarter_of, year_end
from analysis.core.calendar import year_of as evaluation_year_of
from analysis.core.labels import BANDS, INSTRUMENTS, RISK_BAND_WIDTH
from analysis.core.people import (
    CHANGING_ATTRIBUTES,
    CLOSURE_ATTRIBUTES,
    CONFLICT_ATTRIBUTES,
    REFERRAL_ATTRIBUTES,
    completeness_table,
    extract_totals,
    months_since,
    person_conflicts,
    reconciliation_table,
    resolve_people,
)

MAPPING_VERSION = "1.0"
"""Version of the instrument mapping; bump it whenever a formula or band cut-off changes."""

RISK3_SCORES: dict[str, float] = {"low": 5 / 6, "medium": 1 / 2, "high": 1 / 6}
RISK3_RAW: dict[str, int] = {"low": 1, "medium": 2, "high": 3}
SERAF_CAP = 30

MAPPING_TABLE: tuple[tuple[str, str, str, str], ...] = (
    (
        "seraf",
        "SERAF total s (0 or more)",
        "1 − min(s, 30) / 30",
        "category 1–2 (s ≤ 10) low; category 3 (11–15) medium; category 4 (16+) high",
    ),
    (
        "star5 / star10",
        "mean m of the life-area scores (1–N, N = 5 or 10)",
        "(m − 1) / (N − 1)",
        "score < 1/3 high; < 2/3 medium; otherwise low",
    ),
    ("risk3", "rating low / medium / high", "5/6, 1/2, 1/6", "the rating itself"),
    ("bespoke", "score v (0–100)", "v / 100", "as Star: < 1/3 high; < 2/3 medium; else low"),
)
"""(instrument, raw score, common score, risk band) — documented in the data contract."""


# --------------------------------------------------------------------------- instruments


def seraf_category(total: float) -> int:
    """SERAF category 1–4 from a total score (0–5, 6–10, 11–15, 16+)."""
    if total < 0:
        raise ValueError("SERAF total cannot be negative")
    if total <= 5:
        return 1
    if total <= 10:
        return 2
    if total <= 15:
        return 3
    return 4


def band_from_score(score: float) -> str:
    """Three-band risk from a common score: below 1/3 high, below 2/3 medium, else low."""
    if score < RISK_BAND_WIDTH:
        return "high"
    if score < 2 * RISK_BAND_WIDTH:
        return "medium"
    return "low"


def score_range(instrument: str) -> tuple[float, float]:
    """The valid raw-score range of an instrument (inclusive)."""
    return {
        "seraf": (0.0, float("inf")),
        "star5": (1.0, 5.0),
        "star10": (1.0, 10.0),
        "risk3": (1.0, 3.0),
        "bespoke": (0.0, 100.0),
    }[instrument]


def map_score(instrument: str, raw: float) -> tuple[float, str]:
    """``(score, risk_band)`` for one raw score of an instrument (see :data:`MAPPING_TABLE`).

    For ``risk3`` the raw score is 1 = low, 2 = medium, 3 = high. Raises ``ValueError`` for
    an unknown instrument or a raw score outside the instrument's range.
    """
    if instrument not in INSTRUMENTS or instrument == "none":
        raise ValueError(f"unknown outcome instrument {instrument!r}")
    lo, hi = score_range(instrument)
    if not (lo <= raw <= hi):
        raise ValueError(f"{instrument} score {raw:g} outside {lo:g}–{hi:g}")
    if instrument == "seraf":
        score = 1 - min(raw, SERAF_CAP) / SERAF_CAP
        cat = seraf_category(raw)
        band = "low" if cat <= 2 else ("medium" if cat == 3 else "high")
        return score, band
    if instrument in ("star5", "star10"):
        n = 5 if instrument == "star5" else 10
        score = (raw - 1) / (n - 1)
        return score, band_from_score(score)
    if instrument == "risk3":
        if raw not in (1, 2, 3):
            raise ValueError("risk3 rating must be low, medium or high")
        band = BANDS[int(raw) - 1]
        return RISK3_SCORES[band], band
    score = raw / 100
    return score, band_from_score(score)


def map_scores(instrument: pd.Series, raw: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`map_score`: a frame with ``score`` and ``risk_band`` (same index)."""
    pairs = [map_score(i, float(r)) for i, r in zip(instrument, raw, strict=True)]
    return pd.DataFrame(
        {
            "score": pd.Series([p[0] for p in pairs], index=raw.index, dtype="float64"),
            "risk_band": pd.Series([p[1] for p in pairs], index=raw.index, dtype="str"),
        }
    )


__all__ = [
    "CHANGING_ATTRIBUTES",
    "CLOSURE_ATTRIBUTES",
    "CONFLICT_ATTRIBUTES",
    "MAPPING_TABLE",
    "MAPPING_VERSION",
    "REFERRAL_ATTRIBUTES",
    "RISK3_RAW",
    "RISK3_SCORES",
    "SERAF_CAP",
    "Period",
    "band_from_score",
    "evaluation_year_of",
    "year_end",
    "completeness_table",
    "extract_totals",
    "map_score",
    "map_scores",
    "months_since",
    "parse_period",
    "person_conflicts",
    "quarter_index",
    "quarter_of",
    "reconciliation_table",
    "resolve_people",
    "score_range",
    "seraf_category",
]
