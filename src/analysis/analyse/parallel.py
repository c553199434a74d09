"""Running a validation study's simulations on several cores (one definition for every
study in ``analyse/``)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
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
