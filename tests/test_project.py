"""Project-level checks: pinned environments agree, notebooks are thin, paired and
stripped, and the DVC pipeline is wired as the README says."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import jupytext
import pytest
import yaml

from analysis import paths

ROOT = paths.ROOT
sys.path.insert(0, str(ROOT / "scripts"))
import sync_environment  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_environment_yml_lists_exactly_the_lock_pins():
    lock = sync_environment.lock_pins((ROOT / "requirements.lock").read_text("utf-8"))
    env = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = dict(line.split("==", 1) for line in pip_section)
    assert env_pins == lock, "environment.yml and requirements.lock disagree: run `make lock`"
    assert "python=3.11" in env["dependencies"]


def test_every_declared_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    lock = sync_environment.lock_pins((ROOT / "requirements.lock").read_text("utf-8"))
    for requirement in declared:
        name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower()
        assert name in lock, f"{name} is declared in pyproject.toml but not pinned"
    major, minor = (int(x) for x in lock["matplotlib"].split(".")[:2])
    assert (major, minor) < (3, 13), "seaborn 0.13.2 needs matplotlib below 3.13"


def test_there_are_notebooks():
    names = [nb.stem for nb in NOTEBOOKS]
    assert names == ["01_synthesise", "02_clean", "03_analyse", "04_report", "05_national"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_has_one_parameters_cell(notebook: Path):
    nb = json.loads(notebook.read_text("utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert not cell.get("outputs"), f"{notebook.name} holds outputs: strip it (nbstripout)"
        assert cell.get("execution_count") is None, f"{notebook.name} holds execution counts"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name} needs exactly one cell tagged 'parameters'"
    assert tagged[0]["cell_type"] == "code"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_in_sync_with_its_py_percent_pair(notebook: Path):
    paired = notebook.with_suffix(".py")
    assert paired.exists(), f"{paired.name} (jupytext py:percent pair) is missing"
    from_py = jupytext.read(paired)
    from_nb = jupytext.read(notebook)
    sources_py = [(c.cell_type, c.source.strip()) for c in from_py.cells]
    sources_nb = [(c.cell_type, c.source.strip()) for c in from_nb.cells]
    assert sources_py == sources_nb, (
        f"{notebook.name} and {paired.name} differ: run jupytext --sync"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin(notebook: Path):
    """Logic lives in the package: no function or class definitions in notebooks."""
    nb = jupytext.read(notebook)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(def|class) ", cell.source, re.M), notebook.name


def _dvc() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text("utf-8"))


NOTEBOOK_STAGES = {
    "synthesise": "01_synthesise",
    "clean": "02_clean",
    "analyse": "03_analyse",
    "report": "04_report",
    "national": "05_national",
}


@pytest.mark.parametrize("stage", sorted(NOTEBOOK_STAGES))
def test_notebook_stages_run_through_the_papermill_runner_with_yaml_parameters(stage: str):
    """``python -m analysis run`` is papermill with kernel python3 and YAML parameters
    (tests/test_execute.py checks that); no stage calls papermill with ``-p``."""
    cmd = " ".join(_dvc()["stages"][stage]["cmd"].split())
    notebook = NOTEBOOK_STAGES[stage]
    assert cmd.startswith(f"python -m analysis run notebooks/{notebook}.ipynb "), cmd
    assert " -y " in cmd and " -p " not in cmd, f"{stage}: pass parameters as YAML (-y)"
    assert "&&" not in cmd, f"{stage}: one command per stage"


@pytest.mark.parametrize("stage", ["analyse", "report"])
def test_per_year_stages_cover_exactly_the_years_in_params(stage: str):
    """The per-year stages run every year of ``params.yaml`` (``--each-year``) and list one
    output folder per year; the index depends on every year's report."""
    years = yaml.safe_load((ROOT / "params.yaml").read_text("utf-8"))["years"]
    stages = _dvc()["stages"]
    spec = stages[stage]
    assert "--each-year" in spec["cmd"] and "years" in spec["params"]
    folder = {"analyse": "data/interim", "report": "reports"}[stage]
    outs = [o if isinstance(o, str) else next(iter(o)) for o in spec["outs"]]
    assert outs == [f"{folder}/{year}" for year in years]
    if stage == "analyse":
        metrics = [next(iter(m)) for m in spec["metrics"]]
        assert metrics == [f"metrics/{year}.json" for year in years]
        assert {f"data/interim/{year}" for year in years} <= set(stages["report"]["deps"])
    else:
        assert {f"reports/{year}" for year in years} <= set(stages["index"]["deps"])


def test_no_generated_data_or_reports_are_tracked_by_git():
    import subprocess

    result = subprocess.run(
        ["git", "ls-files", "data/raw", "data/interim", "data/processed", "reports", "metrics"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def _module_imports(path: Path) -> set[str]:
    """Modules of ``analysis`` imported at the top level of ``path`` (not inside functions)."""
    import ast

    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "analysis":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("analysis."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("analysis.")}
    src = ROOT / "src" / "analysis"
    return {m for m in found if (src / f"{m}.py").exists()}


def _closure(modules: set[str]) -> set[str]:
    src = ROOT / "src" / "analysis"
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _module_imports(src / f"{module}.py")
    return seen


# What each stage runs: its notebook (if any) and the modules its command uses.
RUNNER = ("__main__", "execute", "config")  # python -m analysis run
STAGE_ENTRY = {
    "synthesise": ("notebooks/01_synthesise.py", RUNNER),
    "clean": ("notebooks/02_clean.py", RUNNER),
    "analyse": ("notebooks/03_analyse.py", RUNNER),
    "report": ("notebooks/04_report.py", (*RUNNER, "render")),
    "national": ("notebooks/05_national.py", (*RUNNER, "render")),
    "index": (None, ("__main__", "index")),
    "aqa": (None, ("__main__", "render")),
}


@pytest.mark.parametrize("stage", sorted(STAGE_ENTRY))
def test_stage_depends_on_every_module_it_imports(stage: str):
    """Changing any module a stage runs must re-run the stage (no stale outputs)."""
    notebook, commands = STAGE_ENTRY[stage]
    # Every stage imports the package itself (analysis/__init__.py sets the formula engine).
    start = {"__init__", *commands} | (_module_imports(ROOT / notebook) if notebook else set())
    needed = {f"src/analysis/{m}.py" for m in _closure(start)}
    spec = _dvc()["stages"][stage]
    deps = set(spec.get("do", spec)["deps"])
    assert needed <= deps, f"{stage} lacks deps: {sorted(needed - deps)}"


def test_report_notebook_has_exactly_the_report_sections():
    """The browser test looks for ``report.SECTIONS``: the notebook must carry them, in order."""
    from analysis import report

    text = (ROOT / "notebooks" / "04_report.py").read_text("utf-8")
    headings = re.findall(r"^# ## \d+\. (.+)$", text, re.M)
    assert tuple(headings) == report.SECTIONS
