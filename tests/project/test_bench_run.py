"""The benchmark suite's reporting (bench/run.py): table and README update, no timing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from analysis.core import paths


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", paths.ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary(seconds: float, peak: float = 100.0) -> dict:
    return {"median_s": seconds, "min_s": seconds, "max_s": seconds, "runs": 1, "peak_mib": peak}


def fake_results() -> dict:
    return {
        "machine": {"cores": 2, "python": "3.11", "platform": "x"},
        "settings": {"runs": 5, "big_runs": 3, "big_scale": 10.0, "pipeline_runs": 1},
        "date": "2026-01-01 00:00",
        "kernel_start": {
            "papermill_one_cell": _summary(4.0),
            "python_import_analysis": _summary(0.1),
            "per_kernel_start_s": 3.9,
        },
        "papermill_overhead": {"plain": _summary(10.0), "papermill": _summary(20.0), "ratio": 2.0},
        "clean_vs_read": {"clean": _summary(3.0), "read_floor": _summary(2.0), "ratio": 1.5},
        "growth": {
            "scale_1": _summary(1.0),
            "scale_10": _summary(10.0),
            "ratio": 10.0,
            "exponent": 1.0,
            "peak_mib": 5000.0,
        },
        "dvc": {
            "cold_pipeline": _summary(100.0),
            "noop_repro": _summary(2.0),
            "noop_share": 0.02,
            "report_param_change_reruns": ["index", "report"],
            "report_param_change_only_reports": True,
        },
    }


def test_table_marks_each_target(bench) -> None:
    text = bench.table(fake_results())
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "**not met**" in lines["| 1. papermill / plain Python, clean + analyse ×4 at scale 10"]
    assert lines["| 2. no-op `dvc repro` / cold run"].endswith("| met |")
    assert lines["| 3. clean / read floor at scale 10"].endswith("| met |")
    assert "**not met**" in lines["| 4. peak memory (largest process tree)"]
    assert (
        "**not met**" in lines["| 5. cold full pipeline at default scale (`dvc repro`, fresh copy)"]
    )
    assert "not run" in lines["| 6. `make test`"]
    assert "2 cores" in text


def test_a_failed_make_test_is_reported_not_met(bench) -> None:
    res = {**fake_results(), "make_test": {"failed": "command failed: make test"}}
    lines = [line for line in bench.table(res).splitlines() if line.startswith("| 6.")]
    assert lines and lines[0].endswith("| **not met** |") and "failed" in lines[0]


def test_write_readme_replaces_only_the_results(bench, tmp_path: Path, monkeypatch) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Bench\n\nintro\n", "utf-8")
    monkeypatch.setattr(bench, "BENCH", tmp_path)
    bench.write_readme("first\n")
    bench.write_readme("second\n")
    text = readme.read_text("utf-8")
    assert text.startswith("# Bench\n\nintro\n")
    assert "second" in text and "first" not in text
    assert text.count(bench.README_START) == 1
