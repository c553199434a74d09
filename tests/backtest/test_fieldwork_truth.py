"""Fieldwork evidence on the default data against the generator's truth.

* At least 90% of the theme prevalences a report states (every theme by evaluation year,
  role group, phase and host type, years 2014-15 on) hold the truth's prevalence (the
  model's probability averaged over the same sources, ``_truth/fieldwork.json``,
  ``prevalence_by_year``) inside their stated 95% interval.
* Each of the six outcomes has a joint display with both kinds of evidence (an indicator
  with a value and fieldwork sources) from 2014-15 on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.analyse import fieldwork as F
from analysis.analyse import outcomes, vintage
from analysis.analyse.verdicts import outcome_verdicts
from analysis.core import calendar
from analysis.core.framework import load_framework
from analysis.core.io import load_tables
from analysis.core.settings import load_settings

YEARS = ("2014-15", "2015-16", "2016-17")
TRUTH_DIMENSION = {"evaluation_year": "all", "role_group": "role_group", "phase": "phase",
                   "host_type": "host"}  # fmt: skip


@pytest.fixture(scope="module")
def evidence(default_processed: Path) -> dict[str, dict]:
    tables = load_tables(default_processed)
    framework = load_framework()
    settings = load_settings()
    out = {}
    for year in YEARS:
        seen = vintage.tables_as_of(
            tables, year, calendar.cutoff_date(year, settings.report.cutoff_days_after_year_end)
        )
        programme = outcomes.programme_indicators(outcomes.outcome_indicators(seen, year))
        verdicts = [v.record() for v in outcome_verdicts(programme, year, framework)]
        out[year] = F.fieldwork_evidence(
            seen, year, programme, verdicts, F.indicators_of(framework), settings.fieldwork
        )
    return out


def test_reported_theme_prevalences_hold_the_truth(default_processed: Path, evidence) -> None:
    truth = json.loads((default_processed.parent / "raw" / "_truth" / "fieldwork.json").read_text())
    key = {c["name"]: c["key"] for c in truth["codebook"]}
    by_year = truth["prevalence_by_year"]
    inside = total = 0
    missed = []
    for year in YEARS:
        for r in evidence[year]["prevalence"].itertuples(index=False):
            cell_year = r.group if r.dimension == "evaluation_year" else year
            if cell_year < YEARS[0]:
                continue  # the by-year rows of a later report repeat earlier years
            group = "all" if r.dimension == "evaluation_year" else r.group
            model = by_year[cell_year][key[r.code]][TRUTH_DIMENSION[r.dimension]][group]["model"]
            total += 1
            if r.lower <= model <= r.upper:
                inside += 1
            else:
                missed.append((year, r.dimension, r.group, r.code, model, r.lower, r.upper))
    assert total > 500  # every theme by every breakdown, three years
    assert inside / total >= 0.9, (inside, total, missed[:5])


@pytest.mark.parametrize("year", YEARS)
def test_each_outcome_has_a_joint_display_with_both_sides(evidence, year: str) -> None:
    displays = evidence[year]["joint_displays"]
    assert [d.outcome for d in displays] == [1, 2, 3, 4, 5, 6]
    lacking = [(d.outcome, bool(d.indicators), d.sources) for d in displays if not d.complete]
    assert not lacking, f"joint displays lacking a side (outcome, numbers, sources): {lacking}"
    assert all(d.raised > 0 and d.agreement in ("agree", "diverge", "fieldwork only")
               for d in displays)  # fmt: skip
