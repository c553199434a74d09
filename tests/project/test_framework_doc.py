"""docs/evaluation-framework.md and evaluation-framework.yaml say the same thing."""

from __future__ import annotations

import re

from analysis.core.framework import load_framework
from analysis.core.paths import DOCS_DIR


def test_doc_table_matches_the_framework_file() -> None:
    framework = load_framework()
    doc = (DOCS_DIR / "evaluation-framework.md").read_text("utf-8")
    assert f"Version **{framework.version}**" in doc
    for number, c in framework.outcomes.items():
        pattern = (
            rf"^\| {number} \| {re.escape(c.title)} \| `{c.primary}`[^|]* \| "
            rf"{c.met:g} \| {c.partly:g} \| {c.evidence} \|$"
        )
        assert re.search(pattern, doc, re.M), f"outcome {number} row differs from the file"
    for name, model in framework.models.items():
        assert re.search(rf"^\| {name} \| {model.evidence} \|", doc, re.M), name
    assert f"fewer than {framework.min_services} services" in doc
    assert f"fewer than {framework.min_completeness:.0%}" in doc
    assert f"fewer than {framework.min_denominator} people" in doc
    assert f"before {framework.first_rated_year}" in doc
