"""Fieldwork evidence: prevalence intervals, configurations, joint displays and the quote
attribution rule (analysis.analyse.fieldwork), on constructed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.analyse import fieldwork as F

YEAR = "2015-16"
O1 = "Outcome 1: sustainable funding for spoke services"
CTX = "Host agencies place high demands on spoke workers' time"
MECH = "Hub support keeps a voluntary-sector identity"


def _sources(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    """(source_ref, site, phase, role_group) in YEAR."""
    return pd.DataFrame(
        {
            "source_ref": [r[0] for r in rows],
            "evaluation_year": YEAR,
            "phase": [r[2] for r in rows],
            "site_key": [r[1] for r in rows],
            "role_group": [r[3] for r in rows],
            "source_type": ["case_study" if r[3] == "case_study" else "interview" for r in rows],
            "visit": pd.array([1] * len(rows), dtype="Int64"),
            "host_type": "police",
        }
    )


def _quotes(sources: pd.DataFrame, coded: dict[str, list[tuple[str, str, str]]]) -> pd.DataFrame:
    rows = []
    for ref, codes in coded.items():
        s = sources.set_index("source_ref").loc[ref]
        for group, code, text in codes:
            rows.append({"source_ref": ref, "evaluation_year": YEAR, "phase": int(s["phase"]),
                         "site_key": s["site_key"], "role_group": s["role_group"],
                         "source_type": s["source_type"], "visit": 1, "code_group": group,
                         "code": code, "text": text})  # fmt: skip
    return pd.DataFrame(rows)


def _posts(workers: dict[str, int]) -> pd.DataFrame:
    rows = [
        {"post_id": f"{s}-1-P{i}", "service_id": s, "start_month": "2015-01-01", "end_month": None}
        for s, n in workers.items()
        for i in range(n)
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- intervals


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.floats(0, 1)), min_size=1, max_size=12),
)
def test_cluster_wilson_holds_the_share_and_never_narrows_below_wilson(sites) -> None:
    sizes = np.array([n for n, _ in sites], dtype=float)
    hits = np.array([round(n * f) for n, f in sites], dtype=float)
    share, lo, hi, deff = F.cluster_wilson(hits, sizes)
    assert 0 <= lo <= share <= hi <= 1
    assert deff >= 1
    # the clustered interval contains the simple Wilson interval (one cluster per source)
    _, lo1, hi1, _ = F.cluster_wilson(hits.sum() * np.array([1.0]), np.array([sizes.sum()]))
    assert lo <= lo1 + 1e-12 and hi >= hi1 - 1e-12


def test_clustering_widens_the_interval() -> None:
    even = F.cluster_wilson(np.array([5.0, 5, 5, 5]), np.array([10.0, 10, 10, 10]))
    lumpy = F.cluster_wilson(np.array([10.0, 0, 10, 0]), np.array([10.0, 10, 10, 10]))
    assert even[0] == lumpy[0] == 0.5
    assert even[3] == 1.0 and lumpy[3] > 3
    assert lumpy[2] - lumpy[1] > even[2] - even[1]


def test_prevalence_counts_sources_and_sites_not_selections() -> None:
    src = _sources([("a", "S01", 1, "programme_staff"), ("b", "S01", 1, "partner_agency"),
                    ("c", "S02", 1, "programme_staff"), ("d", "S02", 1, "programme_staff")])  # fmt: skip
    # source a codes outcome 1 twice: one source, not two
    q = _quotes(src, {"a": [("Outcome", O1, "x"), ("Outcome", O1, "y")], "c": [("Outcome", O1, "z")],
                      "b": [("Context", CTX, "w")]})  # fmt: skip
    prev = F.theme_prevalence(src, q, "role_group").set_index(["group", "code"])
    staff = prev.loc[("programme_staff", O1)]
    assert (staff["sources"], staff["raised"], staff["sites"], staff["sites_raised"]) == (
        3,
        2,
        2,
        2,
    )
    assert staff["share"] == pytest.approx(2 / 3)
    partner = prev.loc[("partner_agency", O1)]
    assert (partner["raised"], partner["share"]) == (0, 0.0)
    with pytest.raises(ValueError, match="broken down by"):
        F.theme_prevalence(src, q, "site_key")


# ---------------------------------------------------------------------- configurations


def test_configurations_need_enough_sources_at_two_sites_at_least() -> None:
    src = _sources([(f"s{i}", f"S0{1 + i % 2}", 1, "programme_staff") for i in range(6)]
                   + [(f"t{i}", "S03", 1, "programme_staff") for i in range(6)])  # fmt: skip
    cmo = [("Context", CTX, "c"), ("Mechanism", MECH, "m"), ("Outcome", O1, "o")]
    q = _quotes(src, {**{f"s{i}": cmo for i in range(4)}, **{f"t{i}": cmo for i in range(6)}})
    got = F.configurations(src, q, min_sources=3)
    assert got[["sources", "sites"]].values.tolist() == [[10, 3]]
    assert got["outcome_measure"].tolist() == [1]
    # at one site only, however many sources: never a configuration, even if asked for 1 site
    one_site = src.loc[src["site_key"] == "S03"]
    assert F.configurations(one_site, q, min_sources=1, min_sites=1).empty
    assert F.configurations(src, q, min_sources=11).empty


# ------------------------------------------------------------------------ attribution


def _attribution_case():
    rows = [(f"p{i}", "S01", 2, "programme_staff") for i in range(3)]  # 2 workers at S01
    rows += [(f"q{i}", "S02", 2, "programme_staff") for i in range(3)]  # 1 worker at S02
    rows += [(f"y{i}", "S01", 2, "young_person") for i in range(4)]
    rows += [("c0", "S01", 2, "case_study"), ("a0", "S01", 2, "partner_agency")]
    src = _sources(rows)
    q = _quotes(src, {r[0]: [("Outcome", O1, f"words of {r[0]}")] for r in rows})
    return src, q, _posts({"S01": 2, "S02": 1})


def test_no_quote_from_a_single_worker_site_a_young_person_a_case_study_or_a_small_group():
    src, q, posts = _attribution_case()
    ok = F.attributable(src, q, posts, YEAR, min_group=3)
    assert set(ok["source_ref"]) == {"p0", "p1", "p2"}
    chosen = F.choose_quotes(ok, YEAR)
    assert chosen["text"].str.startswith("words of p").all()
    assert set(chosen.columns) == {"outcome_measure", "code", "text", "role_group", "phase"}
    # with a single-partner group allowed, the partner agency's quote becomes eligible
    assert "a0" in set(F.attributable(src, q, posts, YEAR, min_group=1)["source_ref"])
    assert F.single_worker_sites(posts, YEAR) == {"S02"}


def test_quote_choice_does_not_depend_on_row_order() -> None:
    src, q, posts = _attribution_case()
    ok = F.attributable(src, q, posts, YEAR, min_group=3)
    first = F.choose_quotes(ok, YEAR, per_code=2)
    again = F.choose_quotes(ok.sample(frac=1, random_state=3), YEAR, per_code=2)
    pd.testing.assert_frame_equal(first, again)
    # fewer redaction marks first
    marked = ok.assign(text=[t if i else f"[name] {t}" for i, t in enumerate(ok["text"])])
    assert "[name]" not in F.choose_quotes(marked, YEAR)["text"].iloc[0]


# ---------------------------------------------------------------------- joint displays


def test_agreement_rules() -> None:
    assert F.agreement("met", True)[0] == "agree"
    assert F.agreement("not met", False)[0] == "agree"
    assert F.agreement("met", False)[0] == "diverge"
    assert F.agreement("not met", True)[0] == "diverge"
    assert F.agreement("too early to tell", True)[0] == "fieldwork only"
    assert F.agreement("met", None)[0] == "no fieldwork"


def test_a_joint_display_lacking_either_side_is_incomplete() -> None:
    src = _sources([("a", "S01", 1, "programme_staff"), ("b", "S02", 1, "programme_staff")])
    q = _quotes(src, {"a": [("Outcome", O1, "x")]})
    prev = F.prevalence_tables(src, q, YEAR)
    programme = pd.DataFrame({"evaluation_year": [YEAR], "indicator": ["funded_beyond_programme_share"],
                              "value": [0.4], "services_with_value": [5]})  # fmt: skip
    verdict = [{"outcome": 1, "title": "funding", "rating": "partly met"}]
    ind = {1: ("funded_beyond_programme_share",)}
    cfg = F.configurations(src, q, min_sources=5)
    (d,) = F.joint_displays(prev, cfg, programme, verdict, YEAR, ind, 50)
    assert d.complete and d.agreement == "agree" and (d.raised, d.sites_raised) == (1, 1)
    (no_numbers,) = F.joint_displays(prev, cfg, programme.iloc[0:0], verdict, YEAR, ind, 50)
    assert not no_numbers.complete
    (no_fieldwork,) = F.joint_displays(prev.iloc[0:0], cfg, programme, verdict, YEAR, ind, 50)
    assert not no_fieldwork.complete and no_fieldwork.agreement == "no fieldwork"
    assert "share" not in no_fieldwork.record()
