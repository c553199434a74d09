"""Later runs compare a frozen release with what they publish now: a figure that changed is
marked [r] with the reason, and the release as published stays part of the audit."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from analysis.core.catalog import STATISTICS
from analysis.publish import disclosure
from analysis.publish.disclosure.audit import audit, audit_reports, read_releases
from analysis.publish.registry import RULES, Registry
from analysis.publish.release import changes_since_release, freeze
from analysis.report.sections.verdicts import evidence_line, headline_share
from analysis.report.writer import ReportWriter, table_item

T = 9


def _one_column(df: pd.DataFrame, index: str, title: str):
    """``df``'s counts ``n`` by ``index``, disclosed at threshold ``T`` with an exact total."""
    return disclosure.disclose_counts(
        df, index=index, columns=None, values="n", threshold=T, total_rounding=1, title=title
    )


def _report(reports, police: int, private_dir=None) -> ReportWriter:
    """The 2015-16 report: referrals by source (one input: the police's referrals)."""
    df = pd.DataFrame({"Source": ["Police", "Education", "Social care"], "n": [police, 30, 55]})
    table = _one_column(df, "Source", "Referrals by source")
    reg = Registry("2015-16")
    reg.number(RULES["threshold"], T)
    writer = ReportWriter(reports / "2015-16", registry=reg, private_dir=private_dir)
    writer.publish(table_item(table))
    return writer


def test_a_figure_changed_since_its_frozen_release_is_marked_revised(tmp_path) -> None:
    _report(tmp_path, police=20)
    freeze(tmp_path, "2015-16")
    writer = _report(tmp_path, police=32)  # a late return adds 12 police referrals
    ((_, table),) = writer.tables
    shown = table.table
    assert shown.loc["Police", "n"] == "32 [r]"
    assert shown.loc["Total", "n"] == "117 [r]"
    assert shown.loc["Education", "n"] == "30"
    assert any("2015-16 report as published" in n and "Police, n: 20" in n for n in table.notes)
    csv = next((tmp_path / "2015-16" / "tables").glob("*.csv")).read_text("utf-8")
    assert "Police,Number,32,[r]" in csv
    reg = Registry.read(tmp_path / "2015-16" / STATISTICS)
    assert reg.stats["referrals-by-source/police/n"].status == "[r]"
    changes = changes_since_release(tmp_path, "2015-16")
    assert {c.id: c.marked for c in changes} == {
        "2015-16|referrals-by-source/police/n": True,
        "2015-16|referrals-by-source/total/n": True,
    }
    # the release as published is read beside the re-run report, and the revision passes
    registries = read_releases(tmp_path)
    assert {r.vintage for r in registries} == {"2015-16", "2015-16 as published"}
    assert audit(registries).passed


def test_a_small_revision_against_the_frozen_release_is_refused(tmp_path) -> None:
    _report(tmp_path, police=20)
    freeze(tmp_path, "2015-16")
    _report(tmp_path, police=23)  # 3 late referrals: their number is a small count
    result = audit(read_releases(tmp_path))
    assert not result.passed
    assert any(getattr(f, "id", "") == "referrals-by-source/police/n" for f in result.failures)


def test_nothing_frozen_nothing_marked(tmp_path) -> None:
    writer = _report(tmp_path, police=20)
    ((_, table),) = writer.tables
    assert "[r]" not in table.table.to_string()


def test_the_private_reasons_let_the_audit_apply_each_cells_own_rule(tmp_path) -> None:
    private = tmp_path / "private"
    _report(tmp_path / "reports", police=4, private_dir=private)
    record = json.loads((private / "2015-16.json").read_text("utf-8"))
    assert record["primary"] == ["referrals-by-source/police/n"]
    assert record["complementary"]  # the cell suppressed to protect it
    published = (tmp_path / "reports" / "2015-16" / STATISTICS).read_text("utf-8")
    assert "primary" not in published and "complementary" not in published
    reasons = {c.id: c.reason for c in audit_reports(tmp_path / "reports", reasons=private).cells}
    assert reasons["referrals-by-source/police/n"] == "small"
    assert set(reasons.values()) == {"small", "complementary"}
    unknown = audit_reports(tmp_path / "reports").cells  # without them: either rule
    assert {c.reason for c in unknown} == {"unknown"}


def _outcome6_release(headline: str | None) -> Registry:
    """Outcome 6's change in risk band (5 unchanged or worsened is small, the 12 improved
    its complement) and, in the summary, the verdict's headline share of all improved:
    ``"exact"`` as a share of the exact counts (71%), declared to the audit as a ratio of
    the table's cells; ``"report"`` as the report writes it (``evidence_line``: a share of
    the rounded counts, 67%, "out of about 15"; ``headline_share`` ties it to the table)."""
    df = pd.DataFrame({"Change": ["Improved", "Unchanged or worsened"], "n": [12, 5]})
    table = _one_column(df, "Change", "Outcome 6")
    reg = Registry("2015-16")
    reg.number(RULES["threshold"], T)
    reg.table(table, "o6")
    improved = Registry.cell_id(table, "o6", "Improved", "n")
    total = Registry.cell_id(table, "o6", "Total", "n")
    base = "outcome-6/risk_band_improved_share"
    if headline == "exact":
        reg.number(base, 12 / 17, unit="percent")
        reg.relation(f"{base}/~/numerator", [improved])
        reg.relation(f"{base}/~/denominator", [total])
        reg.relations.append(
            {
                "kind": "ratio",
                "share": base,
                "numerator": f"{base}/~/numerator",
                "denominator": f"{base}/~/denominator",
            }
        )
    elif headline == "report":
        v = {
            "outcome": 6,
            "primary": "risk_band_improved_share",
            "unit": "share",
            "value": 12 / 17,
            "numerator": 12,
            "denominator": 17,
        }
        settings = SimpleNamespace(threshold=T, total_rounding=5)
        ctx = SimpleNamespace(stats=reg, settings=settings, year="2015-16")
        evidence_line(v, ctx, tagged=True)  # "67% ... (out of about 15)"
        headline_share(ctx, 6, improved, total, indicator="risk_band_improved_share")
    return reg


def test_the_headline_share_declared_to_the_audit_gives_a_suppressed_cell_away() -> None:
    # "71% improved" of exact counts, with the table's total of 17, pins the suppressed
    # improved to 12, and so the small 5; the report's share of the rounded counts does not
    assert audit([_outcome6_release(None)]).passed
    result = audit([_outcome6_release("exact")])
    assert not result.passed
    assert {"o6/improved/n", "o6/unchanged-or-worsened/n"} <= {
        getattr(f, "id", "") for f in result.failures
    }
    report = _outcome6_release("report")
    assert report.stats["outcome-6/risk_band_improved_share"].text.startswith(
        "67"
    )  # 10 of about 15
    assert audit([report]).passed
