"""The evaluation calendar's quarters: one definition, every form agrees."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from analysis.core import calendar


@given(st.dates(min_value=date(2012, 9, 1), max_value=date(2030, 8, 31)))
def test_quarter_forms_agree(day: date) -> None:
    label = calendar.quarter_of(day)
    index = calendar.quarter_index_of(day)
    assert index == calendar.quarter_index(label)
    assert calendar.quarter_label(index) == label
    period = calendar.parse_period(label)
    start_year = calendar.parse_year(period.evaluation_year)
    assert calendar.quarter_bounds(start_year, int(label[-1])) == (period.start, period.end)
    assert period.start <= day <= period.end


def test_first_quarter_is_september_2012() -> None:
    assert calendar.quarter_index("2012-13 Q1") == 1
    assert calendar.quarter_bounds(2012, 1) == (date(2012, 9, 1), date(2012, 11, 30))
    assert calendar.quarter_bounds(2016, 2) == (date(2016, 12, 1), date(2017, 2, 28))
