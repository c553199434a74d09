"""Frozen releases: what a year's report published, kept as it was on the day it went out.

``python -m analysis publish YEAR`` copies the year's tables (every CSV), its registry of
published statistics (``statistics.json``) and a manifest of their SHA-256 hashes into
``reports/releases/YEAR/``. From then on the release is public knowledge: the release
audit (:mod:`analysis.publish.disclosure.audit`) reads it beside the current reports, and
:func:`changes_since_release` lists every published statistic that differs from the frozen
one, each of which a later report must mark ``[r]`` (``docs/disclosure.md``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from analysis.core.catalog import STATISTICS
from analysis.core.errors import UserError
from analysis.core.io import write_json
from analysis.publish.disclosure.table import REVISED
from analysis.publish.registry import Registry

__all__ = ["MANIFEST", "RELEASES", "Change", "changes_since_release", "freeze"]

RELEASES = "releases"
"""The folder under the reports folder that holds the frozen releases."""

MANIFEST = "manifest.json"
"""Each frozen file's SHA-256 (relative path -> hex digest)."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def freeze(reports_dir: Path, year: str, *, overwrite: bool = False) -> Path:
    """Archive ``reports_dir/year``'s tables and registry with their hashes; return the
    release folder. A release is frozen once: freezing it again is refused unless
    ``overwrite`` (a release that was withdrawn before anyone saw it)."""
    source = Path(reports_dir) / year
    registry = source / STATISTICS
    if not registry.exists():
        raise UserError(f"{registry}: no report for {year} to publish (run `make reports`)")
    from analysis.publish.disclosure.audit import audit_reports

    result = audit_reports(Path(reports_dir))
    if not result.passed:
        raise UserError(
            f"{year} cannot be published: the release audit finds {len(result.failures)} "
            f"suppressed number(s) that can be worked out, e.g. {result.failures[0].describe()}"
            " (python -m analysis audit)"
        )
    target = Path(reports_dir) / RELEASES / year
    if target.exists():
        if not overwrite:
            raise UserError(
                f"{target}: {year} was published already; a published release is not "
                "changed (later reports mark their differences [r])"
            )
        shutil.rmtree(target)
    (target / "tables").mkdir(parents=True)
    files = [registry, *sorted((source / "tables").glob("*.csv"))]
    for path in files:
        shutil.copyfile(path, target / path.relative_to(source))
    manifest = {str(p.relative_to(source)): _sha256(target / p.relative_to(source)) for p in files}
    write_json({"year": year, "files": manifest}, target / MANIFEST)
    return target


def verify(release: Path) -> list[str]:
    """Files of a frozen release whose hash no longer matches its manifest."""
    manifest = json.loads((Path(release) / MANIFEST).read_text("utf-8"))["files"]
    return sorted(
        name
        for name, digest in manifest.items()
        if not (Path(release) / name).exists() or _sha256(Path(release) / name) != digest
    )


@dataclass(frozen=True)
class Change:
    """A statistic published in a frozen release and shown differently now."""

    id: str
    was: str
    now: str
    marked: bool
    """True when the current report marks it ``[r]``."""


def changes_since_release(reports_dir: Path, year: str) -> list[Change]:
    """Every statistic of the frozen release of ``year`` that the current reports show with
    another number (in ``year``'s report or any later one that restates it)."""
    root = Path(reports_dir)
    frozen = Registry.read(root / RELEASES / year / STATISTICS)
    current = [Registry.read(p) for p in sorted(root.glob(f"*/{STATISTICS}"))]
    out = []
    for reg in current:
        if reg.vintage < year:
            continue
        for ident, stat in frozen.stats.items():
            now = reg.stats.get(ident)
            if now is None or now.value == stat.value and now.status == stat.status:
                continue
            if now.status == REVISED and now.value == stat.value:
                continue
            if now.text.replace(REVISED, "").strip() == stat.text.replace(REVISED, "").strip():
                continue
            out.append(Change(f"{reg.vintage}|{ident}", stat.text, now.text, REVISED in now.text))
    return out
