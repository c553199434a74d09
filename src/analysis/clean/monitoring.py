"""Reading the monitoring returns (Excel workbooks) into return-level tables, with resubmissions superseding earlier versions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
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
    _service_file,
)
from analysis.clean.registers import _frame
from analysis.clean.returns import (
    CellError,
    FileRejected,
    Table,
    cell_text,
    is_missing,
    normalise_label,
    parse_date,
    read_workbook,
)
from analysis.core import labels as L

if TYPE_CHECKING:
    from analysis.clean.intake import State


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
