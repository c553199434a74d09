"""The pipeline's settings: ``params.yaml`` read once into typed settings, and how many
processes a step may use.

Settings flow one way: ``params.yaml`` -> :func:`load_settings` -> function arguments. This
is the only module that opens ``params.yaml``; every other module receives the values it
needs as arguments (the CLI, the notebooks' parameters from DVC, the tests).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.core.errors import UserError
from analysis.core.paths import PARAMS_FILE


def load_params(path: Path | str | None = None) -> dict[str, Any]:
    """Return the parameters in ``path`` (default: the project's ``params.yaml``)."""
    with open(path or PARAMS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def default_jobs() -> int:
    """Processes a step may run at once (notebooks, synthetic services): ``HUBSPOKE_JOBS``
    if set, else the cores this process may use. Outputs never depend on it."""
    value = os.environ.get("HUBSPOKE_JOBS", "").strip()
    if value:
        try:
            jobs = int(value)
        except ValueError:
            jobs = 0
        if jobs < 1:
            raise UserError(f"HUBSPOKE_JOBS must be a whole number of at least 1, not {value!r}")
        return jobs
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CleanSettings:
    """``clean:``: ages at referral outside ``[min_age, max_age]`` are quarantined."""

    min_age: int
    max_age: int


@dataclass(frozen=True)
class ModelSettings:
    """``model:``: when the trajectory model is fitted, and on whom."""

    min_people_for_trajectory: int
    min_assessments_per_person: int


@dataclass(frozen=True)
class ReportParams:
    """``report:``: each year's cut-off and the disclosure-control rules."""

    cutoff_days_after_year_end: int
    suppression_threshold: int
    total_rounding: int


@dataclass(frozen=True)
class FieldworkParams:
    """``fieldwork:``: realist configurations, the joint displays and quotes.

    ``min_configuration_sources`` sources (at ``min_configuration_sites`` sites, at least 2)
    support a context-mechanism-outcome configuration; a quote is shown only from a role
    group and phase with ``min_attribution_group`` sources in the year or more; the
    fieldwork supports an outcome when its theme is raised at ``support_site_percent`` %
    of the sites visited; ``quotes_per_outcome`` quotes are shown per outcome."""

    min_configuration_sources: int = 5
    min_configuration_sites: int = 2
    min_attribution_group: int = 3
    support_site_percent: int = 50
    quotes_per_outcome: int = 1


@dataclass(frozen=True)
class Settings:
    """``params.yaml``, typed: the one route by which parameters reach the code.

    ``params.yaml`` -> :func:`load_settings` -> function arguments. ``synthetic`` keeps the
    generator's calibration as the nested mapping it is (``docs/parameters.md``).
    """

    years: tuple[str, ...]
    data_source: str
    seed: int | None
    scale: float | None
    clean: CleanSettings | None
    model: ModelSettings | None
    report: ReportParams | None
    synthetic: Mapping[str, Any] = field(repr=False)
    fieldwork: FieldworkParams = FieldworkParams()

    @property
    def synthetic_data(self) -> bool:
        """True when the pipeline runs on its own synthetic programme."""
        return self.data_source == "synthetic"


def _section(params: Mapping[str, Any], name: str, kind: type) -> Any:
    """A typed section of ``params.yaml``, or ``None`` when the file has none (a real-data
    run's parameters need not carry the synthetic programme's)."""
    section = params.get(name)
    if section is None:
        return None
    return kind(**{k: int(v) for k, v in section.items()})


def settings_from(params: Mapping[str, Any]) -> Settings:
    """Typed settings from a parsed ``params.yaml`` mapping (a missing key names itself)."""
    synthetic = params.get("synthetic") or {}
    try:
        return Settings(
            years=tuple(str(y) for y in params.get("years") or ()),
            data_source=str((params.get("data") or {}).get("source", "synthetic")),
            seed=int(synthetic["seed"]) if "seed" in synthetic else None,
            scale=float(synthetic["scale"]) if "scale" in synthetic else None,
            clean=_section(params, "clean", CleanSettings),
            model=_section(params, "model", ModelSettings),
            report=_section(params, "report", ReportParams),
            synthetic=synthetic,
            fieldwork=_section(params, "fieldwork", FieldworkParams) or FieldworkParams(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(
            f"params.yaml has a missing, misspelt or malformed key ({exc}): see "
            "docs/parameters.md for every key"
        ) from exc


def load_settings(path: Path | str | None = None) -> Settings:
    """The project's settings (``params.yaml``, or ``path``), read once per process."""
    resolved = Path(path or PARAMS_FILE).resolve()
    return _load_settings(resolved, resolved.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_settings(path: Path, mtime_ns: int) -> Settings:
    return settings_from(load_params(path))
