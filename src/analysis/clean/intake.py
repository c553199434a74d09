"""What the cleaner reads with: the run state, a row reader that accounts for every row, the manifest and service records, and the rules for file names and periods."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from analysis.clean.files import RawInventory
from analysis.clean.harmonise import (
    Period,
    parse_period,
)
from analysis.clean.ledger import Ledger
from analysis.clean.returns import (
    CellError,
    FileRejected,
    Table,
    cell_text,
    is_missing,
    parse_category,
    parse_count,
    parse_date,
    read_csv_table,
)
from analysis.clean.submissions import Submission

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
                raise CellError(f"not one of {', '.join(allowed)}")
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
    suffix: str = ""

    @property
    def return_id(self) -> str:
        """Stable, non-identifying ID: ``S01_2014-15Q2_v1`` (``S01_2014-15Q2_v1-2`` for a
        second workbook sent under the same version number)."""
        return (
            f"{self.service_id}_{self.period.period.replace(' ', '')}_v{self.version}{self.suffix}"
        )


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
    posts: dict[str, dict[str, Any]] | None = None
    """The spoke posts kept from ``register/posts.csv`` (``None`` when there is no roster)."""
    posts_set_aside: set[str] = field(default_factory=set)
    """Post IDs listed in the roster but quarantined there (rows naming them lose the link)."""
    inventory: RawInventory = field(default_factory=RawInventory)
    case_ids_normalised: dict[str, int] = field(default_factory=dict)
    missing_returns: list[str] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        """A path relative to the raw folder with ``/`` separators."""
        return path.relative_to(self.raw_dir).as_posix()


# =============================================================================== helpers


def _register_rows(st: State, table: Table) -> None:
    st.ledger.read(table.file, table.sheet, [r for r, _ in table.rows], table.blank)


def _quarantine(st: State, table: Table, row: int, problems: list[Problem]) -> None:
    for p in problems:
        st.ledger.quarantine_row(table.file, table.sheet, row, p.column, p.value, p.reason)


def _header_problem(table: Table, required: Iterable[str], known: set[str]) -> str | None:
    """Why ``table``'s header cannot be used (``None`` when it can), naming only the
    contract's own column names: a header cell is never repeated, since a file exported
    without its header row has a young person's record where the header should be."""
    required = list(required)
    missing = [c for c in required if c not in table.header]
    if not missing:
        return None
    found = [c for c in required if c in table.header]
    others = sum(1 for h in table.header if h and h not in known)
    if len(found) < max(1, len(required) // 2):
        return (
            f"no header row: row {table.header_row} names {len(found)} of the "
            f"{len(required)} required columns, so it looks like data, not column names (was "
            f"the file exported without its header row?); the required columns are: "
            f"{', '.join(required)}"
        )
    recognised = [h for h in table.header if h in known]
    other = f"; {others} other column(s) not in the contract" if others else ""
    return (
        f"missing required column(s): {', '.join(missing)} (columns found: "
        f"{', '.join(recognised)}{other})"
    )


def _read_csv(
    st: State,
    path: Path,
    aliases: Mapping[str, str] | None,
    required: Iterable[str],
    known: Iterable[str] | None = None,
) -> Table | None:
    """Read a CSV source; reject it (and return ``None``) when it cannot be used."""
    file = st.rel(path)
    if file not in st.inventory.files:
        st.ledger.reject_file(file, st.inventory.refused.get(file, "not a regular file"))
        return None
    known_set = set(known if known is not None else required) | set(required)
    try:
        table = read_csv_table(path, file, aliases, known_set)
    except FileRejected as exc:
        st.ledger.reject_file(file, str(exc))
        return None
    why = _header_problem(table, required, known_set)
    if why:
        st.ledger.reject_file(file, why)
        return None
    ignored = [
        i for i, h in enumerate(table.header, start=1) if h and h not in known_set
    ]  # fmt: skip
    if ignored:
        st.notes.append(
            {
                "file": file,
                "note": f"{len(ignored)} column(s) not in the data contract ignored "
                f"(column number{'s' if len(ignored) > 1 else ''} "
                f"{', '.join(map(str, ignored))})",
            }
        )
    _register_rows(st, table)
    if not table.rows:
        st.notes.append({"file": file, "note": "header only: no data rows"})
    return table


def _extra_cells(values: Mapping[str, Any]) -> list[Problem]:
    extra = values.get("__extra__")
    if extra:
        return [
            Problem(
                "__extra__",
                "",
                f"row has more cells than the header has columns ({len(extra)} more): a comma "
                "inside an unquoted value may have shifted the cells after it",
            )
        ]
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
    "groupwork": re.compile(r"^(S\d{2,})_(\d{4}-\d{2}(?:Q[1-4])?)_groups\.csv$", re.IGNORECASE),
}
_PATTERN_TEXT = {
    "return": "<service>_<period>_v<n>.xlsx",
    "extract": "<service>_<period>_cases.csv",
    "assessments": "<service>_<period>_assessments.csv",
    "training": "<service>_<period>_training.csv",
    "groupwork": "<service>_<period>_groups.csv",
}


def _service_file(st: State, path: Path, kind: str) -> Submission | None:
    """Check a per-service file's name, folder, service, period and manifest entry.

    Returns the :class:`~analysis.clean.submissions.Submission` or rejects the file.
    """
    file = st.rel(path)
    m = _FILE_RE[kind].match(path.name)
    if not m:
        st.ledger.reject_file(file, f"file name does not follow {_PATTERN_TEXT[kind]}")
        return None
    sid = m[1].upper()
    if path.parent.name.upper() != sid:
        st.ledger.reject_file(file, f"file for {sid} is not in the folder {sid}")
        return None
    if sid not in st.services:
        st.ledger.reject_file(file, f"unknown service {sid} (not in register/services.csv)")
        return None
    try:
        period = parse_period(m[2])
    except ValueError:
        st.ledger.reject_file(file, "the period in the file name is not a valid period")
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
    version = int(m[3]) if kind == "return" else entry.version
    if kind == "return" and entry.version is not None and entry.version != version:
        st.ledger.reject_file(
            file,
            f"manifest.csv gives version {entry.version} but the file name says v{m[3]}: "
            "correct one of them",
        )
        return None
    return Submission(path, file, kind, sid, period, version, entry.received_date)


def raise_user(message: str) -> None:
    """Stop with a one-line message the command line prints (``UserError``)."""
    from analysis.core.errors import UserError

    raise UserError(message)
