"""Data vintages: what the report for one evaluation year may see.

A year's report is written some weeks after 31 August. It may use only

* periods ending by 31 August of that year (``evaluation_year <= year``), and
* data received by its cut-off date: for each service and period, the latest version of
  the return received by the cut-off (earlier versions are ``superseded`` within that
  vintage, later ones do not exist yet). Case extracts, assessments and training rows
  follow their file's received date (from ``manifest.csv``).

Young people are re-resolved from the case periods inside the vintage, and the
completeness and reconciliation tables are recomputed, so a vintage looks exactly like
what the cleaner would have produced had it run on the cut-off date. :func:`revised_cells`
compares two vintages so a report can mark a figure an earlier report gave differently
(``[r]``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import pandas as pd

from analysis.core import calendar, rules
from analysis.core.people import completeness_table, reconciliation_table, resolve_people
from analysis.core.schemas import conform

RETURN_TABLES: tuple[str, ...] = (
    "returns",
    "referrals",
    "young_people_counts",
    "activities",
    "outputs",
)
RECEIVED_TABLES: tuple[str, ...] = ("case_periods", "assessments", "training", "group_sessions")
YEAR_TABLES: tuple[str, ...] = (
    "periods", "area_panel", "fieldwork", "fieldwork_quotes", "fieldwork_sources",
    "funding", "grants",
)  # fmt: skip


def _upto(frame: pd.DataFrame, year: str) -> pd.Series:
    return frame["evaluation_year"].astype("str") <= year


def latest_returns(returns: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """Returns received by ``cutoff``, with ``superseded`` recomputed within that set.

    For each service and period the current return is chosen by the one rule for
    resubmissions (:func:`analysis.core.rules.submission_order`: the highest version, then
    the latest received date); every other version received by the cut-off is superseded.
    """
    r = returns[returns["received_date"] <= pd.Timestamp(cutoff)]
    if r.empty:
        return r.assign(superseded=pd.Series([], dtype="bool"))
    flags = rules.superseded_flags(r, group=("service_id", "period"), file="return_id")
    return r.assign(superseded=flags)


def tables_as_of(
    tables: dict[str, pd.DataFrame], year: str, cutoff: date
) -> dict[str, pd.DataFrame]:
    """The processed tables as the report for evaluation year ``year`` may see them.

    ``tables`` is keyed by table name (``returns``, ``case_periods`` ...), as
    :func:`analysis.tables.load_tables` returns them. Tables not about periods (services,
    areas) pass through unchanged; a missing table is simply left out. Pure: the input
    frames are not changed.
    """
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        if name in RETURN_TABLES or name in RECEIVED_TABLES or name in YEAR_TABLES:
            continue
        out[name] = frame
    for name in YEAR_TABLES:
        if name in tables:
            out[name] = tables[name][_upto(tables[name], year)].reset_index(drop=True)

    if "returns" in tables:
        ret = tables["returns"]
        ret = latest_returns(ret[_upto(ret, year)], cutoff).reset_index(drop=True)
        out["returns"] = ret
        flags = ret.set_index("return_id")["superseded"]
        for name in RETURN_TABLES[1:]:
            if name in tables:
                t = tables[name]
                t = t[t["return_id"].isin(flags.index)]
                out[name] = t.assign(
                    superseded=t["return_id"].map(flags).astype("bool")
                ).reset_index(drop=True)

    ts = pd.Timestamp(cutoff)
    for name in RECEIVED_TABLES:
        if name in tables:
            t = tables[name]
            out[name] = t[_upto(t, year) & (t["received_date"] <= ts)].reset_index(drop=True)

    if "case_periods" in out:
        out["young_people"] = resolve_people(out["case_periods"])
        if "young_people" in tables:
            out["young_people"] = out["young_people"][list(tables["young_people"].columns)]
        if "assessments" in out:
            out["completeness"] = completeness_table(out["case_periods"], out["assessments"])
    if "returns" in out and "case_periods" in out and "referrals" in out:
        out["reconciliation"] = reconciliation_table(
            out["returns"],
            out["referrals"],
            out["young_people_counts"],
            out["case_periods"],
            tables.get("periods"),
        )
    for name in ("young_people", "completeness", "reconciliation"):
        if name in out and name in tables:
            out[name] = conform(name, out[name], validate=False)
    for name in ("completeness", "reconciliation"):
        if name in tables and name not in out:
            t = tables[name]
            out[name] = t[t["period"].str[:7] <= year].reset_index(drop=True)
    calendar.parse_year(year)  # validates the label (ValueError naming it)
    return out


def revised_cells(
    earlier: pd.DataFrame,
    later: pd.DataFrame,
    keys: Sequence[str],
    value: str,
) -> pd.DataFrame:
    """Figures an earlier vintage reported differently: keys, ``earlier``, ``later``.

    ``earlier`` and ``later`` are the same summary table from two vintages (e.g. counts by
    service and period). A row is returned for every key present in both whose value
    differs (missing and a number differ; two missing values do not). A key only in
    ``later`` is new, not revised, and is not returned. Sorted by the keys.
    """
    keys = list(keys)
    e = earlier[keys + [value]].rename(columns={value: "earlier"})
    lt = later[keys + [value]].rename(columns={value: "later"})
    m = e.merge(lt, on=keys, how="inner")
    both_na = m["earlier"].isna() & m["later"].isna()
    differ = (m["earlier"] != m["later"]).fillna(True) & ~both_na
    differ = differ.astype("bool")
    return m[differ].sort_values(keys, kind="mergesort").reset_index(drop=True)


def revised_flags(
    earlier: pd.DataFrame, later: pd.DataFrame, keys: Sequence[str], value: str
) -> pd.Series:
    """A boolean per row of ``later``: True where :func:`revised_cells` lists its key."""
    rev = revised_cells(earlier, later, keys, value)
    idx = pd.MultiIndex.from_frame(rev[list(keys)]) if len(rev) else None
    if idx is None:
        return pd.Series(False, index=later.index)
    return pd.Series(pd.MultiIndex.from_frame(later[list(keys)]).isin(idx), index=later.index)


def vintage_hash(tables: dict[str, pd.DataFrame]) -> str:
    """SHA-256 (first 16 hex digits) of the data a report may see."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(name.encode())
        digest.update(
            pd.util.hash_pandas_object(frame.astype("str"), index=False).to_numpy().tobytes()
        )
    return digest.hexdigest()[:16]
