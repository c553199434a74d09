"""The README's experiment recipe, run as written in a fresh clone of the committed state.

The recipe (the ``bash`` block after ``<!-- experiment-recipe -->`` in README.md) runs two
experiments, each from the committed state (``dvc exp run --temp``: in a copy under
``.dvc/tmp/exps/``, so the second cannot stack on the first), compares their metrics with
the committed ones and removes them, leaving ``git status`` clean.

To keep ``make test`` bounded, the clone runs the pipeline test's small configuration
(``PIPELINE_TEST_PARAMS``, scale 0.25): the test sets it with DVC's own writer and commits
it in the clone before the recipe runs, so the recipe itself runs unchanged, and starts
from a copy of that run's DVC cache, whose run cache restores the stages an experiment does
not change (as on an analyst's machine after ``make reports``) instead of re-running them.
At the default scale from an empty cache the recipe takes about three minutes on two cores;
its DVC mechanics do not depend on the scale.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PIPELINE_TEST_PARAMS, PipelineRun, pipeline_env

from analysis.core.paths import ROOT

pytestmark = [pytest.mark.pipeline]

MARKER = "<!-- experiment-recipe -->"


def recipe() -> str:
    """The fenced ``bash`` block right after the marker in README.md."""
    readme = (ROOT / "README.md").read_text("utf-8")
    assert MARKER in readme, f"README.md has no {MARKER} block"
    match = re.search(r"```bash\n(.*?)```", readme[readme.index(MARKER) :], re.S)
    assert match, "no ```bash block after the experiment-recipe marker"
    return match.group(1)


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 60) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_recipe_is_dvc_and_git_only():
    lines = [line.split("#")[0].strip() for line in recipe().splitlines()]
    commands = [line for line in lines if line]
    assert commands and all(c.split()[0] in {"dvc", "git"} for c in commands), commands
    assert "scale" not in recipe(), "the recipe runs the default configuration"
    runs = [c for c in commands if c.startswith("dvc exp run")]
    assert len(runs) == 2 and all("--temp" in c for c in runs), "experiments must not stack"


def _overrides(params: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in params.items():
        if isinstance(value, dict):
            out += _overrides(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={value}")
    return out


def test_readme_recipe_compares_two_experiments_and_leaves_git_clean(
    tmp_path: Path, pipeline_run: PipelineRun
):
    clone = tmp_path / "clone"
    env = pipeline_env(clone)
    # Experiments run in copies under .dvc/tmp/exps/: the copy must find its own root.
    env.pop("HUBSPOKE_ROOT", None)
    env["PYTHONPATH"] = str(clone / "src")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    for key, value in (("user.name", "Recipe test"), ("user.email", "recipe@example.invalid")):
        _run(["git", "config", key, value], clone, env)
    _run(
        [
            sys.executable,
            "-c",
            "import sys; from dvc.utils.hydra import apply_overrides; "
            "apply_overrides('params.yaml', sys.argv[1:])",
            *_overrides(PIPELINE_TEST_PARAMS),
        ],
        clone,
        env,
    )
    _run(["git", "commit", "-q", "-m", "test: a small programme", "params.yaml"], clone, env)
    shutil.copytree(pipeline_run.root / ".dvc" / "cache", clone / ".dvc" / "cache")

    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe()],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"the recipe failed:\n{out[-4000:]}\n{proc.stderr[-4000:]}"

    # The experiments' parameters, side by side: each changed one value of the committed state.
    table = [line for line in out.splitlines() if line.startswith("|")]
    seed7 = next(line for line in table if "[seed7]" in line)
    cutoff30 = next(line for line in table if "[cutoff30]" in line)
    assert re.search(r"\|\s*7\s*\|\s*61\s*\|", seed7), seed7
    assert re.search(r"\|\s*20140101\s*\|\s*30\s*\|", cutoff30), "experiments stacked: " + cutoff30
    # The headline metrics, committed value beside each experiment's.
    for exp in ("seed7", "cutoff30"):
        assert re.search(rf"Metric\s+HEAD\s+{exp}\s+Change", out), f"no comparison with {exp}"
    for metric in ("young_people_supported", "trajectory_estimate", "rollout_estimate"):
        assert len(re.findall(rf"^{metric}\s+\S+\s+\S+", out, re.M)) == 2, metric
    comparison = out[out.index("| Experiment") :].splitlines()
    assert max(len(line) for line in comparison) <= 100, "the comparison is wider than 100"

    assert _run(["git", "status", "--porcelain"], clone, env) == ""
    assert _run([str(Path(sys.executable).parent / "dvc"), "exp", "list"], clone, env) == ""
