"""Reading the coded fieldwork (``fieldwork/*.qdpx`` and framework matrices
``fieldwork/*.xlsx``): every source and coded selection accounted for, every quote redacted
before it is stored.

Each ``.qdpx`` file is a REFI-QDA project exported by the evaluators' analysis software
(:mod:`analysis.clean.qdpx`). The ledger counts its sources (sheet ``sources``, numbered
in document order) and its coded selections (sheet ``coded selections``, numbered over the
whole project): each is kept or quarantined, with a reason that names file, source and
selection numbers and positions, never a name, a quote or a value from the file.

A source is kept when it is a text source whose text is in the archive and whose variables
(on the source itself, or on a case that lists it) give a ``site`` that is a service of
``register/services.csv``, an ``evaluation_year`` of the programme, and a
``participant_role`` (one of the fieldwork log's roles) unless its ``source_type`` is
``case_study``; ``visit`` (1 or 2) is optional. A selection is kept when its source is
kept, it lies inside the source's text (``0 <= start < end <= length``) and it has at
least one code, every one of them in the codebook; it gives one row per code.

The second accepted form is a framework-matrix workbook (Framework analysis: case x
theme; :func:`read_framework_matrix`): each visible sheet a theme, each row a case with the
same variables as columns, each other column a code and each non-empty cell the case's
summary or quote for it. Its rows are counted in the ledger like a CSV's.

Quotes are redacted (:mod:`analysis.clean.redact`) here, before anything else reads them;
real fieldwork with no redaction register is not read at all.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.clean.intake import EVALUATION_YEARS
from analysis.clean.qdpx import QdaProject, QdaSource, open_qdpx
from analysis.clean.redact import Redactor, RegisterError, read_register, register_path
from analysis.clean.returns import FileRejected, cell_text, is_missing
from analysis.core import labels as L

if TYPE_CHECKING:
    from analysis.clean.intake import State

FIELDWORK_FOLDER = "fieldwork"
SOURCES = "sources"
SELECTIONS = "coded selections"
VARIABLES = ("site", "evaluation_year", "participant_role", "source_type", "visit", "host_type")
"""The source variables read (names compared in lower case, spaces as ``_``); ``visit`` and
``host_type`` (the host agency of the spoke the interview was about) are optional."""
MATRIX_REQUIRED = ("site", "evaluation_year")
"""Columns every sheet of a framework matrix needs."""
NOT_FIELDWORK = (
    "not coded fieldwork: the fieldwork folder holds REFI-QDA projects (.qdpx) and "
    "framework-matrix workbooks (.xlsx) only"
)
NO_REGISTER = (
    "no redaction register: fieldwork quotes are read only when the people, places and "
    "schools to take out of them are listed (set HUBSPOKE_REDACTION_REGISTER to the "
    "register's path; docs/data-contract.md, 'Fieldwork')"
)


def fieldwork_files(st: State) -> list[str]:
    """The files under ``fieldwork/`` (any depth), sorted."""
    prefix = FIELDWORK_FOLDER + "/"
    return sorted(f for f in st.inventory.files if f.startswith(prefix))


def _attributes(
    project: QdaProject, src: QdaSource
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A source's variables (its own, then those of the cases listing it) and conflicts."""
    values: dict[str, set[str]] = {}
    groups = [src.variables] + [c.variables for c in project.cases if src.guid in c.source_guids]
    for group in groups:
        for name, vals in group.items():
            key = "_".join(name.strip().lower().split())
            if key in VARIABLES:
                values.setdefault(key, set()).update(v for v in vals if v)
    out, conflicts = {}, []
    for key, vals in values.items():
        if len(vals) == 1:
            out[key] = next(iter(vals))
        elif len(vals) > 1:
            conflicts.append((key, f"{key}: the source and its cases give {len(vals)} different "
                                   "values"))  # fmt: skip
    return out, conflicts


def _source_problems(
    st: State, project: QdaProject, src: QdaSource
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The source's fields and its problems as ``(column, value, reason)``."""
    if src.kind != "TextSource":
        return {}, [
            ("", "", f"a {src.kind}: only text sources (transcripts, case studies) are read")
        ]
    if src.problem:
        return {}, [("", "", f"source {src.number}: {src.problem}")]
    attrs, conflicts = _attributes(project, src)
    fields, problems = check_attributes(st, attrs)
    return fields, [(k, "", reason) for k, reason in conflicts] + problems


def check_attributes(
    st: State, attrs: dict[str, str]
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The fields of a source (or framework-matrix row) from its variables, or its problems
    as ``(column, value, reason)`` (the value is masked by the ledger)."""
    problems: list[tuple[str, str, str]] = []
    site = attrs.get("site", "")
    if not site:
        problems.append(("site", "", "no site: the source and its cases have no 'site' variable"))
    elif site.upper() not in st.services:
        problems.append(("site", site, "unknown site: not a service of register/services.csv"))
    year = attrs.get("evaluation_year", "")
    if year not in EVALUATION_YEARS:
        problems.append(
            (
                "evaluation_year",
                year,
                "evaluation_year is missing or not a year of the programme "
                f"({', '.join(EVALUATION_YEARS)})",
            )
        )
    source_type = attrs.get("source_type", "interview") or "interview"
    if source_type not in L.FIELDWORK_SOURCE_TYPES:
        problems.append(
            (
                "source_type",
                source_type,
                f"source_type is not one of {', '.join(L.FIELDWORK_SOURCE_TYPES)}",
            )
        )
        source_type = "interview"
    role = attrs.get("participant_role", "")
    if source_type == "case_study" and not role:
        role = "case_study"
    elif role not in L.PARTICIPANT_ROLES:
        problems.append(
            (
                "participant_role",
                role,
                "participant_role is missing or not one of " + ", ".join(L.PARTICIPANT_ROLES),
            )
        )
    visit_text = attrs.get("visit", "")
    visit = None
    if visit_text:
        if visit_text in ("1", "2", "1.0", "2.0"):
            visit = int(float(visit_text))
        else:
            problems.append(("visit", visit_text, "visit is not 1 or 2"))
    host_text = attrs.get("host_type", "")
    host = None
    if host_text:
        host = L.HOST_AGENCY.get("_".join(host_text.strip().lower().split()))
        if host is None:
            problems.append(("host_type", host_text,
                             "host_type is not one of " + ", ".join(sorted(set(L.HOST_AGENCY.values())))))  # fmt: skip
    if problems:
        return {}, problems
    svc = st.services[site.upper()]
    return {
        "evaluation_year": year,
        "phase": svc.phase,
        "site_key": svc.service_id,
        "role_group": L.ROLE_GROUPS["case_study" if source_type == "case_study" else role],
        "source_type": source_type,
        "visit": visit,
        "host_type": host,
    }, []


Records = tuple[list[dict[str, Any]], list[dict[str, Any]]]
"""Kept coded selections (one record per code) and kept sources (one record each)."""

SOURCE_FIELDS = ("source_ref", "evaluation_year", "phase", "site_key", "role_group",
                 "source_type", "visit", "host_type")  # fmt: skip
QUOTE_FIELDS = ("source_ref", "evaluation_year", "phase", "site_key", "role_group",
                "source_type", "visit")  # fmt: skip


def _source_record(ref: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"source_ref": ref, **{k: fields[k] for k in SOURCE_FIELDS[1:]}}


def _quote_fields(ref: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"source_ref": ref, **{k: fields[k] for k in QUOTE_FIELDS[1:]}}


def read_fieldwork_project(st: State, file: str, redactor: Redactor | None) -> Records:
    """Validate one ``.qdpx`` file; its kept coded selections as records (one per code),
    quotes redacted, and its kept sources (``source_ref`` is ``<file>#<source number>``).
    Rejects the file (ledger) when it cannot be read or there is no redaction register."""
    if redactor is None:
        st.ledger.reject_file(file, NO_REGISTER)
        return [], []
    try:
        project = open_qdpx(st.raw_dir / file)
    except FileRejected as exc:
        st.ledger.reject_file(file, str(exc))
        return [], []
    led = st.ledger
    led.read(file, SOURCES, [s.number for s in project.sources])
    led.read(file, SELECTIONS, [s.number for s in project.selections])
    for note in project.notes:
        st.notes.append({"file": file, "note": note})
    out: list[dict[str, Any]] = []
    kept_sources: list[dict[str, Any]] = []
    for src in project.sources:
        fields, problems = _source_problems(st, project, src)
        for column, value, reason in problems:
            led.quarantine_row(file, SOURCES, src.number, column, value, reason)
        if problems:
            for sel in src.selections:
                led.quarantine_row(file, SELECTIONS, sel.number, "", "",
                                   f"its source (source {src.number}) was set aside")  # fmt: skip
            continue
        led.keep(file, SOURCES, src.number)
        ref = f"{file}#{src.number}"
        kept_sources.append(_source_record(ref, fields))
        text = src.text or ""
        for sel in src.selections:
            assert sel.start is not None and sel.end is not None
            why = []
            if not 0 <= sel.start < sel.end <= len(text):
                why.append(("position", f"coded selection {sel.number} of source {src.number} "
                            f"spans positions {sel.start}-{sel.end}, outside its source's "
                            f"{len(text)} characters (or empty)"))  # fmt: skip
            missing = sum(g not in project.codes for g in sel.code_guids)
            if missing:
                why.append(("code", f"code missing from the codebook: {missing} of the "
                            "selection's codes are not in the project's CodeBook"))  # fmt: skip
            if not sel.code_guids:
                why.append(("code", "not coded: the selection has no Coding"))
            if why:
                for column, reason in why:
                    led.quarantine_row(file, SELECTIONS, sel.number, column, "", reason)
                continue
            quote = redactor.redact(text[sel.start : sel.end])
            for guid in dict.fromkeys(sel.code_guids):
                code = project.codes[guid]
                out.append({**_quote_fields(ref, fields),
                            "code_group": code.ancestors[0] if code.ancestors else "",
                            "code": code.name, "text": quote})  # fmt: skip
            led.keep(file, SELECTIONS, sel.number)
    return out, kept_sources


def read_framework_matrix(st: State, file: str, redactor: Redactor | None) -> Records:
    """Validate one framework-matrix workbook; its kept cells as records, quotes redacted,
    and its cases as sources (``source_ref`` is ``<file>#row <n>``: a case keeps its row
    number on every sheet, as Framework matrices are laid out).

    Each visible sheet is a theme (its name is the ``code_group``); each row is a case with
    the source variables as columns (``site``, ``evaluation_year``, ``participant_role``,
    ``source_type``, ``visit``); every other column is a code (its header as written) and a
    non-empty cell is the case's summary or quote for that code. The ledger counts rows; a
    row with a problem is quarantined whole. Hidden sheets are never read (noted).
    """
    if redactor is None:
        st.ledger.reject_file(file, NO_REGISTER)
        return [], []
    from analysis.clean.workbook import read_return_workbook

    try:
        read = read_return_workbook(st.raw_dir / file, file)
    except FileRejected as exc:
        st.ledger.reject_file(file, str(exc))
        return [], []
    for sheet in read.hidden:
        st.ledger.set_aside(file, sheet, "hidden sheet: never read (unhide it to include it)")
    out: list[dict[str, Any]] = []
    cases: dict[str, dict[str, Any]] = {}
    for sheet, sr in read.sheets.items():
        table = sr.table
        if not table.header:
            st.notes.append({"file": file, "note": "a sheet holds nothing"})
            continue
        missing = [c for c in MATRIX_REQUIRED if c not in table.header]
        if missing:
            st.ledger.read(file, sheet, [r for r, _ in table.rows], table.blank)
            for row, _ in table.rows:
                st.ledger.quarantine_row(
                    file, sheet, row, "", "",
                    f"the sheet has no {', '.join(missing)} column: its rows cannot be "
                    "placed (a framework matrix has a row per case with site and "
                    "evaluation_year columns)",
                )  # fmt: skip
            continue
        codes = [
            (h, " ".join(str(raw).split()))
            for h, raw in zip(table.header, table.raw_header, strict=False)
            if h and h not in VARIABLES
        ]
        st.ledger.read(file, sheet, [r for r, _ in table.rows], table.blank)
        for row, values in table.rows:
            attrs = {
                k: "" if is_missing(values.get(k)) else cell_text(values.get(k)) for k in VARIABLES
            }
            fields, problems = check_attributes(st, attrs)
            problems += [
                ("", "", f"column {col}: {why}") for col, why in sr.cell_problems.get(row, [])
            ]
            if problems:
                for column, value, reason in problems:
                    st.ledger.quarantine_row(file, sheet, row, column, value, reason)
                continue
            ref = f"{file}#row {row}"
            cases.setdefault(ref, _source_record(ref, fields))
            for key, name in codes:
                cell = values.get(key)
                if is_missing(cell):
                    continue
                out.append(
                    {**_quote_fields(ref, fields), "code_group": " ".join(sheet.split()),
                     "code": name, "text": redactor.redact(cell_text(cell))}
                )  # fmt: skip
            st.ledger.keep(file, sheet, row)
    return out, list(cases.values())


def read_fieldwork(st: State, described: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every ``fieldwork/`` file read (see the module docstring); the processed tables
    ``fieldwork_quotes`` (a row per coded selection and code) and ``fieldwork_sources`` (a
    row per kept source: the denominators of theme prevalence)."""
    from analysis.clean.registers import _frame

    files = fieldwork_files(st)
    described.update(files)
    redactor = None
    if files:
        path = register_path(st.raw_dir)
        if path is not None:
            try:
                redactor = Redactor(read_register(path))
            except RegisterError as exc:
                for f in files:
                    st.ledger.reject_file(f, f"{exc}: fieldwork quotes are not read without it")
                return _frame([], "fieldwork_quotes"), _frame([], "fieldwork_sources")
    recs: list[dict[str, Any]] = []
    srcs: list[dict[str, Any]] = []
    for f in files:
        if f.lower().endswith((".qdpx", ".xlsx")):
            reader = (
                read_fieldwork_project if f.lower().endswith(".qdpx") else read_framework_matrix
            )
            quotes, sources = reader(st, f, redactor)
            recs.extend(quotes)
            srcs.extend(sources)
        else:
            st.ledger.reject_file(f, NOT_FIELDWORK)
    if redactor is not None and redactor.counts:
        done = Counter({k: v for k, v in redactor.counts.items() if v})
        st.notes.append({
            "file": FIELDWORK_FOLDER,
            "note": "quotes redacted: " + ", ".join(f"{k} {n}" for k, n in sorted(done.items())),
        })  # fmt: skip
    frame = _frame(recs, "fieldwork_quotes")
    sources = _frame(srcs, "fieldwork_sources")
    for table in (frame, sources):
        if len(table):
            table["visit"] = table["visit"].astype("Int64")
    return frame, sources
