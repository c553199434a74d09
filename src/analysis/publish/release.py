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
import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.core.catalog import STATISTICS
from analysis.core.errors import UserError
from analysis.core.io import write_json
from analysis.publish.disclosure.estimates import mark_revised
from analysis.publish.disclosure.table import CONFIDENTIAL, REVISED, DisclosedTable
from analysis.publish.registry import Registry, Statistic

__all__ = [
    "MANIFEST",
    "RELEASES",
    "Change",
    "archived",
    "changes_since_release",
    "freeze",
    "read_reasons",
    "revise",
    "revised_since_release",
    "write_reasons",
]

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


def write_reasons(registry: Registry, path: Path) -> Path:
    """Write which of ``registry``'s suppressed cells are small (``primary``) and which
    complementary: the audit stage's private input (``catalog.SUPPRESSION``), never
    published, since knowing which cell is which narrows what a cell can hold."""
    suppressed = sorted(i for i, s in registry.stats.items() if s.status == CONFIDENTIAL)
    primary = sorted(registry.primary)
    record = {
        "vintage": registry.vintage,
        "primary": primary,
        "complementary": [i for i in suppressed if i not in registry.primary],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def read_reasons(folder: Path | None) -> dict[str, set[str]]:
    """The small (primary) cells of each release written by :func:`write_reasons` in
    ``folder``: vintage -> ids (for :func:`audit`'s ``primary``); empty without a folder."""
    if folder is None or not Path(folder).is_dir():
        return {}
    out = {}
    for path in sorted(Path(folder).glob("*.json")):
        record = json.loads(path.read_text("utf-8"))
        out[str(record["vintage"])] = set(record["primary"])
    return out


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


def _bare(text: str) -> str:
    return text.replace(REVISED, "").strip()


def _restated(frozen: Registry, vintage: str) -> set[str]:
    """The ids of ``frozen`` that name the same quantity in the report of ``vintage``:
    every id when it is the frozen year's own report, else the cells of its tables with
    one period per row (``persistent``), which later reports show again."""
    if vintage == frozen.vintage:
        return set(frozen.stats)
    return {i for rel in frozen.relations if rel["kind"] == "persistent" for i in rel["ids"]}


def archived(reports_dir: Path, vintage: str) -> dict[str, tuple[str, Statistic]]:
    """What the frozen releases in ``reports_dir/releases`` published that the report of
    ``vintage`` shows again: id -> (release year, statistic as frozen), the latest
    release first. Empty when nothing has been frozen."""
    out: dict[str, tuple[str, Statistic]] = {}
    for path in sorted(Path(reports_dir).glob(f"{RELEASES}/*/{STATISTICS}"), reverse=True):
        frozen = Registry.read(path)
        if frozen.vintage > vintage:
            continue
        for ident in sorted(_restated(frozen, vintage)):
            if ident in frozen.stats:
                out.setdefault(ident, (frozen.vintage, frozen.stats[ident]))
    return out


def revised_since_release(
    ids: pd.DataFrame, texts: pd.DataFrame, archive: dict[str, tuple[str, Statistic]]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Which cells of a table (their ids and texts, aligned) now differ from a frozen
    release that published them, and a note per release giving the reason: cells to mark
    ``[r]`` (:func:`~analysis.publish.disclosure.mark_revised`)."""
    flags = pd.DataFrame(False, index=ids.index, columns=ids.columns)
    changed: dict[str, list[str]] = {}
    for i, j in itertools.product(range(ids.shape[0]), range(ids.shape[1])):
        hit = archive.get(str(ids.iat[i, j]))
        if hit is not None and _bare(str(texts.iat[i, j])) != _bare(hit[1].text):
            flags.iat[i, j] = True
            changed.setdefault(hit[0], []).append(
                f"{hit[1].row}, {hit[1].column}: {_bare(hit[1].text)}"
            )
    notes = tuple(
        f"{REVISED}: differs from the {year} report as published (frozen release): returns "
        f"received or corrected since. Published then: {'; '.join(cells)}."
        for year, cells in sorted(changed.items())
    )
    return flags, notes


def revise(table: DisclosedTable, name: str, registry: Registry) -> DisclosedTable:
    """``table`` (to be published as ``name``) with every cell a frozen release published
    differently marked ``[r]``, with the reason (``registry.archive``, :func:`archived`)."""
    if not registry.archive:
        return table
    flags, reasons = revised_since_release(
        Registry.table_ids(table, name), table.table, registry.archive
    )
    return mark_revised(table, flags, reasons) if flags.to_numpy().any() else table


def changes_since_release(reports_dir: Path, year: str) -> list[Change]:
    """Every statistic of the frozen release of ``year`` that the current reports show with
    another number (in ``year``'s report, or a later one's table with one period per row
    that shows it again)."""
    root = Path(reports_dir)
    frozen = Registry.read(root / RELEASES / year / STATISTICS)
    current = [Registry.read(p) for p in sorted(root.glob(f"*/{STATISTICS}"))]
    out = []
    for reg in current:
        if reg.vintage < year:
            continue
        for ident in sorted(_restated(frozen, reg.vintage)):
            stat, now = frozen.stats.get(ident), reg.stats.get(ident)
            if stat is None or now is None or _bare(now.text) == _bare(stat.text):
                continue
            out.append(Change(f"{reg.vintage}|{ident}", stat.text, now.text, REVISED in now.text))
    return out
