"""Data-quality accounting over the cleaner's outputs, for reports and notebooks.

Which source files a report may count (those delivered by its cut-off), quarantined rows by
kind of reason, and the ledger's totals by kind of source file. Pure pandas over
``data/processed``; no plotting, so the clean notebook can show them cheaply.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.core import rules
from analysis.core.catalog import LEDGER, QUARANTINE
from analysis.core.io import ledger_frame


def delivered_files(processed_dir: Path, year: str, cutoff: Any) -> set[str]:
    """Source files a report may count: those for periods up to ``year`` received by its
    cut-off. Files that span every year (registers, area panel, fieldwork log, delivery
    log) are left out: their rows cannot be split by vintage."""
    path = Path(processed_dir) / "deliveries.parquet"
    files = pd.read_parquet(path)
    received = pd.to_datetime(files["received_date"])
    in_year = files["evaluation_year"].notna() & (files["evaluation_year"].astype("str") <= year)
    arrived = received.notna() & (received <= pd.Timestamp(cutoff))
    return set(files.loc[in_year & arrived, "file"])


def superseded_within(processed_dir: Path, files: set[str]) -> set[str]:
    """Files among ``files`` that a later submission supersedes, by the one rule the cleaner
    uses (:func:`analysis.core.rules.submission_order`: version, then received date).

    A return is superseded only by a resubmission that is also among ``files`` (one that had
    arrived by the report's cut-off). A replaced extract, assessments or training file is
    superseded whatever the cut-off: the cleaner keeps only the current one's rows in the
    tables, so every report counts the replaced file's rows as superseded. Only files whose
    rows the cleaner read take part (not those rejected whole or absent from the folder).
    """
    deliveries = pd.read_parquet(Path(processed_dir) / "deliveries.parquet")
    ledger = Path(processed_dir) / LEDGER
    read = set(ledger_frame(ledger)["file"]) if ledger.exists() else set(deliveries["file"])
    is_return = deliveries["kind"] == "return"
    pool = deliveries.loc[
        deliveries["service_id"].notna()
        & deliveries["file"].isin(read)
        & (~is_return | deliveries["file"].isin(files))
    ]
    flags = rules.superseded_flags(pool, group=("kind", "service_id", "period"))
    return set(pool.loc[flags, "file"]) & set(files)


def quarantine_by_reason(processed_dir: Path, files: set[str]) -> pd.DataFrame:
    """Quarantined rows by kind of reason, for the given source files (no values)."""
    path = Path(processed_dir) / QUARANTINE
    if not path.exists():
        return pd.DataFrame(columns=["reason", "rows"])
    q = pd.read_csv(path, dtype="str", keep_default_na=False, usecols=["file", "reason"])
    q = q.loc[q["file"].isin(files)]
    # A return is superseded only once its resubmission has arrived.
    replaced = superseded_within(processed_dir, files)
    q = q.loc[~(q["reason"].str.startswith("superseded") & ~q["file"].isin(replaced))]
    reason = q["reason"].map(reason_category)
    return reason.to_frame("reason").assign(rows=1).groupby("reason", as_index=False)["rows"].sum()


def ledger_totals(processed_dir: Path, files: set[str]) -> pd.DataFrame:
    """Ledger totals by kind of source file, for the given source files."""
    path = Path(processed_dir) / LEDGER
    if not path.exists():
        return pd.DataFrame()
    frame = ledger_frame(path)
    frame = frame.loc[frame["file"].isin(files)]
    # Rows of a return whose resubmission had not arrived by the cut-off were kept then.
    not_yet = ~frame["file"].isin(superseded_within(processed_dir, files))
    frame = frame.assign(
        kept=frame["kept"] + frame["superseded"].where(not_yet, 0),
        superseded=frame["superseded"].where(~not_yet, 0),
    )
    kind = frame["file"].astype("str").str.split("/").str[0].str.replace(r"\.csv$", "", regex=True)
    numeric = ["read", "kept", "quarantined", "superseded", "blank"]
    grouped = (
        frame.assign(kind=kind.map(SOURCE_LABELS).fillna(kind))
        .groupby("kind", as_index=False)[numeric]
        .sum()
    )
    return grouped.rename(columns={"kind": "Source", **{c: c.capitalize() for c in numeric}})


SOURCE_LABELS: dict[str, str] = {
    "returns": "Monitoring returns",
    "extracts": "Case extracts",
    "assessments": "Outcome assessments",
    "training": "Training feedback",
    "groupwork": "Group sessions",
    "register": "Service register",
    "area_panel": "Area panel",
    "fieldwork": "Fieldwork log",
    "manifest": "Delivery log",
}


_DETAIL = [
    re.compile(r"\s*\([^)]*\)"),  # bracketed detail
    re.compile(r"\s+\S*/\S*"),  # file paths
    re.compile(r"\s+received\b.*$"),  # received dates and what follows
    re.compile(r"\s+\d+(?=\s)"),  # single figures inside the sentence ("age 6 is ...")
    re.compile(r"\s+'[^']*'|\s+\"[^\"]*\""),  # quoted raw values
]


def reason_category(reason: str) -> str:
    """The kind of a quarantine reason, without the detail that locates one row.

    Reasons name files, rows, dates and raw values so an analyst can act on them; a report
    shows only how many rows were quarantined for each kind of reason.
    """
    text = re.split(r"[:;]", str(reason), maxsplit=1)[0]
    for pattern in _DETAIL:
        text = pattern.sub("", text)
    return text.strip().rstrip(".,") or "other"
