"""Reading the pipeline's parameters (``params.yaml``) and how many processes a step may use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from analysis.core.errors import UserError
from analysis.core.paths import PARAMS_FILE


def load_params(path: Path | str | None = None) -> dict[str, Any]:
    """Return the parameters in ``path`` (default: the project's ``params.yaml``)."""
    with open(path or PARAMS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def default_jobs() -> int:
    """Processes a step may run at once (notebooks, synthetic services): ``HUBSPOKE_JOBS``
    if set, else the cores this process may use. Outputs never depend on it."""
    value = os.environ.get("HUBSPOKE_JOBS", "").strip()
    if value:
        try:
            jobs = int(value)
        except ValueError:
            jobs = 0
        if jobs < 1:
            raise UserError(f"HUBSPOKE_JOBS must be a whole number of at least 1, not {value!r}")
        return jobs
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
