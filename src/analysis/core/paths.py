"""Every path the project uses, derived from one root constant.

``ROOT`` is the repository root (the folder holding ``dvc.yaml``). It is found from this
file's location, so a notebook resolves the same paths whether it runs under papermill
(kernel in the launch directory), nbval or JupyterLab (kernel in the notebook's folder).
Under DVC (``DVC_STAGE`` is set for every stage command and inherited by its kernels) it
is the repository the stage runs in, found from the working directory: ``dvc exp run
--temp`` and queued experiments run in a copy under ``.dvc/tmp/exps/`` that must read its
own ``params.yaml`` and write its own outputs (DVC's ``DVC_ROOT`` names the parent
repository there, not the copy), and a real-data run (``python -m analysis real-data``)
runs in its workspace outside the repository. ``HUBSPOKE_ROOT`` overrides both.

``REPOSITORY`` is the repository this package's own source lives in: the folder real data
must stay out of. Paths are compared only after resolving symlinks (and, for folders that
exist, by identity, so a case-insensitive file system or a bind mount cannot disguise
one): :func:`is_inside` and :func:`check_outside_repository`.

``HUBSPOKE_DATA_ROOT`` moves the default data and report folders (``DATA_DIR``,
``RAW_DIR`` ... ``METRICS_DIR``) to a folder outside the repository. They are read when
first used, and a ``HUBSPOKE_DATA_ROOT`` that resolves inside the repository (a symlink
into it, say) is refused then, with a :class:`UnsafePathError`, before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from analysis.core.errors import UserError

DATA_ROOT_ENV = "HUBSPOKE_DATA_ROOT"
"""Environment variable naming the real-data folder (outside the repository)."""


class UnsafePathError(UserError):
    """A path for real data (or a key) that lies inside the repository once resolved."""


def _find_root() -> Path:
    override = os.environ.get("HUBSPOKE_ROOT")
    if override:
        return Path(override).resolve()
    starts = [Path(__file__).resolve().parent]
    if os.environ.get("DVC_STAGE"):
        starts.insert(0, Path.cwd().resolve())
    for start in starts:
        for parent in (start, *start.parents):
            if (parent / "dvc.yaml").exists() and (parent / "params.yaml").exists():
                return parent
    # Installed as a regular (non-editable) package: fall back to the working directory.
    return Path.cwd().resolve()


def _find_repository() -> Path:
    here = Path(__file__).resolve().parent
    for parent in here.parents:
        if (parent / "dvc.yaml").exists() and (parent / "pyproject.toml").exists():
            return parent
    return _find_root()


ROOT: Path = _find_root()
"""Repository root: the one constant every other path derives from."""

REPOSITORY: Path = _find_repository()
"""The repository holding this package's source (``ROOT`` but in a workspace run by DVC
elsewhere): real data, keys and real outputs must lie outside it."""

PARAMS_FILE: Path = ROOT / "params.yaml"
NOTEBOOKS_DIR: Path = ROOT / "notebooks"
DOCS_DIR: Path = ROOT / "docs"
TESTS_DIR: Path = ROOT / "tests"
EXTERNAL_DIR: Path = ROOT / "data" / "external"


def resolved(path: Path | str) -> Path:
    """``path`` made absolute with every symlink resolved (``~`` expanded; the folders
    that do not exist yet are kept as written)."""
    return Path(path).expanduser().resolve()


def is_inside(path: Path | str, folder: Path | str) -> bool:
    """True when ``path`` is ``folder`` or lies inside it, after resolving symlinks.

    Besides comparing the resolved paths, every existing ancestor of ``path`` is compared
    with ``folder`` by identity (device and inode), which a different spelling on a
    case-insensitive file system or a bind mount cannot disguise.
    """
    target, base = resolved(path), resolved(folder)
    if target == base or base in target.parents:
        return True
    try:
        base_stat = base.stat()
    except OSError:
        return False
    for candidate in (target, *target.parents):
        try:
            if os.path.samestat(candidate.stat(), base_stat):
                return True
        except OSError:
            continue
    return False


def check_outside_repository(path: Path | str, what: str) -> Path:
    """``path`` resolved; :class:`UnsafePathError` if it lies inside the repository.

    ``what`` names the path in the message (e.g. ``"the real-data folder"``).
    """
    target = resolved(path)
    if is_inside(target, REPOSITORY):
        shown = f"{path} (resolves to {target})" if Path(path) != target else str(target)
        raise UnsafePathError(
            f"{what} {shown} lies inside the repository {REPOSITORY}: real data, keys and "
            "real outputs must be kept outside it (see docs/data-protection.md)"
        )
    return target


def output_root() -> Path:
    """Where data and reports go: ``ROOT``, or ``HUBSPOKE_DATA_ROOT`` (resolved; refused
    with :class:`UnsafePathError` when it lies inside the repository)."""
    value = os.environ.get(DATA_ROOT_ENV, "").strip()
    if not value:
        return ROOT
    return check_outside_repository(value, DATA_ROOT_ENV)


_OUTPUT_PATHS = {
    "OUTPUT_ROOT": (),
    "DATA_DIR": ("data",),
    "RAW_DIR": ("data", "raw"),
    "INTERIM_DIR": ("data", "interim"),
    "PROCESSED_DIR": ("data", "processed"),
    "REPORTS_DIR": ("reports",),
    "METRICS_DIR": ("metrics",),
}


def __getattr__(name: str) -> Path:
    """``OUTPUT_ROOT``, ``DATA_DIR``, ``RAW_DIR``, ``INTERIM_DIR``, ``PROCESSED_DIR``,
    ``REPORTS_DIR`` and ``METRICS_DIR``: folders under :func:`output_root`, read when used."""
    if name in _OUTPUT_PATHS:
        return output_root().joinpath(*_OUTPUT_PATHS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
