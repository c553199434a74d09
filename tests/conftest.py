"""Shared fixtures.

``pipeline_run``: one run of the whole DVC pipeline on a small synthetic configuration, in
a temporary copy of the repository, shared by every test that needs pipeline outputs.
Under pytest-xdist the first worker to ask builds it and the others wait on a file lock
and reuse it, so the pipeline runs once per test session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from analysis import paths

# Small but complete: every phase, every year, several young people per service.
PIPELINE_TEST_PARAMS = {"synthetic": {"seed": 20140101, "scale": 0.25}}
COPY_ITEMS = (
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "notebooks",
    "src",
    "docs",
    "data/external",
)


@dataclass(frozen=True)
class PipelineRun:
    """A finished pipeline run in a temporary copy of the repository."""

    root: Path
    log: str

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def dvc(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a DVC command in the copy."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "dvc"), *args],
            cwd=self.root,
            env=pipeline_env(self.root),
            capture_output=True,
            text=True,
            check=False,
        )


def assert_matches_snapshot(current: object, snapshot: Path, what: str) -> None:
    """Back-test ``current`` against the committed JSON ``snapshot``.

    ``UPDATE_SNAPSHOTS=1 make test`` rewrites the snapshot instead (a deliberate change).
    """
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", "utf-8")
    assert snapshot.exists(), f"no snapshot of {what}: create it with UPDATE_SNAPSHOTS=1 make test"
    published = json.loads(snapshot.read_text("utf-8"))
    assert current == published, (
        f"{what} changed from the snapshot in tests/snapshots/{snapshot.name}; if the change "
        "is intended, update it with UPDATE_SNAPSHOTS=1 make test"
    )


def pipeline_env(root: Path) -> dict[str, str]:
    """Environment for running the pipeline in a copy rooted at ``root``."""
    env = dict(os.environ)
    env["HUBSPOKE_ROOT"] = str(root)
    env.pop("HUBSPOKE_DATA_ROOT", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("SM_FORMULA_ENGINE", "patsy")
    env["MPLBACKEND"] = "Agg"
    env["PYTHONHASHSEED"] = "0"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def make_repo_copy(dest: Path, overrides: dict) -> Path:
    """Copy what the pipeline needs into ``dest`` and apply parameter ``overrides``."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in COPY_ITEMS:
        src = paths.ROOT / item
        if src.is_dir():
            shutil.copytree(
                src, dest / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        elif src.exists():
            shutil.copy2(src, dest / item)
    shutil.copytree(
        paths.ROOT / ".dvc", dest / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp")
    )
    params = yaml.safe_load((dest / "params.yaml").read_text("utf-8"))
    for section, values in overrides.items():
        params.setdefault(section, {}).update(values)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")
    env = pipeline_env(dest)
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run([dvc, "config", "--local", "core.no_scm", "true"], cwd=dest, env=env, check=True)
    return dest


def _build(root: Path) -> PipelineRun:
    make_repo_copy(root, PIPELINE_TEST_PARAMS)
    dvc = str(Path(sys.executable).parent / "dvc")
    proc = subprocess.run(
        [dvc, "repro"],
        cwd=root,
        env=pipeline_env(root),
        capture_output=True,
        text=True,
        check=False,
    )
    log = proc.stdout + proc.stderr
    (root / "repro.log").write_text(log, "utf-8")
    if proc.returncode != 0:
        raise RuntimeError(f"dvc repro failed in {root}:\n{log[-6000:]}")
    return PipelineRun(root=root, log=log)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> PipelineRun:
    """The pipeline run on the small configuration (built once per session)."""
    if worker_id == "master":
        return _build(tmp_path_factory.mktemp("pipeline") / "repo")
    shared = tmp_path_factory.getbasetemp().parent
    root = shared / "pipeline-repo"
    status = shared / "pipeline-status.json"
    with FileLock(str(shared / "pipeline.lock")):
        if status.exists():
            info = json.loads(status.read_text("utf-8"))
            if not info["ok"]:
                raise RuntimeError(info["error"])
            return PipelineRun(root=root, log=(root / "repro.log").read_text("utf-8"))
        try:
            run = _build(root)
        except Exception as exc:
            status.write_text(json.dumps({"ok": False, "error": str(exc)}), "utf-8")
            raise
        status.write_text(json.dumps({"ok": True}), "utf-8")
        return run
