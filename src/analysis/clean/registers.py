"""Reading the registers: the manifest, services, spoke areas, funding, the area panel and the fieldwork log."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.clean.harmonise import (
    parse_period,
    quarter_index,
    quarter_of,
)
from analysis.clean.intake import (
    EVALUATION_YEARS,
    PANEL_FIRST,
    PANEL_LAST,
    ManifestEntry,
    RowReader,
    Service,
    _extra_cells,
    _quarantine,
    _read_csv,
    raise_user,
)
from analysis.clean.pseudonymise import (
    to_month,
)
from analysis.clean.returns import (
    cell_text,
)
from analysis.core import labels as L
from analysis.core.catalog import MANIFEST
from analysis.core.schemas import SCHEMAS

if TYPE_CHECKING:
    from analysis.clean.intake import State


# =============================================================================== registers


def _read_manifest(st: State) -> None:
    path = st.raw_dir / MANIFEST
    if not path.is_file():
        raise_user(f"{st.raw_dir} has no manifest.csv: is it a raw returns folder?")
    table = _read_csv(st, path, None, L.MANIFEST_COLUMNS)
    if table is None:
        raise_user(f"manifest.csv cannot be read: {st.ledger.rejected.get('manifest.csv')}")
    seen: dict[str, list[int]] = defaultdict(list)
    parsed: dict[int, ManifestEntry] = {}
    for row, values in table.rows:
        rr = RowReader(values)
        file = rr.text("file", required=True)
        kind = rr.code("kind", L.MANIFEST_KINDS)
        sid = rr.text("service_id")
        per = rr.text("period")
        version = rr.count("version", lo=1)
        received = rr.date("received_date")
        if per:
            try:
                per = parse_period(per).period
            except ValueError as exc:
                rr.fail("period", str(exc))
        if (
            kind in L.SERVICE_FILE_KINDS
            and received is None
            and not any(p.column == "received_date" for p in rr.problems)
        ):
            rr.fail("received_date", "received_date is required for service files")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        assert file is not None and kind is not None
        seen[file].append(row)
        parsed[row] = ManifestEntry(file, kind, sid, per, version, received)
        st.ledger.keep(table.file, table.sheet, row)
    for file, rows in seen.items():
        if len(rows) > 1:
            for r in rows:
                st.ledger.quarantine_row(
                    table.file, table.sheet, r, "file", file,
                    f"file listed {len(rows)} times in the manifest (rows {', '.join(map(str, rows))})",
                )  # fmt: skip
        else:
            st.manifest[file] = parsed[rows[0]]
    for file in sorted(st.manifest):
        if not (st.raw_dir / file).is_file():
            st.notes.append({"file": file, "note": "listed in manifest.csv but not in the folder"})


def _read_services(st: State) -> pd.DataFrame:
    path = st.raw_dir / "register" / "services.csv"
    if not path.is_file():
        raise_user(f"{st.raw_dir} has no register/services.csv: the cleaner needs the register")
    table = _read_csv(st, path, None, L.SERVICES_COLUMNS)
    if table is None:
        raise_user(
            "register/services.csv cannot be read: "
            f"{st.ledger.rejected.get('register/services.csv')}"
        )
    found: dict[str, list[tuple[int, Service]]] = defaultdict(list)
    for row, values in table.rows:
        rr = RowReader(values)
        sid = rr.text("service_id", required=True)
        if sid and not re.fullmatch(r"S\d{2,}", sid):
            rr.fail("service_id", "service_id must look like S01")
        hub = rr.text("hub_organisation", required=True)
        phase = rr.count("phase", required=True, lo=1, hi=3)
        start = rr.date("start_date", required=True)
        until = rr.date("funded_until", required=True)
        reporting = rr.code("reporting", ("annual", "quarterly"))
        instrument = rr.code("instrument", ("seraf", "star5", "star10", "risk3", "bespoke", "none"))
        if start and until and until <= start:
            rr.fail("funded_until", "funded_until is not after start_date")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        found[sid].append(
            (row, Service(sid, hub, phase, start, until, reporting, instrument))  # type: ignore[arg-type]
        )
        st.ledger.keep(table.file, table.sheet, row)
    for sid, items in found.items():
        if len(items) > 1:
            for r, _ in items:
                st.ledger.quarantine_row(
                    table.file, "", r, "service_id", sid, f"service {sid} listed more than once"
                )
        else:
            st.services[sid] = items[0][1]
    recs = [
        {
            "service_id": s.service_id,
            "hub_organisation": s.hub_organisation,
            "phase": s.phase,
            "start_month": to_month(s.start_date),
            "funded_until_month": to_month(s.funded_until),
            "reporting": s.reporting,
            "instrument": s.instrument,
        }
        for s in st.services.values()
    ]
    return _frame(recs, "services")


def _frame(records: list[dict[str, Any]], name: str) -> pd.DataFrame:
    cols = list(SCHEMAS[name].columns)
    if not records:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    frame = pd.DataFrame.from_records(records, columns=cols)
    for c, col in SCHEMAS[name].columns.items():
        if str(col.dtype).startswith("datetime64"):
            frame[c] = pd.to_datetime(frame[c].astype("object")).astype("datetime64[ns]")
    return frame


def _read_spokes(st: State) -> list[dict[str, Any]]:
    path = st.raw_dir / "register" / "spokes.csv"
    if not path.is_file():
        st.notes.append({"file": "register/spokes.csv", "note": "missing: no spoke areas"})
        return []
    table = _read_csv(st, path, None, L.SPOKES_COLUMNS)
    if table is None:
        return []
    by_id: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    by_area: dict[str, list[int]] = defaultdict(list)
    for row, values in table.rows:
        rr = RowReader(values)
        spoke_id = rr.text("spoke_id", required=True)
        sid = rr.text("service_id", required=True)
        if sid and sid not in st.services:
            rr.fail("service_id", f"unknown service {sid} (not in register/services.csv)")
        elif spoke_id and sid and not spoke_id.startswith(f"{sid}-"):
            rr.fail("spoke_id", f"spoke_id {spoke_id} does not belong to service {sid}")
        area = rr.text("area_code", required=True)
        name = rr.text("area_name", required=True)
        host = rr.cat("host_agency", L.HOST_AGENCY, required=True)
        workers = rr.count("spoke_workers", required=True, lo=1)
        start = rr.date("start_date", required=True)
        if start and sid in st.services and start < st.services[sid].start_date:
            rr.fail("start_date", "spoke started before its service's programme start")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        rec = {
            "area_code": area,
            "area_name": name,
            "is_spoke": True,
            "service_id": sid,
            "spoke_id": spoke_id,
            "host_agency": host,
            "spoke_workers": workers,
            "spoke_start_month": to_month(start),  # type: ignore[arg-type]
            "cohort_quarter": quarter_index(quarter_of(start)),  # type: ignore[arg-type]
        }
        by_id[spoke_id].append((row, rec))  # type: ignore[index]
        by_area[area].append(row)  # type: ignore[index]
        st.ledger.keep(table.file, "", row)
    out = []
    for spoke_id, items in sorted(by_id.items()):
        rows = [r for r, _ in items]
        dup_area = any(len(by_area[rec["area_code"]]) > 1 for _, rec in items)
        if len(items) > 1 or dup_area:
            for r, rec in items:
                what = "spoke_id" if len(items) > 1 else "area_code"
                st.ledger.quarantine_row(
                    table.file, "", r, what, rec[what],
                    f"{what} {rec[what]} appears in more than one row of spokes.csv",
                )  # fmt: skip
            continue
        st.spokes[spoke_id] = items[0][1]
        out.append(items[0][1])
        del rows
    return out


def _read_funding(st: State) -> pd.DataFrame:
    path = st.raw_dir / "register" / "funding.csv"
    recs: list[dict[str, Any]] = []
    if not path.is_file():
        st.notes.append({"file": "register/funding.csv", "note": "missing"})
        return _frame(recs, "funding")
    table = _read_csv(st, path, None, L.FUNDING_COLUMNS)
    if table is None:
        return _frame(recs, "funding")
    seen: dict[tuple, list[int]] = defaultdict(list)
    kept: dict[int, dict[str, Any]] = {}
    for row, values in table.rows:
        rr = RowReader(values)
        sid = rr.text("service_id", required=True)
        spoke = rr.text("spoke_id", required=True)
        year = rr.code("evaluation_year", EVALUATION_YEARS)
        source = rr.code("funding_source", L.FUNDING_SOURCES)
        until = rr.date("funded_until", required=True)
        if spoke and spoke not in st.spokes:
            rr.fail("spoke_id", f"unknown spoke {spoke} (not kept from register/spokes.csv)")
        elif spoke and st.spokes[spoke]["service_id"] != sid:
            rr.fail("service_id", f"spoke {spoke} belongs to another service")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        svc = st.services[sid]  # type: ignore[index]
        kept[row] = {
            "service_id": sid,
            "spoke_id": spoke,
            "evaluation_year": year,
            "funding_source": source,
            "funded_until_month": to_month(until),  # type: ignore[arg-type]
            "beyond_programme": source != "programme" and until > svc.funded_until,  # type: ignore[operator]
        }
        seen[(spoke, year, source)].append(row)
        st.ledger.keep(table.file, "", row)
    recs = _unique_rows(
        st, table.file, seen, kept, "funding_source",
        lambda k: (k[2], "the same spoke, year and funding source appear in more than one row"),
    )  # fmt: skip
    return _frame(recs, "funding")


def _unique_rows(
    st: State,
    file: str,
    seen: dict[Any, list[int]],
    kept: dict[int, dict[str, Any]],
    column: str,
    describe: Callable[[Any], tuple[Any, str]],
) -> list[dict[str, Any]]:
    """Records whose key appears once; every row of a repeated key is quarantined (which
    one is right cannot be known). ``describe(key)`` gives the value and reason to record."""
    records = []
    for key, rows in seen.items():
        if len(rows) == 1:
            records.append(kept[rows[0]])
            continue
        value, reason = describe(key)
        for row in rows:
            st.ledger.quarantine_row(file, "", row, column, value, reason)
    return records


def _read_area_panel(st: State) -> tuple[pd.DataFrame, dict[str, str]]:
    path = st.raw_dir / "area_panel.csv"
    recs: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    if not path.is_file():
        st.notes.append({"file": "area_panel.csv", "note": "missing"})
        return _frame(recs, "area_panel"), names
    table = _read_csv(st, path, None, L.AREA_PANEL_COLUMNS)
    if table is None:
        return _frame(recs, "area_panel"), names
    lo, hi = quarter_index(PANEL_FIRST), quarter_index(PANEL_LAST)
    seen: dict[tuple, list[int]] = defaultdict(list)
    kept: dict[int, dict[str, Any]] = {}
    for row, values in table.rows:
        rr = RowReader(values)
        area = rr.text("area_code", required=True)
        name = rr.text("area_name", required=True)
        q = rr.text("quarter", required=True)
        p = None
        if q:
            try:
                p = parse_period(q)
                if p.frequency != "quarterly" or not lo <= quarter_index(p.period) <= hi:
                    rr.fail("quarter", f"quarter {q} outside {PANEL_FIRST} to {PANEL_LAST}")
            except ValueError as exc:
                rr.fail("quarter", str(exc))
        raw_cse = values.get("cse_concerns")
        cse = None if cell_text(raw_cse).casefold() == "x" else rr.count("cse_concerns")
        pop = rr.count("child_population", required=True, lo=1)
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        assert p is not None
        kept[row] = {
            "area_code": area,
            "quarter": p.period,
            "quarter_index": quarter_index(p.period),
            "evaluation_year": p.evaluation_year,
            "quarter_start": p.start,
            "cse_concerns": cse,
            "child_population": pop,
        }
        names.setdefault(area, name)  # type: ignore[arg-type]
        seen[(area, p.period)].append(row)
        st.ledger.keep(table.file, "", row)
    recs = _unique_rows(
        st, table.file, seen, kept, "quarter",
        lambda k: (k[1], f"area {k[0]} has more than one row for {k[1]}"),
    )  # fmt: skip
    return _frame(recs, "area_panel"), names


def _read_fieldwork(st: State) -> pd.DataFrame:
    path = st.raw_dir / "fieldwork.csv"
    recs: list[dict[str, Any]] = []
    if not path.is_file():
        st.notes.append({"file": "fieldwork.csv", "note": "missing"})
        return _frame(recs, "fieldwork")
    table = _read_csv(st, path, None, L.FIELDWORK_COLUMNS)
    if table is None:
        return _frame(recs, "fieldwork")
    seen: dict[tuple, list[int]] = defaultdict(list)
    kept: dict[int, dict[str, Any]] = {}
    for row, values in table.rows:
        rr = RowReader(values)
        year = rr.code("evaluation_year", EVALUATION_YEARS)
        phase = rr.count("phase", required=True, lo=1, hi=3)
        role = rr.code("participant_role", L.PARTICIPANT_ROLES)
        n = rr.count("interviews", required=True, lo=1)
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        kept[row] = {
            "evaluation_year": year,
            "phase": phase,
            "participant_role": role,
            "interviews": n,
        }
        seen[(year, phase, role)].append(row)
        st.ledger.keep(table.file, "", row)
    recs = _unique_rows(
        st, table.file, seen, kept, "participant_role",
        lambda k: (k[2], "the same year, phase and role appear in more than one row"),
    )  # fmt: skip
    return _frame(recs, "fieldwork")
