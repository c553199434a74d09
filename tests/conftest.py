"""Shared fixtures.

``pseudonymisation_key`` (autouse, per session): a key written by ``keygen`` outside the
repository, named by ``HUBSPOKE_KEY_FILE`` for the whole session. Hand-made returns such as
``tests/data/minimal`` carry no generator's marker, so the cleaner treats them as real
data and needs a real key; tests of a missing key unset the variable.

``pipeline_run``: one run of the whole DVC pipeline on a small synthetic configuration, in
a temporary copy of the repository, shared by every test that needs pipeline outputs.
Under pytest-xdist the first worker to ask builds it and the others wait on a file lock
and reuse it, so the pipeline runs once per test session.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

from analysis.core import paths

# Small but complete: every phase, every year, several young people per service.
PIPELINE_TEST_PARAMS = {"synthetic": {"seed": 20140101, "scale": 0.25}}
COPY_ITEMS = (
    "dvc.yaml",
    "params.yaml",
    "evaluation-framework.yaml",
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
    if current == published:
        return
    changes = snapshot_changes(published, current)
    shown = "\n".join(f"  {line}" for line in changes[:40])
    more = f"\n  ... and {len(changes) - 40} more" if len(changes) > 40 else ""
    pytest.fail(
        f"{what} changed from the published snapshot tests/backtest/snapshots/{snapshot.name} "
        f"({len(changes)} figure(s)):\n{shown}{more}\n"
        "First find out why: these are figures a reader has already seen. A change you did "
        "not intend is a bug (compare the inputs, the code change, the BLAS kernel and "
        "thread count: see tests/pipeline/test_determinism.py). Only a change you can explain is "
        "accepted, by re-running with UPDATE_SNAPSHOTS=1 make test and committing the "
        "snapshot with the change that caused it.",
        pytrace=False,
    )


def _flatten(value: object, where: str = "") -> dict[str, object]:
    """Leaves of nested dicts; CSV text becomes one leaf per cell (``row / column``)."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key in sorted(value):
            out.update(_flatten(value[key], f"{where}.{key}" if where else str(key)))
        return out
    if isinstance(value, str) and "\n" in value and "," in value:
        rows = list(csv.reader(io.StringIO(value)))
        header, body = rows[0], rows[1:]
        return {
            f"{where}: {row[0]} / {column}": cell
            for row in body
            for column, cell in zip(header[1:], row[1:], strict=False)
        }
    return {where: value}


def snapshot_changes(published: object, current: object) -> list[str]:
    """One line per published figure that changed, appeared or disappeared."""
    before, after = _flatten(published), _flatten(current)
    lines = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            lines.append(f"{key}: {before[key]!r} -> (gone)")
        elif key not in before:
            lines.append(f"{key}: (new) -> {after[key]!r}")
        elif before[key] != after[key]:
            lines.append(f"{key}: {before[key]!r} -> {after[key]!r}")
    return lines


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


def _shared(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    build: Callable[[Path], Any],
    reuse: Callable[[Path], Any],
) -> Any:
    """Build something once per test session, shared by every xdist worker.

    The first worker to ask runs ``build(folder)``; the others wait on a file lock and
    call ``reuse(folder)``. A failed build is reported to every worker, not retried.
    """
    if worker_id == "master":
        return build(tmp_path_factory.mktemp(name) / name)
    shared = tmp_path_factory.getbasetemp().parent
    folder = shared / name
    status = shared / f"{name}-status.json"
    with FileLock(str(shared / f"{name}.lock")):
        if status.exists():
            info = json.loads(status.read_text("utf-8"))
            if not info["ok"]:
                raise RuntimeError(info["error"])
            return reuse(folder)
        try:
            built = build(folder)
        except Exception as exc:
            status.write_text(json.dumps({"ok": False, "error": str(exc)}), "utf-8")
            raise
        status.write_text(json.dumps({"ok": True}), "utf-8")
        return built


@pytest.fixture(scope="session", autouse=True)
def pseudonymisation_key(tmp_path_factory: pytest.TempPathFactory):
    """A real key for the session (``HUBSPOKE_KEY_FILE``), written by ``keygen``."""
    from analysis.clean.pseudonymise import KEY_ENV, KEY_FILE_ENV, write_key_file

    path = write_key_file(tmp_path_factory.mktemp("key") / "session.key")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_FILE_ENV, str(path))
        patch.delenv(KEY_ENV, raising=False)
        yield path


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> PipelineRun:
    """The pipeline run on the small configuration (built once per session)."""
    return _shared(
        tmp_path_factory,
        worker_id,
        "pipeline-repo",
        _build,
        lambda root: PipelineRun(root=root, log=(root / "repro.log").read_text("utf-8")),
    )


def _build_default(folder: Path) -> Path:
    from analysis.clean import pipeline as clean
    from analysis.synthesise import programme as synthesise

    synthesise.synthesise_programme(folder / "raw")  # params.yaml defaults: the default data
    clean.clean_returns(folder / "raw", folder / "processed")
    return folder / "processed"


@pytest.fixture(scope="session")
def default_processed(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The default synthetic programme (params.yaml seed and scale), cleaned: the
    ``data/processed`` folder of ``make reports``, built once per session."""
    return _shared(
        tmp_path_factory,
        worker_id,
        "default-data",
        _build_default,
        lambda folder: folder / "processed",
    )
