"""The monitoring returns a service sends: which periods it returns and when (deliveries, late and resubmitted versions) and each workbook."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from analysis.synthesise.design import Period
from analysis.synthesise.world import World, from_days, stream, to_days
from analysis.synthesise.write.formats import (
    _FIRST,
    _LAST,
    _NOTES,
    ACTIVITY_LABELS,
    MEASURE_LABELS,
    OUTPUT_LABELS,
    SOURCE_LABELS,
    V1_MEASURE_LABELS,
    _source_label,
    format_day,
    number_as_text,
    save_workbook_deterministic,
)

if TYPE_CHECKING:
    from analysis.synthesise.write.formats import Style


# --------------------------------------------------------------------------- delivery plan


@dataclass
class Delivery:
    """One expected return and what happened to it."""

    service_id: str
    period: Period
    status: str  # on_time / late / missing
    received: int  # day number of version 1
    resubmitted: int | None = None  # day number of version 2
    error: str | None = None  # "resubmission" or "mismatch"
    template: str = "v2"


def plan_deliveries(world: World, mess: dict[str, Any]) -> list[Delivery]:
    """Decide, for every expected return, whether it is on time, late or missing, and which
    returns carry a resubmission or a count mismatch (at least one of each kind)."""
    out: list[Delivery] = []
    v1_phase2 = set(
        world.services.loc[world.services["phase"] == 2, "service_id"][
            : int(mess["v1_template_phase2_services"])
        ]
    )
    for svc in world.services.itertuples():
        rng = stream(world.seed, "delivery", svc.service_id)
        for _k, p in enumerate(world.periods[svc.service_id]):
            end = to_days(p.end)
            u = rng.random()
            if u < mess["missing_rate"]:
                status = "missing"
            elif u < mess["missing_rate"] + mess["late_rate"]:
                status = "late"
            else:
                status = "on_time"
            lag = int(rng.integers(31, 151)) if status == "late" else int(rng.integers(3, 31))
            v = rng.random()
            error = None
            if v < mess["resubmission_rate"]:
                error = "resubmission"
            elif v < mess["resubmission_rate"] + mess["count_mismatch_rate"]:
                error = "mismatch"
            template = "v2"
            if (svc.phase == 1 and p.year in ("2013-14", "2014-15")) or (
                svc.service_id in v1_phase2 and p.year == "2014-15"
            ):
                template = "v1"
            d = Delivery(svc.service_id, p, status, end + lag, None, error, template)
            if error == "resubmission":
                d.resubmitted = d.received + int(rng.integers(7, 61))
            out.append(d)
    rng = stream(world.seed, "delivery-force")
    for kind in ("missing", "late"):
        if not any(d.status == kind for d in out):
            cands = [d for d in out if d.status == "on_time" and d.error is None]
            if cands:
                d = cands[int(rng.integers(0, len(cands)))]
                d.status = kind
                if kind == "late":
                    d.received = to_days(d.period.end) + int(rng.integers(31, 151))
    for kind in ("resubmission", "mismatch"):
        if not any(d.error == kind and d.status != "missing" for d in out):
            cands = [d for d in out if d.status != "missing" and d.error is None]
            if cands:
                d = cands[int(rng.integers(0, len(cands)))]
                d.error = kind
                if kind == "resubmission":
                    d.resubmitted = d.received + int(rng.integers(7, 61))
    for d in out:
        if d.status == "missing":
            d.error, d.resubmitted = None, None
    return out


# --------------------------------------------------------------------------- writer state


@dataclass
class Sink:
    """Everything written so far: manifest rows, mess events, counters."""

    out_dir: Path
    manifest: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        rel: str,
        kind: str,
        service_id: str = "",
        period: str = "",
        version: str = "",
        received: int | None = None,
    ) -> None:
        """Record one written file in the manifest."""
        self.manifest.append(
            {
                "file": rel,
                "kind": kind,
                "service_id": service_id,
                "period": period,
                "version": version,
                "received_date": from_days(received).isoformat() if received is not None else "",
            }
        )
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def event(self, kind: str, **detail: Any) -> None:
        """Record one injected discrepancy."""
        self.events.append({"kind": kind, **detail})


# --------------------------------------------------------------------------- returns


def _excel_date(style: Style, day: int):
    if style.xlsx_dates == "cell":
        return from_days(day)
    return format_day(day, style.xlsx_dates)


def _put_count(ws, row: int, col: int, value: int, ctx: dict[str, Any]) -> None:
    """Write a count cell, sometimes as text (recorded)."""
    rng: np.random.Generator = ctx["rng"]
    if rng.random() < ctx["text_rate"]:
        text, readable = number_as_text(rng, int(value))
        ws.cell(row=row, column=col, value=text)
        ctx["sink"].event(
            "text_number",
            file=ctx["file"],
            sheet=ws.title,
            row=row,
            column=col,
            written=text,
            true=int(value),
            readable=readable,
        )
    else:
        ws.cell(row=row, column=col, value=int(value))


def _data_sheet(
    wb, title: str, header: tuple[str, str], items: list[tuple[str, int | None]], ctx
) -> None:
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for c in ws[1]:
        c.font = Font(bold=True)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 14
    rng: np.random.Generator = ctx["rng"]
    r = 2
    for label, value in items:
        if rng.random() < ctx["blank_rate"]:
            ctx["sink"].event("blank_row", file=ctx["file"], sheet=title, row=r)
            r += 1
        ws.cell(row=r, column=1, value=label)
        if value is not None:
            if label == "Total":
                ws.cell(row=r, column=2, value=int(value))
            else:
                _put_count(ws, r, 2, value, ctx)
        r += 1


def write_return(
    sink: Sink,
    style: Style,
    service: dict[str, Any],
    d: Delivery,
    version: int,
    values: dict[str, dict[str, int]],
    rng: np.random.Generator,
    text_rate: float,
    blank_rate: float,
) -> str:
    """Write one monitoring return workbook; return its path relative to the raw folder."""
    sid, p = service["service_id"], d.period
    rel = f"returns/{sid}/{sid}_{p.file_label}_v{version}.xlsx"
    received = d.received if version == 1 else d.resubmitted
    v1 = d.template == "v1"
    ctx = {"rng": rng, "text_rate": text_rate, "blank_rate": blank_rate, "sink": sink, "file": rel}
    wb = Workbook()
    ws = wb.active
    ws.title = "Cover"
    ws.append(["Item", "Entry"] if v1 else ["Field", "Value"])
    for c in ws[1]:
        c.font = Font(bold=True)
    cover = [
        ("Service ID", sid),
        ("Service name", service["hub_organisation"]),
        ("Period", p.label),
        ("Period start", _excel_date(style, to_days(p.start))),
        ("Period end", _excel_date(style, to_days(p.end))),
        ("Template version", d.template),
        ("Date received", _excel_date(style, received)),
    ]
    for key, value in cover:
        ws.append([key, value])
        if isinstance(value, date):
            ws.cell(row=ws.max_row, column=2).number_format = "dd/mm/yyyy"
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 40
    refs = [(_source_label(style, k, v1), v) for k, v in values["referrals"].items()]
    refs.append(("Total", sum(values["referrals"].values())))
    _data_sheet(
        wb, "Referrals", ("Source", "Number") if v1 else ("Referral source", "Referrals"), refs, ctx
    )
    yp = values["young_people"]
    if v1:
        ws = wb.create_sheet("Young people")
        ws.append([V1_MEASURE_LABELS[k] for k in ("new", "open", "closed")])
        for c in ws[1]:
            c.font = Font(bold=True)
        for j, k in enumerate(("new", "open", "closed"), start=1):
            _put_count(ws, 2, j, yp[k], ctx)
    else:
        items = [(MEASURE_LABELS[k], yp[k]) for k in ("new", "open", "closed")]
        _data_sheet(wb, "Young people", ("Measure", "Young people"), items, ctx)
    acts = [(ACTIVITY_LABELS[k], v) for k, v in values["activities"].items()]
    if v1:
        acts = [a for a in acts if a[0] != ACTIVITY_LABELS["consultations"]]
    _data_sheet(wb, "Activities", ("Activity", "Sessions"), acts, ctx)
    outs = [(OUTPUT_LABELS[k], v) for k, v in values["outputs"].items()]
    if v1:
        outs = [o for o in outs if o[0] != OUTPUT_LABELS["multi_agency_meetings"]]
    _data_sheet(wb, "Outputs", ("Output", "Count"), outs, ctx)
    save_workbook_deterministic(wb, sink.out_dir / rel)
    sink.add(rel, "return", sid, p.label, str(version), received)
    return rel


def _open_in(people: pd.DataFrame, start: int, end: int) -> np.ndarray:
    close = people["closure_day"].fillna(10**9).to_numpy(dtype="int64")
    ref = people["referral_day"].to_numpy()
    return (ref <= end) & (close >= start)


def period_values(
    world: World,
    svc: dict[str, Any],
    people: pd.DataFrame,
    training: pd.DataFrame,
    spokes: pd.DataFrame,
    p: Period,
    groups: pd.DataFrame | None = None,
) -> dict[str, dict[str, int]]:
    """The true figures a return for period ``p`` reports (group work sessions: the sessions
    in ``groups``, the service's group sessions with children and young people)."""
    s, e = to_days(p.start), to_days(p.end)
    cal = world.cal
    rng = stream(world.seed, "activities", svc["service_id"], p.label)
    ref = people["referral_day"].to_numpy()
    close = people["closure_day"].fillna(10**9).to_numpy(dtype="int64")
    new = (ref >= s) & (ref <= e)
    openp = _open_in(people, s, e)
    closed = (close >= s) & (close <= e)
    src = people.loc[new, "referral_source"].value_counts()
    open_days = np.clip(np.minimum(close, e) - np.maximum(ref, s) + 1, 0, None)[openp].sum()
    spoke_days = sum(max(0, e - max(s, to_days(d)) + 1) for d in spokes["start_date"])
    tr = training[(training["session_day"] >= s) & (training["session_day"] <= e)]
    n_groups = 0
    if groups is not None and len(groups):
        n_groups = int(((groups["session_day"] >= s) & (groups["session_day"] <= e)).sum())
    return {
        "referrals": {k: int(src.get(k, 0)) for k in SOURCE_LABELS},
        "young_people": {
            "new": int(new.sum()),
            "open": int(openp.sum()),
            "closed": int(closed.sum()),
        },
        "activities": {
            "direct_work": int(
                rng.poisson(cal["direct_sessions_per_open_case_month"] * open_days / 30.44)
            ),
            "group_work": n_groups,
            "consultations": int(
                rng.poisson(cal["consultations_per_spoke_month"] * spoke_days / 30.44)
            ),
        },
        "outputs": {
            "training_sessions": int(tr["session_no"].nunique()),
            "professionals_trained": int(len(tr)),
            "awareness_events": int(
                rng.poisson(cal["awareness_events_per_spoke_month"] * spoke_days / 30.44)
            ),
            "multi_agency_meetings": int(
                rng.poisson(cal["meetings_per_spoke_month"] * spoke_days / 30.44)
            ),
        },
    }


def _inject_error(rng: np.random.Generator, values: dict[str, dict[str, int]]) -> tuple[dict, dict]:
    """A copy of ``values`` with one young-people or referral count wrong, and the detail."""
    wrong = json.loads(json.dumps(values))
    if rng.random() < 0.6:
        sheet, key = "Young people", ("new", "open", "closed")[int(rng.integers(0, 3))]
        group = "young_people"
    else:
        sheet, group = "Referrals", "referrals"
        key = list(SOURCE_LABELS)[int(rng.integers(0, len(SOURCE_LABELS)))]
    true = values[group][key]
    delta = int(rng.integers(1, 4)) * (1 if (rng.random() < 0.6 or true < 3) else -1)
    wrong[group][key] = true + delta
    return wrong, {"sheet": sheet, "measure": key, "written": true + delta, "true": true}


# --------------------------------------------------------------------------- extracts etc.


def _identifying(rng: np.random.Generator, n: int) -> dict[str, list[str]]:
    first = rng.integers(0, len(_FIRST), n)
    last = rng.integers(0, len(_LAST), n)
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return {
        "name": [f"{_FIRST[a]} {_LAST[b]}" for a, b in zip(first, last, strict=True)],
        "postcode": [
            f"ZZ{rng.integers(1, 10)} {rng.integers(0, 10)}{letters[rng.integers(0, 20)]}{letters[rng.integers(0, 20)]}"
            for _ in range(n)
        ],
        "notes": [_NOTES[i] for i in rng.integers(0, len(_NOTES), n)],
    }
