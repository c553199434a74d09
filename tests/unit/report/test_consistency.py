"""Each contradiction a reader found between two published numbers, rebuilt on a small
release of its own, now published consistently (issue 16)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.analyse import outcomes
from analysis.analyse.report_facts import revision_causes
from analysis.publish import disclosure
from analysis.report.index import latest_figures
from analysis.report.sections.activities import _total
from analysis.report.sections.outcomes import _published_change
from analysis.report.wording import EXACT_FIGURES


def _ctx() -> SimpleNamespace:
    settings = SimpleNamespace(threshold=9, total_rounding=5, previous_year="2015-16")
    return SimpleNamespace(settings=settings)


def _programme(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"indicator": list(values), "value": list(values.values())}).set_index(
        "indicator"
    )


def test_a_change_is_the_difference_of_the_published_figures() -> None:
    """Areas went 19 -> 35 while new services had no previous year: the per-service
    change summed to +0; the published change is +16, matching the two figures."""
    spec = outcomes.INDICATOR_BY_ID["spoke_areas_reached_change"]
    text = _published_change(
        _ctx(),
        spec,
        _programme({"spoke_areas_reached": 35}),
        _programme({"spoke_areas_reached": 19}),
    )
    assert text.startswith("+16 (35 against 19")
    people = outcomes.INDICATOR_BY_ID["young_people_supported_change"]
    text = _published_change(
        _ctx(),
        people,
        _programme({"young_people_supported": 1638}),
        _programme({"young_people_supported": 964}),
    )
    # rounded figures first, the change from them: 1,640 - 965, never a separate +580
    assert text.startswith("+675 (1,640 against 965")
    missing = _published_change(
        _ctx(), people, _programme({"young_people_supported": 1638}), _programme({})
    )
    assert missing.startswith("[x]") and "+0" not in missing


def test_items_not_collected_are_not_published_as_zero() -> None:
    frame = pd.DataFrame(
        {"service": ["S01", "S01", "S02"], "item": ["meetings", "sessions", "sessions"],
         "count": [np.nan, 4.0, 0.0]}
    )  # fmt: skip
    wide = frame.pivot_table(
        index="service", columns="item", values="count", aggfunc=_total, dropna=False
    )
    table = disclosure.disclose_table(
        wide.reset_index(),
        index="service",
        count_columns=["meetings", "sessions"],
        threshold=0,
        total_rounding=1,
        total_row=False,
        title="Outputs",
    )
    assert table.table.loc["S01", "meetings"] == "[x]"  # not collected
    assert table.table.loc["S02", "sessions"] == "0"  # a true zero stays 0


def test_professionals_trained_are_exact_wherever_published() -> None:
    """8,152 in outcome 5 and 8,150 in the key figures: one precision now (exact)."""
    frame = pd.DataFrame(
        {"Figure": ["Professionals trained", "Young people supported"],
         "year": ["2016-17", "2016-17"], "value": [8152, 1638]}
    )  # fmt: skip
    table = disclosure.disclose_programme_totals(
        frame,
        index="Figure",
        columns="year",
        values="value",
        threshold=9,
        total_rounding=5,
        exact=EXACT_FIGURES,
        title="Key figures",
    )
    assert table.table.loc["Professionals trained", "2016-17"] == "8,152"
    assert table.table.loc["Young people supported", "2016-17"] == "1,640"


def test_the_index_shows_the_latest_revised_series() -> None:
    metrics = {
        "2015-16": {"professionals_trained": 5225},
        "2016-17": {"professionals_trained": 8152},
    }
    revisions = {"2015-16": {"professionals_trained": 5635}}
    latest, flags = latest_figures(metrics, revisions)
    assert latest["2015-16"]["professionals_trained"] == 5635
    assert flags.loc["Professionals trained", "2015-16"]
    assert not flags.loc["Professionals trained", "2016-17"]


def test_a_revision_is_explained_by_late_and_resubmitted_returns() -> None:
    def returns(rows: list[tuple[str, str, str, bool]]) -> dict[str, pd.DataFrame]:
        frame = pd.DataFrame(rows, columns=["return_id", "service_id", "period", "superseded"])
        return {"returns": frame.assign(evaluation_year="2015-16")}

    then = returns([("S01_v1", "S01", "2015-16", False), ("S02_v1", "S02", "2015-16", False)])
    now = returns(
        [
            ("S01_v1", "S01", "2015-16", True),
            ("S01_v2", "S01", "2015-16", False),  # resubmitted after the report
            ("S02_v1", "S02", "2015-16", False),
            ("S03_v1", "S03", "2015-16", False),  # arrived after the cut-off
        ]
    )
    assert revision_causes(now, then, "2015-16") == {"late_returns": 1, "resubmitted_returns": 1}
