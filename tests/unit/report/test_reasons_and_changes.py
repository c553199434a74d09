"""A model's not-fitted reason publishes the rule parameters it states as registered
numbers (not found again in the words), and a change of zero is written "0" (issue 16)."""

from __future__ import annotations

from types import SimpleNamespace

from analysis.analyse.year import not_fitted
from analysis.publish.registry import Registry, check_page
from analysis.report.sections.common import reason_html
from analysis.report.sections.outcomes import signed


def test_a_reason_template_publishes_its_rule_parameters_as_numbers() -> None:
    outcome = not_fitted(
        "trajectory",
        "fewer than {min_people} young people have two or more assessments",
        values={"min_people": 20},
    )
    record = outcome.record()
    assert record["reason"] == "fewer than 20 young people have two or more assessments"
    assert record["reason_values"] == {"min_people": 20}
    ctx = SimpleNamespace(stats=Registry("2013-14"))
    text = reason_html(ctx, record)
    assert 'data-stat="rules/trajectory/min-people">20</data>' in text
    assert check_page(f"<h2>7. Change</h2><p>{text}</p>", ctx.stats) == []


def test_a_reason_without_values_is_words_only_and_keeps_its_braces() -> None:
    record = not_fitted("reach", "a {literal} & <odd> reason").record()
    assert record["reason"] == "a {literal} & <odd> reason" and "reason_values" not in record
    ctx = SimpleNamespace(stats=Registry("2013-14"))
    assert reason_html(ctx, record) == "a {literal} &amp; &lt;odd&gt; reason"


def test_a_change_of_zero_has_no_sign() -> None:
    assert [signed(v) for v in (0.0, -0.2, 12, -3, 1234)] == ["0", "0", "+12", "-3", "+1,234"]
