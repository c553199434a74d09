"""Time and peak memory of the synthetic generator and the cleaner at several scales.

Not part of ``make test`` (performance is measured here, never asserted in tests).

Usage: .venv/bin/python bench/synthesise_scale.py --scales 1 10 [--out bench/results]
Each scale runs in a fresh process; peak memory is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(args: list[str]) -> dict[str, float]:
    """Run ``python -m analysis <args>`` in a child process; wall time and peak RSS."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis", *args], check=True, capture_output=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(wall, 1), "peak_rss_mib": round(peak_kib / 1024, 1)}


def folder_size(folder: Path) -> tuple[int, int]:
    """Number of files and total bytes under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--seed", type=int, default=20140101)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    opts = parser.parse_args()
    results = []
    for scale in opts.scales:
        with tempfile.TemporaryDirectory() as tmp:
            raw, processed = Path(tmp) / "raw", Path(tmp) / "processed"
            # ru_maxrss of children is the maximum over all children so far: run each
            # measurement in its own interpreter to isolate it.
            synth = json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--_one",
                        "synthesise",
                        str(raw),
                        "--seed",
                        str(opts.seed),
                        "--scale",
                        str(scale),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            files, size = folder_size(raw)
            clean = json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--_one", "clean", str(raw), str(processed)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            row = {
                "scale": scale,
                "raw_files": files,
                "raw_mib": round(size / 2**20, 1),
                "synthesise": synth,
                "clean": clean,
            }
            print(json.dumps(row))
            results.append(row)
    if opts.out:
        Path(opts.out).mkdir(parents=True, exist_ok=True)
        (Path(opts.out) / "synthesise_scale.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_one":
        print(json.dumps(measure(sys.argv[2:])))
        sys.exit(0)
    sys.exit(main())
