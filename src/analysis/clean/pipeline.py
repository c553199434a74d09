"""The clean stage from start to end: ``clean_returns`` reads every file, validates and pseudonymises, and writes the processed tables, the quarantine and the ledger."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.clean.costs import GRANTS_FILE, read_grants
from analysis.clean.extracts import (
    _case_frames,
    _conflicts,
    _deliveries,
    _read_assessments,
    _read_extract,
    _read_training,
)
from analysis.clean.fieldwork import read_fieldwork
from analysis.clean.files import scan_raw
from analysis.clean.harmonise import (
    completeness_table,
    parse_period,
    reconciliation_table,
    resolve_people,
)
from analysis.clean.intake import (
    EVALUATION_YEARS,
    VALIDATE_SCHEMAS,
    State,
    _read_csv,
    _service_file,
    raise_user,
)
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
from analysis.clean.sessions import GROUPWORK_FOLDER, read_group_sessions
from analysis.clean.submissions import Submission, plan
from analysis.clean.workforce import POSTS_FILE, read_posts
from analysis.core import labels as L
from analysis.core.catalog import LEDGER, QUARANTINE
from analysis.core.errors import UserError
from analysis.core.io import (
    CLEAN_OUTPUTS,
    replace_folder,
    staging_folder,
    write_complete_marker,
    write_parquet,
)
from analysis.core.schemas import SCHEMAS, conform
from analysis.core.settings import load_settings

KINDS: dict[str, tuple[str, str]] = {
    "return": ("returns", "monitoring return"),
    "extract": ("extracts", "case extract"),
    "assessments": ("assessments", "assessments file"),
    "training": ("training", "training file"),
    "groupwork": (GROUPWORK_FOLDER, "group-session file"),
}
"""Kinds of service file: their folder and what a message calls them."""

_CSV_COLUMNS = {
    "extract": (L.EXTRACT_COLUMNS, L.EXTRACT_REQUIRED),
    "assessments": (L.ASSESSMENT_COLUMNS, L.ASSESSMENT_REQUIRED),
    "training": (L.TRAINING_COLUMNS, L.TRAINING_REQUIRED),
}


def _submissions(st: State, kind: str, described: set[str]) -> list[list[Submission]]:
    """The kind's files, checked (name, service, period, manifest) and grouped by service
    and period in the order of the resubmission rule (:mod:`analysis.clean.submissions`)."""
    subs = []
    for file in st.inventory.under(KINDS[kind][0]):
        described.add(file)
        sub = _service_file(st, st.raw_dir / file, kind)
        if sub is not None:
            subs.append(sub)
    return plan(st, subs)


def _current_of(
    st: State, group: list[Submission], read: Callable[[Submission], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Read the current file of a group of CSV submissions (the last that can be read) and
    count the rows of the earlier ones as superseded by it."""
    for i in range(len(group) - 1, -1, -1):
        rows = read(group[i])
        if group[i].file not in st.ledger.rejected:
            for old in group[:i]:
                _supersede_csv(st, old, group[i])
            return rows
    return []


def _supersede_csv(st: State, old: Submission, by: Submission) -> None:
    aliases, required = _CSV_COLUMNS[old.kind]
    table = _read_csv(st, old.path, aliases, required, set(aliases.values()))
    if table is None:
        return
    reason = (
        f"superseded by {by.file} received {by.received:%d/%m/%Y}: a later "
        f"{KINDS[old.kind][1]} for the same service and period replaces this one"
    )
    for row, _ in table.rows:
        st.ledger.supersede(table.file, "", row, reason)


def _stray_files(st: State, described: set[str]) -> None:
    """Every entry of the raw folder the cleaner did not read is rejected: links, folders
    named like data files and special files with their reason, other files as not
    described by the contract."""
    for rel, reason in sorted(st.inventory.refused.items()):
        if rel not in st.ledger.rejected:
            st.ledger.reject_file(rel, reason)
    for rel in sorted(st.inventory.files - described):
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
    ledger and the rest is processed. The outputs are written to a temporary folder beside
    ``out_dir`` with a completion marker last, then moved into place: a failure (a full
    disk) or an interruption leaves the previous output as it was.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    settings = load_settings(params_file)
    if not raw_dir.is_dir():
        raise_user(f"raw folder {raw_dir} does not exist")
    key = key_for_returns(raw_dir, out_dir=out_dir)  # by the data, never by params.yaml
    if settings.clean is None:
        raise_user("params: the clean section (min_age, max_age) is missing")
    st = State(raw_dir, Ledger(key=key), key, settings.clean.min_age, settings.clean.max_age)
    st.inventory = scan_raw(raw_dir)
    tables = _clean(st)
    try:
        staging = staging_folder(out_dir)
    except OSError as exc:
        raise_user(f"cannot write to the output folder {out_dir}: {exc.strerror or exc}")
    try:
        _write(st, tables, staging)
        replace_folder(staging, out_dir, owned=CLEAN_OUTPUTS)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise_user(
            f"cannot write the processed tables to {out_dir}: {exc.strerror or exc}; the "
            "previous output there is unchanged"
        )
    except UserError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _summary(st, tables, raw_dir, out_dir)


def _clean(st: State) -> dict[str, pd.DataFrame]:
    """Read and validate everything the raw folder holds; the processed tables."""
    described = {"manifest.csv", "register/services.csv", "register/spokes.csv",
                 "register/funding.csv", "area_panel.csv", "fieldwork.csv",
                 POSTS_FILE, GRANTS_FILE}  # fmt: skip

    _read_manifest(st)
    tables: dict[str, pd.DataFrame] = {"services": _read_services(st)}
    spokes = _read_spokes(st)
    tables["posts"] = read_posts(st)
    tables["grants"] = read_grants(st)
    tables["funding"] = _read_funding(st)
    tables["area_panel"], panel_names = _read_area_panel(st)
    tables["areas"] = _areas(spokes, panel_names)
    tables["fieldwork"] = _read_fieldwork(st)
    tables["periods"] = _periods()

    parsed = []
    for group in _submissions(st, "return", described):
        for sub in group:
            r = _read_return(st, sub)
            if r is not None:
                parsed.append(r)
    tables.update(_returns_tables(st, parsed))

    case_rows: list[dict[str, Any]] = []
    for group in _submissions(st, "extract", described):
        case_rows.extend(_current_of(st, group, lambda sub: _read_extract(st, sub)))
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
    for group in _submissions(st, "assessments", described):
        assessments.extend(
            _current_of(
                st, group, lambda sub: _read_assessments(st, sub, people, quarantined_people)
            )
        )
    tables["assessments"] = _frame(assessments, "assessments")
    training: list[dict[str, Any]] = []
    for group in _submissions(st, "training", described):
        training.extend(_current_of(st, group, lambda sub: _read_training(st, sub)))
    tables["training"] = _frame(training, "training")
    groups: list[dict[str, Any]] = []
    for group in _submissions(st, "groupwork", described):
        groups.extend(_current_of(st, group, lambda sub: read_group_sessions(st, sub)))
    tables["group_sessions"] = _frame(groups, "group_sessions")
    tables["fieldwork_quotes"], tables["fieldwork_sources"] = read_fieldwork(st, described)
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
    st.missing_returns = _expected_missing(st, tables["returns"])
    return tables


def _summary(st: State, tables: dict[str, pd.DataFrame], raw_dir: Path, out_dir: Path) -> str:
    tot = st.ledger.totals()
    n_ret = len(tables["returns"])
    n_sup = int(tables["returns"]["superseded"].sum()) if n_ret else 0
    n_norm = sum(st.case_ids_normalised.values())
    normalised = f" {n_norm} case ID(s) normalised (letter case, spaces);" if n_norm else ""
    return (
        f"Cleaned {raw_dir} into {out_dir}: read {tot['read']} data rows "
        f"({tot['blank']} blank rows skipped) — kept {tot['kept']}, quarantined "
        f"{tot['quarantined']}, superseded {tot['superseded']}; {tot['rejected_files']} file(s) "
        f"rejected whole. {n_ret} returns ({n_sup} superseded by resubmissions), "
        f"{len(tables['young_people'])} young people, {len(tables['assessments'])} "
        f"assessments;{normalised} {len(st.missing_returns)} expected returns not received. "
        "Every row is accounted for in ledger.json; reasons are in quarantine.csv."
    )


def _write(st: State, tables: dict[str, pd.DataFrame], folder: Path) -> None:
    """Write every output into ``folder``, the completion marker last."""
    for name in SCHEMAS:
        frame = conform(name, tables[name], validate=VALIDATE_SCHEMAS)
        write_parquet(frame, folder / f"{name}.parquet")
    (folder / QUARANTINE).write_text(st.ledger.quarantine_csv(), encoding="utf-8")
    extra: dict[str, Any] = {
        "notes": sorted(st.notes, key=lambda n: (n["file"], n["note"])),
        "missing_returns": st.missing_returns,
        "case_ids_normalised": {
            "rule": "case IDs are compared with spaces removed and letters in upper case",
            "rows": sum(st.case_ids_normalised.values()),
            "files": [{"file": f, "rows": n} for f, n in sorted(st.case_ids_normalised.items())],
        },
    }
    (folder / LEDGER).write_text(st.ledger.to_json(**extra), encoding="utf-8")
    write_complete_marker(folder, "clean")
