"""The spoke workforce roster (``register/posts.csv``), group-session records
(``groupwork/...``) and the extracts' ``post_id``: every row accounted for in the ledger, and
each broken input quarantined (or its file rejected) with a reason naming file, row and
column, as for the other inputs (``test_clean_bad.py``).

The inputs are the minimal raw folder (``tests/data/minimal``) plus a roster of its three
spoke posts and one period of group sessions, written here; each case changes one thing and
lists exactly the quarantine lines it adds.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from test_clean_bad import _run  # the bad-input runner: quarantine lines and ledger

from analysis.core.paths import TESTS_DIR

MINIMAL = TESTS_DIR / "data" / "minimal"
POSTS = "register/posts.csv"
GROUPS = "groupwork/S02/S02_2015-16Q2_groups.csv"
GRANTS = "register/grants.csv"
GRANTS_ROWS = [
    ["grant_holder", "evaluation_year", "amount_gbp"],
    ["S01", "2013-14", "80000"],
    ["S01", "2014-15", "120000"],
    ["S02", "2015-16", "150000"],
    ["evaluation", "2014-15", "40000"],
]
EXTRACT = "extracts/S02/S02_2015-16Q2_cases.csv"

POSTS_ROWS = [
    [
        "post_id",
        "service_id",
        "spoke_id",
        "area_code",
        "host_agency",
        "qualification",
        "funding",
        "co_funder",
        "recruitment_rounds",
        "advertised_date",
        "start_date",
        "end_date",
        "cse_time_share",
    ],
    [
        "S01-1-P1",
        "S01",
        "S01-1",
        "LA001",
        "police",
        "social_work",
        "programme_only",
        "",
        "2",
        "01/01/2014",
        "01/03/2014",
        "",
        "90",
    ],
    [
        "S01-1-P2",
        "S01",
        "S01-1",
        "LA001",
        "police",
        "youth_work",
        "part_funded",
        "police_crime_commissioner",
        "1",
        "01/01/2014",
        "01/05/2014",
        "31/12/2016",
        "70",
    ],
    [
        "S02-1-P1",
        "S02",
        "S02-1",
        "LA002",
        "multi_agency",
        "other",
        "programme_only",
        "",
        "3",
        "01/01/2015",
        "01/01/2015",
        "",
        "85",
    ],
]
GROUP_ROWS = [
    ["Session ref", "Date", "Spoke post", "Setting", "Young people attending"],
    ["G1", "12/01/2016", "S02-1-P1", "School", "25"],
    ["G2", "20/01/2016", "S02-1-P1", "Youth club", "eight"],
]


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _read(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [list(r) for r in csv.reader(fh)]


def make_raw(dest: Path) -> Path:
    """The minimal folder with a roster, a group-session file and post IDs in one extract."""
    shutil.copytree(MINIMAL, dest)
    _write(dest / POSTS, POSTS_ROWS)
    _write(dest / GROUPS, GROUP_ROWS)
    _write(dest / GRANTS, GRANTS_ROWS)
    rows = _read(dest / EXTRACT)
    _write(dest / EXTRACT, [[*rows[0], "Spoke post"], *[[*r, "S02-1-P1"] for r in rows[1:]]])
    with open(dest / "manifest.csv", "a", encoding="utf-8", newline="") as fh:
        fh.write(f"{POSTS},register,,,,\n{GRANTS},register,,,,\n")
        fh.write(f"{GROUPS},groupwork,S02,2015-16 Q2,,2016-03-15\n")
    return dest


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[set, Path]:
    base = tmp_path_factory.mktemp("base")
    lines, ledger = _run(make_raw(base / "raw"), base / "out")
    assert ledger["rejected"] == []
    return lines, base / "out"


def test_every_row_of_the_new_inputs_is_kept(baseline: tuple[set, Path]) -> None:
    lines, out = baseline
    assert not {line for line in lines if line[0] in (POSTS, GROUPS, GRANTS)}
    ledger = json.loads((out / "ledger.json").read_text("utf-8"))
    by_file = {f["file"]: f for f in ledger["files"]}
    assert by_file[POSTS]["read"] == by_file[POSTS]["kept"] == 3
    assert by_file[GROUPS]["read"] == by_file[GROUPS]["kept"] == 2
    posts = pd.read_parquet(out / "posts.parquet")
    assert list(posts["post_id"]) == ["S01-1-P1", "S01-1-P2", "S02-1-P1"]
    assert list(posts["vacancy_months"]) == [2, 4, 0]
    assert posts["cse_time_share"].tolist() == [0.9, 0.7, 0.85]
    groups = pd.read_parquet(out / "group_sessions.parquet")
    assert groups["attendees"].tolist() == [25, 8]  # "eight" is read as a count
    assert groups["setting"].tolist() == ["school", "youth_group"]
    assert set(groups["post_id"]) == {"S02-1-P1"}
    grants = pd.read_parquet(out / "grants.parquet")
    assert grants["amount_gbp"].sum() == 390000 and by_file[GRANTS]["kept"] == 4
    people = pd.read_parquet(out / "young_people.parquet")
    assert set(people.loc[people["service_id"] == "S02", "post_id"]) == {"S02-1-P1"}
    assert people.loc[people["service_id"] == "S01", "post_id"].isna().all()  # no column


def q(file: str, row: str, column: str, reason: str) -> tuple[str, ...]:
    """One expected quarantine line (file, sheet, row, column, reason)."""
    return (file, "", row, column, reason)


def _edit(path: str, row: int, column: int, value: str) -> Callable[[Path], None]:
    """Set one cell (file row number as a spreadsheet shows it, 0-based column)."""

    def apply(raw: Path) -> None:
        rows = _read(raw / path)
        rows[row - 1][column] = value
        _write(raw / path, rows)

    return apply


def _append(path: str, row: list[str]) -> Callable[[Path], None]:
    def apply(raw: Path) -> None:
        _write(raw / path, [*_read(raw / path), row])

    return apply


def _drop_column(path: str, column: int) -> Callable[[Path], None]:
    def apply(raw: Path) -> None:
        _write(raw / path, [[c for k, c in enumerate(r) if k != column] for r in _read(raw / path)])

    return apply


def _unlisted(raw: Path) -> None:
    manifest = (raw / "manifest.csv").read_text("utf-8").splitlines(keepends=True)
    (raw / "manifest.csv").write_text(
        "".join(line for line in manifest if not line.startswith(GROUPS)), "utf-8"
    )


CASES: dict[str, tuple[Callable[[Path], None], list[tuple[str, ...]]]] = {
    "post_unknown_spoke": (
        _append(
            POSTS,
            [
                "S01-9-P1",
                "S01",
                "S01-9",
                "LA001",
                "police",
                "other",
                "programme_only",
                "",
                "1",
                "01/01/2014",
                "01/02/2014",
                "",
                "80",
            ],
        ),
        [q(POSTS, "5", "spoke_id", "unknown spoke S01-9 (not kept from register/spokes.csv)")],
    ),
    "post_area_disagrees": (
        _edit(POSTS, 2, 3, "LA009"),
        [
            q(
                POSTS,
                "2",
                "area_code",
                "area_code differs from register/spokes.csv (LA001) for spoke S01-1",
            )
        ],
    ),
    "post_part_funded_without_co_funder": (
        _edit(POSTS, 3, 7, ""),
        [q(POSTS, "3", "co_funder", "a part-funded post must name its co-funder")],
    ),
    "post_programme_only_with_co_funder": (
        _edit(POSTS, 2, 7, "local_authority"),
        [q(POSTS, "2", "co_funder", "a programme-only post has no co-funder")],
    ),
    "post_ends_before_it_starts": (
        _edit(POSTS, 3, 11, "01/02/2014"),
        [q(POSTS, "3", "end_date", "end date is before the start date")],
    ),
    "post_unknown_qualification": (
        _edit(POSTS, 2, 5, "nursing"),
        [
            q(
                POSTS,
                "2",
                "qualification",
                "qualification: not one of social_work, youth_work, health, other",
            )
        ],
    ),
    "post_bad_id": (
        _edit(POSTS, 3, 0, "S01-1-7"),
        [
            q(
                POSTS,
                "3",
                "post_id",
                "post_id must look like S01-1-P1 (the spoke's ID, -P, a number)",
            )
        ],
    ),
    "post_listed_twice": (
        _append(POSTS, POSTS_ROWS[1]),
        [
            q(
                POSTS,
                r,
                "post_id",
                "post_id S01-1-P1 appears in more than one row of posts.csv (rows 2, 5)",
            )
            for r in ("2", "5")
        ],
    ),
    "group_unknown_post": (
        _edit(GROUPS, 2, 2, "S02-1-P7"),
        [
            q(
                GROUPS,
                "2",
                "post_id",
                "unknown spoke post S02-1-P7 (not kept from register/posts.csv)",
            )
        ],
    ),
    "group_post_of_another_service": (
        _edit(GROUPS, 3, 2, "S01-1-P1"),
        [q(GROUPS, "3", "post_id", "spoke post S01-1-P1 belongs to service S01")],
    ),
    "group_post_missing": (
        _edit(GROUPS, 3, 2, ""),
        [q(GROUPS, "3", "post_id", "post_id is required but missing: which spoke post ran it?")],
    ),
    "group_attendance_missing": (
        _edit(GROUPS, 2, 4, "n/a"),
        [q(GROUPS, "2", "attendees", "attendees is required but missing")],
    ),
    "group_attendance_zero": (
        _edit(GROUPS, 2, 4, "0"),
        [q(GROUPS, "2", "attendees", "attendees: 0 is outside the allowed range 1 or more")],
    ),
    "group_attendance_not_a_number": (
        _edit(GROUPS, 2, 4, "a class"),
        [
            q(
                GROUPS,
                "2",
                "attendees",
                "attendees: not a whole number: counts must be digits or English words up to "
                "twenty",
            )
        ],
    ),
    "group_session_outside_period": (
        _edit(GROUPS, 3, 1, "20/11/2015"),
        [q(GROUPS, "3", "session_date", "session date is outside 2015-16 Q2")],
    ),
    "group_session_after_received": (
        _edit(GROUPS, 3, 1, "31/03/2016"),
        [q(GROUPS, "3", "session_date", "session date is after the file was received (future)")],
    ),
    "group_session_listed_twice": (
        _edit(GROUPS, 3, 0, "G1"),
        [
            q(
                GROUPS,
                r,
                "session_id",
                "the same session ID appears in 2 rows of this file (rows 2, 3); cannot tell "
                "which is right",
            )
            for r in ("2", "3")
        ],
    ),
    "group_unknown_setting": (
        _edit(GROUPS, 2, 3, "Church hall"),
        [
            q(
                GROUPS,
                "2",
                "setting",
                "setting: unknown category; expected one of: other, school, youth_group",
            )
        ],
    ),
    "group_missing_column": (
        _drop_column(GROUPS, 4),
        [
            q(
                GROUPS,
                "",
                "",
                "file rejected: missing required column(s): attendees (columns found: "
                "session_id, session_date, post_id, setting)",
            )
        ],
    ),
    "group_not_in_manifest": (
        _unlisted,
        [
            q(
                GROUPS,
                "",
                "",
                "file rejected: not listed in manifest.csv with a received date: add it to the "
                "delivery log",
            )
        ],
    ),
    "grant_unknown_holder": (
        _edit(GRANTS, 3, 0, "S07"),
        [
            q(
                GRANTS,
                "3",
                "grant_holder",
                "unknown grant holder S07 (a service in register/services.csv or evaluation)",
            )
        ],
    ),
    "grant_year_outside_the_grants": (
        _edit(GRANTS, 4, 1, "2019-20"),
        [
            q(
                GRANTS,
                "4",
                "evaluation_year",
                "evaluation_year: not one of 2013-14, 2014-15, 2015-16, 2016-17, 2017-18, 2018-19",
            )
        ],
    ),
    "grant_negative_amount": (
        _edit(GRANTS, 2, 2, "-5"),
        [
            q(
                GRANTS,
                "2",
                "amount_gbp",
                "amount_gbp: negative count (-5); counts are whole numbers ≥ 0",
            )
        ],
    ),
    "grant_listed_twice": (
        _append(GRANTS, GRANTS_ROWS[2]),
        [
            q(GRANTS, r, "grant_holder", "grant to S01 for 2014-15 appears in more than one row")
            for r in ("3", "6")
        ],
    ),
    "extract_unknown_post": (
        _edit(EXTRACT, 3, 18, "S02-1-P4"),  # B-2, who has no assessment
        [
            q(
                EXTRACT,
                "3",
                "post_id",
                "unknown spoke post S02-1-P4 (not kept from register/posts.csv)",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case: str, baseline: tuple[set, Path], tmp_path: Path) -> None:
    change, expected = CASES[case]
    raw = make_raw(tmp_path / "raw")
    change(raw)
    lines, ledger = _run(raw, tmp_path / "out")
    assert lines - baseline[0] == set(expected)
    rejected = {r["file"] for r in ledger["rejected"]}
    assert rejected == {f for f, _, _, _, reason in expected if reason.startswith("file rejected")}
    for line in ledger["files"]:
        assert line["read"] == line["kept"] + line["quarantined"] + line["superseded"], line


def test_a_post_quarantined_in_the_roster_keeps_its_young_people(tmp_path: Path) -> None:
    """A roster row with a problem loses the link to its post, not the young people and
    sessions that name it: they are kept with no post, and a note says why."""
    raw = make_raw(tmp_path / "raw")
    _edit(POSTS, 4, 7, "local_authority")(raw)  # S02-1-P1 programme-only with a co-funder
    lines, ledger = _run(raw, tmp_path / "out")
    assert {line for line in lines if line[0] != POSTS} == {
        line for line in _run(make_raw(tmp_path / "raw2"), tmp_path / "out2")[0] if line[0] != POSTS
    }
    notes = [n for n in ledger["notes"] if "S02-1-P1" in n["note"]]
    assert {n["file"] for n in notes} == {GROUPS, EXTRACT}
    groups = pd.read_parquet(tmp_path / "out" / "group_sessions.parquet")
    assert len(groups) == 2 and groups["post_id"].isna().all()


def test_without_a_roster_post_ids_are_left_out_and_noted(tmp_path: Path) -> None:
    raw = make_raw(tmp_path / "raw")
    (raw / POSTS).unlink()
    manifest = (raw / "manifest.csv").read_text("utf-8").replace(f"{POSTS},register,,,,\n", "")
    (raw / "manifest.csv").write_text(manifest, "utf-8")
    lines, ledger = _run(raw, tmp_path / "out")
    notes = {n["note"] for n in ledger["notes"]}
    assert "missing: no spoke workforce roster" in notes
    assert any(n.startswith("post IDs in the case extracts cannot be checked") for n in notes)
    groups = pd.read_parquet(tmp_path / "out" / "group_sessions.parquet")
    assert len(groups) == 2 and groups["post_id"].isna().all()
    assert not {line for line in lines if line[0] == GROUPS}
