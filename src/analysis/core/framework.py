"""The evaluation framework (``evaluation-framework.yaml``): for each of the six outcome
measures its primary indicator, the criterion that rates it and the strength of evidence it
can give; the evidence and assumptions of each model. Typed, checked and read once, like the
settings; ``docs/evaluation-framework.md`` explains it to readers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis.core.calendar import parse_year
from analysis.core.catalog import FRAMEWORK
from analysis.core.errors import UserError
from analysis.core.paths import ROOT

FRAMEWORK_FILE: Path = ROOT / FRAMEWORK
"""The machine-readable framework, beside ``params.yaml``."""

EVIDENCE_LEVELS: tuple[str, ...] = ("descriptive", "associational", "causal")
"""Strengths of evidence, weakest first."""

RATINGS: tuple[str, ...] = ("met", "partly met", "not met", "too early to tell")
"""The ratings an outcome can get."""

UNITS: tuple[str, ...] = ("share", "mean change", "relative change")
"""What a criterion's thresholds are expressed in."""


@dataclass(frozen=True)
class Criterion:
    """How one outcome measure is rated: its primary indicator against two thresholds."""

    outcome: int
    title: str
    primary: str
    direction: str
    met: float
    partly: float
    unit: str
    evidence: str
    assumptions: tuple[str, ...]


@dataclass(frozen=True)
class ModelEvidence:
    """The strength of evidence a model gives and the assumptions it rests on."""

    evidence: str
    assumptions: tuple[str, ...]


@dataclass(frozen=True)
class Version:
    """One version of the framework: from which evaluation year it applies, and why."""

    version: str
    from_year: str
    changes: str


@dataclass(frozen=True)
class Framework:
    """The whole framework (see the module docstring)."""

    version: str
    history: tuple[Version, ...]
    first_rated_year: str
    min_completeness: float
    min_services: int
    min_denominator: int
    evidence_levels: Mapping[str, str]
    outcomes: Mapping[int, Criterion]
    models: Mapping[str, ModelEvidence]

    def version_for(self, year: str) -> Version:
        """The framework version a report for ``year`` was (or will be) produced under:
        the latest whose ``from_year`` is not after ``year``."""
        applicable = [v for v in self.history if parse_year(v.from_year) <= parse_year(year)]
        if not applicable:
            return self.history[0]
        return max(applicable, key=lambda v: parse_year(v.from_year))


def _fail(path: Path, message: str) -> UserError:
    return UserError(f"{path.name}: {message}. Fix the file and run again.")


def _criterion(path: Path, number: int, raw: Mapping[str, Any]) -> Criterion:
    need = ("title", "primary", "direction", "met", "partly", "unit", "evidence", "assumptions")
    missing = [k for k in need if k not in raw]
    if missing:
        raise _fail(path, f"outcome {number} lacks {', '.join(missing)}")
    if raw["evidence"] not in EVIDENCE_LEVELS:
        raise _fail(path, f"outcome {number}: evidence must be one of {EVIDENCE_LEVELS}")
    if raw["unit"] not in UNITS:
        raise _fail(path, f"outcome {number}: unit must be one of {UNITS}")
    if raw["direction"] != "higher":
        raise _fail(path, f"outcome {number}: only direction 'higher' is supported")
    met, partly = float(raw["met"]), float(raw["partly"])
    if partly > met:
        raise _fail(path, f"outcome {number}: 'partly' ({partly}) is above 'met' ({met})")
    return Criterion(
        outcome=number,
        title=str(raw["title"]),
        primary=str(raw["primary"]),
        direction=str(raw["direction"]),
        met=met,
        partly=partly,
        unit=str(raw["unit"]),
        evidence=str(raw["evidence"]),
        assumptions=tuple(str(a) for a in raw["assumptions"]),
    )


def framework_from(raw: Mapping[str, Any], path: Path = FRAMEWORK_FILE) -> Framework:
    """A checked :class:`Framework` from the parsed YAML (a :class:`UserError` naming the
    file and the problem otherwise)."""
    outcomes = raw.get("outcomes") or {}
    if sorted(int(k) for k in outcomes) != [1, 2, 3, 4, 5, 6]:
        raise _fail(path, "`outcomes` must define outcome measures 1 to 6")
    models = {}
    for name, entry in (raw.get("models") or {}).items():
        if entry.get("evidence") not in EVIDENCE_LEVELS:
            raise _fail(path, f"model {name}: evidence must be one of {EVIDENCE_LEVELS}")
        models[str(name)] = ModelEvidence(
            str(entry["evidence"]), tuple(str(a) for a in entry.get("assumptions") or ())
        )
    history = tuple(
        Version(str(v["version"]), str(v["from_year"]), " ".join(str(v["changes"]).split()))
        for v in raw.get("history") or ()
    )
    version = str(raw.get("version", ""))
    if not history or history[-1].version != version:
        raise _fail(path, f"the last `history` entry must be the current version {version!r}")
    levels = dict(raw.get("evidence_levels") or {})
    if set(levels) != set(EVIDENCE_LEVELS):
        raise _fail(path, f"`evidence_levels` must describe exactly {EVIDENCE_LEVELS}")
    return Framework(
        version=version,
        history=history,
        first_rated_year=str(raw["first_rated_year"]),
        min_completeness=float(raw["min_completeness"]),
        min_services=int(raw["min_services"]),
        min_denominator=int(raw["min_denominator"]),
        evidence_levels={k: " ".join(str(v).split()) for k, v in levels.items()},
        outcomes={int(k): _criterion(path, int(k), v) for k, v in sorted(outcomes.items())},
        models=models,
    )


def load_framework(path: Path | str | None = None) -> Framework:
    """The evaluation framework (``evaluation-framework.yaml`` or ``path``), read once."""
    resolved = Path(path or FRAMEWORK_FILE).resolve()
    return _load(resolved, resolved.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> Framework:
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise _fail(path, f"is not valid YAML{where} ({getattr(exc, 'problem', exc)})") from exc
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror})") from exc
    return framework_from(raw, path)
