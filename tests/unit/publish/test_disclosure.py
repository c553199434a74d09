"""Tests for analysis.disclosure: small counts, secondary suppression, rounding, percentages.

The secondary-suppression checks use an attacker written independently of the module: it
knows every published value and every total exactly (even rounded or hidden ones, which is
conservative) and tries (1) repeated subtraction along rows and columns and (2) exact
rational Gaussian elimination on all the additive relations at once.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.publish import disclosure as D
from analysis.publish.disclosure import (
    CONFIDENTIAL,
    DisclosedTable,
    DisclosureError,
    disclose_counts,
    disclose_estimates,
    disclose_shares,
    disclose_table,
)

# ------------------------------------------------------------------------------------
# The attacker
# ------------------------------------------------------------------------------------


def _grid_relations(n_rows: int, n_cols: int) -> tuple[int, int, list[tuple[list, tuple]]]:
    """Relations of a body grid with a total column (if >1 col) and total row (if >1 row)."""
    tc, tr = n_cols > 1, n_rows > 1
    rows, cols = n_rows + tr, n_cols + tc
    rel: list[tuple[list, tuple]] = []
    if tc:
        rel += [([(r, c) for c in range(n_cols)], (r, n_cols)) for r in range(rows)]
    if tr:
        rel += [([(r, c) for r in range(n_rows)], (n_rows, c)) for c in range(cols)]
    return rows, cols, rel


def exact_relations(
    relations: list[tuple[list, tuple]], unknown: set, n_rows: int, n_cols: int, rounding: int
) -> list[tuple[list, tuple]]:
    """The relations an attacker can use as exact equations: all of them when totals are
    exact (``rounding`` 1); otherwise those whose published members are all body cells
    (every published total is rounded)."""
    if rounding == 1:
        return relations

    def exact(cell: tuple) -> bool:
        return cell in unknown or (cell[0] < n_rows and cell[1] < n_cols)

    return [(parts, total) for parts, total in relations if all(map(exact, [*parts, total]))]


def recover_by_subtraction(unknown: set, relations: list[tuple[list, tuple]]) -> set:
    """Cells an attacker recovers by repeatedly subtracting along single-unknown lines."""
    unknown = set(unknown)
    recovered: set = set()
    changed = True
    while changed:
        changed = False
        for parts, total in relations:
            line_unknown = [c for c in [*parts, total] if c in unknown]
            if len(line_unknown) == 1:
                unknown.discard(line_unknown[0])
                recovered.add(line_unknown[0])
                changed = True
    return recovered


def recover_by_elimination(unknown: set, relations: list[tuple[list, tuple]]) -> set:
    """Cells pinned down by the linear system (exact rational row reduction)."""
    cells = sorted(unknown)
    pos = {c: i for i, c in enumerate(cells)}
    rows = []
    for parts, total in relations:
        row = [Fraction(0)] * len(cells)
        for p in parts:
            if p in pos:
                row[pos[p]] += 1
        if total in pos:
            row[pos[total]] -= 1
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    r = 0
    for col in range(len(cells)):
        piv = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if piv is None:
            continue
        rows[r], rows[piv] = rows[piv], rows[r]
        lead = rows[r][col]
        rows[r] = [x / lead for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
    found = set()
    for i, col in enumerate(pivots):
        if sum(1 for x in rows[i] if x != 0) == 1:
            found.add(cells[col])
    return found


def suppressed_cells(dt: DisclosedTable) -> set:
    t = dt.table.to_numpy()
    return {(r, c) for r in range(t.shape[0]) for c in range(t.shape[1]) if t[r, c] == "[c]"}


# ------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------

count = st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 40), st.integers(41, 400))


@st.composite
def grids(draw: st.DrawFn) -> np.ndarray:
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 6))
    cells = draw(st.lists(count, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    return np.array(cells, dtype=float).reshape(n_rows, n_cols)


def tidy(body: np.ndarray) -> pd.DataFrame:
    n_rows, n_cols = body.shape
    return pd.DataFrame(
        {
            "service": [f"S{r + 1:02d}" for r in range(n_rows) for _ in range(n_cols)],
            # zero-padded when there are 10 or more, so that sorting keeps the order
            "quarter": [
                f"Q{c + 1:0{len(str(n_cols))}d}" for _ in range(n_rows) for c in range(n_cols)
            ],
            "n": body.ravel().astype(int),
        }
    )


def truth_with_totals(body: np.ndarray) -> np.ndarray:
    n_rows, n_cols = body.shape
    g = body
    if n_cols > 1:
        g = np.column_stack([g, g.sum(axis=1)])
    if n_rows > 1:
        g = np.vstack([g, g.sum(axis=0)])
    return g


FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------
# disclose_counts invariants
# ------------------------------------------------------------------------------------


@FAST
@given(body=grids(), threshold=st.integers(1, 12), rounding=st.sampled_from([1, 5, 10]))
def test_counts_no_small_value_and_not_recoverable(
    body: np.ndarray, threshold: int, rounding: int
) -> None:
    dt = disclose_counts(
        tidy(body),
        index="service",
        columns="quarter",
        values="n",
        threshold=threshold,
        total_rounding=rounding,
        title="t",
    )
    truth = truth_with_totals(body)
    table = dt.table.to_numpy()
    assert table.shape == truth.shape
    n_rows, n_cols = body.shape
    for (r, c), shown in np.ndenumerate(table):
        true = truth[r, c]
        is_total = r >= n_rows or c >= n_cols
        if shown == CONFIDENTIAL:
            continue
        if shown == "[k]":
            assert is_total and 0 < true < rounding / 2 + 1
            continue
        value = int(shown.replace(",", ""))
        # No published count from 1 to the threshold, total or not.
        assert not 1 <= value <= threshold, (r, c, shown)
        if is_total:
            assert value == D.round_to_base(true, rounding)
            assert abs(value - true) <= rounding / 2
        else:
            assert value == true
        if value == 0:
            assert true == 0
    # Every small true count is suppressed.
    small = {(r, c) for (r, c), v in np.ndenumerate(truth) if 1 <= v <= threshold}
    assert small <= suppressed_cells(dt)
    # No suppressed cell can be recovered from the totals: exactly, from the relations
    # whose published members are exact (a total rounded to a base > 1 gives an interval,
    # not a value; what intervals allow is the release audit's milp, tests/unit/publish/
    # test_audit.py).
    _, _, rel = _grid_relations(n_rows, n_cols)
    unknown = suppressed_cells(dt)
    rel = exact_relations(rel, unknown, n_rows, n_cols, rounding)
    assert recover_by_subtraction(unknown, rel) == set()
    assert recover_by_elimination(unknown, rel) == set()


@FAST
@given(body=grids())
def test_counts_hidden_totals_still_protected(body: np.ndarray) -> None:
    dt = disclose_counts(
        tidy(body),
        index="service",
        columns="quarter",
        values="n",
        totals=False,
        title="t",
        threshold=9,
        total_rounding=5,
    )
    assert dt.table.shape == body.shape
    assert dt.total_label is None
    unknown = suppressed_cells(dt)
    _, _, rel = _grid_relations(*body.shape)
    # Totals are public knowledge (not in `unknown`): still nothing recoverable.
    assert recover_by_subtraction(unknown, rel) == set()
    assert recover_by_elimination(unknown, rel) == set()
    for (r, c), shown in np.ndenumerate(dt.table.to_numpy()):
        if shown != CONFIDENTIAL:
            assert int(shown.replace(",", "")) == body[r, c]


def test_attacker_catches_an_unprotected_pattern() -> None:
    """The checker itself must fail on a table with primary suppression only."""
    _, _, rel = _grid_relations(3, 2)
    assert recover_by_subtraction({(0, 1)}, rel) == {(0, 1)}
    # A 'bridge': every line has two unknowns, yet (0, 2) is pinned down.
    _, _, rel6 = _grid_relations(4, 4)
    cycle_a = {(0, 0), (0, 1), (1, 0), (1, 1)}
    cycle_b = {(2, 2), (2, 3), (3, 2), (3, 3)}
    unknown = cycle_a | cycle_b | {(0, 2)}
    assert recover_by_subtraction(unknown, rel6) == set()
    assert recover_by_elimination(unknown, rel6) == {(0, 2)}
    # A second link closes the loop: nothing is pinned down any more.
    assert recover_by_elimination(unknown | {(2, 0)}, rel6) == set()


def test_secondary_suppression_picks_smallest_complements() -> None:
    df = tidy(np.array([[12, 3], [20, 15], [0, 40]], dtype=float))
    dt = disclose_counts(
        df, index="service", columns="quarter", values="n", title="t", threshold=9, total_rounding=5
    )
    expected = pd.DataFrame(
        {
            "Q1": ["[c]", "[c]", "0", "30"],
            "Q2": ["[c]", "[c]", "40", "60"],
            "Total": ["15", "35", "40", "90"],
        },
        index=pd.Index(["S01", "S02", "S03", "Total"], name="service"),
    )
    expected.columns.name = "quarter"
    pd.testing.assert_frame_equal(dt.table, expected, check_dtype=False)
    assert dt.numeric.loc["S01", "Q1"] != dt.numeric.loc["S01", "Q1"]  # NaN
    assert dt.numeric.loc["Total", "Q2"] == 60.0


def test_counts_deterministic_and_zero_kept() -> None:
    body = np.array([[0, 0, 25], [30, 4, 0], [11, 12, 13]], dtype=float)
    a = disclose_counts(
        tidy(body),
        index="service",
        columns="quarter",
        values="n",
        title="t",
        threshold=9,
        total_rounding=5,
    )
    b = disclose_counts(
        tidy(body),
        index="service",
        columns="quarter",
        values="n",
        title="t",
        threshold=9,
        total_rounding=5,
    )
    assert a == b
    assert a.table.loc["S01", "Q1"] == "0"


def test_counts_missing_combinations_and_nan() -> None:
    df = pd.DataFrame(
        {"service": ["S01", "S01", "S02"], "quarter": ["Q1", "Q2", "Q1"], "n": [20, None, 30]}
    )
    dt = disclose_counts(
        df,
        index="service",
        columns="quarter",
        values="n",
        title="t",
        missing="[z]",
        threshold=9,
        total_rounding=5,
    )
    assert dt.table.loc["S01", "Q2"] == "[x]"
    assert dt.table.loc["S02", "Q2"] == "[z]"
    dt0 = disclose_counts(
        df, index="service", columns="quarter", values="n", title="t", threshold=9, total_rounding=5
    )
    assert dt0.table.loc["S02", "Q2"] == "0"


@pytest.mark.parametrize("bad", [-1, 2.5, "many"])
def test_counts_bad_input_named(bad: object) -> None:
    df = pd.DataFrame({"service": ["S01", "S02"], "quarter": ["Q1", "Q1"], "n": [10, bad]})
    with pytest.raises(DisclosureError, match="'n'"):
        disclose_counts(
            df,
            index="service",
            columns="quarter",
            values="n",
            title="t",
            threshold=9,
            total_rounding=5,
        )


def test_missing_column_is_named() -> None:
    df = pd.DataFrame({"service": ["S01"], "n": [10]})
    with pytest.raises(DisclosureError, match="quarter"):
        disclose_counts(
            df,
            index="service",
            columns="quarter",
            values="n",
            title="t",
            threshold=9,
            total_rounding=5,
        )


# ------------------------------------------------------------------------------------
# disclose_table: percentages and row relations
# ------------------------------------------------------------------------------------


@FAST
@given(
    rows=st.lists(st.tuples(count, count, count), min_size=1, max_size=8),
    threshold=st.integers(1, 10),
)
@example(rows=[(0, 10, 0), (1, 1, 0), (3, 1, 0)], threshold=3)  # rounded totals, not equations
def test_table_percentages_and_relations(rows: list[tuple[int, int, int]], threshold: int) -> None:
    df = pd.DataFrame(
        {
            "service": [f"S{i:02d}" for i in range(len(rows))],
            "recorded": [a for a, _, _ in rows],
            "not_recorded": [b for _, b, _ in rows],
            "other": [c for _, _, c in rows],
        }
    )
    df["records"] = df["recorded"] + df["not_recorded"]
    dt = disclose_table(
        df,
        index="service",
        count_columns=["records", "recorded", "not_recorded", "other"],
        relations={"records": ["recorded", "not_recorded"]},
        percent_columns={"share": ("recorded", "records")},
        threshold=threshold,
        title="t",
        total_rounding=5,
    )
    t = dt.table
    n = len(rows)
    cols = ["records", "recorded", "not_recorded", "other"]
    for col in cols:
        for shown in t[col]:
            if shown not in ("[c]", "[k]"):
                assert not 1 <= int(shown.replace(",", "")) <= threshold
    # A percentage is suppressed exactly when numerator or denominator is not published.
    for i in range(len(t)):
        num, den, pct = t["recorded"].iloc[i], t["records"].iloc[i], t["share"].iloc[i]
        if "[c]" in (num, den) or "[k]" in (num, den):
            assert pct == "[c]"
        elif int(den.replace(",", "")) == 0:
            assert pct == "[z]"
        else:
            expected = 100 * int(num.replace(",", "")) / int(den.replace(",", ""))
            assert pct == "[k]" or abs(float(pct.replace(",", "")) - expected) <= 0.5
    # Attack: columns sum to the total row, and records = recorded + not_recorded per row,
    # as exact equations only where every published member is exact (the total row is
    # rounded to 5: an interval, which the release audit's milp covers).
    rel: list[tuple[list, tuple]] = []
    total_rows = n + (n > 1)
    if n > 1:
        rel += [([(r, c) for r in range(n)], (n, c)) for c in range(len(cols))]
    rel += [([(r, 1), (r, 2)], (r, 0)) for r in range(total_rows)]
    unknown = {
        (r, c) for r in range(total_rows) for c, col in enumerate(cols) if t[col].iloc[r] == "[c]"
    }
    rel = exact_relations(rel, unknown, n, len(cols), rounding=5)
    assert recover_by_subtraction(unknown, rel) == set()
    assert recover_by_elimination(unknown, rel) == set()


def test_table_percentage_example() -> None:
    df = pd.DataFrame({"service": ["S01", "S02", "S03"], "den": [50, 8, 30], "num": [40, 5, 0]})
    dt = disclose_table(
        df,
        index="service",
        count_columns=["den", "num"],
        percent_columns={"pct": ("num", "den")},
        title="t",
        threshold=9,
        total_rounding=5,
    )
    # num: 5 is small; its complement is the smallest non-zero cell (40), not the zero.
    assert list(dt.table["num"]) == ["[c]", "[c]", "0", "45"]
    assert list(dt.table["den"]) == ["50", "[c]", "[c]", "90"]
    assert list(dt.table["pct"]) == ["[c]", "[c]", "[c]", "50"]
    assert dt.table.loc["Total", "den"] == "90"


# ------------------------------------------------------------------------------------
# disclose_shares and disclose_estimates
# ------------------------------------------------------------------------------------


def test_shares_grid_and_tidy() -> None:
    df = pd.DataFrame(
        {
            "service_id": ["S01", "S01", "S02", "S02", "S03"],
            "period": ["Q1", "Q2", "Q1", "Q2", "Q1"],
            "young_people": [40, 5, 30, 0, 20],
            "gender_recorded": [0.9, 1.0, 0.5, None, 0.1],
        }
    )
    grid = disclose_shares(
        df,
        index="service_id",
        columns="period",
        share="gender_recorded",
        denominator="young_people",
        title="Gender recorded",
        threshold=9,
    )
    assert grid.table.loc["S01", "Q1"] == "90"
    assert grid.table.loc["S01", "Q2"] == "[c]"  # denominator 5
    assert grid.table.loc["S02", "Q2"] == "[z]"  # denominator 0
    assert grid.table.loc["S03", "Q1"] == "[c]"  # numerator 2
    assert grid.table.loc["S03", "Q2"] == "[x]"  # no return
    assert grid.numeric.loc["S01", "Q1"] == 90.0
    pooled = disclose_shares(
        df,
        index="service_id",
        share="gender_recorded",
        denominator="young_people",
        title="Gender recorded",
        threshold=9,
    )
    assert pooled.table.loc["S01", "Number"] == "45"
    assert pooled.table.loc["S03", "Number"] == "20"


def test_shares_complement_protection() -> None:
    df = pd.DataFrame({"s": ["A"], "n": [50], "k": [47]})
    plain = disclose_shares(df, index="s", numerator="k", denominator="n", title="t", threshold=9)
    strict = disclose_shares(
        df,
        index="s",
        numerator="k",
        denominator="n",
        title="t",
        protect_complement=True,
        threshold=9,
    )
    assert plain.table.iloc[0, 0] == "94"
    assert strict.table.iloc[0, 0] == "[c]"


def test_notes_never_speak_of_suppressing_1_to_0() -> None:
    """Threshold 0 (nothing suppressed): no note or methods sentence says "from 1 to 0"."""
    from analysis.report import disclosure_sentence

    df = pd.DataFrame({"s": ["A", "B"], "n": [50, 3], "k": [47, 1]})
    shares = disclose_shares(df, index="s", numerator="k", denominator="n", title="t", threshold=0)
    assert shares.table.loc["B"].iloc[0] == "33"
    assert not any("1 to 0" in note for note in shares.notes)
    assert "1 to 0" not in disclosure_sentence(0, 1)
    assert "programme totals are exact" in disclosure_sentence(0, 1)
    assert "from 1 to 9" in disclosure_sentence(9, 5) and "nearest 5" in disclosure_sentence(9, 5)
    default = disclose_shares(df, index="s", numerator="k", denominator="n", title="t", threshold=9)
    assert any("from 1 to 9" in note for note in default.notes)


def test_estimates() -> None:
    df = pd.DataFrame(
        {
            "term": ["a", "b", "c"],
            "estimate": [0.123, -0.2, None],
            "ci_lower": [0.0, -0.3, None],
            "ci_upper": [0.2, -0.1, None],
            "n": [100, 5, 0],
            "p": [0.0001, 0.2, None],
            "low": [True, False, False],
        }
    )
    dt = disclose_estimates(
        df, index="term", p_value_column="p", reliability_column="low", title="e", threshold=9
    )
    assert dt.table.loc["a", "estimate"] == "0.12 [u]"
    assert dt.table.loc["a", "p"] == "<0.001"
    assert set(dt.table.loc["b"]) == {"[c]"}
    assert dt.table.loc["c", "estimate"] == "[x]"
    assert dt.table.loc["c", "n"] == "0"
    assert dt.numeric.loc["a", "estimate"] == pytest.approx(0.12)


# ------------------------------------------------------------------------------------
# The type: only this module can make one; immutable; accessible HTML; CSV
# ------------------------------------------------------------------------------------


def _example() -> DisclosedTable:
    return disclose_counts(
        tidy(np.array([[12, 3], [20, 15], [0, 40]], dtype=float)),
        index="service",
        columns="quarter",
        values="n",
        title="Young people <by> quarter",
        threshold=9,
        total_rounding=5,
    )


def test_cannot_construct_or_subclass_or_mutate() -> None:
    dt = _example()
    with pytest.raises(TypeError, match="only be created"):
        DisclosedTable(
            object(), table=dt.table, numeric=dt.numeric, title="x", threshold=9, kind="counts"
        )
    with pytest.raises(TypeError):
        DisclosedTable(table=dt.table, numeric=dt.numeric)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        type("Sneaky", (DisclosedTable,), {})
    with pytest.raises(AttributeError):
        dt.title = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        dt._table = pd.DataFrame()  # type: ignore[misc]
    copy = dt.table
    copy.iloc[0, 0] = "3"
    assert dt.table.iloc[0, 0] == "[c]"


def test_html_is_accessible_table() -> None:
    html = _example()._repr_html_()
    # the sideways-scrolling wrapper is reachable by keyboard and named for screen readers
    assert html.startswith(
        '<div class="disclosed-table" tabindex="0" role="region" '
        'aria-label="Young people &lt;by&gt; quarter"><table>'
    )
    assert "<caption>Young people &lt;by&gt; quarter</caption>" in html
    assert '<th scope="col">Q1</th>' in html
    assert '<th scope="row">S01</th>' in html
    assert '<abbr title="confidential">[c]</abbr>' in html
    assert "Totals are rounded to the nearest 5." in html


def test_csv_has_same_suppression(tmp_path) -> None:
    """The CSV is tidy: one row per cell, numbers without symbols, symbols apart."""
    dt = _example()
    path = dt.to_csv(tmp_path / "t.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == ["Service", "Quarter", "Value", "Status"]
    assert back.iloc[0].tolist() == ["S01", "Q1", "", "[c]"]
    assert back.iloc[2].tolist() == ["S01", "Total", "15", ""]
    assert not back["Value"].str.contains(r"\[", regex=True).any()
    assert path.read_bytes() == dt.to_csv(tmp_path / "u.csv").read_bytes()


@pytest.mark.parametrize(
    ("shown", "value", "status"),
    [
        ("1,250 [r]", "1250", "[r]"),
        ("[c]", "", "[c]"),
        ("45%", "45", ""),
        ("-0.25", "-0.25", ""),
        ("Improved (35 against 20)", "Improved (35 against 20)", ""),
    ],
)
def test_split_status(shown: str, value: str, status: str) -> None:
    from analysis.publish.disclosure.table import split_status

    assert split_status(shown) == (value, status)


def test_headers_are_for_readers() -> None:
    from analysis.publish.disclosure.table import human_header

    assert human_header("service_id") == "Service"
    assert human_header("category") == "Group"
    assert human_header("young_people_supported") == "Young people supported"
    assert human_header("Lower 95% limit") == "Lower 95% limit"
    html = _example()._repr_html_()
    assert '<th scope="col">Service</th>' in html


def test_select_and_without_totals() -> None:
    dt = _example()
    body = dt.without_totals()
    assert list(body.table.index) == ["S01", "S02", "S03"]
    assert list(body.table.columns) == ["Q1", "Q2"]
    assert isinstance(body, DisclosedTable)
    assert math.isnan(body.numeric.loc["S01", "Q2"])


def test_mark_revised() -> None:
    dt = _example()
    flags = pd.DataFrame(False, index=dt.table.index, columns=dt.table.columns)
    flags.loc["S03", "Q2"] = True
    marked = D.mark_revised(dt, flags)
    assert marked.table.loc["S03", "Q2"] == "40 [r]"
    assert marked.numeric.loc["S03", "Q2"] == 40.0
    assert any("[r]" in n for n in marked.notes)


def test_symbol_key() -> None:
    assert set(D.SYMBOL_KEY) >= {"[c]", "[x]", "[z]", "[u]", "[k]"}
    assert "[k]" in D.symbol_key_markdown()
    assert "<dl" in D.symbol_key_html()


def test_counts_order_and_single_column() -> None:
    df = pd.DataFrame({"service": ["S02", "S01"], "quarter": ["Q2", "Q1"], "n": [30, 25]})
    dt = disclose_counts(
        df,
        index="service",
        columns="quarter",
        values="n",
        title="t",
        index_order=["S01", "S02", "S03"],
        column_order=["Q1", "Q2", "Q3"],
        missing="[z]",
        threshold=9,
        total_rounding=5,
    )
    assert list(dt.table.index) == ["S01", "S02", "S03", "Total"]
    assert list(dt.table.columns) == ["Q1", "Q2", "Q3", "Total"]
    assert dt.table.loc["S03", "Q3"] == "[z]"
    one = disclose_counts(
        df, index="service", columns=None, values="n", title="t", threshold=9, total_rounding=5
    )
    assert list(one.table.columns) == ["n"]
    assert list(one.table["n"]) == ["25", "30", "55"]


def test_counts_multiindex_rows_and_unavailable_row() -> None:
    df = pd.DataFrame(
        {
            "phase": ["1", "1", "2", "2", "2", "2"],
            "service": ["S01", "S01", "S02", "S02", "S03", "S03"],
            "quarter": ["Q1", "Q2"] * 3,
            "n": [20, 30, None, None, 15, 40],
        }
    )
    dt = disclose_counts(
        df,
        index=["phase", "service"],
        columns="quarter",
        values="n",
        title="t",
        threshold=9,
        total_rounding=5,
    )
    assert dt.table.loc[("2", "S02"), "Total"] == "[x]"
    assert dt.table.loc[("Total", ""), "Q1"] == "35"
    assert dt.total_label == "Total"
    assert list(dt.without_totals().table.index) == [("1", "S01"), ("2", "S02"), ("2", "S03")]
    html = dt.to_html()
    assert html.count('<th scope="row">') == 4


def test_programme_totals() -> None:
    df = pd.DataFrame(
        {
            "figure": ["Services active", "Services active", "Referrals", "Referrals", "Trained"],
            "evaluation_year": ["2013-14", "2014-15", "2013-14", "2014-15", "2014-15"],
            "value": [3, 8, 7, 1234, 11],
        }
    )
    dt = D.disclose_programme_totals(
        df,
        index="figure",
        columns="evaluation_year",
        values="value",
        exact=("Services active",),
        title="Key figures",
        threshold=9,
        total_rounding=5,
    )
    t = dt.table
    assert t.loc["Services active", "2013-14"] == "3"  # exact: not about individuals
    assert t.loc["Referrals", "2013-14"] == "[c]"
    assert t.loc["Referrals", "2014-15"] == "1,235"  # thousands separated
    assert t.loc["Trained", "2014-15"] == "10"  # 11 rounds to 10, above the threshold
    strict = D.disclose_programme_totals(
        df,
        index="figure",
        columns="evaluation_year",
        values="value",
        threshold=10,
        title="Key figures",
        total_rounding=5,
    )
    assert strict.table.loc["Trained", "2014-15"] == "[c]"  # 11 is fine, but 10 is shown
    assert t.loc["Trained", "2013-14"] == "[x]"
    assert dt.numeric.loc["Referrals", "2014-15"] == 1235.0
    flipped = dt.transposed()
    assert list(flipped.table.index) == ["2013-14", "2014-15"]
    assert flipped.table.loc["2014-15", "Referrals"] == "1,235"
    zero = disclose_counts(
        df, index="figure", columns=None, values="value", threshold=0, total_rounding=1, title="t"
    )
    assert not any("[c]" in n for n in zero.notes)
