"""The shared resubmission rule (core/rules.py), formula neutralising in every CSV and the
completion marker (core/io.py), and what the cleaner may say about a value (clean/masking)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.clean.masking import masked, normalise_case_id, shown
from analysis.core import rules
from analysis.core.errors import UserError
from analysis.core.io import (
    check_complete,
    csv_text,
    neutralise_cell,
    replace_folder,
    staging_folder,
    write_complete_marker,
)


def test_the_highest_version_wins_then_the_latest_received_date() -> None:
    frame = pd.DataFrame(
        {
            "service_id": ["S01", "S01", "S01", "S02", "S02"],
            "period": ["2015-16"] * 3 + ["2015-16 Q2"] * 2,
            "version": [1, 2, 1, None, None],
            "received_date": pd.to_datetime(
                ["2016-10-01", "2016-09-20", "2016-12-01", "2016-03-15", "2016-03-20"]
            ),
            "file": ["v1", "v2", "v01", "cases", "Cases"],
        }
    )
    flags = rules.superseded_flags(frame, group=("service_id", "period"))
    assert flags.tolist() == [True, False, True, True, False]
    key = rules.submission_order
    assert key(2, date(2016, 9, 20), "a") > key(1, date(2016, 12, 1), "b")
    assert key(1, date(2016, 12, 1), "a") > key(1, date(2016, 10, 1), "b")
    assert key(None, None, "x") == (0, date.min, "x")


@given(st.text(max_size=30))
def test_no_neutralised_cell_starts_a_formula(text: str) -> None:
    out = neutralise_cell(text)
    if out.startswith(("=", "@", "\t", "\r", "+", "-")):
        float(out.replace(",", "").rstrip("%"))  # only a plain number may


def test_csv_text_neutralises_cells_and_labels_but_not_numbers() -> None:
    frame = pd.DataFrame(
        {"=label": ['=HYPERLINK("x")', "@SUM(1)", "-0.5", "ok"], "n": [-1, 2, 3, 4]},
        index=pd.Index(["+cmd", "b", "c", "d"], name="row"),
    )
    rows = list(csv.reader(io.StringIO(csv_text(frame))))
    assert rows[0] == ["row", "'=label", "n"]
    assert rows[1] == ["'+cmd", '\'=HYPERLINK("x")', "-1"]
    assert rows[2][1] == "'@SUM(1)" and rows[3][1] == "-0.5"


def test_a_folder_is_complete_only_with_its_marker_and_its_files(tmp_path) -> None:
    target = tmp_path / "processed"
    staging = staging_folder(target)
    (staging / "a.parquet").write_bytes(b"one")
    write_complete_marker(staging, "clean")
    replace_folder(staging, target, owned=["a.parquet"])
    check_complete(target)
    (target / "a.parquet").write_bytes(b"two")
    with pytest.raises(UserError, match="mixes outputs of different runs: a.parquet"):
        check_complete(target)


def test_masked_values_say_type_length_and_a_keyed_hash_only() -> None:
    key = b"k" * 32
    assert masked("Zelda Quimbyfox", key).startswith("[text; 15 chars; #")
    assert masked("14/07/2001", key).startswith("[date-like text; 10 chars; #")
    assert masked(12.0, key).startswith("[number; 2 chars; #")
    assert masked("", key) == ""
    assert masked("x", key) == masked("x", key) != masked("x", b"other" * 8)
    assert shown("v3", rules_pattern()) == "v3"
    assert shown("Mrs Okafor", rules_pattern(), "version") == "an unlisted version"
    assert normalise_case_id(" ab\u00a0012 ") == "AB012"


def rules_pattern():
    from analysis.clean.masking import TEMPLATE_VERSION

    return TEMPLATE_VERSION
