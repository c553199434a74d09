"""What the coded fieldwork adds to the default pipeline (issue 25): generating it and
cleaning it, in seconds (median of ``--runs``), at the default seed and scale.

* generate: ``simulate_fieldwork`` + writing the four ``.qdpx`` projects, the register and
  the truth (``write_fieldwork_projects``) on the default world;
* clean: ``clean_returns`` on the default raw folder with and without ``fieldwork/``, the
  difference (interleaved runs, so load hits both sides alike).

    .venv/bin/python bench/fieldwork.py --runs 3 --work /tmp/bench-fieldwork
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from analysis.clean.pipeline import clean_returns
from analysis.core.privacy import write_generator_marker
from analysis.synthesise.design import load_synthetic_params
from analysis.synthesise.programme import _OWNED, synthesise_programme
from analysis.synthesise.world import build_world
from analysis.synthesise.write import Sink
from analysis.synthesise.write.qdpx import write_fieldwork_projects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-fieldwork-"))
    work.mkdir(parents=True, exist_ok=True)
    section = load_synthetic_params()
    seed, scale = int(section["seed"]), float(section["scale"])

    world = build_world(seed, scale, section["calibration"])
    gen = []
    for i in range(args.runs):
        sink = Sink(work / f"gen{i}")
        t0 = time.perf_counter()
        write_fieldwork_projects(sink, world)
        gen.append(time.perf_counter() - t0)

    raw = work / "raw"
    if not (raw / "fieldwork").is_dir():
        synthesise_programme(raw, seed=seed, scale=scale)
    bare = work / "raw-no-fieldwork"
    shutil.rmtree(bare, ignore_errors=True)
    shutil.copytree(raw, bare)
    shutil.rmtree(bare / "fieldwork")
    # the marker lists the fieldwork files: write it again for the folder without them
    write_generator_marker(bare, seed=seed, scale=scale, owned=_OWNED)
    with_fw, without = [], []
    for _ in range(args.runs):
        for folder, times in ((raw, with_fw), (bare, without)):
            t0 = time.perf_counter()
            clean_returns(folder, work / "out")
            times.append(time.perf_counter() - t0)
    med = statistics.median
    print(
        f"generate fieldwork: median {med(gen):.2f} s (runs {', '.join(f'{t:.2f}' for t in gen)})"
    )
    print(f"clean with fieldwork: median {med(with_fw):.2f} s; without: {med(without):.2f} s; "
          f"difference {med(with_fw) - med(without):.2f} s")  # fmt: skip
    print(f"generate + clean fieldwork adds about {med(gen) + med(with_fw) - med(without):.2f} s")


if __name__ == "__main__":
    main()
