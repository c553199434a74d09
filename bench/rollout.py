"""Time one evaluation year's rollout evidence, and the analyse stage per year (issues 21-22).

Not part of ``make test`` (performance is measured here, never asserted in tests).

Usage: .venv/bin/python bench/rollout.py [--processed data/processed] [--runs 5]
       [--stage-runs 3] [--out bench/results/rollout.json]

Reads the cleaned area panel (``make reports`` writes ``data/processed``) and, for each
evaluation year of ``params.yaml``:

* times in this process (imports and reading excluded) the year's panel
  (``rollout_panel``) and ``fit_rollout``: small cohorts pooled, ``staggered_att`` on a
  universal base period, the aggregations, the Wald pre-test, the pre-arrival trend test,
  the simultaneous band (1,000 multiplier-bootstrap draws), HonestDiD's relative-magnitudes
  bounds and the six re-estimations of the sensitivity table; median and slowest of
  ``--runs`` runs, the first (cold) run included;
* times the whole analyse step for the year in a fresh process, ``python -m analysis
  analyse PROCESSED YEAR OUT`` (imports, every model, the tables written: the analyse
  stage without papermill's kernel start), ``--stage-runs`` times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from analysis.analyse.year import fit_rollout, rollout_panel
from analysis.core.paths import ROOT
from analysis.core.settings import load_settings


def one_year(area_panel: pd.DataFrame, areas: pd.DataFrame, year: str) -> dict:
    """The year's rollout evidence as the analyse stage computes it; what it produced."""
    panel = rollout_panel(area_panel, areas, year)
    model = fit_rollout(panel)
    if not model.fitted:
        return {"areas": int(panel["area_code"].nunique()), "fitted": False}
    checks = model.checks
    return {
        "areas": int(model.n_units_used),
        "fitted": True,
        "cells": int(len(model.extra["att_gt"])),
        "event_times": int(len(model.extra["att_dynamic"])),
        "critical_value": checks["band"]["critical_value"],
        "bounds_post_quarters": checks["bounds"].get("post_quarters"),
    }


def stage_seconds(processed: Path, year: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) time of ``python -m analysis analyse`` for ``year`` in
    fresh processes: on a shared machine the CPU time is the load-independent figure."""
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "analysis", "analyse", str(processed), year, tmp],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processed", default=str(ROOT / "data" / "processed"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stage-runs", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rollout.json"))
    opts = parser.parse_args()
    processed = Path(opts.processed)
    if not (processed / "area_panel.parquet").exists():
        raise SystemExit(f"{processed}/area_panel.parquet not found: run `make reports` first")
    area_panel = pd.read_parquet(processed / "area_panel.parquet")
    areas = pd.read_parquet(processed / "areas.parquet")
    settings = load_settings()
    rows = []
    for year in settings.years:
        times = []
        for _ in range(opts.runs):
            start = time.perf_counter()
            what = one_year(area_panel, areas, year)
            times.append(time.perf_counter() - start)
        stage, cpu = (
            stage_seconds(processed, year, opts.stage_runs) if opts.stage_runs else ([], [])
        )
        rows.append(
            {
                "year": year,
                **what,
                "median_seconds": round(statistics.median(times), 3),
                "max_seconds": round(max(times), 3),
                "stage_median_seconds": round(statistics.median(stage), 2) if stage else None,
                "stage_max_seconds": round(max(stage), 2) if stage else None,
                "stage_cpu_median_seconds": round(statistics.median(cpu), 2) if cpu else None,
            }
        )
    result = {
        "measured": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "load_average": os.getloadavg(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "scale": settings.scale,
        "seed": settings.seed,
        "runs": opts.runs,
        "years": rows,
    }
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print("| Year | Areas | Cells | Event times | c (band) | Rollout median | Rollout slowest "
          "| Analyse step median | Analyse step slowest | Analyse step CPU |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if not r["fitted"]:
            print(f"| {r['year']} | {r['areas']} | not fitted | | | {r['median_seconds']:.3f} s "
                  f"| {r['max_seconds']:.3f} s | {r['stage_median_seconds']} s "
                  f"| {r['stage_max_seconds']} s | {r['stage_cpu_median_seconds']} s |")  # fmt: skip
            continue
        print(
            f"| {r['year']} | {r['areas']} | {r['cells']} | {r['event_times']} | "
            f"{r['critical_value']:.3f} | {r['median_seconds']:.3f} s | "
            f"{r['max_seconds']:.3f} s | {r['stage_median_seconds']} s | "
            f"{r['stage_max_seconds']} s | {r['stage_cpu_median_seconds']} s |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
