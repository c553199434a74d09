"""Reproducible analytical pipeline for the evaluation of the CSE Hub and Spoke programme.

The package holds every piece of logic; the notebooks under ``notebooks/`` are thin
narrative wrappers that call into it, and DVC (``dvc.yaml``) wires them into a pipeline.
"""

from __future__ import annotations

import os

# statsmodels 0.15 chooses patsy or formulaic depending on what is installed: pin it.
os.environ.setdefault("SM_FORMULA_ENGINE", "patsy")

__version__ = "0.1.0"
