"""The pre-commit guard refuses data files, reports and executed notebooks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "guard_no_data", ROOT / "scripts" / "guard_no_data.py"
)
guard = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(guard)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "path",
    [
        "data/raw/manifest.csv",
        "data/raw/returns/S01/S01_2014-15_v1.xlsx",
        "data/interim/x.json",
        "data/processed/young_people.parquet",
        "somewhere/else/table.parquet",
        "notes/return.xlsx",
        "data/lookup.csv",
        "reports/2014-15/report.html",
    ],
)
def test_refused(path: str, tmp_path: Path) -> None:
    assert guard.reason(path, tmp_path) is not None
    assert guard.main([path]) == 1


@pytest.mark.parametrize(
    "path",
    [
        "src/analysis/clean.py",
        "tests/data/minimal/returns/S01/S01_2014-15_v1.xlsx",
        "tests/data/minimal/manifest.csv",
        "data/external/dfe_children_in_need/national.csv",
        "data/raw/.gitkeep",
        "reports/README.md",
        "docs/data-contract.md",
    ],
)
def test_allowed(path: str, tmp_path: Path) -> None:
    assert guard.reason(path, tmp_path) is None


def _notebook(outputs: list, count: int | None) -> str:
    cell = {"cell_type": "code", "source": "1+1", "metadata": {}, "outputs": outputs,
            "execution_count": count}  # fmt: skip
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_executed_notebook_refused(tmp_path: Path) -> None:
    nb = tmp_path / "notebooks" / "a.ipynb"
    nb.parent.mkdir()
    nb.write_text(_notebook([{"output_type": "execute_result", "data": {}}], 1), "utf-8")
    assert "executed notebook" in guard.reason("notebooks/a.ipynb", tmp_path)
    nb.write_text(_notebook([], None), "utf-8")
    assert guard.reason("notebooks/a.ipynb", tmp_path) is None
    nb.write_text(_notebook([], 3), "utf-8")
    assert guard.reason("notebooks/a.ipynb", tmp_path) is not None
