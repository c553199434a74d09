"""Same inputs, same bytes, whatever the BLAS kernel or thread count.

A fresh clone on another x86-64 machine once published different model estimates (and a
``nan``) because OpenBLAS picked another kernel for that CPU. Here the analysis of every
year, on the default data and on the test pipeline's configuration, runs in fresh
processes under two OpenBLAS kernels and two thread counts; ``threadpoolctl`` confirms
that each process really used the kernel asked for, and every output file must hash the
same. Model results are rounded to ``analysis.models.SIGNIFICANT_DIGITS``; with rounding
switched off (``SIGNIFICANT_DIGITS = None``) this test fails on the default data.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.core import paths

pytestmark = pytest.mark.pipeline

# (OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS): two x86-64 kernels every AVX2 CPU can run,
# with different thread counts, so both sources of floating-point difference are varied.
RUNS = (("Haswell", "1"), ("Sandybridge", "2"))

_SCRIPT = """
import hashlib, json, sys
from pathlib import Path

import numpy, scipy.linalg, statsmodels.api  # load every BLAS the analysis uses
import threadpoolctl

from analysis.analyse.year import evaluate_year, year_arguments
from analysis.core.settings import load_settings

config = json.loads(sys.argv[1])
out = Path(config["out"])
for name, processed in config["data"].items():
    for year in config["years"]:
        evaluate_year(
            Path(processed),
            year,
            out_dir=out / name / year,
            metrics_file=out / name / f"metrics-{year}.json",
            **year_arguments(load_settings()),
        )
hashes = {
    str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
    for p in sorted(out.rglob("*"))
    if p.is_file()
}
blas = [
    {"file": Path(i["filepath"]).name, "architecture": i.get("architecture"),
     "threads": i["num_threads"]}
    for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"
]
print(json.dumps({"hashes": hashes, "blas": blas}))
"""


def _run(kernel: str, threads: str, data: dict[str, str], out: Path) -> dict:
    env = dict(os.environ)
    env.update(
        OPENBLAS_CORETYPE=kernel,
        OPENBLAS_NUM_THREADS=threads,
        SM_FORMULA_ENGINE="patsy",
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
    )
    years = [str(y) for y in yaml.safe_load(paths.PARAMS_FILE.read_text("utf-8"))["years"]]
    config = {"out": str(out), "data": data, "years": years}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(config)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 kernels")
def test_analysis_outputs_are_byte_identical_under_two_blas_kernels(
    pipeline_run, default_processed: Path, tmp_path: Path
):
    data = {
        "default": str(default_processed),
        "test-config": str(pipeline_run.root / "data" / "processed"),
    }
    results = {run: _run(*run, data, tmp_path / "-".join(run)) for run in RUNS}

    for (kernel, threads), result in results.items():
        assert result["blas"], "threadpoolctl found no OpenBLAS: the kernels were not varied"
        used = {b["architecture"] for b in result["blas"]}
        assert used == {kernel}, f"asked for {kernel}, OpenBLAS used {used}"
        assert {b["threads"] for b in result["blas"]} == {int(threads)}

    (first, a), (second, b) = results.items()
    assert set(a["hashes"]) == set(b["hashes"])
    assert len(a["hashes"]) > 50  # every year's tables, models and metrics, both datasets
    differ = sorted(f for f in a["hashes"] if a["hashes"][f] != b["hashes"][f])
    assert not differ, f"outputs differ between {first} and {second}: {differ}"
