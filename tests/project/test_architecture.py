"""The package's layout is the pipeline's: the catalog, dvc.yaml and docs/architecture.md
agree; modules stay small; shared rules live once, in core/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from analysis.core import catalog
from analysis.core.paths import DOCS_DIR, ROOT

SRC = ROOT / "src" / "analysis"
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text("utf-8"))["stages"]
YEARS = [str(y) for y in yaml.safe_load((ROOT / "params.yaml").read_text("utf-8"))["years"]]


def _paths(entries: list) -> set[str]:
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries}


def test_the_catalog_names_every_stage_in_dvc_yaml_order():
    assert [s.name for s in catalog.STAGES] == list(STAGES)


@pytest.mark.parametrize("stage", catalog.STAGES, ids=lambda s: s.name)
def test_the_catalog_and_dvc_yaml_agree_on_what_each_stage_reads_and_writes(stage):
    spec = STAGES[stage.name]
    writes = set(catalog.stage_paths(stage.writes, YEARS))
    metrics = set(catalog.stage_paths(stage.metrics, YEARS))
    assert _paths(spec.get("outs", [])) == writes
    assert _paths(spec.get("metrics", [])) == metrics
    data_deps = {
        d for d in _paths(spec["deps"]) if not d.startswith("src/") and not d.endswith(".py")
    }
    assert data_deps == set(catalog.stage_paths(stage.reads, YEARS))


def test_docs_architecture_draws_every_stage_and_file_of_the_catalog():
    text = (DOCS_DIR / "architecture.md").read_text("utf-8")
    for stage in catalog.STAGES:
        assert f"| `{stage.name}` |" in text, stage.name
        for path in (*stage.reads, *stage.writes, *stage.metrics):
            assert f"`{path}`" in text, (stage.name, path)
    for name in (catalog.INDICATORS, catalog.MODELS, catalog.HEADLINE, catalog.LEDGER):
        assert f"`{name}`" in text


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_over_600_lines_and_no_class_over_300():
    long_modules = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text("utf-8").splitlines())) > 600
    }
    assert not long_modules
    long_classes = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                long_classes.append(f"{path.relative_to(SRC)}:{node.name}")
    assert not long_classes


# A rule and the pattern of its one definition: it must appear in exactly one module, in core/.
RULES = {
    "the programme's last day": r"^LAST_DAY\b.*=",
    "the phase start dates": r"^PHASE_STARTS\b.*=",
    "the outcome instruments": r"^INSTRUMENTS\b.*=",
    "the risk bands": r"^BANDS\b.*=",
    "the evaluation-year label rule": r"^def parse_year\(",
    "the report cut-off date": r"^def cutoff_date\(",
    "the files stages exchange": r"^(INDICATORS|MODELS|HEADLINE|LEDGER|QUARANTINE) = \"",
    "the analysed-data file": r"^ANALYSED_DATA\b.*=",
    "the guard on published values": r"^def check_publishable\(",
    "the September start of the evaluation year": r"month >= 9",
    "which return is current": r"^def current_rows\(",
    "which submission supersedes another": r"^def submission_order\(",
    "the completion marker of a stage folder": r"^COMPLETE = \"",
    "formula-like text neutralised in every CSV": r"^def neutralise_cell\(",
    "which returns a service owes": r"^def expected_periods\(",
    "when a return is late": r"^LATE_AFTER_DAYS\b.*=",
    "the closure reasons": r"^CLOSURE_REASONS\b.*=",
    "the host agencies": r"^HOST_AGENCIES\b.*=",
    "the genders": r"^GENDERS\b.*=",
    "the ethnicities": r"^ETHNICITIES\b.*=",
    "the referral sources": r"^REFERRAL_SOURCES\b.*=",
    "the referral reasons": r"^REFERRAL_REASONS\b.*=",
    "the count words": r"^COUNT_WORDS\b.*=",
    "the reporting periods": r"^def parse_period\(",
    "the quarter index": r"^def quarter_index_of\(",
    "the quarter bounds": r"^def quarter_bounds\(",
    "the young-person dedupe rule": r"^def resolve_people\(",
    "the typed settings": r"^def load_settings\(",
    "the generator's marker": r"^GENERATOR_MARKER\b.*=",
    "the rendered-page marker": r"^RENDERED_PAGE_META\b.*=",
    "the strength of a key": r"^def key_weakness\(",
    "what lies inside the repository": r"^def is_inside\(",
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_shared_rule_is_defined_once_in_core(rule: str):
    pattern = re.compile(RULES[rule], re.M)
    where = [str(p.relative_to(SRC)) for p in _modules() if pattern.search(p.read_text("utf-8"))]
    assert len(where) == 1 and where[0].startswith("core/"), where


def test_old_flat_import_paths_still_work():
    import analysis.disclosure
    import analysis.models
    import analysis.validation

    from analysis import MOVED, clean, national, report, synthesise

    assert analysis.models.staggered_att is analysis.analyse.models.staggered_att
    assert analysis.disclosure.DisclosedTable is analysis.publish.disclosure.DisclosedTable
    assert analysis.validation.run_study is analysis.analyse.validation.run_study
    assert callable(clean.clean_returns) and callable(synthesise.synthesise_programme)
    assert callable(report.YearReport.build) and callable(national.load_national_data)
    assert {"models", "disclosure", "validation", "vintage", "outcomes"} <= set(MOVED)


# Parameters whose value comes from params.yaml: a function taking one never restates it as
# a default (params.yaml -> typed settings -> function arguments, one way).
SETTING_PARAMETERS = {
    "threshold",
    "total_rounding",
    "cutoff_days",
    "min_people",
    "min_assessments",
    "suppression_threshold",
}
# Model-library functions whose defaults are documented statistical choices, not project
# settings (the pipeline always passes the setting): the trajectory model's and the
# generator's matching truth for the validation studies, which fit the model on its default.
LIBRARY_DEFAULTS = {
    ("analyse/models/trajectory.py", "trajectory_model", "min_assessments"),
    ("synthesise/design.py", "trajectory_estimands", "min_assessments"),
}


def test_no_setting_is_restated_as_a_default():
    restated = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args
            positional = args.posonlyargs + args.args
            defaults = dict(
                zip(
                    [a.arg for a in positional][len(positional) - len(args.defaults) :],
                    args.defaults,
                    strict=True,
                )
            )
            defaults |= {
                a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d
            }
            for name, default in defaults.items():
                where = (str(path.relative_to(SRC)), node.name, name)
                if (
                    name in SETTING_PARAMETERS
                    and not (isinstance(default, ast.Constant) and default.value is None)
                    and where not in LIBRARY_DEFAULTS
                ):
                    restated.append(f"{where[0]}:{node.lineno} {node.name}({name}=...)")
    assert not restated


def test_model_results_carry_numbers_not_prose():
    """The words describing a model live in the report, not on the result objects."""
    from analysis.analyse.models import results

    with_prose = [
        name
        for name, cls in vars(results).items()
        if isinstance(cls, type)
        and issubclass(cls, results.ModelResult)
        and any("sentence" in attr for attr in vars(cls))
    ]
    assert not with_prose
