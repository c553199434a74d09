"""Back-tests: the headline figures readers have seen must not change unnoticed.

As RAP teams back-test against their last publication: each year's key figures and main
estimates are compared with committed snapshots (the default data, and the test
pipeline's configuration). A failure lists every figure that changed, from what to what;
an explained change is accepted with ``UPDATE_SNAPSHOTS=1 make test``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PipelineRun, assert_matches_snapshot

from analysis import report

SNAPSHOTS = Path(__file__).parent / "snapshots"
YEARS = ["2013-14", "2014-15", "2015-16", "2016-17"]


DEFAULT_SNAPSHOT = SNAPSHOTS / "headline_default_data.json"


def test_headline_figures_on_the_default_data_match_the_published_snapshot(
    default_processed: Path,
):
    """Back-test, as RAP teams do against their last publication: each year's key figures
    from the default synthetic programme (params.yaml seed and scale) must not change
    unless the snapshot is deliberately updated (UPDATE_SNAPSHOTS=1 make test)."""
    from analysis.core.settings import load_settings

    params = load_settings()
    settings = report.ReportSettings.from_settings(params.years[0], params)
    current = report.headline_snapshot(default_processed, list(params.years), settings)
    assert_matches_snapshot(current, DEFAULT_SNAPSHOT, "the default data's headline figures")


SNAPSHOT = SNAPSHOTS / "headline_figures.json"


def _headline(pipeline_run: PipelineRun) -> dict:
    """Each year's published key figures and main estimates (what a reader would quote)."""
    out = {}
    for year in YEARS:
        tables = pipeline_run.reports / year / "tables"
        index = json.loads((tables / "index.json").read_text("utf-8"))
        name = next(e["file"] for e in index if e["slug"].startswith("key-figures-"))
        key = (tables / name).read_text("utf-8")
        metrics = json.loads((pipeline_run.root / "metrics" / f"{year}.json").read_text("utf-8"))
        estimates = {
            k: round(v, 3)
            for k, v in sorted(metrics.items())
            if k.endswith(("_estimate", "_ci_lower", "_ci_upper", "_fitted")) and v is not None
        }
        out[year] = {"key_figures_csv": key, "estimates": estimates}
    return out


@pytest.mark.pipeline
def test_headline_figures_match_the_published_snapshot(pipeline_run: PipelineRun):
    """Back-test against the last publication: a change fails until the snapshot is
    deliberately updated with ``UPDATE_SNAPSHOTS=1 make test``."""
    assert_matches_snapshot(_headline(pipeline_run), SNAPSHOT, "the headline figures")
