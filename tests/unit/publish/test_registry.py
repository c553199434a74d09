"""The registry of published statistics: one number per statistic, and the check that a
rendered page states only registered numbers (issue 16)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.publish import disclosure
from analysis.publish.registry import (
    RULES,
    Registry,
    RegistryError,
    check_csv,
    check_page,
    parse_number,
    untagged_numbers,
)


def _table() -> disclosure.DisclosedTable:
    frame = pd.DataFrame(
        {"service": ["S01", "S02", "S03"], "referrals": [40, 3, 25], "sessions": [12, 0, 7]}
    )
    return disclosure.disclose_table(
        frame,
        index="service",
        count_columns=["referrals", "sessions"],
        threshold=9,
        total_rounding=5,
        total_row=True,
        title="Referrals by service, 2015-16",
    )


def _page(registry: Registry, prose: str = "") -> str:
    table = _table()
    ids = registry.table(table, "referrals-by-service-2015-16")
    html = table.to_html(
        stats="referrals-by-service-2015-16",
        cell_ids=ids,
        notes_html=registry.tag_notes(table.notes),
    )
    return f'<h2 id="s">1. Summary</h2><p>{prose}</p>{html}<h2>2. Other</h2><p>Seen 41 times.</p>'


def _registry() -> Registry:
    reg = Registry("2015-16")
    reg.number(RULES["threshold"], 9)
    reg.number(RULES["rounding"], 5)
    return reg


def test_every_cell_is_registered_with_its_symbol_and_the_page_agrees() -> None:
    reg = _registry()
    page = _page(reg)
    cells = {s.id: s for s in reg.stats.values() if s.table}
    small = cells["referrals-by-service-2015-16/s02/referrals"]
    assert small.status == "[c]" and small.value is None and small.text == "[c]"
    assert cells["referrals-by-service-2015-16/s01/referrals"].value == 40
    assert all(s.vintage == "2015-16" for s in reg.stats.values())
    assert check_page(page, reg, strict_sections=["1. Summary"]) == []


def test_a_table_cell_changed_by_hand_fails() -> None:
    reg = _registry()
    page = _page(reg)
    assert 'data-stats="referrals-by-service-2015-16"' in page
    changed = page.replace('data-stat="s01/referrals">40<', 'data-stat="s01/referrals">41<')
    assert changed != page
    problems = check_page(changed, reg, strict_sections=["1. Summary"])
    assert problems and "s01/referrals shows '41'" in problems[0]


def test_an_untagged_number_in_a_checked_section_fails() -> None:
    reg = _registry()
    tagged = reg.number("summary/returns", 46)
    ok = _page(reg, f"In 2015-16 (1 September to 31 August) {tagged} returns, at the 95% level.")
    assert check_page(ok, reg, strict_sections=["1. Summary"]) == []
    bad = _page(_registry(), "In 2015-16 we received 46 returns.")
    problems = check_page(bad, _registry_with_table(), strict_sections=["1. Summary"])
    assert any("untagged number '46'" in p for p in problems)
    # the unchecked section's "41" is reported only when every section is checked
    assert not any("'41'" in p for p in problems)
    assert any("'41'" in p for p in check_page(bad, _registry_with_table()))


def _registry_with_table() -> Registry:
    reg = _registry()
    _page(reg)
    return reg


def test_a_tagged_number_must_be_the_registered_one() -> None:
    reg = _registry()
    page = _page(reg, reg.number("summary/young-people", 1640))
    assert check_page(page, reg, strict_sections=["1."]) == []
    edited = page.replace(">1,640<", ">1,645<")
    assert any("1,645" in p for p in check_page(edited, reg, strict_sections=["1."]))
    unknown = page.replace('data-stat="summary/young-people"', 'data-stat="summary/nobody"')
    assert any("not registered" in p for p in check_page(unknown, reg, strict_sections=["1."]))


def test_one_number_per_statistic() -> None:
    reg = _registry()
    reg.number("programme/trained/2016-17", 8152)
    reg.number("programme/trained/2016-17", 8152)  # the same statistic again: fine
    with pytest.raises(RegistryError, match="published twice"):
        reg.number("programme/trained/2016-17", 8150)
    assert "8,152" in reg.cite("programme/trained/2016-17")
    with pytest.raises(RegistryError, match="another number"):
        reg.cite("programme/trained/2016-17", "8,150")
    with pytest.raises(RegistryError, match="no statistic"):
        reg.cite("programme/unknown")


def test_a_quantity_under_two_ids_must_agree() -> None:
    reg = _registry()
    reg.number("key-figures/young-people-supported/2016-17", 1640)
    reg.number("young_people_supported/2016-17", 1640)
    reg.same("key-figures/young-people-supported/2016-17", "young_people_supported/2016-17")
    reg.number("young_people_supported/2015-16", 960)
    with pytest.raises(RegistryError, match="two numbers"):
        reg.same("key-figures/young-people-supported/2016-17", "young_people_supported/2015-16")
    reg.same("key-figures/areas/2016-17", "spoke_areas_reached/2016-17")  # neither yet
    reg.number("key-figures/areas/2016-17", 35)
    with pytest.raises(RegistryError, match="two numbers"):  # the later one, when it comes
        reg.number("spoke_areas_reached/2016-17", 34)


def test_a_revised_figure_restated_in_prose_keeps_its_symbol() -> None:
    flags = pd.DataFrame(False, index=_table().table.index, columns=_table().table.columns)
    flags.iloc[0, 0] = True
    table = disclosure.mark_revised(_table(), flags)
    reg = _registry()
    ids = reg.table(table, "t")
    text = reg.cite(ids.iloc[0, 0], "40")
    assert ">40 [r]<" in text and 'value="40.0"' in text


def test_a_revised_figure_restated_under_its_own_id_carries_r_there_too() -> None:
    """The key findings restate a revised key figure under the indicator's id: declared
    the same, the prose number takes the [r]; stated without it, the registry refuses."""
    flags = pd.DataFrame(False, index=_table().table.index, columns=_table().table.columns)
    flags.iloc[0, 0] = True
    reg = _registry()
    ids = reg.table(disclosure.mark_revised(_table(), flags), "t")
    reg.same(ids.iloc[0, 0], "referrals/S01")
    text = reg.number("referrals/S01", 40)
    assert ">40 [r]<" in text and reg.stats["referrals/S01"].status == "[r]"
    other = _registry()
    other.number("referrals/S01", 40)
    other.table(disclosure.mark_revised(_table(), flags), "t")
    with pytest.raises(RegistryError, match=r"revised in one place and not the other"):
        other.same("t/s01/referrals", "referrals/S01")


def test_rule_parameters_in_table_notes_are_tagged() -> None:
    reg = _registry()
    notes = reg.tag_notes(["[c]: counts from 1 to 9 are suppressed; totals to the nearest 5."])
    assert 'data-stat="settings/suppression-threshold">9<' in notes[0]
    assert 'data-stat="settings/total-rounding">5<' in notes[0]
    assert untagged_numbers("counts from 1 to ") == []


def test_documented_non_statistics_are_allowed_and_nothing_else() -> None:
    assert untagged_numbers("1. Summary") == []
    assert untagged_numbers("Evaluation year 2015-16, phases (2014–2016), by 31 August") == []
    assert untagged_numbers("Outcome measures 4, 5 and 6: too early; 95% intervals") == []
    assert untagged_numbers("framework version 1.0, a 1-5 scale") == []
    assert untagged_numbers("a two-sided 5% test; 3.35 instead of 1.96; per 10,000") == ["3.35"]
    assert untagged_numbers("about 965 young people, 34%, +0.12") == ["965", "34", "+0.12"]


def test_the_registry_file_holds_every_cell_and_reads_back(tmp_path) -> None:
    reg = _registry()
    _page(reg)
    path = reg.write(tmp_path / "statistics.json")
    data = json.loads(path.read_text("utf-8"))
    assert data["vintage"] == "2015-16"
    stats = data["statistics"]
    assert all({"id", "text", "unit", "vintage"} <= set(s) for s in stats)
    assert any({"value", "precision"} <= set(s) for s in stats)
    assert any(s.get("status") == "[c]" and "value" not in s for s in stats)
    assert Registry.read(path) == reg


def test_a_csv_cell_changed_by_hand_fails(tmp_path) -> None:
    reg = _registry()
    table = _table()
    reg.table(table, "referrals-by-service-2015-16")
    path = table.to_csv(tmp_path / "referrals-by-service-2015-16.csv")
    assert check_csv(path, reg, "referrals-by-service-2015-16") == []
    path.write_text(path.read_text("utf-8").replace("S01,Referrals,40", "S01,Referrals,45"))
    assert any("45" in p for p in check_csv(path, reg, "referrals-by-service-2015-16"))
    # a symbol moved into the value column is refused too
    path.write_text(path.read_text("utf-8").replace("S02,Referrals,,[c]", "S02,Referrals,[c],"))
    assert any("symbol" in p for p in check_csv(path, reg, "referrals-by-service-2015-16"))


def test_parse_number() -> None:
    assert parse_number("5635 [r]") == (5635.0, 0, "[r]")
    assert parse_number("[c]") == (None, None, "[c]")
    assert parse_number("+1.48") == (1.48, 2, None)
    assert parse_number("1,640") == (1640.0, 0, None)
