"""The programme-level files: the manifest, registers, area panel, fieldwork log and the truth beside them."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.synthesise.world import World, stream
from analysis.synthesise.write.formats import write_csv

if TYPE_CHECKING:
    from analysis.synthesise.write.returns import Sink


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
    write_posts(sink, world)
    rows = [
        [r.grant_holder, r.evaluation_year, str(r.amount_gbp)] for r in world.grants.itertuples()
    ]
    write_csv(sink.out_dir / "register/grants.csv", ["grant_holder", "evaluation_year", "amount_gbp"],
              rows, encoding="utf-8", newline="\n")  # fmt: skip
    sink.add("register/grants.csv", "register")


POSTS_COLUMNS: tuple[str, ...] = (
    "post_id", "service_id", "spoke_id", "area_code", "host_agency", "qualification",
    "funding", "co_funder", "recruitment_rounds", "advertised_date", "start_date", "end_date",
    "cse_time_share",
)  # fmt: skip
"""Columns of ``register/posts.csv``, the spoke workforce roster (data contract)."""


def write_posts(sink: Sink, world: World) -> None:
    """``register/posts.csv``: the roster of spoke posts, one row per post."""
    rows = [
        [
            r.post_id,
            r.service_id,
            r.spoke_id,
            r.area_code,
            r.host_agency,
            r.qualification,
            r.funding,
            r.co_funder,
            str(r.recruitment_rounds),
            _dmy(r.advertised_date),
            _dmy(r.start_date),
            _dmy(r.end_date) if r.end_date is not None else "",
            str(int(round(r.cse_time_share * 100))),
        ]
        for r in world.posts.itertuples()
    ]
    write_csv(sink.out_dir / "register/posts.csv", list(POSTS_COLUMNS), rows, encoding="utf-8",
              newline="\n")  # fmt: skip
    sink.add("register/posts.csv", "register")


def write_area_panel(sink: Sink, world: World, mess: dict[str, Any]) -> None:
    """``area_panel.csv``: every area × quarter, sorted by area code and quarter."""
    from analysis.core.calendar import quarter_label

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
