"""Writing the synthetic programme as the files services send (data contract, input tables),
with real-world mess injected on purpose and recorded in ``_truth/mess.json``.

Deterministic: workbooks are written with fixed document properties and fixed zip entry
dates, CSVs with fixed encodings and line ends, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

from analysis.synthesise.design import LAST_DAY, Period
from analysis.synthesise.world import World, from_days, stream, to_days

FIXED_TIMESTAMP = datetime(2017, 9, 1, 0, 0, 0)
"""Document created/modified time and zip entry date of every workbook."""
_ZIP_DATE = (2017, 9, 1, 0, 0, 0)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_FORMATS: tuple[str, ...] = ("dmy_slash", "iso", "dmy_mon")
MISSING_MARKERS: tuple[str, ...] = ("", "Not recorded", "Not known", "n/a")
_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]

EXTRACT_COLUMNS: tuple[str, ...] = (
    "case_id", "date_of_birth", "gender", "ethnicity", "sexuality", "disability",
    "referral_date", "referral_source", "referral_reason", "risk_at_referral", "going_missing",
    "looked_after", "substance_misuse", "closure_date", "closure_reason",
)  # fmt: skip
IDENTIFYING_COLUMNS: tuple[str, ...] = ("name", "postcode", "notes")
ASSESSMENT_COLUMNS: tuple[str, ...] = (
    "case_id",
    "assessment_date",
    "instrument",
    "measure",
    "value",
)
TRAINING_COLUMNS: tuple[str, ...] = (
    "session_id", "session_date", "attendee_agency", "confidence_pre", "confidence_post",
)  # fmt: skip
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "case_id": ("case_id", "Case ID", "Client ID", "Client Ref", "Record number"),
    "date_of_birth": ("date_of_birth", "Date of birth", "DOB", "D.O.B."),
    "gender": ("gender", "Gender", "Sex"),
    "ethnicity": ("ethnicity", "Ethnicity", "Ethnic origin", "Ethnic group"),
    "sexuality": ("sexuality", "Sexuality", "Sexual orientation"),
    "disability": ("disability", "Disability", "Disabled?"),
    "referral_date": ("referral_date", "Referral date", "Date referred", "Date of referral"),
    "referral_source": ("referral_source", "Referral source", "Source of referral", "Referred by"),
    "referral_reason": (
        "referral_reason",
        "Referral reason",
        "Reason for referral",
        "Primary need",
    ),
    "risk_at_referral": (
        "risk_at_referral",
        "Risk at referral",
        "Risk level at referral",
        "Initial risk",
    ),
    "going_missing": (
        "going_missing",
        "Going missing",
        "Missing episodes",
        "Missing from home/care",
    ),
    "looked_after": ("looked_after", "Looked after", "LAC", "Looked after child"),
    "substance_misuse": ("substance_misuse", "Substance misuse", "Drugs/alcohol"),
    "closure_date": ("closure_date", "Closure date", "Date closed", "End date"),
    "closure_reason": ("closure_reason", "Closure reason", "Reason for closure", "End reason"),
    "name": ("name", "Name", "Young person name", "Full name"),
    "postcode": ("postcode", "Postcode", "Post code"),
    "notes": ("notes", "Notes", "Case notes", "Comments"),
    "assessment_date": ("assessment_date", "Assessment date", "Date of assessment", "Date"),
    "instrument": ("instrument", "Instrument", "Tool"),
    "measure": ("measure", "Measure", "Item", "Area"),
    "value": ("value", "Value", "Score", "Result"),
    "session_id": ("session_id", "Session ID", "Session", "Session ref"),
    "session_date": ("session_date", "Session date", "Date", "Date of session"),
    "attendee_agency": ("attendee_agency", "Attendee agency", "Agency", "Organisation type"),
    "confidence_pre": ("confidence_pre", "Confidence pre", "Pre-training confidence", "Pre"),
    "confidence_post": ("confidence_post", "Confidence post", "Post-training confidence", "Post"),
}
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    # code: (v2 label, v1 / short label)
    "childrens_social_care": ("Children's social care", "Social care"),
    "police": ("Police", "Police"),
    "education": ("Education", "Education/school"),
    "health": ("Health", "Health"),
    "voluntary_youth": ("Other voluntary / youth service", "Voluntary sector"),
    "self_family": ("Self / family", "Self/family referral"),
    "other": ("Other", "Other"),
}
MEASURE_LABELS = {"new": "New", "open": "Open", "closed": "Closed"}
V1_MEASURE_LABELS = {"new": "New referrals", "open": "Total open", "closed": "Cases closed"}
ACTIVITY_LABELS = {
    "direct_work": "Direct work sessions",
    "group_work": "Group work sessions",
    "consultations": "Consultations",
}
OUTPUT_LABELS = {
    "training_sessions": "Training sessions delivered",
    "professionals_trained": "Professionals trained",
    "awareness_events": "Awareness events",
    "multi_agency_meetings": "Multi-agency meetings attended",
}
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    # column: code -> (long label, short/alternative label)
    "gender": {"female": ("Female", "F"), "male": ("Male", "M"), "other": ("Other", "Non-binary")},
    "ethnicity": {
        "white_british": ("White British", "White - British"),
        "white_other": ("White Other", "White - Other"),
        "mixed": ("Mixed", "Mixed/multiple ethnic groups"),
        "asian": ("Asian", "Asian or Asian British"),
        "black": ("Black", "Black or Black British"),
        "other": ("Other", "Any other ethnic group"),
    },
    "sexuality": {
        "heterosexual": ("Heterosexual", "Straight"),
        "gay_lesbian": ("Gay/lesbian", "Gay/lesbian"),
        "bisexual": ("Bisexual", "Bisexual"),
        "other": ("Other", "Other"),
    },
    "yesno": {"yes": ("Yes", "Y"), "no": ("No", "N")},
    "referral_reason": {
        "cse": ("Child sexual exploitation", "CSE"),
        "going_missing": ("Going missing", "Missing"),
        "criminal_exploitation": ("Criminal exploitation", "CCE"),
        "other": ("Other", "Other"),
    },
    "risk": {"low": ("Low", "Low"), "medium": ("Medium", "Medium"), "high": ("High", "High")},
    "closure_reason": {
        "planned_end": ("Planned ending", "Outcomes achieved"),
        "disengaged": ("Disengaged", "Disengaged"),
        "moved_away": ("Moved out of area", "Moved out of area"),
        "transferred": ("Transferred to another service", "Transferred to another service"),
        "aged_out": ("Turned 18", "Turned 18"),
        "other": ("Other", "Other"),
    },
    "agency": {
        "police": ("Police", "Police"),
        "childrens_social_care": ("Children's social care", "Social care"),
        "education": ("Education", "School"),
        "health": ("Health", "Health"),
        "voluntary_youth": ("Voluntary sector", "Voluntary sector"),
        "other": ("Other", "Other"),
    },
}
_FIRST = (
    "Zoë", "Chloé", "Siân", "Aaliyah", "Amelia", "Jade", "Kayleigh", "Renée", "Leah", "Molly",
    "Nia", "Precious", "Shannon", "Tia", "Ellie", "Jordan", "Liam", "Kyle", "Mariam", "Aoife",
)  # fmt: skip
_LAST = (
    "Ashcroft", "Brennan", "Ó Briain", "Dervish", "Evans", "Fairclough", "Gowan", "Hussain",
    "Iqbal", "Jankowski", "Kowalczyk", "Lloyd", "Mensah", "Nowak", "Okafor", "Pryce", "Quinn",
)  # fmt: skip
_NOTES = (
    "Seen at school – worried about older ‘boyfriend’",
    "Missing overnight twice; police informed",
    "Attended group work, engaged well (£5 travel paid)",
    "Mum reports new phone — unknown contacts",
    "Strategy meeting held, safety plan agreed",
    "Did not attend; will try again next week",
    "",
)


# --------------------------------------------------------------------------- low-level writers


def save_workbook_deterministic(wb: Workbook, path: Path) -> None:
    """Save ``wb`` with fixed document times and zip dates (byte-identical on every run)."""
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    wb.properties.creator = "Hub and Spoke monitoring template"
    wb.properties.lastModifiedBy = None
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    # re-pack every entry with one fixed date (openpyxl stamps some entries with "now")
    fixed = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename))
    path.write_bytes(fixed.getvalue())


@lru_cache(maxsize=200_000)
def format_day(day: int, fmt: str) -> str:
    """A day number as text in one of the contract's date formats."""
    d = from_days(day)
    if fmt == "iso":
        return d.isoformat()
    if fmt == "dmy_mon":
        return f"{d.day:02d}-{_MONTHS[d.month - 1]}-{d.year}"
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def number_as_text(rng: np.random.Generator, value: int) -> tuple[str, bool]:
    """A count typed as text: padded digits, an English word (≤ 20), or ``n/a`` (unreadable)."""
    u = rng.random()
    if u < 0.2:
        return "n/a", False
    if u < 0.5 and 0 <= value <= 20:
        return _WORDS[value], True
    return f"{value} ", True


def blank_layout(rng: np.random.Generator, n: int, rate: float) -> tuple[np.ndarray, list[int]]:
    """File row numbers (header = row 1) of ``n`` data rows with blank rows scattered in,
    and the row numbers of the blank rows."""
    blanks_before = (rng.random(n) < rate).astype(int)
    rows = 2 + np.arange(n) + np.cumsum(blanks_before)
    blank_rows = [int(r - 1) for r, b in zip(rows, blanks_before, strict=True) if b]
    return rows, blank_rows


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    *,
    encoding: str,
    newline: str,
    blank_rows: list[int] = (),
) -> None:
    """Write a CSV (header + rows, blank rows at the given file row numbers)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    blanks = set(blank_rows)
    empty = [""] * len(header)
    r = 2
    for row in rows:
        while r in blanks:
            w.writerow(empty)
            r += 1
        w.writerow(row)
        r += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


# --------------------------------------------------------------------------- service style


@dataclass
class Style:
    """How one service's systems write things (fixed for the service)."""

    encoding: str
    newline: str
    date_fmt: str
    alt_date_fmt: str
    xlsx_dates: str
    renamed: bool
    headers: dict[str, str]
    shuffle: bool
    short_labels: bool
    alt_labels: bool
    missing: str
    identifying: tuple[str, ...]
    case_id_style: int
    case_id_prefix: str
    instrument_case: str
    curly: bool
    order_seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def service_style(seed: int, service_id: str, mess: dict[str, Any]) -> Style:
    """Draw a service's presentation choices."""
    rng = stream(seed, "style", service_id)
    u = rng.random()
    encoding = (
        "cp1252"
        if u < mess["cp1252_share"]
        else ("utf-8-sig" if u < mess["cp1252_share"] + mess["bom_share"] else "utf-8")
    )
    newline = "\r\n" if encoding == "cp1252" or rng.random() < 0.3 else "\n"
    fmts = list(DATE_FORMATS)
    date_fmt = fmts[rng.integers(0, 3)]
    alt = [f for f in fmts if f != date_fmt][rng.integers(0, 2)]
    renamed = bool(rng.random() < mess["renamed_columns_share"])
    headers = {
        col: (variants[int(rng.integers(1, len(variants)))] if renamed else variants[0])
        for col, variants in HEADER_VARIANTS.items()
    }
    ident: tuple[str, ...] = ()
    if rng.random() < mess["identifying_columns_share"]:
        pick = rng.random(3) < 0.6
        pick[rng.integers(0, 3)] = True
        ident = tuple(c for c, k in zip(IDENTIFYING_COLUMNS, pick, strict=True) if k)
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return Style(
        encoding=encoding,
        newline=newline,
        date_fmt=date_fmt,
        alt_date_fmt=alt,
        xlsx_dates=["cell", "cell", *DATE_FORMATS][rng.integers(0, 5)],
        renamed=renamed,
        headers=headers,
        shuffle=renamed and bool(rng.random() < 0.8),
        short_labels=bool(rng.random() < 0.4),
        alt_labels=bool(rng.random() < 0.4),
        missing=MISSING_MARKERS[rng.integers(0, 4)],
        identifying=ident,
        case_id_style=int(rng.integers(0, 3)),
        case_id_prefix="".join(letters[i] for i in rng.integers(0, len(letters), 2)),
        instrument_case=["lower", "upper", "title"][rng.integers(0, 3)],
        curly=encoding == "cp1252" and bool(rng.random() < 0.7),
        order_seed=int(rng.integers(0, 2**31)),
    )


@lru_cache(maxsize=8)
def _programme_styles(seed: int, service_ids: tuple[str, ...], mess_key: str) -> dict[str, Style]:
    mess = json.loads(mess_key)
    styles = {sid: service_style(seed, sid, mess) for sid in service_ids}
    if len(service_ids) < 2:
        return styles
    rng = stream(seed, "style-force")
    ids = list(service_ids)

    def pick() -> Style:
        return styles[ids[int(rng.integers(0, len(ids)))]]

    if mess["cp1252_share"] > 0 and not any(s.encoding == "cp1252" for s in styles.values()):
        s = pick()
        s.encoding, s.newline, s.curly = "cp1252", "\r\n", True
    if mess["renamed_columns_share"] > 0 and not any(s.renamed for s in styles.values()):
        s = pick()
        s.renamed, s.shuffle = True, True
        s.headers = {c: v[1 + (len(c) % (len(v) - 1))] for c, v in HEADER_VARIANTS.items()}
    if mess["identifying_columns_share"] > 0 and not any(s.identifying for s in styles.values()):
        pick().identifying = IDENTIFYING_COLUMNS
    return styles


def programme_styles(seed: int, service_ids: list[str], mess: dict[str, Any]) -> dict[str, Style]:
    """Every service's style; a programme of two or more services has at least one service
    exporting Windows-1252, one with renamed columns and one with identifying columns."""
    return _programme_styles(seed, tuple(service_ids), json.dumps(mess, sort_keys=True))


def case_ids(style: Style, people: pd.DataFrame) -> list[str]:
    """Service-side IDs in the service's own format."""
    n = people["person"].to_numpy()
    if style.case_id_style == 0:
        return [f"{style.case_id_prefix}-{i + 101:05d}" for i in n]
    if style.case_id_style == 1:
        return [str(204_000 + 7 * i + 3) for i in n]
    return [f"YP{i + 1:04d}" for i in n]


def _label(style: Style, kind: str, code: str) -> str:
    long, short = VALUE_LABELS[kind][code]
    text = (
        short
        if (
            style.short_labels
            if kind in ("gender", "yesno", "referral_reason")
            else style.alt_labels
        )
        else long
    )
    if style.curly:
        text = text.replace("'", "’")
    return text


def _source_label(style: Style, code: str, v1: bool = False) -> str:
    text = SOURCE_LABELS[code][1 if (v1 or style.alt_labels) else 0]
    return text.replace("'", "’") if style.curly else text


def _order(style: Style, cols: list[str]) -> list[str]:
    if not style.shuffle:
        return cols
    rng = np.random.default_rng(style.order_seed)
    first = cols[:1]
    rest = list(np.asarray(cols[1:], dtype=object)[rng.permutation(len(cols) - 1)])
    return first + rest


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
) -> dict[str, dict[str, int]]:
    """The true figures a return for period ``p`` reports."""
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
            "group_work": int(
                rng.poisson(cal["group_sessions_per_spoke_month"] * spoke_days / 30.44)
            ),
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
    stats = {"returns": 0, "extracts": 0, "assessment_rows": 0, "training_rows": 0}
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
        values = period_values(world, svc, people, training, spokes, p)
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
        vals = {
            "case_id": ids[i],
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


# --------------------------------------------------------------------------- folder-level files

FIELDWORK: dict[str, dict[int, int]] = {
    "2013-14": {1: 45},
    "2014-15": {1: 37, 2: 60},
    "2015-16": {1: 18, 2: 30, 3: 36},
    "2016-17": {1: 8, 2: 14, 3: 28},
}
"""Interviews by evaluation year and phase: 97 in 2014-15 [V], 276 over the evaluation [V]."""
FIELDWORK_ROLES: dict[str, float] = {
    "spoke_worker": 0.25,
    "hub_manager": 0.12,
    "host_agency": 0.20,
    "partner_agency": 0.23,
    "young_person": 0.12,
    "strategic_lead": 0.08,
}


def _dmy(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def write_registers(sink: Sink, world: World) -> None:
    """``register/services.csv``, ``spokes.csv``, ``funding.csv`` (evaluation team, codes)."""
    s = world.services
    rows = [
        [
            r.service_id,
            r.hub_organisation,
            str(r.phase),
            _dmy(r.start_date),
            _dmy(r.funded_until),
            r.reporting,
            r.instrument,
        ]
        for r in s.itertuples()
    ]
    write_csv(sink.out_dir / "register/services.csv",
              ["service_id", "hub_organisation", "phase", "start_date", "funded_until", "reporting", "instrument"],
              rows, encoding="utf-8", newline="\n")  # fmt: skip
    sink.add("register/services.csv", "register")
    rows = [
        [
            r.spoke_id,
            r.service_id,
            r.area_code,
            r.area_name,
            r.host_agency,
            str(r.spoke_workers),
            _dmy(r.start_date),
        ]
        for r in world.spokes.itertuples()
    ]
    write_csv(sink.out_dir / "register/spokes.csv",
              ["spoke_id", "service_id", "area_code", "area_name", "host_agency", "spoke_workers", "start_date"],
              rows, encoding="utf-8", newline="\n")  # fmt: skip
    sink.add("register/spokes.csv", "register")
    rows = [
        [r.service_id, r.spoke_id, r.evaluation_year, r.funding_source, _dmy(r.funded_until)]
        for r in world.funding.itertuples()
    ]
    write_csv(sink.out_dir / "register/funding.csv",
              ["service_id", "spoke_id", "evaluation_year", "funding_source", "funded_until"],
              rows, encoding="utf-8", newline="\n")  # fmt: skip
    sink.add("register/funding.csv", "register")


def write_area_panel(sink: Sink, world: World, mess: dict[str, Any]) -> None:
    """``area_panel.csv``: every area × quarter, sorted by area code and quarter."""
    from analysis.synthesise.design import quarter_label

    rng = stream(world.seed, "area-panel-mess")
    names = dict(zip(world.areas["area_code"], world.areas["area_name"], strict=True))
    panel = world.panel.sort_values(["area_code", "quarter_index"], kind="stable")
    rows = []
    for j, r in enumerate(panel.itertuples()):
        value = str(int(r.cse_concerns))
        if rng.random() < mess["area_panel_missing"]:
            value = "x" if rng.random() < 0.5 else ""
            sink.event("area_panel_missing", file="area_panel.csv", row=j + 2, column="cse_concerns",
                       written=value, true=int(r.cse_concerns))  # fmt: skip
        rows.append([r.area_code, names[r.area_code], quarter_label(int(r.quarter_index)), value,
                     str(int(r.child_population))])  # fmt: skip
    write_csv(sink.out_dir / "area_panel.csv",
              ["area_code", "area_name", "quarter", "cse_concerns", "child_population"],
              rows, encoding="utf-8", newline="\n")  # fmt: skip
    sink.add("area_panel.csv", "area_panel")


def fieldwork_table() -> list[list[str]]:
    """Rows of ``fieldwork.csv`` (fixed: does not depend on the seed or scale)."""
    from analysis.synthesise.world import _largest_remainder

    rows = []
    weights = np.asarray(list(FIELDWORK_ROLES.values()))
    for year, phases in FIELDWORK.items():
        for phase, total in phases.items():
            for role, n in zip(FIELDWORK_ROLES, _largest_remainder(weights, total), strict=True):
                if n > 0:
                    rows.append([year, str(phase), role, str(int(n))])
    return rows


def write_fieldwork(sink: Sink) -> None:
    """``fieldwork.csv``."""
    write_csv(sink.out_dir / "fieldwork.csv",
              ["evaluation_year", "phase", "participant_role", "interviews"],
              fieldwork_table(), encoding="utf-8", newline="\n")  # fmt: skip
    sink.add("fieldwork.csv", "fieldwork")


def write_manifest(sink: Sink) -> None:
    """``manifest.csv``: every file written, sorted by path."""
    cols = ["file", "kind", "service_id", "period", "version", "received_date"]
    rows = [[m[c] for c in cols] for m in sorted(sink.manifest, key=lambda m: m["file"])]
    write_csv(sink.out_dir / "manifest.csv", cols, rows, encoding="utf-8", newline="\n")


def _clean_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return round(float(obj), 10)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(path: Path, obj: Any) -> None:
    """Write JSON deterministically (sorted keys, rounded floats, UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_clean_json(obj), indent=1, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def progress(msg: str) -> None:
    """One progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


__all__ = [
    "LAST_DAY",
    "Delivery",
    "Sink",
    "format_day",
    "plan_deliveries",
    "save_workbook_deterministic",
    "write_area_panel",
    "write_fieldwork",
    "write_json",
    "write_manifest",
    "write_registers",
    "write_service_files",
]
