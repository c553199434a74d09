"""Real-data mode: the DVC pipeline itself, run in a workspace outside the repository.

``python -m analysis real-data FOLDER`` (``FOLDER`` defaults to ``HUBSPOKE_DATA_ROOT``)
runs the stages of the repository's ``dvc.yaml`` but ``synthesise``, with the same
commands, notebooks and package, in ``FOLDER``: the returns are ``FOLDER/data/raw`` and
every output (cleaned tables, quarantine, ledger, executed notebooks, metrics, reports)
is written under ``FOLDER``, as ``dvc repro`` writes them under the repository. There is
no second route through the pipeline that could drift from the first.

Every check is made up front, before any file is read or written (:func:`plan`): the
folder, its raw returns and every folder a stage writes lie outside the repository once
symlinks are resolved, none of them is a symlink, the repository does not lie inside the
folder, and the raw returns either carry the generator's marker (a dry run on synthetic
data) or come with a usable key (``HUBSPOKE_KEY_FILE``). Then :func:`prepare` writes the
workspace (``params.yaml`` with ``data.source: real``, the derived ``dvc.yaml``, copies of
the notebooks, the package source, ``docs/aqa`` and ``data/external``) and :func:`run`
runs ``dvc repro --no-commit`` there: no DVC cache, so no second copy of real data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis.clean.pseudonymise import real_key
from analysis.core import paths
from analysis.core.checks import check_years
from analysis.core.errors import UserError
from analysis.core.privacy import check_generator_marker
from analysis.core.settings import load_params, settings_from

EXTRA_COPIED = (".dvcignore",)
"""Copied besides the stages' inputs (:func:`repository_inputs`): DVC's ignore list."""

WRITTEN = ("data", "data/interim", "data/processed", "reports", "metrics", "params.yaml",
           "dvc.yaml", "dvc.lock", ".dvc")  # fmt: skip
"""What the run writes in the workspace besides the copies of the repository's inputs."""

DROPPED_STAGES = ("synthesise",)
"""Stages of ``dvc.yaml`` a real-data run leaves out: the returns are real."""

HEADER = (
    "# Written by `python -m analysis real-data` from the repository's dvc.yaml (all stages\n"
    "# but synthesise: data/raw holds the real returns). Rewritten on every run: do not edit.\n"
)


@dataclass(frozen=True)
class Workspace:
    """A real-data folder that passed every check of :func:`plan`."""

    root: Path
    raw: Path
    params: dict[str, Any]
    synthetic: bool
    """True when the returns carry the generator's marker (a dry run on synthetic data)."""


def _links(root: Path, rels: Iterable[str]) -> list[Path]:
    """Every symlink among ``rels`` under ``root`` and the folders leading to them."""
    found = []
    for rel in rels:
        parts = Path(rel).parts
        for n in range(1, len(parts) + 1):
            item = root.joinpath(*parts[:n])
            if item.is_symlink() and item not in found:
                found.append(item)
    return found


def _refuse_links(root: Path, rels: Iterable[str]) -> None:
    for item in _links(root, rels):
        raise paths.UnsafePathError(
            f"{item} is a symlink: the folders a real-data run writes must be real "
            "folders inside the real-data folder, so nothing is written through a link"
        )


def _repository_spec() -> dict[str, Any]:
    return derived_dvc_yaml(yaml.safe_load((paths.REPOSITORY / "dvc.yaml").read_text("utf-8")))


def plan(
    folder: Path | str | None,
    *,
    params_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Workspace:
    """Check a real-data folder before anything is read or written; return the plan.

    Raises :class:`UserError` (one line, naming the path or the variable to fix).
    """
    env = os.environ if environ is None else environ
    value = str(folder) if folder else env.get(paths.DATA_ROOT_ENV, "").strip()
    if not value:
        raise UserError(
            f"name the real-data folder (or set {paths.DATA_ROOT_ENV}): a folder outside the "
            "repository whose data/raw holds the returns"
        )
    root = paths.check_outside_repository(value, "the real-data folder")
    if paths.is_inside(paths.REPOSITORY, root):
        raise paths.UnsafePathError(
            f"the real-data folder {value} contains the repository {paths.REPOSITORY}: "
            "choose a folder outside it"
        )
    if not root.is_dir():
        raise UserError(
            f"the real-data folder {value} does not exist: create it and put the returns in "
            "its data/raw (laid out as docs/data-contract.md describes)"
        )
    spec = _repository_spec()
    _refuse_links(root, [*WRITTEN, *repository_inputs(spec), *EXTRA_COPIED])
    raw_given = root / "data" / "raw"
    if not raw_given.is_dir():
        raise UserError(f"{raw_given} does not exist: put the returns there")
    raw = paths.check_outside_repository(raw_given, "the raw returns folder")
    for rel in ("data/interim", "data/processed", "reports", "metrics"):
        out = root / rel
        if paths.is_inside(out, raw) or paths.is_inside(raw, out):
            raise paths.UnsafePathError(f"the raw returns {raw} and the output {out} overlap")
    marker = check_generator_marker(raw)
    if not marker.synthetic:
        try:
            real_key(dict(env))
        except UserError as exc:
            raise type(exc)(f"{raw_given} is real data ({marker.reason}): {exc}") from None
    source = Path(params_file) if params_file else paths.REPOSITORY / "params.yaml"
    params = load_params(source)
    params.setdefault("data", {})["source"] = "real"
    settings_from(params)  # a malformed key names itself
    check_years(params, dvc_file=paths.REPOSITORY / "dvc.yaml", coverage=False)
    return Workspace(root, raw, params, marker.synthetic)


def derived_dvc_yaml(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The repository's ``dvc.yaml`` for a real-data run: every stage but
    :data:`DROPPED_STAGES`, and no plots (they need the repository's templates).

    Refuses an output that is absolute or climbs out of the workspace (``..``).
    """
    stages = {k: v for k, v in spec["stages"].items() if k not in DROPPED_STAGES}
    for name, stage in stages.items():
        for out in _outs(stage):
            if Path(out).is_absolute() or ".." in Path(out).parts:
                raise UserError(f"dvc.yaml: stage {name} writes {out}, outside its workspace")
    return {"vars": spec.get("vars", ["params.yaml"]), "stages": stages}


def _outs(stage: Mapping[str, Any]) -> list[str]:
    entries = [*stage.get("outs", []), *stage.get("metrics", [])]
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries]


def repository_inputs(spec: Mapping[str, Any]) -> list[str]:
    """What the stages read from the repository: every dependency in ``dvc.yaml`` that no
    stage writes (nor writes into), but ``data/raw`` (the returns), sorted (a folder before
    what is in it)."""
    outs = {o.rstrip("/") for stage in spec["stages"].values() for o in _outs(stage)}

    def written(dep: str) -> bool:
        return any(dep == o or dep.startswith(o + "/") or o.startswith(dep + "/") for o in outs)

    deps = {d.rstrip("/") for stage in spec["stages"].values() for d in stage.get("deps", [])}
    return sorted(d for d in deps if d != "data/raw" and not written(d))


def _copy(src: Path, dst: Path) -> None:
    if dst.is_symlink():
        raise paths.UnsafePathError(f"{dst} is a symlink: refusing to write through it")
    if dst.is_dir():
        shutil.rmtree(dst)
    elif dst.exists():
        dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints")
        shutil.copytree(src, dst, ignore=ignore, symlinks=False)
    else:
        shutil.copy2(src, dst)


def _dvc() -> str:
    return str(Path(sys.executable).parent / "dvc")


def stage_env(ws: Workspace, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the workspace's stages: rooted in the workspace."""
    env = dict(os.environ if environ is None else environ)
    env.pop(paths.DATA_ROOT_ENV, None)
    env["HUBSPOKE_ROOT"] = str(ws.root)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("SM_FORMULA_ENGINE", "patsy")
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONHASHSEED"] = "0"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def prepare(ws: Workspace) -> None:
    """Write the workspace: parameters, the derived ``dvc.yaml``, fresh copies of what the
    stages read from the repository, DVC's folder."""
    spec = _repository_spec()
    inputs = [*repository_inputs(spec), *EXTRA_COPIED]
    _refuse_links(ws.root, [*WRITTEN, *inputs])  # again: nothing may have changed
    for rel in inputs:
        source = paths.REPOSITORY / rel
        if not source.exists():
            raise UserError(f"dvc.yaml names {rel}, which the repository {paths.REPOSITORY} lacks")
        _copy(source, ws.root / rel)
    (ws.root / "params.yaml").write_text(
        yaml.safe_dump(ws.params, sort_keys=False, allow_unicode=True), "utf-8"
    )
    (ws.root / "dvc.yaml").write_text(
        HEADER + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), "utf-8"
    )
    if not (ws.root / ".dvc").is_dir():
        env = stage_env(ws)
        for args in (["init", "--no-scm", "-q"], ["config", "core.analytics", "false"]):
            subprocess.run([_dvc(), *args], cwd=ws.root, env=env, check=True)


def run(ws: Workspace, *, environ: Mapping[str, str] | None = None) -> int:
    """``dvc repro --no-commit`` in the workspace; return its exit code."""
    proc = subprocess.run(
        [_dvc(), "repro", "--no-commit"], cwd=ws.root, env=stage_env(ws, environ), check=False
    )
    return proc.returncode
