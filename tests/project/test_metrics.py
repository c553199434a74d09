"""The metrics files: small, numeric, committed to git as DVC expects.

DVC compares metrics across commits and experiments (``dvc exp show``, ``dvc metrics diff``)
only when they are in git: ``cache: false`` in dvc.yaml, committed with the ``dvc.lock``
that produced them, and small enough for ``dvc metrics show`` (one column per key).
"""

from __future__ import annotations

import json
import subprocess

import yaml

from analysis.analyse import year as evaluation
from analysis.core import paths
from analysis.report import index

ROOT = paths.ROOT


def test_metrics_are_small_numeric_files_tracked_by_git():
    years = yaml.safe_load((ROOT / "params.yaml").read_text("utf-8"))["years"]
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text("utf-8"))["stages"]
    declared = stages["analyse"]["metrics"]
    assert all(next(iter(m.values())) == {"cache": False} for m in declared)
    tracked = subprocess.run(
        ["git", "ls-files", "metrics"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == [f"metrics/{year}.json" for year in years]
    for path in tracked:
        metrics = json.loads((ROOT / path).read_text("utf-8"))
        assert len(metrics) <= 25, f"{path}: keep metrics to the headline counts and estimates"
        assert all(isinstance(v, int | float) for k, v in metrics.items() if k != "year")


def test_metrics_hold_every_figure_the_index_trend_reads():
    assert set(index.TREND_FIGURES) <= set(evaluation.METRIC_FIGURES)
