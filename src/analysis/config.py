"""Reading the pipeline's parameters (``params.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analysis.paths import PARAMS_FILE


def load_params(path: Path | str | None = None) -> dict[str, Any]:
    """Return the parameters in ``path`` (default: the project's ``params.yaml``)."""
    with open(path or PARAMS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}
