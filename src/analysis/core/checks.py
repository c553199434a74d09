"""Checks on ``params.yaml`` that run before any work starts.

The pipeline's first stage (``check`` in ``dvc.yaml``, ``python -m analysis check``) and
``python -m analysis run --each-year`` refuse a set of evaluation years that cannot be
analysed, with one message saying what to do, before any model runs, so nothing partial
is left behind:

* every year is a label like ``2015-16``, listed once, in order;
* every year lies within the periods the returns cover: for the synthetic programme, the
  years it simulates; for real returns, the evaluation years of the returns received
  (``returns.parquet`` of the cleaned data);
* ``dvc.yaml`` lists each year's outputs (DVC cannot interpolate a list into ``outs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from analysis.core import calendar as periods
from analysis.core.errors import UserError

__all__ = [
    "YEAR_OUTPUTS",
    "check_years",
    "covered_years",
    "dvc_year_problems",
    "synthetic_years",
    "year_problems",
]

YEAR_OUTPUTS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "analyse": {"outs": ("data/interim/{year}",), "metrics": ("metrics/{year}.json",)},
    "report": {"outs": ("reports/{year}",), "deps": ("data/interim/{year}",)},
    "index": {"deps": ("reports/{year}",)},
}
"""What ``dvc.yaml`` must list for each evaluation year: stage -> section -> paths."""


def synthetic_years() -> list[str]:
    """The evaluation years the synthetic programme simulates (first phase to its end)."""
    first = periods.parse_year(periods.year_of(min(periods.PHASE_STARTS)))
    last = periods.parse_year(periods.year_of(periods.LAST_DAY))
    return [periods.year_label(y) for y in range(first, last + 1)]


def covered_years(source: str, processed_dir: Path | None = None) -> list[str] | None:
    """Evaluation years the returns cover, or ``None`` when that cannot be known yet.

    Synthetic data: the years the generator simulates. Real data: the evaluation years of
    the returns in ``processed_dir/returns.parquet`` (``None`` before the clean step).
    """
    if source == "synthetic":
        return synthetic_years()
    table = Path(processed_dir) / "returns.parquet" if processed_dir else None
    if table is None or not table.exists():
        return None
    import pandas as pd

    years = pd.read_parquet(table, columns=["evaluation_year"])["evaluation_year"]
    return sorted({str(y) for y in years.dropna()})


def year_problems(years: Sequence[Any], covered: Sequence[str] | None) -> list[str]:
    """What is wrong with the ``years`` list (empty when nothing)."""
    problems: list[str] = []
    if not years:
        return ["`years` is empty: list at least one evaluation year, e.g. 2015-16"]
    labels: list[str] = []
    for year in years:
        try:
            periods.parse_year(str(year))
        except ValueError:
            problems.append(
                f"{year!r} is not an evaluation year: write it like 2015-16 (September 2015 "
                "to August 2016), in quotes if your editor turns it into a date"
            )
            continue
        labels.append(str(year))
    if len(set(labels)) < len(labels):
        problems.append("a year is listed twice: list each evaluation year once")
    elif labels != sorted(labels):
        problems.append("years are out of order: list them from earliest to latest")
    if covered is not None:
        outside = [y for y in labels if y not in covered]
        if outside:
            span = f"{covered[0]} to {covered[-1]}" if covered else "no year yet"
            problems.append(
                f"{', '.join(outside)}: no return covers "
                f"{'this year' if len(outside) == 1 else 'these years'} yet (the returns "
                f"cover {span}); remove {'it' if len(outside) == 1 else 'them'} from `years` "
                "until its returns have been received and cleaned"
            )
    return problems


def dvc_year_problems(years: Sequence[str], dvc_file: Path) -> list[str]:
    """Outputs ``dvc.yaml`` must list for each year but does not (one line per stage)."""
    stages = yaml.safe_load(Path(dvc_file).read_text("utf-8")).get("stages", {})
    problems = []
    for stage, sections in YEAR_OUTPUTS.items():
        spec = stages.get(stage, {})
        missing = []
        for section, templates in sections.items():
            listed = {next(iter(e)) if isinstance(e, dict) else e for e in spec.get(section, [])}
            for year in years:
                missing += [
                    (section, t.format(year=year))
                    for t in templates
                    if t.format(year=year) not in listed
                ]
        if missing:
            what = "; ".join(f"{path} under {section}" for section, path in missing)
            problems.append(f"dvc.yaml stage '{stage}' must list {what}")
    return problems


REAL_DATA_MIN_THRESHOLD = 9
"""The lowest suppression threshold a real-data run may use (``docs/disclosure.md``)."""


def check_threshold(threshold: int, data_source: str) -> int:
    """Refuse a suppression threshold below :data:`REAL_DATA_MIN_THRESHOLD` on real data
    (a value left low by ``dvc exp run`` would publish counts of children it should not);
    return the threshold."""
    if data_source != "synthetic" and int(threshold) < REAL_DATA_MIN_THRESHOLD:
        raise UserError(
            f"params.yaml report.suppression_threshold is {threshold}, but on real data "
            f"(data.source: {data_source}) it cannot be below {REAL_DATA_MIN_THRESHOLD} "
            "(docs/disclosure.md): set it to 9 or more. Nothing was run."
        )
    return int(threshold)


def check_years(
    params: Mapping[str, Any],
    *,
    dvc_file: Path | None = None,
    processed_dir: Path | None = None,
    coverage: bool = True,
) -> list[str]:
    """Validate ``params['years']``; return the years, or raise one :class:`UserError`.

    ``dvc_file`` (when given) must list every year's outputs; coverage is checked against
    the data source in ``params['data']['source']`` (see :func:`covered_years`) unless
    ``coverage`` is false (years given on the command line, checked for their form only).
    """
    years = params.get("years") or []
    source = str((params.get("data") or {}).get("source", "synthetic"))
    report = params.get("report") or {}
    if "suppression_threshold" in report:
        check_threshold(report["suppression_threshold"], source)
    covered = covered_years(source, processed_dir) if coverage else None
    problems = year_problems(years, covered)
    if not problems and dvc_file is not None:
        problems = dvc_year_problems([str(y) for y in years], dvc_file)
    if problems:
        raise UserError(
            "params.yaml `years` cannot be run: "
            + "; ".join(problems)
            + ". Nothing was run; fix params.yaml (and dvc.yaml) and run again."
        )
    return [str(y) for y in years]
