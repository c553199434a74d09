"""The report's content: vintage invariance, revisions and disclosure of its tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import report
from analysis.analyse import year as evaluation
from analysis.clean import pipeline as clean
from analysis.core import calendar as periods
from analysis.core.io import PROCESSED_TABLES, write_complete_marker
from analysis.core.privacy import check_generator_marker, write_generator_marker
from analysis.core.settings import load_settings
from analysis.runner.notebook import ensure_sample

pytestmark = pytest.mark.xdist_group("sample")

SECTIONS = (
    "summary",
    "programme_status",
    "referrals",
    "who",
    "activities",
    "outcome_measures",
    "change_over_time",
    "fieldwork",
    "data_quality",
)


ARGS = evaluation.year_arguments(load_settings())


@pytest.fixture(scope="module")
def sample():
    return ensure_sample(seed=1, scale=0.1)


def _truncate(processed: Path, dest: Path, year: str, cutoff_days: int) -> Path:
    """The processed tables as they would have been with nothing after ``year``'s cut-off."""
    dest.mkdir(parents=True)
    cutoff = pd.Timestamp(periods.cutoff_date(year, cutoff_days))
    end = pd.Timestamp(periods.year_bounds(year)[1])
    for name in PROCESSED_TABLES:
        frame = pd.read_parquet(processed / f"{name}.parquet")
        if "evaluation_year" in frame.columns:
            frame = frame.loc[frame["evaluation_year"].astype("str") <= year]
        if "received_date" in frame.columns:
            frame = frame.loc[pd.to_datetime(frame["received_date"]) <= cutoff]
        if "quarter_start" in frame.columns:
            frame = frame.loc[pd.to_datetime(frame["quarter_start"]) <= end]
        frame.to_parquet(dest / f"{name}.parquet", index=False)
    for extra in ("ledger.json", "quarantine.csv"):
        shutil.copy(processed / extra, dest / extra)
    write_complete_marker(dest, "clean (cut at the cut-off by this test)")
    return dest


def _render_tables(processed: Path, work: Path, year: str) -> dict[str, bytes]:
    analysis_dir = work / "analysis"
    evaluation.evaluate_year(processed, year, out_dir=analysis_dir, **ARGS)
    rep = report.YearReport.build(
        report.ReportSettings.from_settings(year, load_settings()),
        processed_dir=processed,
        analysis_dir=analysis_dir,
        out_dir=work / "out",
    )
    for section in SECTIONS:
        getattr(rep, section)()
    files = sorted((work / "out").rglob("*"))
    return {str(f.relative_to(work / "out")): f.read_bytes() for f in files if f.is_file()}


def _raw_as_of(raw: Path, dest: Path, year: str, cutoff_days: int) -> Path:
    """A copy of the raw folder as the evaluators held it at ``year``'s cut-off: no file for
    a later period or received later, and no later rows in the year-indexed CSVs."""
    import csv

    shutil.copytree(raw, dest, ignore=shutil.ignore_patterns("_truth"))
    # the evaluators' redaction register was theirs then too (fieldwork is read only with it)
    (dest / "_truth").mkdir()
    shutil.copy2(raw / "_truth" / "redaction_register.csv", dest / "_truth")
    cutoff = pd.Timestamp(periods.cutoff_date(year, cutoff_days))
    manifest = pd.read_csv(dest / "manifest.csv", dtype="str", keep_default_na=False)
    received = pd.to_datetime(manifest["received_date"], format="%Y-%m-%d", errors="coerce")
    late = (manifest["period"].str[:7] > year) | (received > cutoff)
    for file in manifest.loc[late, "file"]:
        (dest / file).unlink()
    manifest.loc[~late].to_csv(dest / "manifest.csv", index=False, lineterminator="\n")
    for name, column in (
        ("fieldwork.csv", "evaluation_year"),
        ("register/funding.csv", "evaluation_year"),
        ("area_panel.csv", "quarter"),
    ):
        path = dest / name
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        keep = [rows[0]] + [r for r in rows[1:] if r[rows[0].index(column)][:7] <= year]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(keep)
    # Still the generator's data, so still its key: mark the subset as the generator would.
    marker = check_generator_marker(raw).marker
    write_generator_marker(dest, seed=marker.seed, scale=marker.scale)
    return dest


@pytest.mark.parametrize("year", ["2014-15", "2015-16"])
def test_later_returns_do_not_change_an_earlier_report(sample, tmp_path, year):
    """Clean the raw returns as they stood at the year's cut-off and all of them: the year's
    report tables and figures must be identical (everything later is invisible to it)."""
    early_raw = _raw_as_of(sample.raw, tmp_path / "raw-then", year, 61)
    clean.clean_returns(early_raw, tmp_path / "processed-then")
    then = _render_tables(tmp_path / "processed-then", tmp_path / "then", year)
    now = _render_tables(sample.processed, tmp_path / "now", year)
    assert then.keys() == now.keys()
    changed = [name for name in now if now[name] != then[name]]
    assert changed == [], f"later returns changed these outputs of the {year} report: {changed}"
    assert sum(name.endswith(".csv") for name in now) >= 20


@pytest.mark.parametrize("year", ["2014-15"])
def test_later_data_do_not_change_an_earlier_report(sample, tmp_path, year):
    full = _render_tables(sample.processed, tmp_path / "full", year)
    cut = _truncate(sample.processed, tmp_path / "cut-processed", year, 61)
    truncated = _render_tables(cut, tmp_path / "cut", year)
    assert full.keys() == truncated.keys()
    changed = [name for name in full if full[name] != truncated[name]]
    assert changed == [], f"later data changed these outputs of the {year} report: {changed}"
    assert any(name.endswith(".svg") for name in full), "no figures were compared"
    assert sum(name.endswith(".csv") for name in full) >= 20


def test_report_tables_are_disclosed_and_indexed(sample, tmp_path):
    files = _render_tables(sample.processed, tmp_path, "2016-17")
    index = pd.read_json(tmp_path / "out" / "tables" / "index.json")
    assert set(index["file"]) == {Path(n).name for n in files if n.endswith(".csv")}
    assert index["threshold"].isin([0, 9]).all()


@pytest.mark.parametrize("year", ["2014-15", "2016-17"])
def test_key_figures_from_the_analysis_match_a_fresh_computation(sample, tmp_path, year):
    """The summary reads this year's key figures from the analyse stage's headline.json; they
    must be what the report's own tables give."""
    from analysis.core.io import read_json

    evaluation.evaluate_year(sample.processed, year, out_dir=tmp_path / "analysis", **ARGS)
    rep = report.YearReport.build(
        report.ReportSettings.from_settings(year, load_settings()),
        processed_dir=sample.processed,
        analysis_dir=tmp_path / "analysis",
        out_dir=tmp_path / "out",
    )
    stored = read_json(tmp_path / "analysis" / "headline.json")
    fresh = report.key_figures(rep.context.seen, year)
    assert len(fresh) >= 6
    pd.testing.assert_frame_equal(
        report.key_figures(rep.context.seen, year, headline=stored), fresh
    )


def test_a_report_refuses_an_analysis_of_other_data(sample, tmp_path):
    """Reading another year's (or another vintage's) analysis would make the report's
    sections disagree with each other: it is refused with a message saying what to do."""
    from analysis.core.errors import UserError

    evaluation.evaluate_year(sample.processed, "2014-15", out_dir=tmp_path / "analysis", **ARGS)

    def build(year: str, analysis_dir: Path) -> report.YearReport:
        return report.YearReport.build(
            report.ReportSettings.from_settings(year, load_settings()),
            processed_dir=sample.processed,
            analysis_dir=analysis_dir,
            out_dir=tmp_path / "out",
        )

    with pytest.raises(UserError, match="holds the analysis of 2014-15 on other data"):
        build("2015-16", tmp_path / "analysis")
    with pytest.raises(UserError, match="analysed_data.json is missing"):
        build("2014-15", tmp_path / "nowhere")
    assert build("2014-15", tmp_path / "analysis").year == "2014-15"


def test_age_band():
    ages = pd.Series([10, 12, 13, 15, 17, None], dtype="Float64")
    bands = report.age_band(ages)
    assert bands.tolist()[:5] == ["12 and under", "12 and under", "13-14", "15-16", "17 and over"]
    assert pd.isna(bands.iloc[5])


def test_predicted_trajectory_uses_fixed_effects_only():
    est = pd.DataFrame(
        {
            "term": ["Intercept", "months_since_referral"],
            "estimate": [0.5, 0.02],
            "ci_lower": [0.45, 0.01],
            "ci_upper": [0.55, 0.03],
        }
    )
    pred = report.predicted_trajectory(est, months=(0, 10))
    assert pred["estimate"].tolist() == pytest.approx([0.5, 0.7])
    assert pred["ci_lower"].tolist() == pytest.approx([0.5, 0.6])
