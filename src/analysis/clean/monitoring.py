"""Reading the monitoring returns (Excel workbooks) into return-level tables, with resubmissions superseding earlier versions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.clean.harmonise import (
    parse_period,
)
from analysis.clean.intake import (
    ParsedReturn,
    Problem,
    RowReader,
    _extra_cells,
    _quarantine,
    _register_rows,
)
from analysis.clean.masking import TEMPLATE_VERSION, shown
from analysis.clean.registers import _frame
from analysis.clean.returns import (
    CellError,
    FileRejected,
    Table,
    cell_text,
    is_missing,
    normalise_label,
    parse_date,
)
from analysis.clean.submissions import Submission
from analysis.clean.workbook import read_return_workbook
from analysis.core import labels as L
from analysis.core import rules

if TYPE_CHECKING:
    from analysis.clean.intake import State


# =============================================================================== returns


SHEET_COLUMNS: dict[str, tuple[str, str]] = {
    "Referrals": ("referral_source", "referrals"),
    "Young people": ("measure", "young_people"),
    "Activities": ("activity", "sessions"),
    "Outputs": ("output", "count"),
}
"""The canonical names of a data sheet's label and value columns (what the quarantine says,
whatever the sheet's header reads)."""

SHEET_HEADERS: dict[str, frozenset[tuple[str, str]]] = {
    "Referrals": frozenset({("referral_source", "referrals"), ("source", "number")}),
    "Young people": frozenset({("measure", "young_people")}),
    "Activities": frozenset({("activity", "sessions")}),
    "Outputs": frozenset({("output", "count")}),
}
"""The headers (normalised) of the v2 and v1 templates' data sheets."""

CellProblems = Mapping[int, list[tuple[int, str]]]


def _cell_column(sheet: str, col: int) -> str:
    names = SHEET_COLUMNS.get(sheet, ("field", "value"))
    return names[col - 1] if col <= len(names) else "__extra__"


def _unreadable_cells(
    st: State, table: Table, sheet: str, cells: CellProblems, rows: set[int] | None = None
) -> set[int]:
    """Quarantine every row of ``table`` with a cell whose value cannot be told (a formula
    without a saved value, merged cells); return their row numbers."""
    bad = set()
    wanted = {r for r, _ in table.rows} if rows is None else rows
    for row, problems in cells.items():
        if row not in wanted:
            continue
        bad.add(row)
        for col, reason in problems:
            st.ledger.quarantine_row(
                table.file, table.sheet, row, _cell_column(sheet, col), "", reason
            )
    return bad


def _header_as_data(st: State, table: Table, sheet: str) -> None:
    """Read the header row of a data sheet as a data row when it is not the template's
    header (a sheet pasted without its header): its first row is never silently lost."""
    cols = table.header
    if len(cols) >= 2 and (cols[0], cols[1]) in SHEET_HEADERS[sheet]:
        return
    raw = (table.raw_header + ["", ""])[:2]
    table.rows.insert(0, (table.header_row, {cols[0]: raw[0], cols[1]: raw[1]}))
    st.notes.append(
        {
            "file": table.file,
            "note": f"sheet {sheet}: row {table.header_row} is not the template's header; "
            "read as a data row",
        }
    )


def _label_rows(
    st: State,
    table: Table,
    codes: Mapping[str, str],
    what: str,
    total_row: bool = False,
    cells: CellProblems | None = None,
    sheet: str = "",
) -> dict[str, tuple[int, int | None]]:
    """Read a "label | count" sheet: ``{code: (row, count)}``; problems are quarantined.

    Problems name the sheet's canonical columns (:data:`SHEET_COLUMNS`), never the
    header's own text.
    """
    cols = table.header
    label_col, value_col = SHEET_COLUMNS.get(sheet, (cols[0], cols[1]))
    bad = _unreadable_cells(st, table, sheet, cells or {})
    found: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    total: tuple[int, int | None] | None = None
    for row, values in table.rows:
        if row in bad:
            continue
        label = values.get(cols[0])
        rr = RowReader({"label": label, "value": values.get(cols[1])})
        if total_row and normalise_label(cell_text(label)) == "total":
            n = rr.count("value")
            if rr.problems:
                _quarantine(
                    st, table, row, [_renamed(p, label_col, value_col) for p in rr.problems]
                )
            else:
                total = (row, n)
            continue
        code = rr.cat("label", codes, required=True)
        if rr.problems:
            rr.problems = [
                Problem("label", label, f"unknown {what} label; expected one of: "
                        f"{', '.join(sorted(set(codes.values())))}")
            ]  # fmt: skip
        n = rr.count("value")
        problems = [_renamed(p, label_col, value_col) for p in rr.problems] + _extra_cells(values)
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
                    table.file, table.sheet, r, label_col, code,
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
                table.file, table.sheet, row, value_col, n,
                f"Total row ({n}) does not match the sum of the recorded sources ({s}{gap}); "
                "the sources are kept, the Total row is not used",
            )  # fmt: skip
        else:
            st.ledger.keep(table.file, table.sheet, row)
    return out


def _renamed(p: Problem, label_col: str, value_col: str) -> Problem:
    """A problem of a label row under the sheet's canonical column names."""
    column = {"label": label_col, "value": value_col}.get(p.column, p.column)
    return Problem(column, p.value, p.reason.replace("value:", f"{value_col}:", 1))


_TEMPLATE = {normalise_label(s): s for s in L.RETURN_SHEETS}


def _sheets_note(st: State, file: str, what: str, numbers: list[int]) -> None:
    if numbers:
        st.notes.append(
            {
                "file": file,
                "note": f"{len(numbers)} {what} not in the template ignored (sheet number"
                f"{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))})",
            }
        )


def _read_return(st: State, sub: Submission) -> ParsedReturn | None:
    """Validate one return workbook; reject it or return its rows (rows kept in ledger).

    Only visible sheets are read. A hidden sheet named like a template sheet is reported
    (a quarantine line and a note) and never used in place of the visible one; two visible
    sheets named alike reject the workbook, since which to read cannot be told.
    """
    file, sid, period, received = sub.file, sub.service_id, sub.period, sub.received
    try:
        wb = read_return_workbook(sub.path, file, lambda n: normalise_label(n) in _TEMPLATE)
    except FileRejected as exc:
        st.ledger.reject_file(file, str(exc))
        return None
    visible: dict[str, list[str]] = defaultdict(list)
    for name in wb.visible:
        if normalise_label(name) in _TEMPLATE:
            visible[_TEMPLATE[normalise_label(name)]].append(name)
    hidden_like = sorted(
        {_TEMPLATE[normalise_label(n)] for n in wb.hidden if normalise_label(n) in _TEMPLATE}
    )
    twice = [s for s in L.RETURN_SHEETS if len(visible[s]) > 1]
    if twice:
        st.ledger.reject_file(
            file,
            f"{len(visible[twice[0]])} visible sheets are named like {twice[0]}: which to read "
            "cannot be told; keep one and re-send",
        )
        return None
    missing = [s for s in L.RETURN_SHEETS if not visible[s]]
    if missing:
        hint = (
            " (a hidden sheet is named like it: hidden sheets are never read; unhide it and "
            "re-send)"
            if set(missing) & set(hidden_like)
            else ""
        )
        st.ledger.reject_file(file, f"missing sheet(s): {', '.join(missing)}{hint}")
        return None
    for s in hidden_like:
        st.ledger.set_aside(
            file,
            f"{s} (hidden)",
            f"hidden sheet named like {s}: not read, and never used in place of the visible "
            f"sheet {s}; if it holds the data, unhide it, delete the other and re-send",
        )
    numbered = list(enumerate(wb.visible + wb.hidden, start=1))
    _sheets_note(
        st, file, "visible sheet(s)", [i for i, n in numbered[: len(wb.visible)]
                                       if normalise_label(n) not in _TEMPLATE]
    )  # fmt: skip
    _sheets_note(
        st, file, "hidden sheet(s)", [i for i, n in numbered[len(wb.visible):]
                                      if normalise_label(n) not in _TEMPLATE]
    )  # fmt: skip
    read = {s: wb.sheets[visible[s][0]] for s in L.RETURN_SHEETS}
    tables = {s: r.table for s, r in read.items()}
    for s, t in tables.items():
        if s != "Cover" and len(t.header) < 2:
            st.ledger.reject_file(file, f"sheet {s} has no header row with a value column")
            return None
    # cover ------------------------------------------------------------------
    cover = tables["Cover"]
    if not cover.header:
        st.ledger.reject_file(file, "sheet Cover is empty")
        return None
    v1_young = {h for h in L.MEASURE_V1_HEADERS} <= set(tables["Young people"].header)
    for s, t in tables.items():
        if s != "Cover" and not (s == "Young people" and v1_young):
            _header_as_data(st, t, s)
        _register_rows(st, t)
    bad_cover = _unreadable_cells(st, cover, "Cover", read["Cover"].cell_problems)
    fields: dict[str, tuple[int, Any]] = {}
    for row, values in cover.rows:
        if row in bad_cover:
            continue
        vals = list(values.values())
        key = normalise_label(cell_text(vals[0] if vals else ""))
        if key not in L.COVER_FIELDS:
            st.ledger.quarantine_row(
                file, cover.sheet, row, "field", vals[0] if vals else "",
                "unknown field on the Cover sheet; ignored",
            )  # fmt: skip
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
        version_text = shown(fields["template_version"][1], TEMPLATE_VERSION, "version")
        st.ledger.reject_file(
            file, f"unknown template version {version_text!r} (expected v1 or v2)"
            if version_text.startswith(("v", "V")) else
            "unknown template version (expected v1 or v2)",
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
    ret = ParsedReturn(file, sid, period, sub.version or 1, tv, received)
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
    cells = {s: r.cell_problems for s, r in read.items()}
    refs = _label_rows(
        st, tables["Referrals"], L.REFERRAL_SOURCE, "referral source", True,
        cells["Referrals"], "Referrals",
    )  # fmt: skip
    ret.rows["referrals"] = [
        {"referral_source": c, "referrals": refs.get(c, (0, None))[1]}
        for c in sorted(set(L.REFERRAL_SOURCE.values()))
    ]
    yp_table = tables["Young people"]
    if tv == "v1" and set(yp_table.header) >= set(L.MEASURE_V1_HEADERS):
        yp: dict[str, int | None] = {}
        bad = _unreadable_cells(st, yp_table, "Young people", cells["Young people"])
        for row, values in yp_table.rows:
            if row in bad:
                continue
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
        yp = {
            c: v
            for c, (_, v) in _label_rows(
                st, yp_table, L.MEASURE, "measure", False, cells["Young people"], "Young people"
            ).items()
        }
    ret.rows["young_people_counts"] = [
        {"measure": m, "young_people": yp.get(m)} for m in ("new", "open", "closed")
    ]
    acts = _label_rows(
        st, tables["Activities"], L.ACTIVITY, "activity", False, cells["Activities"], "Activities"
    )
    ret.rows["activities"] = [
        {"activity": a, "sessions": acts.get(a, (0, None))[1]}
        for a in ("direct_work", "group_work", "consultations")
    ]
    outs = _label_rows(
        st, tables["Outputs"], L.OUTPUT, "output", False, cells["Outputs"], "Outputs"
    )
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
        items.sort(key=lambda r: rules.submission_order(r.version, r.received_date, r.file))
        taken: set[str] = set()
        for r in items:  # a re-send under the same version number (_v01 after _v1): -2, -3
            n = 1
            while r.return_id in taken:
                n += 1
                r.suffix = f"-{n}"
            taken.add(r.return_id)
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
