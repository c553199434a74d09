"""Clean the monitoring returns: validate, harmonise, pseudonymise, account for every row.

:func:`clean_returns` reads every file ``docs/data-contract.md`` describes in a raw folder
and writes the processed tables (Parquet, validated by :mod:`analysis.schemas`),
``quarantine.csv`` and ``ledger.json``. Every data row read ends up kept, quarantined (with
a reason an analyst can act on) or superseded (by a resubmitted return); the step fails if
the ledger does not balance. A broken file is rejected whole with a one-line reason and the
other files are still processed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.clean.harmonise import (
    MAPPING_VERSION,
    Period,
    completeness_table,
    map_score,
    parse_period,
    quarter_index,
    quarter_of,
    reconciliation_table,
    resolve_people,
    seraf_category,
)
from analysis.clean.ledger import Ledger, LedgerError
from analysis.clean.pseudonymise import (
    MissingKeyError,
    age_at,
    person_key,
    real_key,
    synthetic_key,
    to_month,
)
from analysis.clean.returns import (
    CellError,
    FileRejected,
    Table,
    cell_text,
    is_missing,
    normalise_label,
    parse_category,
    parse_count,
    parse_date,
    read_csv_table,
    read_workbook,
)
from analysis.core import labels as L
from analysis.core.io import write_parquet
from analysis.core.schemas import SCHEMAS, conform
from analysis.core.settings import load_params

EVALUATION_YEARS: tuple[str, ...] = ("2013-14", "2014-15", "2015-16", "2016-17")
PANEL_FIRST, PANEL_LAST = "2012-13 Q1", "2016-17 Q4"
CONFLICT_COLUMNS: tuple[str, ...] = (
    "date_of_birth", "referral_date", "referral_source", "referral_reason", "risk_at_referral",
)  # fmt: skip
"""Facts of a referral that cannot change between extracts (missing → recorded is allowed;
a different recorded value is a conflict and the young person's rows are quarantined).
Characteristics and vulnerabilities (gender, ethnicity, sexuality, disability, going
missing, looked after, substance misuse) may be corrected in a later extract and closure
may change as a case reopens: those are resolved by the dedupe rule
(:func:`analysis.harmonise.resolve_people`, latest recorded value wins), never quarantined."""


NO_USABLE_EXTRACT = (
    "no usable case-extract row for this young person in this or an earlier period "
    "(see the extracts' quarantine reasons)"
)
"""Why an assessment is quarantined when its young person cannot be linked."""

VALIDATE_SCHEMAS = True
"""Validate every table with its pandera schema on write (tests may switch it off for speed)."""


class Problem(Exception):
    """One problem with one cell: column, raw value and reason."""

    def __init__(self, column: str, value: Any, reason: str):
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


# =============================================================================== rows


class RowReader:
    """Reads the cells of one source row, collecting every problem instead of stopping."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = values
        self.problems: list[Problem] = []

    def fail(self, column: str, reason: str) -> None:
        """Record a problem with ``column``."""
        self.problems.append(Problem(column, self.values.get(column), reason))

    def _get(self, column: str, parser: Callable[[Any], Any], required: bool) -> Any:
        raw = self.values.get(column)
        try:
            value = parser(raw)
        except CellError as exc:
            self.fail(column, f"{column}: {exc}")
            return None
        if value is None and required:
            self.fail(column, f"{column} is required but missing")
        return value

    def text(self, column: str, required: bool = False) -> str | None:
        """Trimmed text, ``None`` when missing."""
        return self._get(column, lambda v: None if is_missing(v) else cell_text(v), required)

    def code(self, column: str, allowed: Iterable[str], required: bool = True) -> str | None:
        """A code that must be exactly one of ``allowed`` (registers written by the team)."""
        allowed = tuple(allowed)

        def parse(v: Any) -> str | None:
            if is_missing(v):
                return None
            t = cell_text(v)
            if t not in allowed:
                raise CellError(f"{t!r} is not one of {', '.join(allowed)}")
            return t

        return self._get(column, parse, required)

    def count(
        self, column: str, required: bool = False, lo: int = 0, hi: int | None = None
    ) -> int | None:
        """A whole number in ``lo``–``hi`` (negative counts get their own reason)."""
        n = self._get(column, parse_count, required)
        if n is None:
            return None
        if n < 0 and lo >= 0:
            self.fail(column, f"{column}: negative count ({n}); counts are whole numbers ≥ 0")
            return None
        if n < lo or (hi is not None and n > hi):
            rng = f"{lo}–{hi}" if hi is not None else f"{lo} or more"
            self.fail(column, f"{column}: {n} is outside the allowed range {rng}")
            return None
        return n

    def date(self, column: str, required: bool = False) -> date | None:
        """A UK date (see :func:`analysis.returns.parse_date`)."""
        return self._get(column, parse_date, required)

    def cat(self, column: str, codes: Mapping[str, str], required: bool = False) -> str | None:
        """A label mapped to its code; unknown labels are problems, never guesses."""
        return self._get(column, lambda v: parse_category(v, codes), required)


# =============================================================================== state


@dataclass
class ManifestEntry:
    """One row of ``manifest.csv``."""

    file: str
    kind: str
    service_id: str | None
    period: str | None
    version: int | None
    received_date: date | None


@dataclass
class Service:
    """One row of ``register/services.csv``."""

    service_id: str
    hub_organisation: str
    phase: int
    start_date: date
    funded_until: date
    reporting: str
    instrument: str


@dataclass
class ParsedReturn:
    """A return workbook that was accepted, with the rows it contributes."""

    file: str
    service_id: str
    period: Period
    version: int
    template_version: str
    received_date: date
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sources: list[tuple[str, int]] = field(default_factory=list)  # (sheet, row) kept

    @property
    def return_id(self) -> str:
        """Stable, non-identifying ID: ``S01_2014-15Q2_v1``."""
        return f"{self.service_id}_{self.period.period.replace(' ', '')}_v{self.version}"


@dataclass
class State:
    """Everything the cleaner has learned so far."""

    raw_dir: Path
    ledger: Ledger
    key: bytes
    min_age: int
    max_age: int
    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    spokes: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[dict[str, str]] = field(default_factory=list)
    seen_people: set[tuple[str, str]] = field(default_factory=set)

    def rel(self, path: Path) -> str:
        """A path relative to the raw folder with ``/`` separators."""
        return path.relative_to(self.raw_dir).as_posix()


# =============================================================================== helpers


def _register_rows(st: State, table: Table) -> None:
    st.ledger.read(table.file, table.sheet, [r for r, _ in table.rows], table.blank)


def _quarantine(st: State, table: Table, row: int, problems: list[Problem]) -> None:
    for p in problems:
        st.ledger.quarantine_row(table.file, table.sheet, row, p.column, p.value, p.reason)


def _read_csv(
    st: State,
    path: Path,
    aliases: Mapping[str, str] | None,
    required: Iterable[str],
    known: Iterable[str] | None = None,
) -> Table | None:
    """Read a CSV source; reject it (and return ``None``) when it cannot be used."""
    file = st.rel(path)
    try:
        table = read_csv_table(path, file, aliases)
    except FileRejected as exc:
        st.ledger.reject_file(file, str(exc))
        return None
    missing = [c for c in required if c not in table.header]
    if missing:
        st.ledger.reject_file(
            file,
            f"missing required column(s): {', '.join(missing)} "
            f"(headers found: {', '.join(h for h in table.raw_header if h)})",
        )
        return None
    known_set = set(known if known is not None else required)
    ignored = [
        raw for raw, h in zip(table.raw_header, table.header, strict=False)
        if h and h not in known_set
    ]  # fmt: skip
    if ignored:
        st.notes.append(
            {
                "file": file,
                "note": f"column(s) not in the data contract ignored: {', '.join(ignored)}",
            }
        )
    _register_rows(st, table)
    if not table.rows:
        st.notes.append({"file": file, "note": "header only: no data rows"})
    return table


def _extra_cells(values: Mapping[str, Any]) -> list[Problem]:
    if values.get("__extra__"):
        return [Problem("__extra__", "", "row has more cells than the header has columns")]
    return []


def _period_ok(st: State, service_id: str, period: Period) -> str | None:
    """Why ``period`` is not a reporting period of the service, or ``None`` when it is."""
    svc = st.services[service_id]
    if period.evaluation_year not in EVALUATION_YEARS:
        return f"period {period.period} is outside the programme (2013-14 to 2016-17)"
    if period.frequency != svc.reporting:
        return (
            f"period {period.period} is {period.frequency} but {service_id} makes "
            f"{svc.reporting} returns"
        )
    if period.end < svc.start_date:
        return f"period {period.period} ends before {service_id} started ({svc.start_date:%b %Y})"
    if period.start > svc.funded_until:
        return f"period {period.period} starts after {service_id}'s funding ended"
    return None


_FILE_RE = {
    "return": re.compile(r"^(S\d{2,})_(\d{4}-\d{2}(?:Q[1-4])?)_v(\d+)\.xlsx$", re.IGNORECASE),
    "extract": re.compile(r"^(S\d{2,})_(\d{4}-\d{2}(?:Q[1-4])?)_cases\.csv$", re.IGNORECASE),
    "assessments": re.compile(
        r"^(S\d{2,})_(\d{4}-\d{2}(?:Q[1-4])?)_assessments\.csv$", re.IGNORECASE
    ),
    "training": re.compile(r"^(S\d{2,})_(\d{4}-\d{2}(?:Q[1-4])?)_training\.csv$", re.IGNORECASE),
}
_PATTERN_TEXT = {
    "return": "<service>_<period>_v<n>.xlsx",
    "extract": "<service>_<period>_cases.csv",
    "assessments": "<service>_<period>_assessments.csv",
    "training": "<service>_<period>_training.csv",
}


def _service_file(st: State, path: Path, kind: str) -> tuple[str, Period, int | None, date] | None:
    """Check a per-service file's name, folder, service, period and manifest entry.

    Returns ``(service_id, period, version, received_date)`` or rejects the file.
    """
    file = st.rel(path)
    m = _FILE_RE[kind].match(path.name)
    if not m:
        st.ledger.reject_file(file, f"file name does not follow {_PATTERN_TEXT[kind]}")
        return None
    sid = m[1].upper()
    if path.parent.name.upper() != sid:
        st.ledger.reject_file(file, f"file for {sid} is in folder {path.parent.name}")
        return None
    if sid not in st.services:
        st.ledger.reject_file(file, f"unknown service {sid} (not in register/services.csv)")
        return None
    try:
        period = parse_period(m[2])
    except ValueError as exc:
        st.ledger.reject_file(file, str(exc))
        return None
    why = _period_ok(st, sid, period)
    if why:
        st.ledger.reject_file(file, why)
        return None
    entry = st.manifest.get(file)
    if entry is None or entry.received_date is None:
        st.ledger.reject_file(
            file, "not listed in manifest.csv with a received date: add it to the delivery log"
        )
        return None
    version = int(m[3]) if kind == "return" else None
    return sid, period, version, entry.received_date


# =============================================================================== registers


def _read_manifest(st: State) -> None:
    path = st.raw_dir / "manifest.csv"
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
            kind in ("return", "extract", "assessments", "training")
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


# =============================================================================== returns


def _label_rows(
    st: State,
    table: Table,
    codes: Mapping[str, str],
    what: str,
    total_row: bool = False,
) -> dict[str, tuple[int, int | None]]:
    """Read a "label | count" sheet: ``{code: (row, count)}``; problems are quarantined."""
    cols = table.header
    found: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    total: tuple[int, int | None] | None = None
    for row, values in table.rows:
        label = values.get(cols[0])
        rr = RowReader({"label": label, "value": values.get(cols[1])})
        if total_row and normalise_label(cell_text(label)) == "total":
            n = rr.count("value")
            if rr.problems:
                _quarantine(st, table, row, rr.problems)
            else:
                total = (row, n)
            continue
        code = rr.cat("label", codes, required=True)
        if any(p.column == "label" for p in rr.problems):
            rr.problems = [
                Problem(cols[0], label, f"unknown {what} label; expected one of: "
                        f"{', '.join(sorted(set(codes.values())))}")
            ]  # fmt: skip
        n = rr.count("value")
        problems = [Problem(cols[1] if p.column == "value" else p.column, p.value, p.reason.replace("value:", f"{cols[1]}:"))
                    for p in rr.problems] + _extra_cells(values)  # fmt: skip
        if problems:
            _quarantine(st, table, row, problems)
            continue
        found[code].append((row, n))  # type: ignore[index]
        st.ledger.keep(table.file, table.sheet, row)
    out: dict[str, tuple[int, int | None]] = {}
    for code, items in found.items():
        if len(items) > 1:
            for r, _ in items:
                st.ledger.quarantine_row(
                    table.file, table.sheet, r, cols[0], code,
                    f"{what} {code} appears in {len(items)} rows; cannot tell which is right",
                )  # fmt: skip
        else:
            out[code] = items[0]
    if total is not None:
        row, n = total
        s = sum(v for _, v in out.values() if v is not None)
        n_missing = sum(1 for c in set(codes.values()) if c not in out or out[c][1] is None)
        if n is not None and (n != s if n_missing == 0 else n < s):
            gap = f"; {n_missing} source(s) missing" if n_missing else ""
            st.ledger.quarantine_row(
                table.file, table.sheet, row, cols[1], n,
                f"Total row ({n}) does not match the sum of the recorded sources ({s}{gap}); "
                "the sources are kept, the Total row is not used",
            )  # fmt: skip
        else:
            st.ledger.keep(table.file, table.sheet, row)
    return out


def _read_return(st: State, path: Path) -> ParsedReturn | None:
    """Validate one return workbook; reject it or return its rows (rows kept in ledger)."""
    file = st.rel(path)
    info = _service_file(st, path, "return")
    if info is None:
        return None
    sid, period, version, received = info
    try:
        sheets = read_workbook(path, file)
    except FileRejected as exc:
        st.ledger.reject_file(file, str(exc))
        return None
    by_name = {normalise_label(k): v for k, v in sheets.items()}
    missing = [s for s in L.RETURN_SHEETS if normalise_label(s) not in by_name]
    if missing:
        st.ledger.reject_file(file, f"missing sheet(s): {', '.join(missing)}")
        return None
    extra = [
        k for k in sheets if normalise_label(k) not in {normalise_label(s) for s in L.RETURN_SHEETS}
    ]
    if extra:
        st.notes.append(
            {"file": file, "note": f"sheet(s) not in the template ignored: {', '.join(extra)}"}
        )
    tables = {s: by_name[normalise_label(s)] for s in L.RETURN_SHEETS}
    for s, t in tables.items():
        if s != "Cover" and len(t.header) < 2:
            st.ledger.reject_file(file, f"sheet {s} has no header row with a value column")
            return None
    # cover ------------------------------------------------------------------
    cover = tables["Cover"]
    if not cover.header:
        st.ledger.reject_file(file, "sheet Cover is empty")
        return None
    for t in tables.values():
        _register_rows(st, t)
    fields: dict[str, tuple[int, Any]] = {}
    for row, values in cover.rows:
        vals = list(values.values())
        key = normalise_label(cell_text(vals[0] if vals else ""))
        if key not in L.COVER_FIELDS:
            st.ledger.quarantine_row(
                file, cover.sheet, row, "field", key, "unknown field on the Cover sheet; ignored"
            )
            continue
        code = L.COVER_FIELDS[key]
        if code in fields:
            st.ledger.quarantine_row(
                file, cover.sheet, row, code, "", f"Cover field {code} appears twice"
            )
            continue
        fields[code] = (row, vals[1] if len(vals) > 1 else None)
    missing_f = [f for f in L.COVER_REQUIRED if f not in fields or is_missing(fields[f][1])]
    if missing_f:
        st.ledger.reject_file(file, f"Cover sheet lacks required field(s): {', '.join(missing_f)}")
        return None
    tv = cell_text(fields["template_version"][1]).casefold()
    if tv not in L.TEMPLATE_VERSIONS:
        st.ledger.reject_file(
            file, f"unknown template version {cell_text(fields['template_version'][1])!r} "
            "(expected v1 or v2)",
        )  # fmt: skip
        return None
    if cell_text(fields["service_id"][1]).upper() != sid:
        st.ledger.reject_file(file, "Service ID on the Cover sheet does not match the file name")
        return None
    try:
        cover_period = parse_period(cell_text(fields["period"][1])).period
    except ValueError:
        cover_period = None
    if cover_period != period.period:
        st.ledger.reject_file(file, "Period on the Cover sheet does not match the file name")
        return None
    ret = ParsedReturn(file, sid, period, version or 1, tv, received)
    for code, (row, value) in fields.items():
        reason = None
        if code in ("period_start", "period_end", "date_received"):
            try:
                d = parse_date(value)
            except CellError as exc:
                reason = f"{code}: {exc}"
            else:
                if code == "period_end" and d != period.end:
                    reason = f"period_end {d:%d/%m/%Y} is not the last day of {period.period}"
                elif (
                    code == "period_start"
                    and d is not None
                    and not (period.start <= d <= period.end)
                ):
                    reason = f"period_start {d:%d/%m/%Y} is outside {period.period}"
                elif code == "date_received" and d != received:
                    reason = (
                        f"Date received on the Cover ({d:%d/%m/%Y}) differs from manifest.csv "
                        f"({received:%d/%m/%Y}); the manifest date is used"
                    )
        if reason:
            st.ledger.quarantine_row(file, cover.sheet, row, code, value, reason)
        else:
            st.ledger.keep(file, cover.sheet, row)
    # data sheets -------------------------------------------------------------
    refs = _label_rows(st, tables["Referrals"], L.REFERRAL_SOURCE, "referral source", True)
    ret.rows["referrals"] = [
        {"referral_source": c, "referrals": refs.get(c, (0, None))[1]}
        for c in sorted(set(L.REFERRAL_SOURCE.values()))
    ]
    yp_table = tables["Young people"]
    if tv == "v1" and set(yp_table.header) >= set(L.MEASURE_V1_HEADERS):
        yp: dict[str, int | None] = {}
        for row, values in yp_table.rows:
            rr = RowReader(values)
            got = {L.MEASURE_V1_HEADERS[h]: rr.count(h) for h in L.MEASURE_V1_HEADERS}
            problems = rr.problems + _extra_cells(values)
            if yp:
                problems.append(
                    Problem("", "", "more than one row of values on sheet Young people")
                )
            if problems:
                _quarantine(st, yp_table, row, problems)
                continue
            yp = got
            st.ledger.keep(file, yp_table.sheet, row)
    else:
        yp = {c: v for c, (_, v) in _label_rows(st, yp_table, L.MEASURE, "measure").items()}
    ret.rows["young_people_counts"] = [
        {"measure": m, "young_people": yp.get(m)} for m in ("new", "open", "closed")
    ]
    acts = _label_rows(st, tables["Activities"], L.ACTIVITY, "activity")
    ret.rows["activities"] = [
        {"activity": a, "sessions": acts.get(a, (0, None))[1]}
        for a in ("direct_work", "group_work", "consultations")
    ]
    outs = _label_rows(st, tables["Outputs"], L.OUTPUT, "output")
    ret.rows["outputs"] = [
        {"output": o, "count": outs.get(o, (0, None))[1]}
        for o in ("training_sessions", "professionals_trained", "awareness_events",
                  "multi_agency_meetings")
    ]  # fmt: skip
    return ret


def _returns_tables(st: State, parsed: list[ParsedReturn]) -> dict[str, pd.DataFrame]:
    """Mark resubmitted returns superseded and build the return-level tables."""
    groups: dict[tuple[str, str], list[ParsedReturn]] = defaultdict(list)
    for r in parsed:
        groups[(r.service_id, r.period.period)].append(r)
    superseded: set[str] = set()
    for items in groups.values():
        items.sort(key=lambda r: (r.received_date, r.version))
        latest = items[-1]
        for old in items[:-1]:
            superseded.add(old.return_id)
            reason = (
                f"superseded by resubmission {latest.file} received "
                f"{latest.received_date:%d/%m/%Y}; kept with superseded=True for earlier "
                "report cut-offs"
            )
            for (f, sheet), line in st.ledger.lines.items():
                if f == old.file:
                    for row, status in sorted(line.status.items()):
                        if status == "kept":
                            st.ledger.supersede(f, sheet, row, reason)
    ret_recs, tabs = [], defaultdict(list)
    for r in parsed:
        common = {
            "return_id": r.return_id,
            "service_id": r.service_id,
            "period": r.period.period,
            "evaluation_year": r.period.evaluation_year,
            "received_date": r.received_date,
            "superseded": r.return_id in superseded,
        }
        ret_recs.append(
            {
                **common,
                "frequency": r.period.frequency,
                "template_version": r.template_version,
                "version": r.version,
                "source_file": r.file,
            }
        )
        for name, rows in r.rows.items():
            tabs[name].extend({**common, **row} for row in rows)
    out = {"returns": _frame(ret_recs, "returns")}
    for name in ("referrals", "young_people_counts", "activities", "outputs"):
        out[name] = _frame(tabs[name], name)
    return out


# =============================================================================== extracts


def _read_extract(st: State, path: Path) -> list[dict[str, Any]]:
    """Validate one case extract; kept rows (with private ``_`` fields for later checks)."""
    info = _service_file(st, path, "extract")
    if info is None:
        return []
    sid, period, _, received = info
    known = set(L.EXTRACT_REQUIRED) | set(L.EXTRACT_DROPPED)
    table = _read_csv(st, path, L.EXTRACT_COLUMNS, L.EXTRACT_REQUIRED, known)
    if table is None:
        return []
    svc = st.services[sid]
    kept: list[dict[str, Any]] = []
    by_case: dict[str, list[int]] = defaultdict(list)
    for row, values in table.rows:
        rr = RowReader(values)
        case_id = rr.text("case_id")
        if case_id is None and not any(p.column == "case_id" for p in rr.problems):
            rr.fail("case_id", "case ID missing: the row cannot be linked to a young person")
        dob = rr.date("date_of_birth")
        ref = rr.date("referral_date", required=True)
        clo = rr.date("closure_date")
        rec = {
            "gender": rr.cat("gender", L.GENDER),
            "ethnicity": rr.cat("ethnicity", L.ETHNICITY),
            "sexuality": rr.cat("sexuality", L.SEXUALITY),
            "disability": rr.cat("disability", L.YES_NO),
            "referral_source": rr.cat("referral_source", L.REFERRAL_SOURCE),
            "referral_reason": rr.cat("referral_reason", L.REFERRAL_REASON),
            "risk_at_referral": rr.cat("risk_at_referral", L.RISK),
            "going_missing": rr.cat("going_missing", L.YES_NO),
            "looked_after": rr.cat("looked_after", L.YES_NO),
            "substance_misuse": rr.cat("substance_misuse", L.YES_NO),
            "closure_reason": rr.cat("closure_reason", L.CLOSURE_REASON),
        }
        age = None
        if dob and dob > received:
            rr.fail("date_of_birth", "date of birth is after the file was received")
        if dob and ref:
            age = age_at(dob, ref)
            if not st.min_age <= age <= st.max_age:
                rr.fail(
                    "date_of_birth",
                    f"age at referral {age} is outside {st.min_age}–{st.max_age}: "
                    "check the date of birth and referral date",
                )
        if ref:
            if ref > received:
                rr.fail("referral_date", "referral date is after the file was received (future)")
            elif ref > period.end:
                rr.fail("referral_date", f"referral date is after the end of {period.period}")
            if ref < svc.start_date:
                rr.fail(
                    "referral_date",
                    f"referral date is before {sid} started ({svc.start_date:%b %Y})",
                )
        if clo:
            if clo > received:
                rr.fail("closure_date", "closure date is after the file was received (future)")
            elif ref and clo < ref:
                rr.fail("closure_date", "closure date is before the referral date")
            elif clo < period.start:
                rr.fail("closure_date", f"case closed before {period.period} started, so it "
                        "should not be in this extract")  # fmt: skip
        problems = rr.problems + _extra_cells(values)
        if case_id is not None:
            st.seen_people.add((sid, person_key(st.key, sid, case_id)))
        if problems:
            _quarantine(st, table, row, problems)
            continue
        assert case_id is not None and ref is not None
        by_case[case_id].append(row)
        rec.update(
            {
                "person_key": person_key(st.key, sid, case_id),
                "service_id": sid,
                "period": period.period,
                "evaluation_year": period.evaluation_year,
                "received_date": received,
                "age_at_referral": age,
                "referral_month": to_month(ref),
                "closure_month": to_month(clo) if clo else None,
                "_file": table.file,
                "_row": row,
                "_case": case_id,
                "_dob": dob,
                "_ref": ref,
                "_clo": clo,
            }
        )
        kept.append(rec)
        st.ledger.keep(table.file, "", row)
    out = []
    for rec in kept:
        rows = by_case[rec["_case"]]
        if len(rows) > 1:
            st.ledger.quarantine_row(
                table.file, "", rec["_row"], "case_id", rec["_case"],
                f"the same case ID appears in {len(rows)} rows of this extract "
                f"(rows {', '.join(map(str, rows))}); cannot tell which is right",
            )  # fmt: skip
        else:
            out.append(rec)
    return out


def _conflicts(st: State, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quarantine extract rows whose fixed referral facts contradict the young person's record.

    A young person's record is established by the earliest extract they appear in; a later
    extract row that records a different date of birth, referral date, source, reason or
    risk at referral is quarantined (never resolved by guessing which is right). Earlier rows
    stay, so a report whose cut-off came before the contradicting extract is unchanged by it.
    """
    by_person: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_person[(r["service_id"], r["person_key"])].append(r)
    colmap = {"date_of_birth": "_dob", "referral_date": "_ref", "closure_date": "_clo"}
    out = []
    for items in by_person.values():
        items = sorted(items, key=lambda r: (r["period"], r["_file"], r["_row"]))
        reference: dict[str, tuple[Any, str]] = {}
        for r in items:
            bad = []
            for c in CONFLICT_COLUMNS:
                value = r[colmap.get(c, c)]
                if value is None:
                    continue
                if c not in reference:
                    reference[c] = (value, r["period"])
                elif value != reference[c][0]:
                    bad.append(c)
            if not bad:
                out.append(r)
                continue
            for c in bad:
                st.ledger.quarantine_row(
                    r["_file"], "", r["_row"], c, r[colmap.get(c, c)],
                    f"conflicting records for one young person: {c} differs from the value in "
                    f"the {reference[c][1]} extract; correct the case record and re-send",
                )  # fmt: skip
    return out


def _case_frames(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = list(SCHEMAS["case_periods"].columns)
    frame = _frame([{c: r[c] for c in cols} for r in rows], "case_periods")
    for c in ("going_missing", "looked_after", "substance_misuse"):
        frame[c] = frame[c].map({"yes": True, "no": False}).astype("boolean")
    return conform("case_periods", frame, validate=False)


# =============================================================================== assessments


def _value_parser(instrument: str, measure: str) -> Callable[[Any], float | None]:
    if instrument == "seraf" and measure == "category":
        return lambda v: None if is_missing(v) else float(parse_category(v, L.SERAF_CATEGORY))  # type: ignore[arg-type]
    if instrument == "risk3":
        return lambda v: (
            None
            if is_missing(v)
            else float(("low", "medium", "high").index(parse_category(v, L.RISK3)) + 1)  # type: ignore[arg-type]
        )

    def count(v: Any) -> float | None:
        n = parse_count(v)
        return None if n is None else float(n)

    return count


def _read_assessments(
    st: State, path: Path, people: dict[tuple[str, str], dict[str, Any]], quarantined: set
) -> list[dict[str, Any]]:
    info = _service_file(st, path, "assessments")
    if info is None:
        return []
    sid, period, _, received = info
    svc = st.services[sid]
    table = _read_csv(st, path, L.ASSESSMENT_COLUMNS, L.ASSESSMENT_REQUIRED)
    if table is None:
        return []
    if svc.instrument == "none":
        st.ledger.reject_file(
            table.file, f"{sid} records no outcome instrument (register says none)"
        )
        return []
    measures = L.ASSESSMENT_MEASURES[svc.instrument]
    groups: dict[tuple, list[tuple[int, str, float | None]]] = defaultdict(list)
    for row, values in table.rows:
        rr = RowReader(values)
        case_id = rr.text("case_id", required=True)
        when = rr.date("assessment_date", required=True)
        inst = rr.text("instrument", required=True)
        if inst and inst.casefold() != svc.instrument:
            rr.fail("instrument", f"instrument {inst!r} is not {sid}'s registered instrument "
                    f"({svc.instrument})")  # fmt: skip
        meas = normalise_label(cell_text(values.get("measure")))
        if not meas:
            rr.fail("measure", "measure is required but missing")
        elif meas not in measures:
            rr.fail(
                "measure",
                f"unknown {svc.instrument} measure; expected one of: {', '.join(measures)}",
            )
            meas = ""
        value = None
        if meas:
            try:
                value = _value_parser(svc.instrument, meas)(values.get("value"))
            except CellError as exc:
                rr.fail("value", f"value: {exc}")
            if value is not None:
                lo, hi = _measure_range(svc.instrument, meas)
                if not lo <= value <= hi:
                    rr.fail("value", f"value {value:g} is outside {lo:g}–{hi:g} for {meas}")
        if when:
            if when > received:
                rr.fail(
                    "assessment_date", "assessment date is after the file was received (future)"
                )
            elif not period.start <= when <= period.end:
                rr.fail("assessment_date", f"assessment date is outside {period.period}")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        groups[(case_id, when)].append((row, meas, value))
        st.ledger.keep(table.file, "", row)
    out = []
    for (case_id, when), items in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[1][0][0])):
        rows = [r for r, _, _ in items]

        def drop(reason: str, column: str = "case_id", value: Any = case_id, rows=rows) -> None:
            for r in rows:
                st.ledger.quarantine_row(table.file, "", r, column, value, reason)

        names = [m for _, m, _ in items]
        dups = sorted({m for m in names if names.count(m) > 1})
        if dups:
            drop(f"measure(s) {', '.join(dups)} recorded more than once for one assessment",
                 "measure", dups[0])  # fmt: skip
            continue
        pk = person_key(st.key, sid, case_id)
        person = people.get((sid, pk))
        if person is None:
            why = (
                NO_USABLE_EXTRACT
                if (sid, pk) in quarantined
                else f"no young person with this case ID in {sid}'s case extracts"
            )
            drop(why)
            continue
        if person["_first_period"] > period.period:
            drop(NO_USABLE_EXTRACT)
            continue
        if when < person["_ref"]:
            drop(
                "assessment date is before the young person's referral date",
                "assessment_date",
                when,
            )
            continue
        vals = {m: v for _, m, v in items if v is not None}
        if svc.instrument == "seraf":
            raw = vals.get("total_score")
            cat = vals.get("category")
            if raw is None:
                drop("SERAF total score missing: a category alone cannot be scored", "value", "")
                continue
            if cat is not None and seraf_category(raw) != int(cat):
                drop(f"SERAF category {int(cat)} does not match total {raw:g} "
                     f"(category {seraf_category(raw)})", "value", cat)  # fmt: skip
                continue
        elif svc.instrument in ("star5", "star10"):
            if not vals:
                drop("no Star area has a recorded score in this assessment", "value", "")
                continue
            raw = sum(vals.values()) / len(vals)
        else:
            raw = next(iter(vals.values()), None)
            if raw is None:
                drop("assessment has no recorded score", "value", "")
                continue
        score, band = map_score(svc.instrument, raw)
        ref_m = person["referral_month"]
        out.append(
            {
                "person_key": pk,
                "service_id": sid,
                "period": period.period,
                "evaluation_year": period.evaluation_year,
                "received_date": received,
                "assessment_month": to_month(when),
                "months_since_referral": (when.year - ref_m.year) * 12 + when.month - ref_m.month,
                "instrument": svc.instrument,
                "raw_score": raw,
                "score": score,
                "risk_band": band,
                "mapping_version": MAPPING_VERSION,
            }
        )
    return out


def _measure_range(instrument: str, measure: str) -> tuple[float, float]:
    if instrument == "seraf":
        return (1.0, 4.0) if measure == "category" else (0.0, 200.0)
    return {"star5": (1.0, 5.0), "star10": (1.0, 10.0), "risk3": (1.0, 3.0),
            "bespoke": (0.0, 100.0)}[instrument]  # fmt: skip


# =============================================================================== training


def _read_training(st: State, path: Path) -> list[dict[str, Any]]:
    info = _service_file(st, path, "training")
    if info is None:
        return []
    sid, period, _, received = info
    table = _read_csv(st, path, L.TRAINING_COLUMNS, L.TRAINING_REQUIRED)
    if table is None:
        return []
    out = []
    for row, values in table.rows:
        rr = RowReader(values)
        rr.text("session_id", required=True)
        when = rr.date("session_date", required=True)
        agency = rr.cat("attendee_agency", L.ATTENDEE_AGENCY)
        pre = rr.count("confidence_pre", lo=1, hi=5)
        post = rr.count("confidence_post", lo=1, hi=5)
        if when:
            if when > received:
                rr.fail("session_date", "session date is after the file was received (future)")
            elif not period.start <= when <= period.end:
                rr.fail("session_date", f"session date is outside {period.period}")
        problems = rr.problems + _extra_cells(values)
        if problems:
            _quarantine(st, table, row, problems)
            continue
        out.append(
            {
                "service_id": sid,
                "period": period.period,
                "evaluation_year": period.evaluation_year,
                "received_date": received,
                "session_month": to_month(when),  # type: ignore[arg-type]
                "attendee_agency": agency,
                "confidence_pre": None if pre is None else float(pre),
                "confidence_post": None if post is None else float(post),
            }
        )
        st.ledger.keep(table.file, "", row)
    return out


# =============================================================================== orchestration


def _deliveries(st: State) -> pd.DataFrame:
    """The delivery log (``manifest.csv``) as read: which file arrived when, for which
    service and period. Reports use it to count quarantined and ledger rows only for files
    that had arrived by their cut-off."""
    rows = [
        {
            "file": e.file,
            "kind": e.kind,
            "service_id": e.service_id,
            "period": e.period,
            "evaluation_year": e.period[:7] if e.period else None,
            "version": e.version,
            "received_date": pd.Timestamp(e.received_date) if e.received_date else pd.NaT,
        }
        for e in st.manifest.values()
    ]
    columns = [
        "file",
        "kind",
        "service_id",
        "period",
        "evaluation_year",
        "version",
        "received_date",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"version": "Int64", "received_date": "datetime64[ns]"})


def raise_user(message: str) -> None:
    """Stop with a one-line message the command line prints (``UserError``)."""
    from analysis.core.errors import UserError

    raise UserError(message)


def _key(params: dict[str, Any]) -> bytes:
    source = str((params.get("data") or {}).get("source", "synthetic"))
    if source == "synthetic":
        seed = (params.get("synthetic") or {}).get("seed")
        if seed is None:
            raise_user("params: synthetic.seed is needed to derive the pseudonymisation key")
        return synthetic_key(int(seed))
    try:
        return real_key()
    except MissingKeyError as exc:
        raise_user(str(exc))
    raise AssertionError  # pragma: no cover


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
    manifest or service register, an unwritable output folder or, in real-data mode, a
    missing pseudonymisation key. Broken source files never stop the step: they are
    rejected in the ledger and the rest is processed.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    params = load_params(params_file)
    if not raw_dir.is_dir():
        raise_user(f"raw folder {raw_dir} does not exist")
    key = _key(params)
    _check_writable(out_dir)
    cp = params.get("clean") or {}
    st = State(raw_dir, Ledger(), key, int(cp.get("min_age", 8)), int(cp.get("max_age", 25)))
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
    (out_dir / "quarantine.csv").write_text(st.ledger.quarantine_csv(), encoding="utf-8")
    missing = _expected_missing(st, tables["returns"])
    ledger_doc = st.ledger.to_json(
        notes=sorted(st.notes, key=lambda n: (n["file"], n["note"])),
        missing_returns=missing,
    )
    (out_dir / "ledger.json").write_text(ledger_doc, encoding="utf-8")
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


__all__ = ["clean_returns"]
