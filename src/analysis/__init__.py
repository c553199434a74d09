"""Reproducible analytical pipeline for the evaluation of the CSE Hub and Spoke programme.

The package holds every piece of logic; the notebooks under ``notebooks/`` are thin
narrative wrappers that call into it, and DVC (``dvc.yaml``) wires them into a pipeline.
Its layout is the pipeline's (``docs/architecture.md``): ``core/`` holds the rules every
stage shares, then one subpackage per stage: ``synthesise/``, ``clean/``, ``analyse/``,
``publish/`` (what every published page shares), ``report/``, ``national/`` and
``runner/`` (executing notebooks, the command line).

The flat names of the first layout (``analysis.models``, ``analysis.disclosure``,
``analysis.validation`` ...) keep working: :data:`MOVED` maps each to its module, and
``import analysis.models`` (or ``python -m analysis.validation``) gives that module itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
from types import ModuleType

# statsmodels 0.15 chooses patsy or formulaic depending on what is installed: pin it.
os.environ.setdefault("SM_FORMULA_ENGINE", "patsy")

__version__ = "0.1.0"

MOVED: dict[str, str] = {
    "errors": "core.errors",
    "paths": "core.paths",
    "periods": "core.calendar",
    "config": "core.settings",
    "tables": "core.io",
    "published": "core.published",
    "labels": "core.labels",
    "schemas": "core.schemas",
    "checks": "core.checks",
    "synthesise_core": "synthesise.design",
    "synthesise_world": "synthesise.world",
    "synthesise_write": "synthesise.write",
    "harmonise": "clean.harmonise",
    "ledger": "clean.ledger",
    "pseudonymise": "clean.pseudonymise",
    "returns": "clean.returns",
    "models": "analyse.models",
    "outcomes": "analyse.outcomes",
    "validation": "analyse.validation",
    "vintage": "analyse.vintage",
    "disclosure": "publish.disclosure",
    "figures": "publish.figures",
    "render": "publish.render",
    "quality": "publish.quality",
    "index": "report.index",
    "evaluation": "analyse.year",
    "execute": "runner.execute",
    "notebook": "runner.notebook",
}
"""Old flat module name -> its module in the stage layout (``analysis.`` omitted).

``analysis.synthesise``, ``analysis.clean``, ``analysis.report`` and ``analysis.national``
are now packages that re-export what the old modules offered."""


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``analysis.<old name>`` to the module it moved to (the same object)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: ANN201
        prefix, _, name = fullname.partition(".")
        if prefix != __name__ or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def _target(self, fullname: str) -> str:
        return f"{__name__}.{MOVED[fullname.partition('.')[2]]}"

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self._target(spec.name))

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the target module ran when it was imported."""

    def get_code(self, fullname: str):  # noqa: ANN201 (for ``python -m analysis.<old name>``)
        target = importlib.util.find_spec(self._target(fullname))
        return target.loader.get_code(target.name)  # type: ignore[union-attr]


if not any(isinstance(f, _Alias) for f in sys.meta_path):
    sys.meta_path.insert(0, _Alias())
