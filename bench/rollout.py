"""Time one evaluation year's rollout estimation, bands included (issue 21).

Not part of ``make test`` (performance is measured here, never asserted in tests).

Usage: .venv/bin/python bench/rollout.py [--processed data/processed] [--runs 5]
       [--out bench/results/rollout.json]

Reads the cleaned area panel (``make reports`` writes ``data/processed``) and, for each
evaluation year of ``params.yaml``, times in this process (imports and reading excluded):
the year's panel (``rollout_panel``), ``staggered_att``, the simple and dynamic
aggregations, the Wald pre-test, and the simultaneous bands (1,000 multiplier-bootstrap
draws) over the event-time effects and over the ATT(g, t) cells. The median and the
slowest of ``--runs`` runs are reported, the first (cold) run included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from analysis.analyse import models
from analysis.analyse.year import rollout_panel
from analysis.core.paths import ROOT
from analysis.core.settings import load_settings

COLUMNS = {
    "unit": "area_code",
    "time": "quarter_index",
    "cohort": "cohort_quarter",
    "outcome": "cse_concerns",
}


def one_year(area_panel: pd.DataFrame, areas: pd.DataFrame, year: str) -> dict:
    """The full rollout estimation of one year; what it produced (for the record)."""
    panel = rollout_panel(area_panel, areas, year)
    att = models.staggered_att(panel, **COLUMNS)
    models.aggregate_att(att, how="simple")
    dynamic = models.aggregate_att(att, how="dynamic")
    pretest = models.pretest_parallel_trends(att)
    band = models.simultaneous_band(dynamic, draws=models.BAND_DRAWS, seed=models.BAND_SEED)
    cells = models.simultaneous_band(att, draws=models.BAND_DRAWS, seed=models.BAND_SEED)
    return {
        "areas": int(att.n_units_used),
        "quarters": int(len(att.periods)),
        "cells": int(len(att.table)),
        "event_times": int(len(dynamic.table)),
        "critical_value_dynamic": band.critical_value,
        "critical_value_cells": cells.critical_value,
        "pretest": pretest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processed", default=str(ROOT / "data" / "processed"))
    parser.add_argument("--runs", type=int, default=5)
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
        rows.append(
            {
                "year": year,
                **what,
                "median_seconds": round(statistics.median(times), 3),
                "max_seconds": round(max(times), 3),
            }
        )
    result = {
        "measured": datetime.now().strftime("%Y-%m-%d %H:%M"),
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
    print("| Year | Areas | Cells | Event times | c (dynamic) | c (cells) | Median | Slowest |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['year']} | {r['areas']} | {r['cells']} | {r['event_times']} | "
            f"{r['critical_value_dynamic']:.3f} | {r['critical_value_cells']:.3f} | "
            f"{r['median_seconds']:.3f} s | {r['max_seconds']:.3f} s |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
