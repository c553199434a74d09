"""The whole pipeline, run once on a small synthetic configuration (see conftest)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import PipelineRun, assert_matches_snapshot, pipeline_env  # noqa: F401

from analysis.report.year import EXACT_FIGURES

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]

YEARS = ["2013-14", "2014-15", "2015-16", "2016-17"]


def test_repro_names_every_stage(pipeline_run: PipelineRun):
    for stage in ("synthesise", "clean", "analyse", "report", "aqa", "national", "index"):
        assert f"Running stage '{stage}'" in pipeline_run.log, f"stage {stage} did not run"
    for step in ("03_analyse", "04_report"):
        for year in YEARS:
            assert f"finished {step} {year} -> " in pipeline_run.log, f"{step} {year} did not run"


@pytest.mark.parametrize("year", YEARS)
def test_each_year_has_a_substantial_self_contained_report(pipeline_run: PipelineRun, year: str):
    html_path = pipeline_run.reports / year / "report.html"
    html = html_path.read_text("utf-8")
    assert len(html) > 50_000, "report is suspiciously small"
    assert html.count("<table") >= 5
    # the first year of the small configuration has one service: no single-bar charts
    assert len(re.findall(r"<svg\b[^>]*\bxmlns=", html)) >= 2, "figures missing"
    assert re.search(r"""(src|href)=["']https?://""", html) is None, (
        "report requests an outside host"
    )
    assert "injected-parameters" not in html and "papermill" not in html.lower()
    csvs = list((pipeline_run.reports / year).rglob("*.csv"))
    assert len(csvs) >= 5, "tables are not downloadable as CSV"
    figures = list((pipeline_run.reports / year).rglob("*.svg"))
    assert figures, "figure files missing"


def test_index_links_every_year(pipeline_run: PipelineRun):
    html = (pipeline_run.reports / "index.html").read_text("utf-8")
    for year in YEARS:
        assert f'href="{year}/report.html"' in html
    assert (pipeline_run.reports / "headline_trend.csv").exists()


def test_metrics_hold_the_main_estimates_per_year(pipeline_run: PipelineRun):
    for year in YEARS:
        metrics = json.loads((pipeline_run.root / "metrics" / f"{year}.json").read_text("utf-8"))
        assert metrics["year"] == year
        assert {"trajectory_fitted", "reach_fitted", "rollout_fitted"} <= metrics.keys()
    last = json.loads((pipeline_run.root / "metrics" / "2016-17.json").read_text("utf-8"))
    assert last["trajectory_fitted"] and last["rollout_fitted"]
    shown = pipeline_run.dvc("metrics", "show")
    assert shown.returncode == 0 and "trajectory_estimate" in shown.stdout


def test_second_repro_has_nothing_to_do(pipeline_run: PipelineRun):
    status = pipeline_run.dvc("status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout or "{}") == {}


def test_report_only_parameter_change_reruns_only_report_stages(
    pipeline_run: PipelineRun, tmp_path
):
    copy = tmp_path / "repo"
    shutil.copytree(pipeline_run.root, copy, symlinks=True)
    params = yaml.safe_load((copy / "params.yaml").read_text("utf-8"))
    params["report"]["suppression_threshold"] = 5
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")
    status = PipelineRun(root=copy, log="").dvc("status", "--json")
    assert status.returncode == 0, status.stderr
    changed = set(json.loads(status.stdout))
    assert changed in ({"report"}, {"report", "index"}), changed


def test_processed_tables_hold_no_identifying_columns(pipeline_run: PipelineRun):
    import pandas as pd

    forbidden = re.compile(r"name|postcode|dob|birth|note|case_id|client", re.I)
    for table in (pipeline_run.root / "data" / "processed").glob("*.parquet"):
        columns = pd.read_parquet(table).columns
        assert not [c for c in columns if forbidden.search(c) and c != "area_name"], table.name


def _identifying_values(raw: Path) -> set[str]:
    """Names, dates of birth, case IDs, postcodes and notes planted in the raw extracts."""
    import pandas as pd

    from analysis.clean.returns import normalise_label
    from analysis.core.labels import EXTRACT_COLUMNS

    values: set[str] = set()
    for csv in sorted((raw / "extracts").rglob("*.csv")):
        try:
            frame = pd.read_csv(csv, dtype="str", keep_default_na=False, encoding="utf-8-sig")
        except UnicodeDecodeError:
            frame = pd.read_csv(csv, dtype="str", keep_default_na=False, encoding="cp1252")
        for column in frame.columns:
            canonical = EXTRACT_COLUMNS.get(normalise_label(column))
            if canonical in {"name", "postcode", "notes", "case_id", "date_of_birth"}:
                values |= {v.strip() for v in frame[column] if len(v.strip()) >= 5}
    return values


def _report_texts(pipeline_run: PipelineRun) -> dict[str, str]:
    texts = {}
    for path in sorted(pipeline_run.reports.rglob("*")):
        if path.suffix in {".html", ".csv", ".svg", ".json"}:
            text = path.read_text("utf-8")
            texts[str(path.relative_to(pipeline_run.reports))] = re.sub(
                r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", text
            )
    return texts


def test_reports_hold_no_identifying_value_pseudonym_or_exact_date(pipeline_run: PipelineRun):
    import pandas as pd

    planted = _identifying_values(pipeline_run.root / "data" / "raw")
    assert len(planted) > 100, "the synthetic extracts should carry identifying columns"
    keys = set(
        pd.read_parquet(pipeline_run.root / "data" / "processed" / "young_people.parquet")[
            "person_key"
        ]
    )
    exact_date = re.compile(
        r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}[- ](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*[- ]\d{2,4}\b"
    )
    texts = _report_texts(pipeline_run)
    assert any(name.endswith("report.html") for name in texts)
    for name, text in texts.items():
        found = [v for v in planted if v in text]
        assert not found, f"{name} contains identifying values: {found[:3]}"
        leaked = [k for k in keys if k in text]
        assert not leaked, f"{name} contains pseudonymous IDs"
        dates = exact_date.findall(text)
        assert not dates, f"{name} contains dates finer than a month: {dates[:3]}"


def _published_exact() -> tuple[str, ...]:
    """The published figures that do not count people (posts, areas, services, interviews):
    the methods annex shows them exactly beside the programme's own."""
    from analysis.analyse.adjust import ADJUSTED
    from analysis.core.published_figures import load_published_figures

    return tuple(f.label for k, f in load_published_figures().items() if k not in ADJUSTED)


PUBLISHED_EXACT = _published_exact()


def test_service_level_tables_publish_no_small_count(pipeline_run: PipelineRun):
    import pandas as pd

    checked = 0
    for year in YEARS:
        folder = pipeline_run.reports / year / "tables"
        index = json.loads((folder / "index.json").read_text("utf-8"))
        for entry in index:
            threshold = entry["threshold"]
            if threshold == 0 or entry["kind"] in {"estimates"}:
                continue
            frame = pd.read_csv(folder / entry["file"], dtype="str", keep_default_na=False)
            # Counts that are not about individuals (services, areas) are shown exactly.
            frame = frame.loc[~frame.iloc[:, 0].isin(EXACT_FIGURES + PUBLISHED_EXACT)]
            # tidy: row labels, the column's heading, Value, Status
            measure = frame.columns[-3]
            for heading, number in zip(frame[measure], frame["Value"], strict=True):
                if "%" in heading or "share" in heading.lower() or heading.lower() == "reason":
                    continue
                if re.fullmatch(r"\d+", number):
                    assert not 1 <= int(number) <= threshold, (
                        f"{year}/{entry['file']}: {heading} publishes the small count {number}"
                    )
                    checked += 1
    assert checked > 200


# ----------------------------------------------------------------- one number per figure
ANALYSIS_INPUT_KEYS = {
    "reach": ["spoke_id", "month_index"],
    "rollout": ["area_code", "quarter_index"],
    "returns": ["service_id", "period"],
    "referrals": ["service_id", "period", "referral_source"],
    "young_people_counts": ["service_id", "period", "measure"],
    "activities": ["service_id", "period", "activity"],
    "outputs": ["service_id", "period", "output"],
}


def _analysis_inputs(processed: Path, year: str) -> dict:
    """What the analysis of ``year`` reads: the vintage's current return rows and the
    models' input frames."""
    from analysis.analyse import vintage
    from analysis.analyse import year as evaluation
    from analysis.core import calendar as periods
    from analysis.core import rules
    from analysis.core.io import load_tables

    seen = vintage.tables_as_of(load_tables(processed), year, periods.cutoff_date(year, 61))
    inputs = {
        name: rules.current_rows(seen[name])
        for name in ("returns", "referrals", "young_people_counts", "activities", "outputs")
    }
    inputs["reach"] = evaluation.reach_data(seen, year)
    inputs["rollout"] = evaluation.rollout_panel(seen["area_panel"], seen["areas"], year)
    return inputs


@pytest.mark.parametrize("dataset", ["default", "test-config"])
def test_every_analysis_input_has_one_current_row_per_key(
    pipeline_run: PipelineRun, default_processed: Path, dataset: str
):
    """A superseded return never sits beside its resubmission, whatever the vintage."""
    processed = default_processed if dataset == "default" else pipeline_run.root / "data/processed"
    for year in YEARS:
        for name, frame in _analysis_inputs(processed, year).items():
            keys = ANALYSIS_INPUT_KEYS[name]
            dup = frame[frame.duplicated(keys, keep=False)]
            assert dup.empty, f"{year} {name}: duplicated {keys}:\n{dup[keys].head()}"


def _published_files(root: Path) -> list[Path]:
    published = [root / "reports", root / "metrics"]
    return sorted(p for d in published for p in d.rglob("*") if p.is_file())


def test_no_published_output_holds_nan_inf_or_none(pipeline_run: PipelineRun):
    """Every data value of every published output: CSV cells, JSON values, HTML table
    cells and the numbers in the report text."""
    import csv

    from lxml import html as lxml_html

    from analysis.core.published import non_finite_cells, non_finite_words

    files = _published_files(pipeline_run.root)
    files += sorted((pipeline_run.root / "data" / "interim").glob("20*/*.json"))
    checked = {"csv": 0, "json": 0, "html": 0}
    problems: list[str] = []
    for path in files:
        where = str(path.relative_to(pipeline_run.root))
        if path.suffix == ".csv":
            rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
            problems += non_finite_cells(rows, where)
            tidy = rows[0][-2:] == ["Value", "Status"]
            # a tidy table leaves Value empty where a symbol stands instead, and Status
            # empty where there is none: never both
            problems += [
                f"{where}: empty cell"
                for r in rows[1:]
                for c in (([r[-2] + r[-1]] + r[1:-2]) if tidy else r[1:])
                if c == ""
            ]
        elif path.suffix == ".json":
            problems += non_finite_cells(json.loads(path.read_text("utf-8")), where)
        elif path.suffix == ".html":
            tree = lxml_html.fromstring(path.read_bytes())
            for bad in tree.xpath("//script|//style"):
                bad.drop_tree()
            cells = [c.text_content().strip() for c in tree.xpath("//td|//th")]
            problems += non_finite_cells(cells, where)
            problems += [f"{where}: {w!r}" for w in non_finite_words(tree.text_content())]
        else:
            continue
        checked[path.suffix[1:]] += 1
    assert checked["csv"] > 100 and checked["json"] > 8 and checked["html"] > 5, checked
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        ("src/analysis/report/wording.py", {"report", "index"}),
        ("src/analysis/publish/figures.py", {"report", "aqa", "national", "audit", "index"}),
        # index too: it shows the latest analysis's revised figures and imports the
        # report package, which imports analyse
        ("src/analysis/analyse/models/did.py", {"analyse", "report", "national", "index"}),
    ],
)
def test_editing_a_package_folder_reruns_exactly_the_stages_that_run_it(
    pipeline_run: PipelineRun, tmp_path, edited: str, expected: set[str]
):
    """Stage deps are package folders: an edit re-runs every stage that runs the folder
    (its outputs then re-run what reads them) and no other."""
    copy = tmp_path / "repo"
    shutil.copytree(pipeline_run.root, copy, symlinks=True)
    with (copy / edited).open("a", encoding="utf-8") as fh:
        fh.write("\n# an edit\n")
    status = PipelineRun(root=copy, log="").dvc("status", "--json")
    assert status.returncode == 0, status.stderr
    assert set(json.loads(status.stdout)) == expected
