"""Running a validation study's simulations on several cores (one definition for every
study in ``analyse/``)."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any


def run_parallel(
    func: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    jobs: int,
    chunksize: int = 1,
    every: int = 25,
    what: str = "tasks",
) -> None:
    """Run ``func`` on every task, in ``jobs`` fresh (spawned) single-threaded workers when
    more than one (BLAS threads in each of two processes would oversubscribe the cores and
    run about twice as slowly), printing progress every ``every`` tasks to stderr."""
    if jobs > 1 and len(tasks) > 1:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for done, _ in enumerate(pool.map(func, tasks, chunksize=chunksize), start=1):
                if done % every == 0:
                    print(f"  {done}/{len(tasks)} {what} done", file=sys.stderr, flush=True)
    else:
        for task in tasks:
            func(task)


def checkpoint_path(out: Path, label: str, seed: int) -> Path:
    """Where a study keeps one world's record for one seed."""
    return Path(out) / "seeds" / label / f"seed_{seed:04d}.json"


def _run_and_save(args: tuple[Callable[[Any, int], dict[str, Any]], Any, int, str]) -> None:
    func, world, seed, out = args
    path = checkpoint_path(Path(out), world.label, seed)
    record = func(world, seed)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, sort_keys=True) + "\n")
    os.replace(tmp, path)


def run_checkpointed(
    func: Callable[[Any, int], dict[str, Any]],
    worlds: Sequence[Any],
    seeds: int,
    out: Path,
    *,
    jobs: int,
    chunksize: int = 4,
) -> dict[str, list[dict[str, Any]]]:
    """Run ``func(world, seed)`` for every world (anything with a ``label``) and seed 1..
    ``seeds`` not yet checkpointed under ``out`` (one JSON file each, written atomically, so
    a stopped study resumes where it was); return every world's records in seed order.
    ``func`` must be a module-level function (the workers are spawned)."""
    for w in worlds:
        (Path(out) / "seeds" / w.label).mkdir(parents=True, exist_ok=True)
    tasks = [
        (func, w, s, str(out))
        for w in worlds
        for s in range(1, seeds + 1)
        if not checkpoint_path(out, w.label, s).exists()
    ]
    run_parallel(
        _run_and_save, tasks, jobs=jobs, chunksize=chunksize, every=200, what="simulations"
    )
    return {
        w.label: [
            json.loads(checkpoint_path(out, w.label, s).read_text()) for s in range(1, seeds + 1)
        ]
        for w in worlds
    }
