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

from analysis.core import paths

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
    private = ["data/interim/suppression"] if stage == "report" else []  # catalog.SUPPRESSION
    assert outs == [f"{folder}/{year}" for year in years] + private
    if stage == "analyse":
        metrics = [next(iter(m)) for m in spec["metrics"]]
        assert metrics == [f"metrics/{year}.json" for year in years]
        assert {f"data/interim/{year}" for year in years} <= set(stages["report"]["deps"])
    else:
        assert {f"reports/{year}" for year in years} <= set(stages["index"]["deps"])


def test_no_generated_data_or_reports_are_tracked_by_git():
    import subprocess

    result = subprocess.run(
        ["git", "ls-files", "data/raw", "data/interim", "data/processed", "reports"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


SRC = ROOT / "src" / "analysis"


def _resolve(dotted: str) -> Path | None:
    """The file of an ``analysis`` module (old flat names follow ``analysis.MOVED``)."""
    from analysis import MOVED

    parts = dotted.split(".")[1:]
    if parts and parts[0] in MOVED:
        parts = MOVED[parts[0]].split(".") + parts[1:]
    path = SRC.joinpath(*parts) if parts else SRC
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def _module_imports(path: Path) -> set[Path]:
    """Files of ``analysis`` modules imported at the top level of ``path`` (not inside
    functions), with the ``__init__`` of every package they live in."""
    import ast

    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "analysis" or node.module.startswith("analysis."):
                names.add(node.module)
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("analysis")}
    found = {f for f in map(_resolve, names) if f is not None}
    for file in list(found):
        for parent in file.relative_to(SRC).parents:
            found.add(SRC / parent / "__init__.py")
    return found


def _closure(start: set[Path]) -> set[Path]:
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo += _module_imports(file)
    return seen


def stage_code_deps(stage: str) -> set[str]:
    """The package folders (and top-level files) a stage runs, derived from the imports of
    its notebook and the command-line modules its command uses."""
    notebook, commands = STAGE_ENTRY[stage]
    start = {SRC / "__init__.py", *(f for f in map(_resolve, commands) if f)}
    if notebook:
        start |= _module_imports(ROOT / notebook)
    deps = set()
    for file in _closure(start):
        rel = file.relative_to(SRC)
        deps.add(f"src/analysis/{rel.parts[0]}" if len(rel.parts) > 1 else f"src/analysis/{rel}")
    return deps


# What each stage runs: its notebook (if any) and the modules its command uses.
RUNNER = (
    "analysis.__main__",
    "analysis.runner.cli",
    "analysis.runner.execute",
    "analysis.core.settings",
)
STAGE_ENTRY = {
    "check": (
        None,
        (
            "analysis.__main__",
            "analysis.runner.cli",
            "analysis.core.checks",
            "analysis.runner.notebook",
        ),
    ),
    "synthesise": ("notebooks/01_synthesise.py", RUNNER),
    "clean": ("notebooks/02_clean.py", RUNNER),
    "analyse": ("notebooks/03_analyse.py", RUNNER),
    "report": ("notebooks/04_report.py", (*RUNNER, "analysis.publish.render")),
    "national": ("notebooks/05_national.py", (*RUNNER, "analysis.publish.render")),
    "audit": (
        None,
        ("analysis.__main__", "analysis.runner.cli", "analysis.publish.disclosure.audit"),
    ),
    "index": (None, ("analysis.__main__", "analysis.runner.cli", "analysis.report.index")),
    "aqa": (None, ("analysis.__main__", "analysis.runner.cli", "analysis.publish.render")),
}


@pytest.mark.parametrize("stage", sorted(STAGE_ENTRY))
def test_stage_depends_on_exactly_the_package_folders_it_imports(stage: str):
    """Changing any module a stage runs re-runs the stage (no stale outputs), and a stage
    depends on no folder it does not run (no needless re-runs)."""
    spec = _dvc()["stages"][stage]
    deps = {d for d in spec.get("do", spec)["deps"] if d.startswith("src/")}
    needed = stage_code_deps(stage)
    assert deps == needed, (
        f"{stage}: missing {sorted(needed - deps)}, extra {sorted(deps - needed)}"
    )


def test_report_notebook_has_exactly_the_report_sections():
    """The browser test looks for ``report.SECTIONS``: the notebook must carry them, in order."""
    from analysis import report

    text = (ROOT / "notebooks" / "04_report.py").read_text("utf-8")
    headings = re.findall(r"^# ## \d+\. (.+)$", text, re.M)
    assert tuple(headings) == report.SECTIONS
