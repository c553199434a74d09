"""Time the release audit (``python -m analysis audit``) over a reports folder.

Usage: ``python bench/audit.py [REPORTS_DIR] [--runs N]`` (default: the pipeline's reports).
Prints the number of suppressed cells, constraints, MILPs solved and the wall time of each
run (read + build + solve, in this process), and the median. Figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from analysis.core import paths
from analysis.publish.disclosure.audit import audit, read_releases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reports_dir", nargs="?", default=str(paths.REPORTS_DIR))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        registries = read_releases(Path(args.reports_dir))
        result = audit(registries)
        times.append(time.perf_counter() - start)
    n_stats = sum(len(r.stats) for r in registries)
    n_rel = sum(len(r.relations) for r in registries)
    print(
        f"{len(registries)} registries, {n_stats} statistics, {n_rel} relations; "
        f"{len(result.cells)} suppressed cells, {result.n_constraints} constraints, "
        f"{len(result.failures)} disclosed"
    )
    print("runs (s):", ", ".join(f"{t:.2f}" for t in times))
    print(f"median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
