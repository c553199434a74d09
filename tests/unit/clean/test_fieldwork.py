"""Coded fieldwork (``fieldwork/*.qdpx``): the REFI-QDA reader, the generator's projects
round-tripping through the cleaner, redaction, and every bad input handled with a clear
message, the ledger naming what was set aside and nothing identifying said.

The projects are built here, at test time, by the generator's writer
(:mod:`analysis.synthesise.write.qdpx`) from fieldwork simulated for the two services of
the minimal raw folder (``tests/data/minimal``); the public example is the hand-authored
project of a REFI-QDA implementation (``tests/data/qdpx/``), packed into a ``.qdpx`` here.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.clean import limits
from analysis.clean.pipeline import clean_returns
from analysis.clean.qdpx import open_qdpx
from analysis.clean.redact import REGISTER_ENV, Redactor, Register
from analysis.clean.returns import FileRejected
from analysis.core import labels as L
from analysis.core.paths import TESTS_DIR
from analysis.synthesise.fieldwork import CODEBOOK, simulate_fieldwork
from analysis.synthesise.write.qdpx import project_xml, zip_entries
from analysis.synthesise.write.registers import fieldwork_table

MINIMAL = TESTS_DIR / "data" / "minimal"
PUBLIC = TESTS_DIR / "data" / "qdpx" / "refi_qda_hand_authored"
FILE = "fieldwork/fieldwork_2014-15.qdpx"
YEAR = "2014-15"
SEED = 7


def _world(phases: dict[str, int]) -> SimpleNamespace:
    services = pd.DataFrame({"service_id": list(phases), "phase": list(phases.values())})
    hosts = ["police", "childrens_social_care", "health", "multi_agency"]
    spokes = pd.DataFrame(
        {
            "spoke_id": [f"{s}-1" for s in phases],
            "service_id": list(phases),
            "host_agency": [hosts[i % 4] for i in range(len(phases))],
        }
    )
    return SimpleNamespace(seed=SEED, services=services, spokes=spokes)


@pytest.fixture(scope="module")
def fieldwork():
    """Fieldwork of the minimal folder's services (S01 phase 1, S02 phase 2)."""
    return simulate_fieldwork(_world({"S01": 1, "S02": 2}))


def _register_file(folder: Path, fw) -> Path:
    path = folder / "register.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "text"])
        w.writerows(fw.register)
    return path


def _xml_and_texts(fw) -> tuple[str, dict[str, str]]:
    mine = [s for s in fw.sources if s.evaluation_year == YEAR]
    xml, texts = project_xml(SEED, f"Fieldwork {YEAR}", mine)
    return xml.decode("utf-8"), texts


def _pack(xml: str | bytes, texts: dict[str, str]) -> bytes:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return zip_entries(
        [("project.qde", data)] + [(p, t.encode()) for p, t in sorted(texts.items())]
    )


def _run(tmp_path: Path, monkeypatch, fw, data: bytes | None, register: bool = True):
    raw = tmp_path / "raw"
    shutil.copytree(MINIMAL, raw)
    if data is not None:
        (raw / "fieldwork").mkdir()
        (raw / FILE).write_bytes(data)
    if register:
        monkeypatch.setenv(REGISTER_ENV, str(_register_file(tmp_path, fw)))
    else:
        monkeypatch.delenv(REGISTER_ENV, raising=False)
    out = tmp_path / "out"
    clean_returns(raw, out)
    with open(out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        lines = [r for r in csv.DictReader(fh) if r["file"].startswith("fieldwork/")]
    ledger = json.loads((out / "ledger.json").read_text("utf-8"))
    return out, lines, ledger


def _assert_nothing_identifying(out: Path, fw) -> None:
    """No planted name, place, school, date, phone number or postcode in any output."""
    texts = [(out / n).read_text("utf-8") for n in ("quarantine.csv", "ledger.json")]
    quotes = pd.read_parquet(out / "fieldwork_quotes.parquet")
    texts.append("\n".join(quotes.astype(str).to_numpy().ravel()))
    whole = "\n".join(texts)
    planted = [v for _, v in fw.register] + [v for vs in fw.planted.values() for v in vs]
    parts = {p for k, v in fw.register if k == "person" for p in v.split()}
    leaked = [v for v in [*planted, *parts] if v in whole]
    assert not leaked, leaked[:5]


# ----------------------------------------------------------------------------- generator


def test_interview_counts_agree_with_the_fieldwork_log() -> None:
    fw = simulate_fieldwork(
        _world({f"S{i:02d}": p for i, p in enumerate([1] * 3 + [2] * 5 + [3] * 8, 1)})
    )
    got: dict[tuple[str, str, str], int] = {}
    for s in fw.sources:
        if s.source_type == "interview":
            key = (s.evaluation_year, str(s.phase), s.role)
            got[key] = got.get(key, 0) + 1
    assert got == {(y, p, r): int(n) for y, p, r, n in fieldwork_table()}
    assert sum(got.values()) == 276
    assert sum(s.source_type == "case_study" for s in fw.sources) == 30
    # phase 3 services are visited once; the others twice
    assert {s.visit for s in fw.sources if s.phase == 3} == {1}
    assert {s.visit for s in fw.sources if s.phase == 1} == {1, 2}
    truth = fw.truth["prevalence"]
    assert set(truth) == {k for _, k, _ in CODEBOOK}
    # the planted prevalence differences show: young people talk about outcome 6 most
    yp = truth["o6_young_people"]["role"]
    assert yp["young_person"] > yp["partner_agency"]


def test_generated_project_is_the_same_bytes_each_time(fieldwork) -> None:
    xml, texts = _xml_and_texts(fieldwork)
    again = simulate_fieldwork(_world({"S01": 1, "S02": 2}))
    assert _pack(*_xml_and_texts(again)) == _pack(xml, texts)


# ----------------------------------------------------------------------------- round trip


def test_generated_project_round_trips_redacted(fieldwork, tmp_path: Path, monkeypatch) -> None:
    xml, texts = _xml_and_texts(fieldwork)
    out, lines, ledger = _run(tmp_path, monkeypatch, fieldwork, _pack(xml, texts))
    assert lines == []
    mine = [s for s in fieldwork.sources if s.evaluation_year == YEAR]
    number = {s.number: i for i, s in enumerate(mine, start=1)}  # document order
    redactor = Redactor(Register(tuple(fieldwork.register)))
    names = {k: (g, n) for g, k, n in CODEBOOK}
    expected = sorted(
        (f"{FILE}#{number[s.number]}", YEAR, s.phase, s.service_id,
         L.ROLE_GROUPS["case_study" if s.source_type == "case_study" else s.role],
         s.source_type, s.visit, *names[key], redactor.redact(s.text[a:b]))
        for s in mine for a, b, key in s.selections
    )  # fmt: skip
    quotes = pd.read_parquet(out / "fieldwork_quotes.parquet")
    got = sorted(tuple(r) for r in quotes.itertuples(index=False))
    assert got == expected
    assert set(quotes.columns) == {"source_ref", "evaluation_year", "phase", "site_key", "role_group",
                                   "source_type", "visit", "code_group", "code", "text"}  # fmt: skip
    sources = pd.read_parquet(out / "fieldwork_sources.parquet")
    assert sorted(zip(sources["source_ref"], sources["host_type"], strict=True)) == sorted(
        (f"{FILE}#{number[s.number]}", s.host) for s in mine
    )
    lines_of = {(f["file"], f["sheet"]): f for f in ledger["files"]}
    assert lines_of[(FILE, "sources")]["kept"] == len(mine)
    n_sel = sum(len(s.selections) for s in mine)
    assert lines_of[(FILE, "coded selections")]["kept"] == n_sel
    assert any("[name]" in t for t in quotes["text"])
    _assert_nothing_identifying(out, fieldwork)


def test_redaction_patterns() -> None:
    r = Redactor(Register((("person", "Ysolde Marchbanks"), ("place", "Larkspur Arcade"))))
    text = (
        "Ysolde's worker met her at Larkspur Arcade on 14/03/2015 and again on 3rd of March "
        "2015; ring 07700 900123 or 0161 496 0000, post to ZZ99 7QJ, mail a.b@example.org. "
        "Marchbanks goes to St Oswald's High School, and Mrs Okafor knows."
    )
    out = r.redact(text)
    assert out == (
        "[name]'s worker met her at [place] on [date] and again on [date]; ring [phone] or "
        "[phone], post to [postcode], mail [email]. [name] goes to [school], and [name] knows."
    )


# ----------------------------------------------------------------------------- public example


def _public_qdpx() -> bytes:
    text = "sources/11111111-1111-1111-1111-111111111111.txt"
    return zip_entries(
        [
            ("project.qde", (PUBLIC / "project.qde").read_bytes()),
            (text, (PUBLIC / text).read_bytes()),
        ]
    )


def test_public_example_is_read_correctly(tmp_path: Path) -> None:
    path = tmp_path / "sample.qdpx"
    path.write_bytes(_public_qdpx())
    project = open_qdpx(path)
    assert project.origin == "refi_qda test fixture"
    codes = {c.name: (c.ancestors, c.codable) for c in project.codes.values()}
    assert codes == {
        "Topics": ((), False),
        "Health": (("Topics",), True),
        "Diet": (("Topics", "Health"), True),
        "Wellbeing": (("Topics",), True),
    }
    kinds = [s.kind for s in project.sources]
    assert kinds == ["TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource"]
    text = project.sources[0].text
    assert text == "Diet and health are closely linked in this interview."
    sels = project.sources[0].selections
    assert [(s.start, s.end) for s in sels] == [(0, 15), (9, 23)]
    assert text[0:15] == "Diet and health"
    assert [project.codes[s.code_guids[0]].name for s in sels] == ["Health", "Diet"]
    assert len(project.selections) == 7  # picture, PDF, audio, transcript and video too
    assert project.cases[0].variables == {"Age": ["34"], "Consented": ["true"]}
    assert project.notes == ["1 note(s) (memos) not read: they are free text about people"]


def test_public_example_through_the_cleaner(fieldwork, tmp_path: Path, monkeypatch) -> None:
    """Not a programme project: no site, and non-text sources: all set aside, with reasons."""
    out, lines, ledger = _run(tmp_path, monkeypatch, fieldwork, _public_qdpx())
    assert ledger["rejected"] == []
    lines_of = {(f["file"], f["sheet"]): f for f in ledger["files"]}
    assert lines_of[(FILE, "sources")] | {} == {"file": FILE, "sheet": "sources", "read": 5,
        "kept": 0, "quarantined": 5, "superseded": 0, "blank": 0}  # fmt: skip
    assert lines_of[(FILE, "coded selections")]["quarantined"] == 7
    reasons = {(r["sheet"], r["row"]): r["reason"] for r in lines}
    assert reasons[("sources", "1")].startswith("no site")
    assert (
        reasons[("sources", "2")]
        == "a PictureSource: only text sources (transcripts, case studies) are read"
    )
    assert reasons[("coded selections", "1")] == "its source (source 1) was set aside"


# ----------------------------------------------------------------------------- bad input


def _mutate_xml(fw, old: str, new: str, count: int = 1) -> bytes:
    xml, texts = _xml_and_texts(fw)
    assert old in xml
    return _pack(xml.replace(old, new, count), texts)


def _first_site(fw) -> str:
    return next(s.service_id for s in fw.sources if s.evaluation_year == YEAR)


def _bad_cases(fw) -> dict[str, tuple[bytes, str]]:
    xml, texts = _xml_and_texts(fw)
    good = _pack(xml, texts)
    start = xml.index('endPosition="')
    end_value = xml[start:].split('"')[1]
    code_ref = xml[xml.index("<CodeRef targetGUID=") :].split('"')[1]
    return {
        "truncated_zip": (good[: len(good) // 2], "file rejected: not a ZIP archive"),
        "not_a_zip": (b"Interview with Ysolde Marchbanks\n", "file rejected: not a ZIP archive"),
        "no_project_qde": (zip_entries([("other.txt", b"x")]), "file rejected: no project.qde"),
        "outside_namespace": (
            _mutate_xml(fw, 'xmlns="urn:QDA-XML:project:1.0"', 'xmlns="urn:example:other"'),
            "file rejected: project.qde is not a REFI-QDA project",
        ),
        "malformed_xml": (
            _pack(xml[: len(xml) // 2], texts),
            "file rejected: project.qde is not well-formed XML",
        ),
        "entity_expansion": (
            _pack(xml.replace("?>", '?>\n<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa">]>', 1), texts),
            "file rejected: project.qde declares a DTD or entities",
        ),
        "schema_violation": (
            _mutate_xml(fw, f'endPosition="{end_value}"', ""),
            "file rejected: project.qde does not follow the REFI-QDA project schema "
            "(urn:QDA-XML:project:1.0): 1 problem(s), the first at line ",
        ),
        "selection_outside_source": (
            _mutate_xml(fw, f'endPosition="{end_value}"', 'endPosition="999999"'),
            "coded selection 1 of source 1 spans positions",
        ),
        "code_missing": (
            _mutate_xml(
                fw,
                f'<CodeRef targetGUID="{code_ref}"/>',
                '<CodeRef targetGUID="00000000-0000-0000-0000-00000000dead"/>',
            ),
            "code missing from the codebook",
        ),  # fmt: skip
        "unknown_site": (
            _mutate_xml(
                fw, f"<TextValue>{_first_site(fw)}</TextValue>", "<TextValue>S77</TextValue>"
            ),
            "unknown site: not a service of register/services.csv",
        ),
        "text_missing": (
            _pack(xml, dict(list(sorted(texts.items()))[1:])),
            ": its text (plainTextPath) is not in the archive's sources/ folder",
        ),
        "oversized_entry": (None, "file rejected: project.qde unpacks to"),
    }


CASES = ("truncated_zip", "not_a_zip", "no_project_qde", "outside_namespace", "malformed_xml",
         "entity_expansion", "schema_violation", "selection_outside_source", "code_missing",
         "unknown_site", "text_missing", "oversized_entry")  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: str, fieldwork, tmp_path: Path, monkeypatch) -> None:
    cases = _bad_cases(fieldwork)
    data, reason = cases[case]
    if case == "oversized_entry":
        monkeypatch.setattr(limits, "MAX_QDPX_XML_BYTES", 1000)
        xml, texts = _xml_and_texts(fieldwork)
        data = _pack(xml, texts)
    out, lines, ledger = _run(tmp_path, monkeypatch, fieldwork, data)
    assert any(reason in r["reason"] for r in lines), [r["reason"] for r in lines]
    rejected = {r["file"] for r in ledger["rejected"]}
    assert (FILE in rejected) == reason.startswith("file rejected")
    for line in ledger["files"]:
        assert line["read"] == line["kept"] + line["quarantined"] + line["superseded"], line
    if case == "schema_violation":
        assert lines[0]["reason"].endswith(
            "(Project/Sources/TextSource[1]/PlainTextSelection[1]): a required attribute is missing"
        )
    if case in ("selection_outside_source", "code_missing"):
        sel = next(
            f for f in ledger["files"] if f["file"] == FILE and f["sheet"] == "coded selections"
        )
        assert sel["quarantined"] == 1 and sel["kept"] == sel["read"] - 1
    if case == "unknown_site":
        src = next(f for f in ledger["files"] if f["file"] == FILE and f["sheet"] == "sources")
        assert src["quarantined"] >= 1
        unknown = [r for r in lines if r["column"] == "site"]
        assert unknown and all(
            "S77" not in r["value"] and r["value"].startswith("[") for r in unknown
        )
    # the rest of the raw folder is still processed
    assert (out / "returns.parquet").exists()
    _assert_nothing_identifying(out, fieldwork)
    assert "Ysolde" not in (out / "ledger.json").read_text("utf-8")


def test_real_fieldwork_without_register_is_not_read(
    fieldwork, tmp_path: Path, monkeypatch
) -> None:
    xml, texts = _xml_and_texts(fieldwork)
    out, lines, ledger = _run(tmp_path, monkeypatch, fieldwork, _pack(xml, texts), register=False)
    assert [r["file"] for r in ledger["rejected"]] == [FILE]
    assert lines[0]["reason"].startswith("file rejected: no redaction register")
    assert len(pd.read_parquet(out / "fieldwork_quotes.parquet")) == 0


def test_zip_entry_understating_its_size_is_caught(tmp_path: Path) -> None:
    """An archive whose header says an entry is small while it unpacks to more is refused
    once the bound is passed, not read to the end."""
    payload = b"<Project " + b" " * 5000 + b"/>"
    data = zip_entries([("project.qde", payload)])
    # rewrite the declared uncompressed size (central directory and local header) to 10
    n = len(payload).to_bytes(4, "little")
    data = data.replace(n, (10).to_bytes(4, "little"))
    path = tmp_path / "lying.qdpx"
    path.write_bytes(data)
    with pytest.raises(FileRejected, match="unpack|damaged"):
        open_qdpx(path)


# ----------------------------------------------------------------------------- framework matrix


def _matrix(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Context"
    ws.append(["Site", "Evaluation year", "Participant role", "Visit",
               "Host demands on spoke time", "Recruitment"])  # fmt: skip
    ws.append(["S01", "2014-15", "spoke_worker", 2, "Ysolde Marchbanks is asked for everything",
               None])  # fmt: skip
    ws.append(["S02", "2014-15", "hub_manager", 1, None, "Two rounds, call 07700 900123"])
    ws.append(["S77", "2014-15", "hub_manager", 1, "Quillon said so", None])  # unknown site
    ws.append(["S02", "2019-20", "hub_manager", 1, "late", None])  # not a programme year
    out = wb.create_sheet("Outcome")
    out.append(["site", "evaluation_year", "source_type", "Outcome 6"])
    out.append(["S02", "2015-16", "case_study", "Back at Greyfriars High School since 3 May"])
    hidden = wb.create_sheet("Names")
    hidden.append(["site", "evaluation_year", "Ysolde Marchbanks"])
    hidden.sheet_state = "hidden"
    wb.save(path)


def test_framework_matrix_is_read_redacted(fieldwork, tmp_path: Path, monkeypatch) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(MINIMAL, raw)
    (raw / "fieldwork").mkdir()
    _matrix(raw / "fieldwork" / "matrix.xlsx")
    reg = tmp_path / "register.csv"
    reg.write_text("kind,text\nperson,Ysolde Marchbanks\nperson,Quillon Fairweather\n", "utf-8")
    monkeypatch.setenv(REGISTER_ENV, str(reg))
    out = tmp_path / "out"
    clean_returns(raw, out)
    quotes = pd.read_parquet(out / "fieldwork_quotes.parquet")
    got = sorted(
        (r.site_key, r.evaluation_year, r.role_group, r.code_group, r.code, r.text)
        for r in quotes.itertuples()
    )
    assert got == [
        ("S01", "2014-15", "programme_staff", "Context", "Host demands on spoke time",
         "[name] is asked for everything"),
        ("S02", "2014-15", "programme_staff", "Context", "Recruitment", "Two rounds, call [phone]"),
        ("S02", "2015-16", "case_study", "Outcome", "Outcome 6", "Back at [school] since [date]"),
    ]  # fmt: skip
    ledger = json.loads((out / "ledger.json").read_text("utf-8"))
    lines = {
        (f["file"], f["sheet"]): f for f in ledger["files"] if f["file"].startswith("fieldwork")
    }
    ctx = lines[("fieldwork/matrix.xlsx", "Context")]
    assert (ctx["read"], ctx["kept"], ctx["quarantined"]) == (4, 2, 2)
    assert ("fieldwork/matrix.xlsx", "Names") not in lines
    with open(out / "quarantine.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["file"] == "fieldwork/matrix.xlsx"]
    reasons = {(r["sheet"], r["row"]): r["reason"] for r in rows}
    assert reasons[("Context", "4")] == "unknown site: not a service of register/services.csv"
    assert reasons[("Context", "5")].startswith("evaluation_year is missing or not a year")
    assert reasons[("Names", "")].startswith("hidden sheet")
    whole = (out / "quarantine.csv").read_text("utf-8") + (out / "ledger.json").read_text("utf-8")
    assert "Quillon" not in whole and "S77" not in whole and "Ysolde" not in whole


def test_other_files_in_the_fieldwork_folder_are_rejected(fieldwork, tmp_path, monkeypatch) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(MINIMAL, raw)
    (raw / "fieldwork").mkdir()
    (raw / "fieldwork" / "notes.txt").write_text("Ysolde Marchbanks", "utf-8")
    monkeypatch.setenv(REGISTER_ENV, str(_register_file(tmp_path, fieldwork)))
    clean_returns(raw, tmp_path / "out")
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text("utf-8"))
    assert [r["file"] for r in ledger["rejected"]] == ["fieldwork/notes.txt"]
    assert ledger["rejected"][0]["reason"].startswith("not coded fieldwork")


REGISTER_NAMES = (("person", "Anwen Quarrington"), ("person", "Oriel Fennimore-Blake"),
                  ("place", "Lanthorn Arcade"), ("school", "Castlerigg College"))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Anwen",
                    "QUARRINGTON",
                    "anwen quarrington's",
                    "Fennimore-Blake",
                    "Oriel",
                    "lanthorn arcade",
                    "Castlerigg College",
                    "at",
                    "the",
                    "school",
                    "on",
                ]
            ),  # fmt: skip
            st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), max_size=8),
        ),
        max_size=12,
    ),
    st.sampled_from([" ", "\n", ", ", "-", "'"]),
)
def test_redaction_leaves_no_register_entry(words: list[str], sep: str) -> None:
    """Whatever surrounds them, no register entry (or part of a person's name) survives
    as a word of the redacted text."""
    redactor = Redactor(Register(REGISTER_NAMES))
    out = redactor.redact(sep.join(words))
    for kind, entry in REGISTER_NAMES:
        parts = entry.replace("-", " ").split() if kind == "person" else []
        for part in [entry, *parts]:
            assert not re.search(rf"(?<!\w){re.escape(part)}(?!\w)", out, re.IGNORECASE), (
                part,
                out,
            )
