"""Notebooks 01 to 04 chain on their defaults (as nbval and JupyterLab run them): one
scratch sample, written by 01, cleaned by 02, analysed by 03 and reported on by 04; 01's
seed reaches 02. Each notebook runs in a fresh kernel, in a copy of the repository."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from tests.conftest import make_repo_copy

CHAIN = ("01_synthesise", "02_clean", "03_analyse", "04_report")


def _run(root: Path, name: str, out: Path, **parameters: object) -> nbformat.NotebookNode:
    executed = out / f"{name}.ipynb"
    papermill.execute_notebook(
        str(root / "notebooks" / f"{name}.ipynb"),
        str(executed),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(root / "notebooks"),
        progress_bar=False,
    )
    return nbformat.read(executed, as_version=4)


def _outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [
        out["data"][mime]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if mime in out.get("data", {})
    ]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo_copy(tmp_path / "repo", {})
    monkeypatch.setenv("HUBSPOKE_ROOT", str(root))  # the kernels' analysis.paths.ROOT
    monkeypatch.delenv("HUBSPOKE_DATA_ROOT", raising=False)
    return root


def test_notebooks_chain_through_one_scratch_sample(repo: Path, tmp_path: Path):
    out = tmp_path / "executed"
    out.mkdir()
    executed = {name: _run(repo, name, out) for name in CHAIN}
    scratch = repo / "data" / "interim" / "scratch"
    samples = sorted(p.name for p in scratch.glob("sample-*") if p.is_dir())
    assert len(samples) == 1 and samples[0].startswith("sample-1-0.1-"), samples
    sample = scratch / samples[0]
    assert json.loads((scratch / "current-sample.json").read_text("utf-8")) == {
        "seed": 1,
        "scale": 0.1,
    }
    for part in ("raw/manifest.csv", "processed/ledger.json", "analysis/2015-16/models.json"):
        assert (sample / part).is_file(), part
    assert any((sample / "report" / "2015-16").rglob("*.csv"))
    assert not list(sample.glob(".*staging*")), "a staging folder was left behind"
    # Each notebook printed the folder it used: all in the one sample.
    for name in CHAIN[:3]:
        shown = "".join(_outputs(executed[name], "text/plain"))
        assert samples[0] in shown, name
    # 03 shows estimate tables with intervals and the diagnostics figures.
    html = "".join(_outputs(executed["03_analyse"], "text/html"))
    assert html.count("95% CI lower") >= 2
    # the reach model per spoke: its rate ratios, or (a sample this small has fewer
    # services than the clustered intervals need) the reason it was not fitted
    shown = "".join(_outputs(executed["03_analyse"], "text/markdown"))
    assert "rate ratio" in html or "Not fitted: Not enough data yet: modelling how reach" in shown
    assert len(_outputs(executed["03_analyse"], "image/png")) >= 1
    assert "..." not in "".join(_outputs(executed["02_clean"], "text/plain"))

    # A new seed in 01 becomes the sample 02 cleans.
    _run(repo, "01_synthesise", out, seed=2)
    _run(repo, "02_clean", out)
    cleaned = [p.parent.parent.name for p in scratch.glob("sample-2-0.1-*/processed/ledger.json")]
    assert len(cleaned) == 1
