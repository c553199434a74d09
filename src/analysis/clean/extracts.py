"""Reading the case extracts (CSV): case periods, outcome assessments, training records and the deliveries table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.clean.harmonise import (
    MAPPING_VERSION,
    map_score,
    seraf_category,
)
from analysis.clean.intake import (
    CONFLICT_COLUMNS,
    NO_USABLE_EXTRACT,
    RowReader,
    _extra_cells,
    _quarantine,
    _read_csv,
)
from analysis.clean.masking import normalise_case_id, shown
from analysis.clean.pseudonymise import (
    age_at,
    person_key,
    to_month,
)
from analysis.clean.registers import _frame
from analysis.clean.returns import (
    CellError,
    cell_text,
    is_missing,
    normalise_label,
    parse_category,
    parse_count,
)
from analysis.clean.sessions import check_session_date
from analysis.clean.workforce import check_post
from analysis.core import labels as L
from analysis.core.schemas import SCHEMAS, conform

if TYPE_CHECKING:
    from analysis.clean.intake import State
    from analysis.clean.submissions import Submission

_IGNORING = "; case IDs compared ignoring letter case and spaces"


# =============================================================================== extracts


def _case_id(st: State, rr: RowReader, file: str, required: bool) -> str | None:
    """The row's case ID, normalised (:func:`analysis.clean.masking.normalise_case_id`);
    a change the normalisation made is counted for the file (``ledger.json``)."""
    raw = rr.text("case_id", required=required)
    if raw is None:
        return None
    case_id = normalise_case_id(raw)
    if case_id != raw:
        st.case_ids_normalised[file] = st.case_ids_normalised.get(file, 0) + 1
    return case_id


def _read_extract(st: State, sub: Submission) -> list[dict[str, Any]]:
    """Validate one case extract; kept rows (with private ``_`` fields for later checks)."""
    sid, period, received = sub.service_id, sub.period, sub.received
    known = set(L.EXTRACT_REQUIRED) | set(L.EXTRACT_DROPPED) | set(L.EXTRACT_OPTIONAL)
    table = _read_csv(st, sub.path, L.EXTRACT_COLUMNS, L.EXTRACT_REQUIRED, known)
    if table is None:
        return []
    svc = st.services[sid]
    kept: list[dict[str, Any]] = []
    by_case: dict[str, list[int]] = defaultdict(list)
    raw_ids: dict[str, set[str]] = defaultdict(set)
    for row, values in table.rows:
        rr = RowReader(values)
        case_id = _case_id(st, rr, table.file, False)
        if case_id is None and not any(p.column == "case_id" for p in rr.problems):
            rr.fail("case_id", "case ID missing: the row cannot be linked to a young person")
        post = check_post(st, rr, sid, table.file)
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
        raw_ids[case_id].add(cell_text(values.get("case_id")))
        rec.update(
            {
                "person_key": person_key(st.key, sid, case_id),
                "service_id": sid,
                "period": period.period,
                "evaluation_year": period.evaluation_year,
                "received_date": received,
                "age_at_referral": age,
                "post_id": post,
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
            ignoring = _IGNORING if len(raw_ids[rec["_case"]]) > 1 else ""
            st.ledger.quarantine_row(
                table.file, "", rec["_row"], "case_id", rec["_case"],
                f"the same case ID appears in {len(rows)} rows of this extract "
                f"(rows {', '.join(map(str, rows))}{ignoring}); cannot tell which is right",
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
    st: State, sub: Submission, people: dict[tuple[str, str], dict[str, Any]], quarantined: set
) -> list[dict[str, Any]]:
    sid, period, received = sub.service_id, sub.period, sub.received
    svc = st.services[sid]
    table = _read_csv(st, sub.path, L.ASSESSMENT_COLUMNS, L.ASSESSMENT_REQUIRED)
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
        case_id = _case_id(st, rr, table.file, True)
        when = rr.date("assessment_date", required=True)
        inst = rr.text("instrument", required=True)
        if inst and inst.casefold() != svc.instrument:
            named = shown(inst.casefold(), L.INSTRUMENTS, "instrument")
            rr.fail("instrument", f"instrument {named!r} is not {sid}'s registered instrument "
                    f"({svc.instrument})" if named in L.INSTRUMENTS else
                    f"{named} is not {sid}'s registered instrument ({svc.instrument})")  # fmt: skip
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


def _read_training(st: State, sub: Submission) -> list[dict[str, Any]]:
    sid, period, received = sub.service_id, sub.period, sub.received
    table = _read_csv(st, sub.path, L.TRAINING_COLUMNS, L.TRAINING_REQUIRED)
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
        check_session_date(rr, when, received, period)
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
