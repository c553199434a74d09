"""Time the release audit (``python -m analysis audit``) over a reports folder.

Usage: ``python bench/audit.py [REPORTS_DIR] [--runs N] [--reasons DIR]`` (default: the
pipeline's reports; ``--reasons data/interim/suppression`` as the audit stage runs it).
Prints the number of suppressed cells and constraints, and the wall and CPU time of each
run (read + build + solve, in this process), and the medians. Figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from analysis.core import paths
from analysis.publish.disclosure.audit import audit, read_releases
from analysis.publish.release import read_reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reports_dir", nargs="?", default=str(paths.REPORTS_DIR))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reasons", default=None, help="the report stage's private folder")
    args = parser.parse_args()
    times, cpu = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        registries = read_releases(Path(args.reports_dir))
        primary = read_reasons(Path(args.reasons) if args.reasons else None)
        result = audit(registries, primary=primary)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    n_stats = sum(len(r.stats) for r in registries)
    n_rel = sum(len(r.relations) for r in registries)
    print(
        f"{len(registries)} registries, {n_stats} statistics, {n_rel} relations; "
        f"{len(result.cells)} suppressed cells, {result.n_constraints} constraints, "
        f"{len(result.failures)} disclosed"
    )
    print("wall (s):", ", ".join(f"{t:.2f}" for t in times))
    print("cpu (s):", ", ".join(f"{t:.2f}" for t in cpu))
    print(f"median wall {statistics.median(times):.2f} s, cpu {statistics.median(cpu):.2f} s")


if __name__ == "__main__":
    main()
