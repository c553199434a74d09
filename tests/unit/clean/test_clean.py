"""The cleaner: parsing utilities, ledger, pseudonymisation, harmonisation, schemas, and
end-to-end runs on the hand-made minimal folder and on a small synthetic programme."""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.clean import harmonise, ledger, pseudonymise, returns
from analysis.clean.pipeline import clean_returns
from analysis.core import schemas
from analysis.core.paths import TESTS_DIR
from analysis.runner.cli import main as cli_main

DATA = TESTS_DIR / "data"
MINIMAL = DATA / "minimal"
PLANTED = {
    "name": "Zelda Quimbyfox",
    "dob_text": "14/07/2001",
    "dob_iso": "2001-07-14",
    "postcode": "ZZ9 9QX",
    "case_id": "QZ-CASE-7731",
    "note": "riverside arcade",
}


# ============================================================================ parsing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" 12 ", 12), ("twelve", 12), ("Twenty", 20), (3.0, 3), (7, 7), ("1,200", 1200),
     ("", None), ("n/a", None), ("Not Known", None), ("NOT RECORDED", None), (None, None),
     ("-3", -3)],
)  # fmt: skip
def test_parse_count(raw: object, expected: int | None) -> None:
    assert returns.parse_count(raw) == expected


@pytest.mark.parametrize("raw", ["twenty-one", "12.5", "a dozen", "1 2", 2.5, "12a", True])
def test_parse_count_rejects(raw: object) -> None:
    with pytest.raises(returns.CellError):
        returns.parse_count(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("03/04/2015", date(2015, 4, 3)), ("2015-04-03", date(2015, 4, 3)),
     ("03-Apr-2015", date(2015, 4, 3)), ("3/4/2015", date(2015, 4, 3)),
     ("Not recorded", None), ("", None)],
)  # fmt: skip
def test_parse_date(raw: str, expected: date | None) -> None:
    assert returns.parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("04/13/2015", "month-first"), ("31/02/2015", "calendar"), ("2015/04/03", "format"),
     ("03-Foo-2015", "month"), ("3/4/15", "format"), (42000, "number")],
)  # fmt: skip
def test_parse_date_rejects(raw: object, reason: str) -> None:
    with pytest.raises(returns.CellError, match=reason):
        returns.parse_date(raw)


def test_headers_and_labels() -> None:
    assert returns.normalise_header("D.O.B.") == "d_o_b"
    assert returns.normalise_header("\ufeffDate of birth ") == "date_of_birth"
    assert returns.normalise_label("Children\u2019s  Social Care") == "childrens_social_care"


def test_decode_text_encodings(tmp_path: Path) -> None:
    text = "a,b\nJos\u00e9,\u00a35\n"
    for enc, bom in (("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes(bom + text.encode(enc))
        table = returns.read_csv_table(path, path.name)
        assert table.header == ["a", "b"]
        assert table.rows == [(2, {"a": "Jos\u00e9", "b": "\u00a35"})]


@given(st.integers(min_value=0, max_value=10**6))
def test_parse_count_roundtrip(n: int) -> None:
    assert returns.parse_count(f" {n} ") == n
    assert returns.parse_count(float(n)) == n


# ============================================================================ ledger


def test_ledger_balances_and_masks() -> None:
    led = ledger.Ledger()
    led.read("f.csv", "", [2, 3, 4, 5], blank=1)
    led.keep("f.csv", "", 2)
    led.keep("f.csv", "", 3)
    led.quarantine_row("f.csv", "", 3, "date_of_birth", "01/01/2001", "age out of range")
    led.quarantine_row("f.csv", "", 3, "gender", "Fmale", "unknown gender")
    led.keep("f.csv", "", 4)
    led.supersede("f.csv", "", 4, "superseded")
    assert led.unbalanced()  # row 5 undecided
    led.keep("f.csv", "", 5)
    led.check()
    line = led.lines[("f.csv", "")]
    assert line.as_dict() == {"read": 4, "kept": 2, "quarantined": 1, "superseded": 1, "blank": 1}
    text = led.quarantine_csv()
    assert "01/01/2001" not in text and "Fmale" not in text  # no value is ever stored
    assert "[date-like text; 10 chars; #" in text and "[text; 5 chars; #" in text


def test_ledger_fails_when_unbalanced() -> None:
    led = ledger.Ledger()
    led.read("f.csv", "", [2, 3])
    led.keep("f.csv", "", 2)
    with pytest.raises(ledger.LedgerError, match="f.csv"):
        led.check()


def test_reject_file_quarantines_registered_rows() -> None:
    led = ledger.Ledger()
    led.read("w.xlsx", "Cover", [2, 3])
    led.keep("w.xlsx", "Cover", 2)
    led.reject_file("w.xlsx", "bad")
    led.check()
    assert led.lines[("w.xlsx", "Cover")].quarantined == 2
    assert json.loads(led.to_json())["rejected"] == [{"file": "w.xlsx", "reason": "bad"}]


# ============================================================================ pseudonymise


def test_person_key_is_keyed_and_stable() -> None:
    k1, k2 = pseudonymise.synthetic_key(1), pseudonymise.synthetic_key(2)
    a = pseudonymise.person_key(k1, "S01", "X-1")
    assert a == pseudonymise.person_key(k1, "S01", " X-1 ")
    assert a != pseudonymise.person_key(k2, "S01", "X-1")
    assert a != pseudonymise.person_key(k1, "S02", "X-1")
    assert len(a) == 20 and "X-1" not in a


def test_real_key_sources(tmp_path: Path) -> None:
    with pytest.raises(pseudonymise.MissingKeyError, match="keygen.*HUBSPOKE_KEY_FILE"):
        pseudonymise.real_key({})
    with pytest.raises(pseudonymise.UnsafeKeyError, match="environment"):
        pseudonymise.real_key({"HUBSPOKE_PSEUDONYM_KEY": "x" * 40})
    kf = tmp_path / "key"
    key = pseudonymise.generate_key()
    kf.write_bytes(key + b"\n")
    kf.chmod(0o600)
    assert pseudonymise.real_key({"HUBSPOKE_KEY_FILE": str(kf)}) == key
    with pytest.raises(pseudonymise.MissingKeyError, match="not a readable file"):
        pseudonymise.real_key({"HUBSPOKE_KEY_FILE": str(tmp_path / "nope")})


def test_age_at() -> None:
    assert pseudonymise.age_at(date(2001, 7, 14), date(2015, 7, 13)) == 13
    assert pseudonymise.age_at(date(2001, 7, 14), date(2015, 7, 14)) == 14


# ============================================================================ harmonise


@pytest.mark.parametrize(
    ("instrument", "raw", "score", "band"),
    [("seraf", 0, 1.0, "low"), ("seraf", 10, 2 / 3, "low"), ("seraf", 11, 19 / 30, "medium"),
     ("seraf", 16, 14 / 30, "high"), ("seraf", 45, 0.0, "high"),
     ("star5", 1, 0.0, "high"), ("star5", 3, 0.5, "medium"), ("star5", 5, 1.0, "low"),
     ("star10", 4, 1 / 3, "medium"), ("star10", 7, 2 / 3, "low"),
     ("risk3", 1, 5 / 6, "low"), ("risk3", 2, 0.5, "medium"), ("risk3", 3, 1 / 6, "high"),
     ("bespoke", 0, 0.0, "high"), ("bespoke", 50, 0.5, "medium"), ("bespoke", 100, 1.0, "low")],
)  # fmt: skip
def test_mapping_table(instrument: str, raw: float, score: float, band: str) -> None:
    got_score, got_band = harmonise.map_score(instrument, raw)
    assert got_score == pytest.approx(score)
    assert got_band == band


def test_mapping_version_and_errors() -> None:
    assert harmonise.MAPPING_VERSION == "1.0"
    for inst, raw in (("star5", 6), ("bespoke", 101), ("seraf", -1), ("risk3", 1.5), ("none", 1)):
        with pytest.raises(ValueError):
            harmonise.map_score(inst, raw)


@given(st.sampled_from(["star5", "star10", "bespoke", "seraf"]), st.floats(0, 1))
def test_mapping_monotone_and_bounded(instrument: str, u: float) -> None:
    lo, hi = harmonise.score_range(instrument)
    hi = 40.0 if instrument == "seraf" else hi
    a, b = lo + u * (hi - lo), lo + min(1.0, u + 0.1) * (hi - lo)
    sa, sb = harmonise.map_score(instrument, a)[0], harmonise.map_score(instrument, b)[0]
    assert 0.0 <= sa <= 1.0
    # SERAF counts risk (higher = worse); the others count wellbeing (higher = better)
    assert (sb <= sa) if instrument == "seraf" else (sb >= sa)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("2014-15", date(2014, 9, 1), date(2015, 8, 31)),
     ("2015-16 Q2", date(2015, 12, 1), date(2016, 2, 29)),
     ("2015-16Q4", date(2016, 6, 1), date(2016, 8, 31))],
)  # fmt: skip
def test_parse_period(text: str, start: date, end: date) -> None:
    p = harmonise.parse_period(text)
    assert (p.start, p.end) == (start, end)
    assert harmonise.quarter_index("2012-13 Q1") == 1
    assert harmonise.quarter_index("2016-17 Q4") == 20


def test_resolve_people_rule() -> None:
    cp = pd.DataFrame(
        {
            "person_key": ["p", "p", "p", "q"],
            "service_id": ["S01"] * 4,
            "period": ["2015-16 Q3", "2015-16 Q1", "2015-16 Q2", "2015-16 Q1"],
            "received_date": pd.to_datetime(
                ["2016-06-01", "2015-12-01", "2016-03-01", "2015-12-01"]
            ),
            "gender": [None, None, "female", "male"],
            "ethnicity": ["asian", "asian", None, None],
            "age_at_referral": pd.array([15, 15, 15, 12], dtype="Int64"),
            "closure_month": pd.to_datetime([None, None, "2016-02-01", None]),
            "closure_reason": [None, None, "planned_end", None],
        }
    )
    before = cp.copy()
    yp = harmonise.resolve_people(cp)
    pd.testing.assert_frame_equal(cp, before)  # pure
    p = yp.set_index("person_key").loc["p"]
    assert p["first_period"] == "2015-16 Q1" and p["last_period"] == "2015-16 Q3"
    assert p["gender"] == "female" and p["ethnicity"] == "asian"
    assert pd.isna(p["closure_month"])  # open again in the latest extract
    assert list(yp["person_key"]) == ["p", "q"]


def test_person_conflicts() -> None:
    cp = pd.DataFrame(
        {"person_key": ["p", "p", "q"], "service_id": ["S01"] * 3,
         "age_at_referral": [14, 15, 12], "referral_month": [None, None, None]}
    )  # fmt: skip
    c = harmonise.person_conflicts(cp)
    assert list(c["person_key"]) == ["p"] and list(c["column"]) == ["age_at_referral"]


def test_every_schema_accepts_its_empty_frame() -> None:
    for name in schemas.SCHEMAS:
        out = schemas.conform(name, schemas.empty_frame(name))
        assert list(out.columns) == list(schemas.SCHEMAS[name].columns)


# ============================================================================ end to end


@pytest.fixture(scope="module")
def minimal_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("minimal") / "out"
    clean_returns(MINIMAL, out)
    return out


def test_minimal_outputs(minimal_out: Path) -> None:
    for name in schemas.SCHEMAS:
        frame = pd.read_parquet(minimal_out / f"{name}.parquet")
        assert list(frame.columns) == list(schemas.SCHEMAS[name].columns), name
    led = json.loads((minimal_out / "ledger.json").read_text("utf-8"))
    assert led["rejected"] == []
    for line in led["files"]:
        assert line["read"] == line["kept"] + line["quarantined"] + line["superseded"]
    ret = pd.read_parquet(minimal_out / "returns.parquet").set_index("return_id")
    assert ret.loc["S01_2015-16_v1", "superseded"] and not ret.loc["S01_2015-16_v2", "superseded"]
    assert set(ret["template_version"]) == {"v1", "v2"}
    yp = pd.read_parquet(minimal_out / "young_people.parquet")
    assert len(yp) == 6 and yp["gender"].notna().sum() == 6  # "Not known" filled by a later extract
    acts = pd.read_parquet(minimal_out / "activities.parquet")
    v1 = acts[(acts["return_id"] == "S01_2014-15_v1") & (acts["activity"] == "consultations")]
    assert v1["sessions"].isna().all()  # v1 template has no consultations row: missing, not 0
    a = pd.read_parquet(minimal_out / "assessments.parquet")
    star = a[a["instrument"] == "star5"].sort_values("assessment_month")
    assert list(star["raw_score"]) == [2.5, 4.0]  # mean of recorded areas ("n/a" skipped)
    assert (a["mapping_version"] == harmonise.MAPPING_VERSION).all()
    rec = pd.read_parquet(minimal_out / "reconciliation.parquet")
    assert set(rec["measure"]) == {"referrals", "new", "open", "closed"}
    assert (
        rec["difference"].dropna() == (rec["return_total"] - rec["extract_total"]).dropna()
    ).all()


def test_no_identifying_value_in_any_output(minimal_out: Path) -> None:
    blob = b"".join(p.read_bytes() for p in sorted(minimal_out.rglob("*")) if p.is_file())
    for value in PLANTED.values():
        assert value.encode() not in blob, value
        assert value.lower().encode() not in blob.lower(), value
    # all case IDs of the minimal folder too
    for value in ("A-002", "A-003", "A-004", "B-1,", "Pat Example", "ZZ1 1AA"):
        assert value.encode() not in blob, value


def test_deterministic(minimal_out: Path, tmp_path: Path) -> None:
    clean_returns(MINIMAL, tmp_path / "again")
    for p in sorted(minimal_out.iterdir()):
        assert p.read_bytes() == (tmp_path / "again" / p.name).read_bytes(), p.name


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    assert cli_main(["clean", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli_main(["clean", str(MINIMAL), str(blocker / "out")]) == 2
    assert "cannot write to the output folder" in capsys.readouterr().err
    params = tmp_path / "params.yaml"
    params.write_text("data:\n  source: real\nclean:\n  min_age: 8\n  max_age: 25\n")
    monkeypatch.delenv("HUBSPOKE_PSEUDONYM_KEY", raising=False)
    key_file = os.environ["HUBSPOKE_KEY_FILE"]
    monkeypatch.delenv("HUBSPOKE_KEY_FILE")
    assert cli_main(["clean", str(MINIMAL), str(tmp_path / "o"), "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert "HUBSPOKE_KEY_FILE" in err and "keygen" in err and err.count("\n") == 1
    monkeypatch.setenv("HUBSPOKE_KEY_FILE", key_file)
    assert cli_main(["clean", str(MINIMAL), str(tmp_path / "o"), "--params", str(params)]) == 0


# ============================================================================ synthetic


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    synthesise = pytest.importorskip("analysis.synthesise")
    base = tmp_path_factory.mktemp("synth")
    raw, out = base / "raw", base / "out"
    synthesise.synthesise_programme(raw, seed=11, scale=0.15, params_file=None)
    clean_returns(raw, out)
    return raw, out


def test_synthetic_every_row_accounted(synthetic: tuple[Path, Path]) -> None:
    raw, out = synthetic
    led = json.loads((out / "ledger.json").read_text("utf-8"))
    assert led["rejected"] == []
    for line in led["files"]:
        assert line["read"] == line["kept"] + line["quarantined"] + line["superseded"]
    mess = json.loads((raw / "_truth" / "mess.json").read_text("utf-8"))["events"]
    blank = sum(1 for e in mess if e["kind"] == "blank_row")
    blank += sum(len(e["rows"]) for e in mess if e["kind"] == "blank_rows")
    assert led["totals"]["blank"] == blank
    with open(out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        q = list(csv.DictReader(fh))
    where = {(r["file"], r["row"]) for r in q}
    conflict_files = {r["file"] for r in q if r["reason"].startswith("conflicting records")}
    for e in mess:
        if e["kind"] == "dob_typo":
            # The typo contradicts the young person's other extracts: whichever extract
            # came later is quarantined (the earliest establishes the record).
            service_folder = e["file"].rsplit("/", 1)[0]
            assert (e["file"], str(e["row"])) in where or any(
                f.startswith(service_folder) for f in conflict_files
            ), e
    # A young person's record naming a post the roster does not list is quarantined there.
    unknown_posts = [e for e in mess if e["kind"] == "unknown_post"]
    by_row = {(r["file"], r["row"]): r["reason"] for r in q if r["column"] == "post_id"}
    for e in unknown_posts:
        assert by_row[(e["file"], str(e["row"]))].startswith("unknown spoke post"), e
    # A corrected characteristic is resolved by the dedupe rule, not quarantined.
    changes = [e for e in mess if e["kind"] == "attribute_change"]
    assert changes, "the generator should inject at least one attribute correction"
    quarantined_changes = [e for e in changes if (e["file"], str(e["row"])) in where]
    assert len(quarantined_changes) < len(changes)
    missing = {f"{e['service_id']} {e['period']}" for e in mess if e["kind"] == "missing_delivery"}
    assert missing <= set(led["missing_returns"])
    ret = pd.read_parquet(out / "returns.parquet")
    resub = [e for e in mess if e["kind"] == "resubmission"]
    for e in resub:
        assert ret.loc[ret["source_file"] == e["file"], "superseded"].all()


def test_synthetic_text_numbers_read(synthetic: tuple[Path, Path]) -> None:
    raw, out = synthetic
    mess = json.loads((raw / "_truth" / "mess.json").read_text("utf-8"))["events"]
    young = pd.read_parquet(out / "young_people_counts.parquet")
    for e in mess:
        if e["kind"] == "text_number" and e.get("sheet") == "Young people" and e["readable"]:
            rid = Path(e["file"]).stem
            got = young.loc[young["return_id"] == rid, "young_people"].dropna()
            assert e["true"] in set(got), e
    with open(out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        unread = {(r["file"], r["row"]) for r in csv.DictReader(fh) if "not a" in r["reason"]}
    readable = {
        (e["file"], str(e["row"]))
        for e in mess
        if e["kind"] == "text_number" and e["readable"] and "row" in e
    }
    assert readable and not readable & unread


def test_synthetic_no_identifying_values(synthetic: tuple[Path, Path]) -> None:
    raw, out = synthetic
    planted: set[str] = set()
    for path in sorted((raw / "extracts").rglob("*.csv")):
        table = returns.read_csv_table(path, path.name, returns_aliases())
        for _, values in table.rows:
            for col in ("case_id", "name", "postcode", "notes", "date_of_birth"):
                v = returns.cell_text(values.get(col))
                if len(v) >= 6 and not returns.is_missing(v):
                    planted.add(v)
    assert planted
    blob = b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())
    leaked = [v for v in planted if v.encode() in blob]
    assert leaked == []


def returns_aliases() -> dict[str, str]:
    from analysis.core.labels import EXTRACT_COLUMNS

    return EXTRACT_COLUMNS


def test_synthetic_scores_and_keys(synthetic: tuple[Path, Path]) -> None:
    _, out = synthetic
    a = pd.read_parquet(out / "assessments.parquet")
    assert len(a) and a["score"].between(0, 1).all()
    yp = pd.read_parquet(out / "young_people.parquet")
    assert set(a["person_key"]) <= set(yp["person_key"])
    assert not yp.duplicated(["service_id", "person_key"]).any()
    shutil.rmtree(out / "unused", ignore_errors=True)
