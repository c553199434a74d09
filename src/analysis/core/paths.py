"""Every path the project uses, derived from one root constant.

``ROOT`` is the repository root (the folder holding ``dvc.yaml``). It is found from this
file's location, so a notebook resolves the same paths whether it runs under papermill
(kernel in the launch directory), nbval or JupyterLab (kernel in the notebook's folder).
Under DVC (``DVC_STAGE`` is set for every stage command and inherited by its kernels) it
is the repository the stage runs in, found from the working directory: ``dvc exp run
--temp`` and queued experiments run in a copy under ``.dvc/tmp/exps/`` that must read its
own ``params.yaml`` and write its own outputs (DVC's ``DVC_ROOT`` names the parent
repository there, not the copy). ``HUBSPOKE_ROOT`` overrides both.

Real-data mode: set ``HUBSPOKE_DATA_ROOT`` to a folder outside the repository and every
data and report path below moves there, so real outputs never land inside git.
"""

from __future__ import annotations

import os
from pathlib import Path


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


ROOT: Path = _find_root()
"""Repository root: the one constant every other path derives from."""

PARAMS_FILE: Path = ROOT / "params.yaml"
NOTEBOOKS_DIR: Path = ROOT / "notebooks"
DOCS_DIR: Path = ROOT / "docs"
TESTS_DIR: Path = ROOT / "tests"

OUTPUT_ROOT: Path = (
    Path(os.environ["HUBSPOKE_DATA_ROOT"]).resolve()
    if os.environ.get("HUBSPOKE_DATA_ROOT")
    else ROOT
)
"""Where data and reports live: the repository itself, or a real-data folder outside it."""

DATA_DIR: Path = OUTPUT_ROOT / "data"
RAW_DIR: Path = DATA_DIR / "raw"
INTERIM_DIR: Path = DATA_DIR / "interim"
PROCESSED_DIR: Path = DATA_DIR / "processed"
EXTERNAL_DIR: Path = ROOT / "data" / "external"
REPORTS_DIR: Path = OUTPUT_ROOT / "reports"
METRICS_DIR: Path = OUTPUT_ROOT / "metrics"
