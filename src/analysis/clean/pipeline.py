"""The clean stage from start to end: ``clean_returns`` reads every file, validates and pseudonymises, and writes the processed tables, the quarantine and the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from analysis.clean.extracts import (
    _case_frames,
    _conflicts,
    _deliveries,
    _read_assessments,
    _read_extract,
    _read_training,
)
from analysis.clean.harmonise import (
    completeness_table,
    parse_period,
    reconciliation_table,
    resolve_people,
)
from analysis.clean.intake import EVALUATION_YEARS, VALIDATE_SCHEMAS, State, raise_user
from analysis.clean.ledger import Ledger, LedgerError
from analysis.clean.monitoring import _read_return, _returns_tables
from analysis.clean.pseudonymise import key_for_returns
from analysis.clean.registers import (
    _frame,
    _read_area_panel,
    _read_fieldwork,
    _read_funding,
    _read_manifest,
    _read_services,
    _read_spokes,
)
from analysis.core.catalog import LEDGER, QUARANTINE
from analysis.core.io import write_parquet
from analysis.core.schemas import SCHEMAS, conform
from analysis.core.settings import load_settings


def _check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise_user(f"cannot write to the output folder {out_dir}: {exc.strerror or exc}")


def _files(raw_dir: Path, folder: str, pattern: str) -> list[Path]:
    base = raw_dir / folder
    return sorted(base.glob(f"*/{pattern}")) if base.is_dir() else []


def _stray_files(st: State, described: set[str]) -> None:
    """Every file in the raw folder that the contract does not describe is rejected."""
    for path in sorted(p for p in st.raw_dir.rglob("*") if p.is_file()):
        rel = st.rel(path)
        if rel.startswith("_truth/") or rel in described or path.name.startswith("."):
            continue
        st.ledger.reject_file(rel, "not a file the data contract describes (wrong name or folder)")


def _areas(spokes: list[dict[str, Any]], panel_names: dict[str, str]) -> pd.DataFrame:
    recs = list(spokes)
    spoke_areas = {s["area_code"] for s in spokes}
    for code, name in sorted(panel_names.items()):
        if code not in spoke_areas:
            recs.append(
                {
                    "area_code": code,
                    "area_name": name,
                    "is_spoke": False,
                    "service_id": None,
                    "spoke_id": None,
                    "host_agency": None,
                    "spoke_workers": None,
                    "spoke_start_month": None,
                    "cohort_quarter": 0,
                }
            )
    return _frame(recs, "areas")


def _periods() -> pd.DataFrame:
    recs = []
    for y in EVALUATION_YEARS:
        for p in [y] + [f"{y} Q{q}" for q in range(1, 5)]:
            per = parse_period(p)
            recs.append(
                {
                    "period": per.period,
                    "evaluation_year": per.evaluation_year,
                    "frequency": per.frequency,
                    "period_start": per.start,
                    "period_end": per.end,
                }
            )
    return _frame(recs, "periods")


def _expected_missing(st: State, returns: pd.DataFrame) -> list[str]:
    """Service periods with no accepted return (late, missing or rejected)."""
    have = set(zip(returns["service_id"], returns["period"], strict=True))
    out = []
    for sid, svc in sorted(st.services.items()):
        for y in EVALUATION_YEARS:
            cands = [y] if svc.reporting == "annual" else [f"{y} Q{q}" for q in range(1, 5)]
            for p in cands:
                per = parse_period(p)
                active = per.end >= svc.start_date and per.start <= svc.funded_until
                if active and (sid, per.period) not in have:
                    out.append(f"{sid} {per.period}")
    return out


def clean_returns(raw_dir: Path, out_dir: Path, *, params_file: Path | None = None) -> str:
    """Clean a raw folder into ``out_dir``; return a one-paragraph summary.

    Raises ``UserError`` (printed as one line by the command line) for a missing raw folder,
    manifest or service register, an unwritable output folder or, on real data (a folder
    without the generator's marker), a missing or unsafe key or an output folder inside
    the repository. Broken source files never stop the step: they are rejected in the
    ledger and the rest is processed.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    settings = load_settings(params_file)
    if not raw_dir.is_dir():
        raise_user(f"raw folder {raw_dir} does not exist")
    key = key_for_returns(raw_dir, out_dir=out_dir)  # by the data, never by params.yaml
    _check_writable(out_dir)
    if settings.clean is None:
        raise_user("params: the clean section (min_age, max_age) is missing")
    st = State(raw_dir, Ledger(), key, settings.clean.min_age, settings.clean.max_age)
    described = {"manifest.csv", "register/services.csv", "register/spokes.csv",
                 "register/funding.csv", "area_panel.csv", "fieldwork.csv"}  # fmt: skip

    _read_manifest(st)
    tables: dict[str, pd.DataFrame] = {"services": _read_services(st)}
    spokes = _read_spokes(st)
    tables["funding"] = _read_funding(st)
    tables["area_panel"], panel_names = _read_area_panel(st)
    tables["areas"] = _areas(spokes, panel_names)
    tables["fieldwork"] = _read_fieldwork(st)
    tables["periods"] = _periods()

    parsed = []
    for path in _files(raw_dir, "returns", "*"):
        described.add(st.rel(path))
        r = _read_return(st, path)
        if r is not None:
            parsed.append(r)
    tables.update(_returns_tables(st, parsed))

    case_rows: list[dict[str, Any]] = []
    for path in _files(raw_dir, "extracts", "*"):
        described.add(st.rel(path))
        case_rows.extend(_read_extract(st, path))
    case_rows = _conflicts(st, case_rows)
    tables["case_periods"] = _case_frames(case_rows)
    tables["young_people"] = resolve_people(tables["case_periods"])
    people: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(case_rows, key=lambda r: r["_ref"]):
        people.setdefault((r["service_id"], r["person_key"]), r)
    first_period: dict[tuple[str, str], str] = {}
    for r in case_rows:
        key = (r["service_id"], r["person_key"])
        first_period[key] = min(first_period.get(key, r["period"]), r["period"])
    # An assessment links to a young person only through an extract of its own period or an
    # earlier one, so a later extract can never change what an earlier report saw.
    people = {key: {**row, "_first_period": first_period[key]} for key, row in people.items()}
    quarantined_people = st.seen_people - set(people)

    assessments: list[dict[str, Any]] = []
    for path in _files(raw_dir, "assessments", "*"):
        described.add(st.rel(path))
        assessments.extend(_read_assessments(st, path, people, quarantined_people))
    tables["assessments"] = _frame(assessments, "assessments")
    training: list[dict[str, Any]] = []
    for path in _files(raw_dir, "training", "*"):
        described.add(st.rel(path))
        training.extend(_read_training(st, path))
    tables["training"] = _frame(training, "training")
    _stray_files(st, described)

    tables["completeness"] = completeness_table(tables["case_periods"], tables["assessments"])
    tables["reconciliation"] = reconciliation_table(
        tables["returns"], tables["referrals"], tables["young_people_counts"],
        tables["case_periods"],
    )  # fmt: skip

    try:
        st.ledger.check()
    except LedgerError as exc:
        raise_user(f"{exc} — this is a bug in the cleaner, please report it")
    tables["deliveries"] = _deliveries(st)
    for name in SCHEMAS:
        frame = conform(name, tables[name], validate=VALIDATE_SCHEMAS)
        write_parquet(frame, out_dir / f"{name}.parquet")
    (out_dir / QUARANTINE).write_text(st.ledger.quarantine_csv(), encoding="utf-8")
    missing = _expected_missing(st, tables["returns"])
    ledger_doc = st.ledger.to_json(
        notes=sorted(st.notes, key=lambda n: (n["file"], n["note"])),
        missing_returns=missing,
    )
    (out_dir / LEDGER).write_text(ledger_doc, encoding="utf-8")
    tot = st.ledger.totals()
    n_ret = len(tables["returns"])
    n_sup = int(tables["returns"]["superseded"].sum()) if n_ret else 0
    return (
        f"Cleaned {raw_dir} into {out_dir}: read {tot['read']} data rows "
        f"({tot['blank']} blank rows skipped) — kept {tot['kept']}, quarantined "
        f"{tot['quarantined']}, superseded {tot['superseded']}; {tot['rejected_files']} file(s) "
        f"rejected whole. {n_ret} returns ({n_sup} superseded by resubmissions), "
        f"{len(tables['young_people'])} young people, {len(tables['assessments'])} "
        f"assessments; {len(missing)} expected returns not received. Every row is accounted "
        f"for in ledger.json; reasons are in quarantine.csv."
    )
