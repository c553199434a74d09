"""Reading and writing the pipeline's tables deterministically.

* Parquet and JSON written with stable bytes (:func:`write_parquet`, :func:`write_json`);
* every CSV the project writes goes through :func:`csv_text`, which neutralises text a
  spreadsheet would run as a formula (:func:`neutralise_cell`);
* a stage folder is written whole or not at all: :func:`replace_folder` moves a finished
  temporary folder into place, and :func:`load_tables` refuses a processed folder without
  the completion marker (:data:`analysis.core.catalog.COMPLETE`) or whose files differ from
  it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.core.catalog import ANALYSED_DATA, COMPLETE, LEDGER, QUARANTINE
from analysis.core.errors import UserError
from analysis.core.published import check_publishable

PROCESSED_TABLES: tuple[str, ...] = (
    "services",
    "areas",
    "posts",
    "grants",
    "funding",
    "area_panel",
    "periods",
    "returns",
    "referrals",
    "young_people_counts",
    "activities",
    "outputs",
    "case_periods",
    "young_people",
    "assessments",
    "training",
    "group_sessions",
    "fieldwork",
    "fieldwork_quotes",
    "fieldwork_sources",
    "completeness",
    "reconciliation",
    "deliveries",
)
"""The cleaner's Parquet tables, as listed in ``docs/data-contract.md``."""


ANALYSED_DATA_FILE = ANALYSED_DATA  # the catalog's name (kept for existing imports)


def load_tables(folder: Path, names: tuple[str, ...] = PROCESSED_TABLES) -> dict[str, pd.DataFrame]:
    """Read the named Parquet tables of ``folder`` into a dict keyed by table name.

    Raises :class:`~analysis.core.errors.UserError` unless the folder is one complete output
    of the clean step (:func:`check_complete`).
    """
    folder = Path(folder)
    check_complete(folder)
    missing = [n for n in names if not (folder / f"{n}.parquet").exists()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(m + '.parquet' for m in missing)}: run the clean step first"
        )
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in names}


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` as Parquet, byte-identical for identical data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.reset_index(drop=True).to_parquet(path, index=False, engine="pyarrow")
    return path


def write_json(data: Any, path: Path) -> Path:
    """Write ``data`` as sorted, indented JSON (stable bytes).

    Refuses NaN, infinity and None anywhere in ``data``
    (:func:`analysis.published.check_publishable`): leave a key out instead.
    """
    path = Path(path)
    text = json.dumps(data, indent=2, sort_keys=True, default=_jsonable, allow_nan=True)
    check_publishable(json.loads(text), path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", "utf-8")
    return path


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text("utf-8"))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def ledger_frame(path: Path) -> pd.DataFrame:
    """The per-file lines of a cleaning ledger (``ledger.json``) as a table."""
    data = read_json(path)
    columns = ["file", "sheet", "read", "kept", "quarantined", "superseded", "blank"]
    return pd.DataFrame(data.get("files", []), columns=columns)


# ------------------------------------------------------------------ CSV written by the project
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)*|\d*\.\d+)(?:[eE][+-]?\d+)?%?$")


def neutralise_cell(text: str) -> str:
    """``text`` as it may stand in a CSV cell a person opens in a spreadsheet.

    Text that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return, or their full-width forms) gets a leading apostrophe, which
    the spreadsheet shows as text. A plain number (``-0.25``, ``+3``, ``1,200``) is left as
    it is.
    """
    if text and text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _neutral(value: Any) -> Any:
    return neutralise_cell(value) if isinstance(value, str) else value


def csv_text(frame: pd.DataFrame, *, index: bool = True) -> str:
    """``frame`` as CSV text (``\\n`` line ends) with every text cell, row label and column
    label passed through :func:`neutralise_cell`: the one way the project writes a CSV."""
    out = frame.copy()
    for col in range(out.shape[1]):
        series = out.iloc[:, col]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out.isetitem(col, series.map(_neutral))
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = pd.Index([_neutral(c) for c in out.columns], name=_neutral(out.columns.name))
    if index and not isinstance(out.index, pd.MultiIndex):
        out.index = pd.Index([_neutral(v) for v in out.index], name=_neutral(out.index.name))
    return out.to_csv(index=index, lineterminator="\n")


def csv_rows_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """Rows of plain values as CSV text, each text cell through :func:`neutralise_cell`."""
    import csv
    import io

    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([_neutral(h) for h in header])
    for row in rows:
        writer.writerow([_neutral(v) for v in row])
    return buf.getvalue()


# ------------------------------------------------------------------ whole folders
def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_complete_marker(folder: Path, stage: str) -> Path:
    """Write ``folder``'s completion marker last: the stage and the SHA-256 of every file."""
    folder = Path(folder)
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != COMPLETE)
    doc = {"stage": stage, "files": {name: file_digest(folder / name) for name in files}}
    path = folder / COMPLETE
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")
    return path


def check_complete(folder: Path) -> None:
    """Raise :class:`UserError` unless ``folder`` holds a completion marker whose files are
    all there with the bytes it records (an interrupted or failed clean, or a folder mixing
    two runs, is refused)."""
    folder = Path(folder)
    marker = folder / COMPLETE
    if not folder.is_dir():
        raise UserError(f"{folder} does not exist: run the clean step first")
    if not marker.is_file():
        raise UserError(
            f"{folder} is not a complete output of the clean step (no {COMPLETE}): an "
            "interrupted or failed clean leaves no marker; run the clean step again"
        )
    try:
        recorded = json.loads(marker.read_text("utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{marker} is damaged: run the clean step again") from None
    changed = [
        name
        for name, digest in sorted(recorded.items())
        if not (folder / name).is_file() or file_digest(folder / name) != digest
    ]
    if changed:
        raise UserError(
            f"{folder} mixes outputs of different runs: {', '.join(changed[:5])} "
            f"{'differ' if len(changed) > 1 else 'differs'} from what the clean step wrote; "
            "run the clean step again"
        )


def staging_folder(target: Path) -> Path:
    """A new, empty temporary folder beside ``target`` (same file system, so the final move
    is a rename)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def replace_folder(staging: Path, target: Path, *, owned: Iterable[str]) -> None:
    """Move the finished ``staging`` folder to ``target``, replacing what was there.

    ``target`` may only hold files named in ``owned`` (what the stage itself writes): any
    other content stops the move with a :class:`UserError` and ``target`` is left as it was.
    The old folder is renamed aside first and removed only after the new one is in place,
    so an interruption leaves either the old complete output or the new one (or, between
    the two renames, no folder, never a mix).
    """
    staging, target = Path(staging), Path(target)
    if target.exists():
        if not target.is_dir():
            raise UserError(f"{target} exists and is not a folder")
        allowed = set(owned) | {COMPLETE}
        foreign = sorted(p.name for p in target.iterdir() if p.name not in allowed)
        if foreign:
            raise UserError(
                f"{target} holds files the clean step did not write ({', '.join(foreign[:3])}"
                f"{' ...' if len(foreign) > 3 else ''}): choose an empty or new output folder"
            )
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


CLEAN_OUTPUTS: tuple[str, ...] = (
    *(f"{name}.parquet" for name in PROCESSED_TABLES),
    LEDGER,
    QUARANTINE,
)
"""Every file the clean step writes into ``data/processed`` (besides the marker)."""
