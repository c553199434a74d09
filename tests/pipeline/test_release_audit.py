"""The release audit on the pipeline's own reports (issue 18, docs/disclosure.md): every
year's report together, and the index, give no suppressed number away; undoing one
complementary suppression is caught, naming the cell."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import PipelineRun

from analysis.core.catalog import AUDIT
from analysis.publish.disclosure.audit import audit, read_releases
from analysis.runner.cli import main

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]


def test_the_four_releases_pass_the_audit_together(pipeline_run: PipelineRun, capsys):
    result = audit(read_releases(pipeline_run.reports))
    assert result.cells, "the reports suppress cells: the audit has something to check"
    assert result.passed, "\n".join(f.describe() for f in result.failures)
    # the audit stage ran before the index and wrote its verdict
    assert "audit passed" in (pipeline_run.root / AUDIT).read_text("utf-8")
    assert main(["audit", str(pipeline_run.reports), "--failures-only"]) == 0
    assert "audit passed" in capsys.readouterr().out


def test_one_complementary_suppression_undone_is_caught_naming_the_cell(
    pipeline_run: PipelineRun,
):
    registries = read_releases(pipeline_run.reports)
    reg = next(r for r in registries if r.vintage == "2016-17")
    sums = [rel for rel in reg.relations if rel["kind"] == "sum"]
    # a [c] cell in a sum with another [c] cell: publish the other one as if never suppressed
    for rel in sums:
        members = [rel["total"], *rel["parts"]]
        hidden = [m for m in members if m in reg.stats and reg.stats[m].status == "[c]"]
        if len(hidden) == 2 and all(
            reg.stats[m].status is None and reg.stats[m].value is not None
            for m in members
            if m not in hidden
        ):
            break
    else:
        pytest.skip("no sum with exactly two suppressed cells in 2016-17")
    undone, kept = hidden
    known = sum(reg.stats[m].value for m in rel["parts"] if m not in hidden)
    total = reg.stats[rel["total"]].value if rel["total"] not in hidden else None
    if total is None:
        pytest.skip("the suppressed pair includes the total")
    value = total - known - 5  # leaves `kept` about 5: consistent with everything else
    if value < 0:
        pytest.skip("the pair is too small to undo consistently")
    reg.stats[undone] = dataclasses.replace(
        reg.stats[undone], status=None, value=float(value), text=str(int(value))
    )
    result = audit(registries)
    assert not result.passed
    assert kept in {f.id for f in result.failures}
