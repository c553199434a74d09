"""How services write their returns: deterministic workbooks and CSV files, date and number formats, the labels and column headers of each template, and each service style of mess."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from analysis.core.labels import COUNT_WORDS
from analysis.synthesise.world import from_days, stream

FIXED_TIMESTAMP = datetime(2017, 9, 1, 0, 0, 0)
"""Document created/modified time and zip entry date of every workbook."""
_ZIP_DATE = (2017, 9, 1, 0, 0, 0)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_FORMATS: tuple[str, ...] = ("dmy_slash", "iso", "dmy_mon")
MISSING_MARKERS: tuple[str, ...] = ("", "Not recorded", "Not known", "n/a")

EXTRACT_COLUMNS: tuple[str, ...] = (
    "case_id", "post_id", "date_of_birth", "gender", "ethnicity", "sexuality", "disability",
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
    "post_id": ("post_id", "Spoke post", "Worker post", "Post ID", "Key worker post"),
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
        return COUNT_WORDS[value], True
    return f"{value} ", True


def post_as_written(
    rng: np.random.Generator, sink: Any, mess: dict[str, Any], rel: str, row: int, post: str
) -> str:
    """A spoke post ID as a service writes it: now and then one the roster does not list
    (``unknown_post_rate``; recorded, the cleaner quarantines the row)."""
    if rng.random() >= mess["unknown_post_rate"]:
        return post
    written = f"{post.split('-')[0]}-9-P9"  # services have at most three spokes: no such post
    sink.event("unknown_post", file=rel, row=row, column="post_id", written=written, true=post,
               service_id=post.split("-")[0])  # fmt: skip
    return written


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
