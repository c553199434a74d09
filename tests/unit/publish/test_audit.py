"""The release audit (docs/disclosure.md): each way an intruder recovered a suppressed count
from the published reports, built as a small release of its own; the audit refuses it and
the suppression chosen by the audit repairs it."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.core.checks import check_threshold
from analysis.core.errors import UserError
from analysis.publish import disclosure
from analysis.publish.disclosure.audit import CellRange, audit, read_releases
from analysis.publish.disclosure.complements import protect_jointly
from analysis.publish.registry import RULES, Registry
from analysis.publish.release import changes_since_release, freeze, verify

T = 9


def _registry(vintage: str = "2015-16", threshold: int = T) -> Registry:
    reg = Registry(vintage)
    reg.number(RULES["threshold"], threshold)
    return reg


def _people() -> pd.DataFrame:
    """Young people by service and age band: S04 has 5 (small)."""
    sizes = {"S01": 40, "S02": 33, "S03": 27, "S04": 5}
    bands = ["12 and under", "13-14", "15-16", "17 and over"]
    rows = []
    for service, n in sizes.items():
        for i in range(n):
            rows.append({"service_id": service, "category": bands[(i * 7) % 4], "n": 1})
    return pd.DataFrame(rows)


def _age_release(people: pd.DataFrame) -> tuple[list[tuple[object, str]], list[tuple[str, str]]]:
    by_age = disclosure.disclose_counts(
        people,
        index="category",
        columns=None,
        values="n",
        threshold=T,
        total_rounding=5,
        title="Age at referral",
    )
    per_service = (
        people.groupby("service_id", as_index=False).agg(total=("n", "size")).assign(not_recorded=0)
    )
    shares = disclosure.disclose_shares(
        per_service,
        index="service_id",
        numerator="not_recorded",
        denominator="total",
        threshold=T,
        protect_complement=True,
        title="Age: share not recorded by service",
        share_label="Not recorded (%)",
        denominator_label="Young people",
    )
    tables = [(by_age, "age"), (shares, "age-by-service")]
    same = [
        (
            Registry.cell_id(by_age, "age", "Total", "n"),
            Registry.cell_id(shares, "age-by-service", "Total", "Young people"),
        )
    ]
    return tables, same


def _publish(tables, same, vintage: str = "2015-16") -> Registry:
    reg = _registry(vintage)
    for table, name in tables:
        reg.table(table, name)
    for a, b in same:
        reg.same(a, b)
    return reg


def test_age_categories_against_services_give_a_small_service_away() -> None:
    tables, same = _age_release(_people())
    reg = _publish(tables, same)
    result = audit([reg], primary={reg.vintage: reg.primary})
    failing = {c.id for c in result.failures}
    assert "age-by-service/s04/young-people" in failing
    cell = next(c for c in result.cells if c.id == "age-by-service/s04/young-people")
    assert (cell.low, cell.high) == (5, 5)
    repaired = protect_jointly(tables, same=same, threshold=T)
    reg2 = _publish(list(zip(repaired, [n for _, n in tables], strict=True)), same)
    after = audit([reg2], primary={reg2.vintage: reg2.primary})
    assert after.passed, after.report()
    # the cheapest complement: the smallest other service
    assert repaired[1].table.loc["S03", "Young people"] == "[c]"


def _outcome_shares() -> pd.DataFrame:
    # programme 56% of 81; S01 63% of 27, S02 54% of 37, S03 [c] of 17 (8 of 17)
    return pd.DataFrame(
        {
            "Service": ["S01", "S02", "S03"],
            "improved": [17, 20, 8],
            "assessed": [27, 37, 17],
        }
    )


def test_programme_share_against_service_shares_gives_a_suppressed_share_away() -> None:
    df = _outcome_shares()

    def shares(frame: pd.DataFrame, title: str) -> object:
        return disclosure.disclose_shares(
            frame,
            index="Service",
            numerator="improved",
            denominator="assessed",
            threshold=T,
            title=title,
            share_label="Improved (%)",
            denominator_label="Out of",
        )

    services = shares(df, "Outcome 2 by service")
    programme = shares(df.assign(Service="Programme"), "Outcome 2, programme")
    assert services.table.loc["S03", "Improved (%)"] == "[c]"
    assert programme.table.loc["Programme", "Improved (%)"] == "56"
    tables = [(services, "o2-services"), (programme, "o2-programme")]
    cell = Registry.cell_id
    same = [
        (
            cell(programme, "o2-programme", "Programme", "Improved (%): numerator"),
            cell(services, "o2-services", "Total", "Improved (%): numerator"),
        ),
        (
            cell(programme, "o2-programme", "Programme", "Out of"),
            cell(services, "o2-services", "Total", "Out of"),
        ),
    ]
    reg = _publish(tables, same)
    result = audit([reg], primary={reg.vintage: reg.primary})
    cell_range = next(c for c in result.cells if c.id == "o2-services/~/s03/improved-numerator")
    assert (cell_range.low, cell_range.high) == (8, 8)
    assert not cell_range.passed
    repaired = protect_jointly(tables, same=same, threshold=T)
    reg2 = _publish(list(zip(repaired, [n for _, n in tables], strict=True)), same)
    assert audit([reg2], primary={reg2.vintage: reg2.primary}).passed


def test_headline_share_pins_a_suppressed_count() -> None:
    # "Improved" [c] (4 of 14) but the headline "29% improved" of the shown 14 pins it
    df = pd.DataFrame({"Change": ["Improved", "Unchanged or worsened"], "n": [4, 10]})
    counts = disclosure.disclose_counts(
        df,
        index="Change",
        columns=None,
        values="n",
        threshold=T,
        total_rounding=1,
        title="Outcome 6",
    )
    reg = _registry()
    reg.table(counts, "o6")
    reg.number("o6/improved-share", 29, unit="percent-points", precision=0, text="29%")
    reg.relations.append(
        {
            "kind": "ratio",
            "share": "o6/improved-share",
            "numerator": "o6/improved/n",
            "denominator": "o6/total/n",
        }
    )
    result = audit([reg], primary={reg.vintage: reg.primary})
    assert not result.passed
    assert {c.id for c in result.failures} >= {"o6/improved/n"}


def test_removing_one_complementary_suppression_is_caught_naming_the_cell() -> None:
    df = pd.DataFrame(
        {
            "service": ["S01", "S01", "S02", "S02", "S03", "S03"],
            "source": ["Police", "Other", "Police", "Other", "Police", "Other"],
            "n": [3, 40, 25, 31, 20, 22],
        }
    )
    table = disclosure.disclose_counts(
        df,
        index="service",
        columns="source",
        values="n",
        threshold=T,
        total_rounding=1,
        title="Referrals",
    )
    reg = _registry()
    reg.table(table, "ref")
    assert audit([reg], primary={reg.vintage: reg.primary}).passed
    complementary = [i for i, s in reg.stats.items() if s.status == "[c]" and i not in reg.primary]
    assert complementary
    undone = complementary[0]
    row, col = reg.stats[undone].row, reg.stats[undone].column
    value = float(df.pivot_table(index="service", columns="source", values="n").loc[row, col])
    leaky = table.numeric.copy()
    shown = table.table.copy()
    shown.loc[row, col], leaky.loc[row, col] = str(int(value)), value
    reg_leaky = _registry()
    reg_leaky.table(table, "ref")
    reg_leaky.stats[undone] = reg_leaky.stats[undone].__class__(
        **{**vars(reg_leaky.stats[undone]), "text": str(int(value)), "value": value, "status": None}
    )
    result = audit([reg_leaky], primary={reg_leaky.vintage: reg_leaky.primary})
    assert not result.passed
    assert all("ref/" in c.id for c in result.failures)
    assert result.failures[0].id in reg.primary


def test_revised_row_gives_late_returns_away_and_rounding_repairs_it() -> None:
    def trend(police_1516: int) -> object:
        df = pd.DataFrame(
            {
                "year": ["2014-15", "2014-15", "2015-16", "2015-16"],
                "source": ["Police", "Other", "Police", "Other"],
                "n": [120, 140, police_1516, 160],
            }
        )
        return disclosure.disclose_counts(
            df,
            index="year",
            columns="source",
            values="n",
            threshold=T,
            total_rounding=5,
            title="Referrals by year",
        ).by_period("rows")

    first = _registry("2015-16")
    first.table(trend(150), "ref-trend")
    later_table = trend(153)
    flags = pd.DataFrame(False, index=later_table.table.index, columns=later_table.table.columns)
    flags.loc["2015-16", "Police"] = True
    later = _registry("2016-17")
    later.table(disclosure.mark_revised(later_table, flags), "ref-trend")
    result = audit([first, later])
    assert not result.passed
    assert [d.id for d in result.failures] == ["ref-trend/2015-16/police"]
    assert "differs by exactly 3" in result.failures[0].describe()


def test_a_suppressed_cell_later_published_is_caught_across_releases() -> None:
    small = pd.DataFrame({"year": ["2014-15", "2014-15"], "source": ["Police", "Other"]})
    a = disclosure.disclose_counts(
        small.assign(n=[4, 30]),
        index="year",
        columns="source",
        values="n",
        threshold=T,
        total_rounding=1,
        title="t",
        totals=False,
    ).by_period()
    b = disclosure.disclose_counts(
        small.assign(n=[4, 30]),
        index="year",
        columns="source",
        values="n",
        threshold=0,
        total_rounding=1,
        title="t",
        totals=False,
    ).by_period()
    r1, r2 = _registry("2014-15"), _registry("2015-16")
    r1.table(a, "trend")
    r2.table(b, "trend")
    result = audit([r1, r2])
    # the small cell and its complement, both shown in the later release
    assert [c.id for c in result.failures] == ["trend/2014-15/other", "trend/2014-15/police"]


def test_threshold_floor_on_real_data() -> None:
    assert check_threshold(5, "synthetic") == 5
    assert check_threshold(9, "real") == 9
    with pytest.raises(UserError, match="cannot be below 9"):
        check_threshold(5, "real")


def test_freeze_and_revisions(tmp_path) -> None:
    year = tmp_path / "2015-16"
    (year / "tables").mkdir(parents=True)
    reg = _registry()
    reg.number("x/total", 120)
    reg.write(year / "statistics.json")
    (year / "tables" / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    release = freeze(tmp_path, "2015-16")
    assert verify(release) == []
    with pytest.raises(UserError, match="published already"):
        freeze(tmp_path, "2015-16")
    reg2 = _registry()
    reg2.number("x/total", 125)
    reg2.write(year / "statistics.json")
    changes = changes_since_release(tmp_path, "2015-16")
    assert [(c.id, c.was, c.now, c.marked) for c in changes] == [
        ("2015-16|x/total", "120", "125", False)
    ]
    assert {r.vintage for r in read_releases(tmp_path)} == {"2015-16", "2015-16 as published"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=40), min_size=3, max_size=3),
        min_size=3,
        max_size=4,
    )
)
def test_per_table_suppression_passes_the_audit_and_ranges_hold_the_truth(grid) -> None:
    """Invariant: the table's own secondary suppression leaves every suppressed cell's
    true value inside the deduced range, and the audit's suppression makes it pass."""
    rows = [
        {"r": f"R{i}", "c": f"C{j}", "n": v}
        for i, row in enumerate(grid)
        for j, v in enumerate(row)
    ]
    df = pd.DataFrame(rows)
    table = disclosure.disclose_counts(
        df, index="r", columns="c", values="n", threshold=T, total_rounding=5, title="g"
    )
    repaired = protect_jointly([(table, "g")], threshold=T)[0]
    reg = _registry()
    reg.table(repaired, "g")
    result = audit([reg], primary={reg.vintage: reg.primary}, exact=True)
    assert result.passed, result.report()
    truth = df.pivot_table(index="r", columns="c", values="n", aggfunc="sum")
    for cell in result.cells:
        assert isinstance(cell, CellRange)
        stat = reg.stats[cell.id]
        if stat.row in truth.index and stat.column in truth.columns:
            assert cell.low <= truth.loc[stat.row, stat.column] <= cell.high
