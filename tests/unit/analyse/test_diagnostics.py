"""Unit tests for notebook 03's display helpers (analysis.analyse.diagnostics) and the
notebook helpers that chain the scratch sample (analysis.notebook)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.analyse import diagnostics
from analysis.core.errors import UserError
from analysis.runner import notebook


def test_linear_predictor_reads_patsy_terms():
    est = pd.DataFrame(
        {
            "term": ["Intercept", "x", "C(g)[T.b]", "h[z]", "x:C(g)[T.b]"],
            "estimate": [1.0, 2.0, 10.0, 100.0, 0.5],
        }
    )
    data = pd.DataFrame({"x": [0.0, 1.0, 2.0], "g": ["a", "b", "b"], "h": ["z", "y", "z"]})
    assert diagnostics.linear_predictor(est, data).tolist() == [101.0, 13.5, 116.0]
    with pytest.raises(ValueError, match="no column 'w'"):
        diagnostics.linear_predictor(pd.DataFrame({"term": ["w"], "estimate": [1.0]}), data)


def test_estimate_table_keeps_every_term_with_its_interval():
    est = pd.DataFrame(
        {
            "term": ["Intercept", "t"],
            "estimate": [1.234567, 0.5],
            "std_error": [0.1, 0.2],
            "ci_lower": [1.0, 0.1],
            "ci_upper": [1.4, 0.9],
            "p_value": [1e-12, 0.01234],
        }
    )
    table = diagnostics.estimate_table(est)
    assert list(table.columns) == [
        "term", "estimate", "95% CI lower", "95% CI upper", "std. error", "p-value"
    ]  # fmt: skip
    assert table["estimate"].tolist() == [1.2346, 0.5]
    assert table["p-value"].tolist() == ["1e-12", "0.012"]


def test_figures_are_pure_functions_of_their_frames():
    fig = diagnostics.observed_predicted_figure([1, 2, 3], [1.5, 2, 2.5], title="T", what="y")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "residual"
    with pytest.raises(ValueError, match="shape"):
        diagnostics.observed_predicted_figure([1, 2], [1], title="T", what="y")
    dynamic = pd.DataFrame(
        {
            "egt": [-1.0, 0.0, 1.0],
            "att": [0.0, 1.0, 2.0],
            "ci_lower": [-1, 0, 1],
            "ci_upper": [1, 2, 3],
        }  # fmt: skip
    )
    fig = diagnostics.event_study_figure(dynamic, title="E")
    assert fig.axes[0].get_xlabel() == "quarters since the spoke arrived"
    assert diagnostics.png(fig).data[:4] == b"\x89PNG"


def test_writing_on_defaults_replaces_only_changed_files(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(notebook, "scratch_dir", lambda: tmp_path / "scratch")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "same.txt").write_text("a")
    (folder / "gone.txt").write_text("b")
    before = (folder / "same.txt").stat().st_ino
    with notebook.writing(folder, "") as staging:
        assert staging != folder
        staging.mkdir()
        (staging / "same.txt").write_text("a")
        (staging / "new.txt").write_text("c")
    assert sorted(p.name for p in folder.iterdir()) == ["new.txt", "same.txt"]
    assert (folder / "same.txt").stat().st_ino == before  # untouched
    assert not list(tmp_path.glob(".*staging*"))
    with notebook.writing(folder, "given") as target:  # the pipeline: the folder itself
        assert target == folder


def test_choose_sample_becomes_the_current_sample(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(notebook, "scratch_dir", lambda: tmp_path)
    assert notebook.current_sample_params() == (notebook.DEFAULT_SEED, notebook.DEFAULT_SCALE)
    chosen = notebook.choose_sample(seed=7, scale=0.2)
    assert notebook.current_sample_params() == (7, 0.2)
    assert notebook.current_sample() == chosen
    assert notebook.synthesis_folder("", seed=7, scale=0.2) == chosen.raw
    assert notebook.synthesis_folder("/x/raw", seed=3, scale=0.2) == Path("/x/raw")
    assert notebook.current_sample_params() == (7, 0.2)  # an explicit folder changes nothing


def test_check_pair_in_sync_names_the_sync_command(tmp_path: Path):
    import jupytext

    nb = jupytext.reads("# %%\nx = 1\n", fmt="py:percent")
    jupytext.write(nb, tmp_path / "a.ipynb")
    (tmp_path / "a.py").write_text(jupytext.writes(nb, fmt="py:percent"), "utf-8")
    notebook.check_pair_in_sync(tmp_path / "a.ipynb")
    (tmp_path / "a.py").write_text("# %%\nx = 2\n", "utf-8")
    with pytest.raises(UserError, match=r"jupytext --sync .*a\.ipynb"):
        notebook.check_pair_in_sync(tmp_path / "a.ipynb")
