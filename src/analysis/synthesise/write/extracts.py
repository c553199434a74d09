"""A service's files: its monitoring returns and case extracts (case records, outcome assessments, training)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.synthesise.world import World, from_days, stream, to_days
from analysis.synthesise.write.formats import (
    ASSESSMENT_COLUMNS,
    EXTRACT_COLUMNS,
    TRAINING_COLUMNS,
    _label,
    _order,
    _source_label,
    blank_layout,
    case_ids,
    format_day,
    number_as_text,
    post_as_written,
    programme_styles,
    write_csv,
)
from analysis.synthesise.write.groupwork import write_group_sessions
from analysis.synthesise.write.returns import (
    _identifying,
    _inject_error,
    _open_in,
    period_values,
    write_return,
)

if TYPE_CHECKING:
    from analysis.synthesise.write.formats import Style
    from analysis.synthesise.write.returns import Delivery, Sink


def write_service_files(
    sink: Sink,
    world: World,
    svc: dict[str, Any],
    deliveries: list[Delivery],
    mess: dict[str, Any],
) -> dict[str, int]:
    """Write one service's returns, extracts, assessments and training files."""
    sid = svc["service_id"]
    style = programme_styles(world.seed, list(world.services["service_id"]), mess)[sid]
    people = world.people[world.people["service_id"] == sid].reset_index(drop=True)
    assess = (
        world.assessments[world.assessments["service_id"] == sid]
        if not world.assessments.empty
        else pd.DataFrame()
    )
    training = world.training[world.training["service_id"] == sid]
    groups = world.groups[world.groups["service_id"] == sid] if len(world.groups) else world.groups
    spokes = world.spokes[world.spokes["service_id"] == sid]
    rng = stream(world.seed, "mess", sid)
    ids = np.asarray(case_ids(style, people), dtype=object)
    ident = _identifying(stream(world.seed, "identifying", sid), len(people))
    dob = people["dob_day"].to_numpy().copy()
    # attribute corrections: earlier extracts show a wrong gender, later ones the true one
    n_extracts = np.zeros(len(people), dtype=int)
    change_at = np.full(len(people), -1)
    wrong_gender = np.empty(len(people), dtype=object)
    cand = rng.random(len(people)) < mess["attribute_conflict_rate"]
    seen_count = {}
    for d in deliveries:
        m = _open_in(people, to_days(d.period.start), to_days(d.period.end))
        if d.status != "missing":
            for i in np.nonzero(m)[0]:
                seen_count[i] = seen_count.get(i, 0) + 1
    for i in np.nonzero(cand)[0]:
        if seen_count.get(i, 0) >= 2:
            change_at[i] = int(rng.integers(1, seen_count[i]))
            wrong_gender[i] = "male" if people.at[i, "gender"] == "female" else "female"
    stats = {"returns": 0, "extracts": 0, "assessment_rows": 0, "training_rows": 0,
             "group_sessions": 0}  # fmt: skip
    sink.event(
        "service_style",
        service_id=sid,
        encoding=style.encoding,
        newline="CRLF" if style.newline == "\r\n" else "LF",
        date_format=style.date_fmt,
        renamed_columns=style.renamed,
        reordered_columns=style.shuffle,
        identifying_columns=list(style.identifying),
    )
    for d in deliveries:
        p = d.period
        s, e = to_days(p.start), to_days(p.end)
        if d.status == "missing":
            sink.event("missing_delivery", service_id=sid, period=p.label)
            continue
        if d.status == "late":
            sink.event(
                "late_return", service_id=sid, period=p.label,
                received_date=from_days(d.received).isoformat(),
                days_after_period_end=d.received - e,
            )  # fmt: skip
        values = period_values(world, svc, people, training, spokes, p, groups)
        text_rate, blank_rate = mess["text_number_rate"], mess["blank_row_rate"]
        if d.error == "resubmission":
            wrong, detail = _inject_error(rng, values)
            rel1 = write_return(sink, style, svc, d, 1, wrong, rng, text_rate, blank_rate)
            rel2 = write_return(sink, style, svc, d, 2, values, rng, 0.0, blank_rate)
            sink.event(
                "resubmission",
                file=rel1,
                replaced_by=rel2,
                service_id=sid,
                period=p.label,
                **detail,
            )
            stats["returns"] += 2
        elif d.error == "mismatch":
            wrong, detail = _inject_error(rng, values)
            rel1 = write_return(sink, style, svc, d, 1, wrong, rng, text_rate, blank_rate)
            sink.event("count_mismatch", file=rel1, service_id=sid, period=p.label, **detail)
            stats["returns"] += 1
        else:
            write_return(sink, style, svc, d, 1, values, rng, text_rate, blank_rate)
            stats["returns"] += 1
        # ---- case extract
        m = np.nonzero(_open_in(people, s, e))[0]
        if len(m):
            stats["extracts"] += 1
            _write_extract(sink, world, style, svc, d, people.iloc[m], m, ids, ident, dob,
                           n_extracts, change_at, wrong_gender, rng, mess)  # fmt: skip
            n_extracts[m] += 1
        # ---- assessments
        if not assess.empty:
            a = assess[(assess["assessment_day"] >= s) & (assess["assessment_day"] <= e)]
            if len(a):
                stats["assessment_rows"] += _write_assessments(
                    sink, style, svc, d, a, ids, rng, mess
                )
        # ---- training
        t = training[(training["session_day"] >= s) & (training["session_day"] <= e)]
        if len(t):
            stats["training_rows"] += _write_training(sink, style, svc, d, t, rng, mess)
        # ---- group sessions with children and young people
        if len(groups):
            g = groups[(groups["session_day"] >= s) & (groups["session_day"] <= e)]
            if len(g):
                stats["group_sessions"] += write_group_sessions(sink, style, svc, d, g, rng, mess)
    return stats


def _write_extract(sink, world, style, svc, d, rows, idx, ids, ident, dob, n_extracts,
                   change_at, wrong_gender, rng, mess) -> None:  # fmt: skip
    sid, p = svc["service_id"], d.period
    rel = f"extracts/{sid}/{sid}_{p.file_label}_cases.csv"
    e = to_days(p.end)
    seraf = svc["instrument"] == "seraf"
    cols = list(EXTRACT_COLUMNS)
    for c in style.identifying:
        cols.insert({"name": 1, "postcode": 3, "notes": len(cols)}[c], c)
    cols = _order(style, cols)
    row_nums, blank_rows = blank_layout(rng, len(idx), mess["blank_row_rate"])
    out = []
    miss = style.missing
    for j, (i, r) in enumerate(zip(idx, rows.itertuples(), strict=True)):
        k = n_extracts[i]
        fmt = (
            style.alt_date_fmt if rng.random() < mess["mixed_date_format_rate"] else style.date_fmt
        )

        def rec(attr: str, value: str, r=r, k=k) -> str:
            f = getattr(r, f"fill_{attr}")
            return value if (f == 0 or k >= f) else miss

        gender = r.gender
        if change_at[i] >= 0 and k < change_at[i]:
            gender = wrong_gender[i]
            sink.event("attribute_change", file=rel, row=int(row_nums[j]), column="gender",
                       written=gender, true=r.gender, service_id=sid)  # fmt: skip
        dob_day = int(dob[i])
        if rng.random() < mess["dob_typo_rate"]:
            dob_day += 3653  # ten years later: an impossible age at referral
            sink.event("dob_typo", file=rel, row=int(row_nums[j]), column="date_of_birth",
                       written=format_day(dob_day, fmt), service_id=sid)  # fmt: skip
        closed = not pd.isna(r.closure_day) and int(r.closure_day) <= e
        risk = f"Category {r.seraf_category}" if seraf else _label(style, "risk", r.risk)
        post = post_as_written(rng, sink, mess, rel, int(row_nums[j]), r.post_id)
        vals = {
            "case_id": ids[i],
            "post_id": post,
            "date_of_birth": format_day(dob_day, fmt),
            "gender": rec("gender", _label(style, "gender", gender)),
            "ethnicity": rec("ethnicity", _label(style, "ethnicity", r.ethnicity)),
            "sexuality": rec("sexuality", _label(style, "sexuality", r.sexuality)),
            "disability": rec("disability", _label(style, "yesno", r.disability)),
            "referral_date": format_day(int(r.referral_day), fmt),
            "referral_source": _source_label(style, r.referral_source),
            "referral_reason": _label(style, "referral_reason", r.referral_reason),
            "risk_at_referral": rec("risk_at_referral", risk),
            "going_missing": _label(style, "yesno", r.going_missing),
            "looked_after": _label(style, "yesno", r.looked_after),
            "substance_misuse": _label(style, "yesno", r.substance_misuse),
            "closure_date": format_day(int(r.closure_day), fmt) if closed else "",
            "closure_reason": _label(style, "closure_reason", r.closure_reason) if closed else "",
            "name": ident["name"][i],
            "postcode": ident["postcode"][i],
            "notes": ident["notes"][i],
        }
        out.append([vals[c] for c in cols])
    if blank_rows:
        sink.event("blank_rows", file=rel, rows=blank_rows)
    if style.identifying:
        sink.event("identifying_columns", file=rel, columns=list(style.identifying))
    write_csv(sink.out_dir / rel, [style.headers[c] for c in cols], out,
              encoding=style.encoding, newline=style.newline, blank_rows=blank_rows)  # fmt: skip
    sink.add(rel, "extract", sid, p.label, "", d.received)


def _instrument_text(style: Style, code: str) -> str:
    if style.instrument_case == "upper":
        return code.upper()
    if style.instrument_case == "title":
        return code.capitalize()
    return code


def _write_assessments(sink, style, svc, d, a, ids, rng, mess) -> int:
    sid, p = svc["service_id"], d.period
    rel = f"assessments/{sid}/{sid}_{p.file_label}_assessments.csv"
    inst = svc["instrument"]
    a = a.sort_values(["assessment_day", "person"], kind="stable")
    long_rows: list[
        tuple[str, int, str, str, int | None]
    ] = []  # case_id, day, measure, text, number
    for r in a.itertuples():
        cid = ids[r.person]
        day = int(r.assessment_day)
        if inst == "seraf":
            total = int(r.raw_0)
            long_rows.append((cid, day, "total_score", str(total), total))
            cat = 1 if total <= 5 else 2 if total <= 10 else 3 if total <= 15 else 4
            long_rows.append((cid, day, "category", f"Category {cat}", None))
        elif inst in ("star5", "star10"):
            from analysis.synthesise.design import STAR5_AREAS, STAR10_AREAS

            areas = STAR5_AREAS if inst == "star5" else STAR10_AREAS
            for k, area in enumerate(areas):
                v = int(getattr(r, f"raw_{k}"))
                long_rows.append((cid, day, area, str(v), v))
        elif inst == "risk3":
            long_rows.append(
                (cid, day, "risk_level", ("Low", "Medium", "High")[int(r.raw_0) - 1], None)
            )
        else:
            v = int(r.raw_0)
            long_rows.append((cid, day, "wellbeing_score", str(v), v))
    cols = _order(style, list(ASSESSMENT_COLUMNS))
    row_nums, blank_rows = blank_layout(rng, len(long_rows), mess["blank_row_rate"])
    out = []
    for j, (cid, day, measure, text, number) in enumerate(long_rows):
        if number is not None and rng.random() < mess["text_number_rate"]:
            text, readable = number_as_text(rng, number)
            sink.event("text_number", file=rel, row=int(row_nums[j]), column="value",
                       written=text, true=number, readable=readable)  # fmt: skip
        vals = {
            "case_id": cid,
            "assessment_date": format_day(day, style.date_fmt),
            "instrument": _instrument_text(style, inst),
            "measure": measure,
            "value": text,
        }
        out.append([vals[c] for c in cols])
    if blank_rows:
        sink.event("blank_rows", file=rel, rows=blank_rows)
    write_csv(sink.out_dir / rel, [style.headers[c] for c in cols], out,
              encoding=style.encoding, newline=style.newline, blank_rows=blank_rows)  # fmt: skip
    sink.add(rel, "assessments", sid, p.label, "", d.received)
    return len(out)


def _write_training(sink, style, svc, d, t, rng, mess) -> int:
    sid, p = svc["service_id"], d.period
    rel = f"training/{sid}/{sid}_{p.file_label}_training.csv"
    cols = _order(style, list(TRAINING_COLUMNS))
    row_nums, blank_rows = blank_layout(rng, len(t), mess["blank_row_rate"])
    out = []
    for j, r in enumerate(t.itertuples()):
        vals = {
            "session_id": f"TR{int(r.session_no):04d}",
            "session_date": format_day(int(r.session_day), style.date_fmt),
            "attendee_agency": _label(style, "agency", r.attendee_agency),
        }
        for col, value, missing in (
            ("confidence_pre", int(r.confidence_pre), r.pre_missing),
            ("confidence_post", int(r.confidence_post), r.post_missing),
        ):
            if missing:
                vals[col] = style.missing
            elif rng.random() < mess["text_number_rate"]:
                text, readable = number_as_text(rng, value)
                vals[col] = text
                sink.event("text_number", file=rel, row=int(row_nums[j]), column=col,
                           written=text, true=value, readable=readable)  # fmt: skip
            else:
                vals[col] = str(value)
        out.append([vals[c] for c in cols])
    if blank_rows:
        sink.event("blank_rows", file=rel, rows=blank_rows)
    write_csv(sink.out_dir / rel, [style.headers[c] for c in cols], out,
              encoding=style.encoding, newline=style.newline, blank_rows=blank_rows)  # fmt: skip
    sink.add(rel, "training", sid, p.label, "", d.received)
    return len(out)
