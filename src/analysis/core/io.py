"""Reading and writing the pipeline's tables deterministically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.core.catalog import ANALYSED_DATA
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
    "completeness",
    "reconciliation",
    "deliveries",
)
"""The cleaner's Parquet tables, as listed in ``docs/data-contract.md``."""


ANALYSED_DATA_FILE = ANALYSED_DATA  # the catalog's name (kept for existing imports)


def load_tables(folder: Path, names: tuple[str, ...] = PROCESSED_TABLES) -> dict[str, pd.DataFrame]:
    """Read the named Parquet tables of ``folder`` into a dict keyed by table name."""
    folder = Path(folder)
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
