"""What one year's report is built from: its settings, the tables it may see (its vintage and the previous report's) and the check that its analysis was computed on the same data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.analyse import vintage
from analysis.core import calendar as periods
from analysis.core import paths
from analysis.core.checks import check_threshold
from analysis.core.errors import UserError
from analysis.core.io import (
    ANALYSED_DATA_FILE,
    PROCESSED_TABLES,
    load_tables,
    read_json,
)
from analysis.core.settings import Settings
from analysis.publish.registry import RULES, Registry


@dataclass(frozen=True)
class ReportSettings:
    """Parameters of one year's report (``params.yaml`` ``report:``)."""

    year: str
    threshold: int
    total_rounding: int
    cutoff_days: int
    min_assessments: int
    """Fewest assessments a young person needs to enter the trajectory model
    (``model.min_assessments_per_person``)."""
    first_year: str = periods.year_of(min(periods.PHASE_STARTS))
    min_services: int = 3
    data_source: str = "synthetic"

    def __post_init__(self) -> None:
        check_threshold(self.threshold, self.data_source)

    @classmethod
    def from_settings(cls, year: str, settings: Settings) -> ReportSettings:
        """The settings of ``year``'s report from the project's (``params.yaml``)."""
        return cls(
            year,
            threshold=settings.report.suppression_threshold,
            total_rounding=settings.report.total_rounding,
            cutoff_days=settings.report.cutoff_days_after_year_end,
            min_assessments=settings.model.min_assessments_per_person,
            first_year=settings.years[0] if settings.years else year,
            data_source=settings.data_source,
        )

    @property
    def synthetic(self) -> bool:
        """True when the report describes the pipeline's own synthetic programme."""
        return self.data_source == "synthetic"

    @property
    def cutoff(self):  # noqa: ANN201 - a datetime.date
        """The date by which returns must have arrived."""
        return periods.cutoff_date(self.year, self.cutoff_days)

    @property
    def previous_year(self) -> str:
        return periods.previous_year(self.year)


def check_analysis_matches(analysis_dir: Path, year: str, data_hash: str) -> None:
    """Refuse an analysis folder computed for another year or on other data.

    The report reads the analyse stage's indicators, headline figures and model estimates;
    they must come from the very tables the report itself sees (same processed data, same
    cut-off), or its sections would disagree with each other.
    """
    path = Path(analysis_dir) / ANALYSED_DATA_FILE
    if not path.exists():
        raise UserError(
            f"{path} is missing: run the analyse step for {year} on this data first "
            "(python -m analysis analyse, or the analyse stage)"
        )
    record = read_json(path)
    if record.get("year") != year or record.get("data_hash") != data_hash:
        raise UserError(
            f"{analysis_dir} holds the analysis of {record.get('year')} on other data "
            f"(data hash {record.get('data_hash')}, the report's is {data_hash}): re-run the "
            f"analyse step for {year} on the same processed data and cut-off"
        )


def _hash_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def version_hashes(processed_dir: Path) -> dict[str, str]:
    """Hashes of the cleaned input data, the parameters and the package source."""
    processed = [Path(processed_dir) / f"{n}.parquet" for n in PROCESSED_TABLES]
    source = sorted((paths.ROOT / "src" / "analysis").glob("*.py"))
    return {
        "Cleaned input data": _hash_files([p for p in processed if p.exists()]),
        "Parameters (params.yaml)": _hash_files([paths.PARAMS_FILE])
        if paths.PARAMS_FILE.exists()
        else "n/a",
        "Package source (src/analysis)": _hash_files(source),
    }


@dataclass(frozen=True)
class YearContext:
    """Everything a section of one year's report is computed from (read-only).

    ``seen`` is what the year's report may see (:func:`analysis.vintage.tables_as_of`);
    ``previous`` what the previous year's report saw (``None`` for the first year);
    ``analysis_dir`` the year's analysis outputs, computed on data with hash ``input_hash``;
    ``stats`` the registry of the statistics the report publishes (a section states a
    number in prose through ``ctx.stats.number`` or ``ctx.stats.cite``; the writer
    registers every table cell).
    """

    settings: ReportSettings
    seen: dict[str, pd.DataFrame]
    previous: dict[str, pd.DataFrame] | None
    analysis_dir: Path
    input_hash: str
    processed_dir: Path
    stats: Registry = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.stats is None:
            object.__setattr__(self, "stats", Registry(self.settings.year))
        register_rules(self.stats, self.settings)

    @property
    def year(self) -> str:
        """The evaluation year the report is for."""
        return self.settings.year


def register_rules(registry: Registry, settings: ReportSettings) -> None:
    """The report's rule parameters that it states as numbers: statistics too."""
    registry.number(RULES["threshold"], settings.threshold)
    registry.number(RULES["rounding"], settings.total_rounding)
    registry.number(RULES["cutoff_days"], settings.cutoff_days, unit="days")
    registry.number(RULES["smallest_shown"], settings.threshold + 1)
    registry.number(RULES["min_services"], settings.min_services)
    registry.number(RULES["min_assessments"], settings.min_assessments)


def build_context(
    settings: ReportSettings, *, processed_dir: Path, analysis_dir: Path
) -> YearContext:
    """Load the tables the year's report may see and check its analysis matches them."""
    tables = load_tables(Path(processed_dir))
    seen = vintage.tables_as_of(tables, settings.year, settings.cutoff)
    first = periods.parse_year(settings.year) <= periods.parse_year(settings.first_year)
    previous = None
    if not first:
        prev = settings.previous_year
        previous = vintage.tables_as_of(
            tables, prev, periods.cutoff_date(prev, settings.cutoff_days)
        )
    input_hash = vintage.vintage_hash(seen)
    check_analysis_matches(Path(analysis_dir), settings.year, input_hash)
    return YearContext(
        settings=settings,
        seen=seen,
        previous=previous,
        analysis_dir=Path(analysis_dir),
        input_hash=input_hash,
        processed_dir=Path(processed_dir),
    )
