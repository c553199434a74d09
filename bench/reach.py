"""Time one evaluation year's reach model, and the analyse stage per year (issue 24).

Not part of ``make test`` (performance is measured here, never asserted in tests).

Usage: .venv/bin/python bench/reach.py [--runs 5] [--stage-runs 2]
       [--out bench/results/reach.json]

Reads ``data/processed`` (``make reports`` writes it) and, for each evaluation year of
``params.yaml``: times in this process (imports and reading excluded) the year's
spoke-month table (``reach_data``), what it cannot place (``reach.unplaced``) and
``fit_reach`` (median and slowest of ``--runs``), then the whole analyse step for the year
in a fresh process, ``python -m analysis analyse`` (wall and CPU time, as
``bench/rollout.py`` measures it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from analysis.analyse import reach, vintage
from analysis.analyse.year import fit_reach, reach_data
from analysis.core import calendar
from analysis.core.io import load_tables
from analysis.core.paths import ROOT
from analysis.core.settings import load_settings

sys.path.insert(0, str(Path(__file__).parent))
from rollout import stage_seconds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processed", default=str(ROOT / "data" / "processed"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stage-runs", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "reach.json"))
    opts = parser.parse_args()
    processed = Path(opts.processed)
    settings = load_settings()
    tables = load_tables(processed)
    rows = []
    for year in settings.years:
        cutoff = calendar.cutoff_date(year, settings.report.cutoff_days_after_year_end)
        seen = vintage.tables_as_of(tables, year, cutoff)
        times = []
        for _ in range(opts.runs):
            start = time.perf_counter()
            data = reach_data(seen, year)
            model = fit_reach(data, unplaced=reach.unplaced(seen, year, data))
            times.append(time.perf_counter() - start)
        stage, cpu = (
            stage_seconds(processed, year, opts.stage_runs) if opts.stage_runs else ([], [])
        )
        rows.append(
            {
                "year": year,
                "spoke_months": len(data),
                "fitted": model.fitted,
                "reach_median_seconds": round(statistics.median(times), 3),
                "reach_max_seconds": round(max(times), 3),
                "stage_median_seconds": round(statistics.median(stage), 2) if stage else None,
                "stage_cpu_median_seconds": round(statistics.median(cpu), 2) if cpu else None,
            }
        )
    result = {
        "measured": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "load_average": os.getloadavg(),
        "cores": os.cpu_count(),
        "runs": opts.runs,
        "years": rows,
    }
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print("| Year | Spoke-months | Fitted | Reach median | Reach slowest | Analyse step wall "
          "| Analyse step CPU |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['year']} | {r['spoke_months']} | {r['fitted']} | {r['reach_median_seconds']} s "
            f"| {r['reach_max_seconds']} s | {r['stage_median_seconds']} s "
            f"| {r['stage_cpu_median_seconds']} s |"
        )
    print(f"load average {result['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
