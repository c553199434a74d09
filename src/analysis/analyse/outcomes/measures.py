"""The indicators of each of the six key outcome measures for one service and year (``docs/outcomes.md``): a value, or the reason the data cannot support one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.analyse.outcomes.context import _NA, _flow, _ratio_row, _row, _stock_at, _year_end
from analysis.analyse.outcomes.definitions import (
    HOST_TO_REFERRAL_SOURCE,
    NO_MEASURE_INSTRUMENTS,
    OPEN_MEASURE_MEANS,
    R_FEEDBACK_ABOVE_TRAINED,
    R_FEWER_THAN_TWO,
    R_GRANT_NOT_ENDED,
    R_NO_ASSESSMENTS,
    R_NO_BANDS,
    R_NO_CONFIDENCE_PAIRS,
    R_NO_EXTRACT,
    R_NO_FUNDING,
    R_NO_GROUP_RECORDS,
    R_NO_HOST_SOURCE,
    R_NO_MEASURE,
    R_NO_POSTS,
    R_NO_REASON_RECORDED,
    R_NO_REFERRALS,
    R_NO_RETURN,
    R_NO_RETURN_OR_EXTRACT,
    R_NO_RETURN_OR_TRAINING,
    R_NO_RISK_RECORDED,
    R_NO_SPOKE_AREAS,
    R_NO_TRAINED_COUNT,
    R_NO_TRAINING,
    RISK_ORDER,
    r_not_reported,
)
from analysis.analyse.workforce import CSE_FOCUSED_SHARE, posts_in_year

if TYPE_CHECKING:
    from analysis.analyse.outcomes.context import _Context


# --------------------------------------------------------------------------- outcome 1


def _outcome1(ctx: _Context) -> list[dict[str, Any]]:
    """Share of spoke posts with funding secured beyond the programme grant."""
    ind = "funded_beyond_programme_share"
    fund = ctx.funding
    in_post = _spokes_in_post(ctx)
    in_post_ids = set(in_post["spoke_id"].dropna().astype("str"))
    if fund.empty:
        return [_row(ind, reason=R_NO_FUNDING), _posts_sustained(ctx)]
    flag = fund["beyond_programme"].astype("boolean")
    known = fund.loc[flag.notna()]
    spokes_known = set(known["spoke_id"].dropna().astype("str"))
    secured = set(known.loc[flag[flag.notna()].astype(bool), "spoke_id"].dropna().astype("str"))
    notes = []
    unknown = set(fund["spoke_id"].dropna().astype("str")) - spokes_known
    if unknown:
        notes.append(f"{len(unknown)} spoke post(s) with funding source of unknown kind left out")
    no_record = in_post_ids - set(fund["spoke_id"].dropna().astype("str"))
    if no_record:
        notes.append(f"{len(no_record)} spoke post(s) in post have no funding record: left out")
    return [
        _ratio_row(
            ind,
            float(len(secured)),
            float(len(spokes_known)),
            reason_if_empty=R_NO_FUNDING,
            source="funding",
            note=notes,
        ),
        _posts_sustained(ctx),
    ]


def _posts_sustained(ctx: _Context) -> dict[str, Any]:
    """Of the posts filled before the programme grant ended, the share still filled after it
    (only once the grant has ended, by the end of the year)."""
    ind = "posts_sustained_share"
    until = ctx.funded_until
    if pd.isna(until) or pd.Timestamp(until) > _year_end(ctx.year):
        return _row(ind, reason=R_GRANT_NOT_ENDED)
    grant_end = pd.Timestamp(until).replace(day=1)
    start = pd.to_datetime(ctx.posts["start_month"])
    end = pd.to_datetime(ctx.posts["end_month"])
    filled = start.notna() & (start <= grant_end)
    # an end month after the year's end is not yet known to this year's report
    known_end = end.where(end <= _year_end(ctx.year))
    sustained = filled & (known_end.isna() | (known_end > grant_end))
    return _ratio_row(
        ind,
        float(sustained.sum()),
        float(filled.sum()),
        reason_if_empty=R_NO_POSTS,
        source="posts",
        note="posts filled by the grant's last month; still filled after it",
    )


def _spokes_in_post(ctx: _Context) -> pd.DataFrame:
    """Spoke areas of the service whose spoke started by the end of the year."""
    start = pd.to_datetime(ctx.spokes["spoke_start_month"])
    return ctx.spokes.loc[start.notna() & (start <= _year_end(ctx.year))]


# --------------------------------------------------------------------------- outcome 2


def _outcome2(ctx: _Context) -> list[dict[str, Any]]:
    """Referrals from the host agency type; multi-agency meetings attended."""
    rows = []
    ind = "host_agency_referral_share"
    spokes = _spokes_in_post(ctx)
    if spokes.empty:
        spokes = ctx.spokes  # no spoke in post yet: the agreed hosts stand in
    hosts = spokes.drop_duplicates("spoke_id")["host_agency"].astype("str").tolist()
    sources = {HOST_TO_REFERRAL_SOURCE.get(h) for h in hosts} - {None}
    unmatched = sum(HOST_TO_REFERRAL_SOURCE.get(h) is None for h in hosts)
    n_multi = sum(h == "multi_agency" for h in hosts)
    total, reason, notes = _flow(ctx, ctx.referrals, "referrals", "referrals")
    if reason is not None:
        rows.append(_row(ind, reason=reason))
    elif not hosts:
        rows.append(_row(ind, reason=R_NO_SPOKE_AREAS))
    elif not sources:
        rows.append(_row(ind, reason=R_NO_HOST_SOURCE))
    else:
        if unmatched:
            notes.append(
                f"{unmatched} of {len(hosts)} spoke(s) have a host matching no referral "
                "source: their host referrals cannot be identified, so the share understates"
            )
        if n_multi and HOST_TO_REFERRAL_SOURCE.get("multi_agency") is not None:
            notes.append(
                f"{n_multi} of {len(hosts)} spoke(s) hosted by a multi-agency team, whose "
                "referrals are recorded as children's social care: every children's social "
                "care referral is counted as from the host, so the share overstates"
            )
        ref = ctx.referrals.loc[ctx.referrals["referrals"].notna()]
        num = float(pd.to_numeric(ref.loc[ref["referral_source"].isin(sources), "referrals"]).sum())
        rows.append(
            _ratio_row(
                ind,
                num,
                float(total),
                reason_if_empty=R_NO_REFERRALS,
                source="referrals",
                note=notes,
            )
        )
    value, reason, notes = _flow(
        ctx, ctx.outputs, "count", "multi-agency meetings", key=("output", "multi_agency_meetings")
    )
    rows.append(
        _row("multi_agency_meetings", value=value, reason=reason, source="outputs", note=notes)
    )
    return rows


# --------------------------------------------------------------------------- outcome 3


def _outcome3(ctx: _Context) -> list[dict[str, Any]]:
    """Share of the caseload referred for CSE rather than other needs."""
    ind = "cse_referral_share"
    cases = ctx.cases
    if cases.empty:
        return [
            _row(ind, reason=R_NO_EXTRACT),
            _cse_focused_posts(ctx),
            _row("high_risk_caseload_share", reason=R_NO_EXTRACT),
        ]
    # One reason per young person: the one in their latest extract of the year.
    latest = cases.sort_values(["person_key", "period"]).drop_duplicates("person_key", keep="last")
    known = latest.loc[latest["referral_reason"].notna()]
    notes = []
    if len(known) < len(latest):
        notes.append(f"referral reason not recorded for {len(latest) - len(known)} young people")
    num = float((known["referral_reason"].astype("str") == "cse").sum())
    return [
        _ratio_row(
            ind,
            num,
            float(len(known)),
            reason_if_empty=R_NO_REASON_RECORDED,
            source="case_periods",
            note=notes,
        ),
        _cse_focused_posts(ctx),
        _high_risk_caseload(latest),
    ]


def _cse_focused_posts(ctx: _Context) -> dict[str, Any]:
    """Share of the posts filled in the year spending most of their time on CSE work."""
    filled = posts_in_year(ctx.posts, ctx.year)
    focused = float((filled["cse_time_share"] >= CSE_FOCUSED_SHARE).sum())
    return _ratio_row(
        "cse_focused_posts_share",
        focused,
        float(len(filled)),
        reason_if_empty=R_NO_POSTS,
        source="posts",
    )


def _high_risk_caseload(latest: pd.DataFrame) -> dict[str, Any]:
    """Share of the year's caseload at high risk at referral (risk recorded)."""
    known = latest.loc[latest["risk_at_referral"].notna()]
    notes = []
    if len(known) < len(latest):
        notes.append(f"risk at referral not recorded for {len(latest) - len(known)} young people")
    return _ratio_row(
        "high_risk_caseload_share",
        float((known["risk_at_referral"].astype("str") == "high").sum()),
        float(len(known)),
        reason_if_empty=R_NO_RISK_RECORDED,
        source="case_periods",
        note=notes,
    )


# --------------------------------------------------------------------------- outcome 4


def _supported_from_returns(ctx: _Context) -> tuple[Any, list[str]]:
    """Young people supported in the year from the returns' new/open/closed counts.

    The data contract defines ``open`` as open at any time in the period (the rows of the
    period's case extract), so everyone supported in the year was open in the first
    period or referred in a later one: supported = open (first return) + new (later
    returns). Were ``open`` the caseload at the *end* of a period
    (``OPEN_MEASURE_MEANS = "end_of_period"``), everyone supported is still open at the
    year end or closed during it: supported = open (last return) + closed (all returns).
    Missing when ``open``, or the flow for every period that needs it, is not reported.
    """
    counts = ctx.counts
    notes = list(ctx.return_notes)
    end_of_period = OPEN_MEASURE_MEANS == "end_of_period"
    open_n, period = _stock_at(counts, "open", "last" if end_of_period else "first")
    if pd.isna(open_n):
        return _NA, notes
    measure = "closed" if end_of_period else "new"
    need = ctx.received if end_of_period else [p for p in ctx.received if p > period]
    flows = counts.loc[
        (counts["measure"] == measure)
        & counts["young_people"].notna()
        & counts["period"].isin(need)
    ]
    have = set(flows["period"])
    if need and not have:
        return _NA, notes
    if len(have) < len(need):
        notes.append(
            f"{measure} young people reported in {len(have)} of {len(need)} returns needed"
        )
    expected_at = ctx.received[-1] if end_of_period else ctx.received[0]
    if period != expected_at:
        notes.append(f"open young people taken from the {period} return")
    return open_n + float(pd.to_numeric(flows["young_people"]).sum()), notes


def _outcome4(ctx: _Context) -> list[dict[str, Any]]:
    """Referrals, young people supported and spoke areas reached (changes added later)."""
    rows = []
    value, reason, notes = _flow(ctx, ctx.referrals, "referrals", "referrals")
    rows.append(_row("referrals", value=value, reason=reason, source="referrals", note=notes))

    ind = "young_people_supported"
    value, notes = _supported_from_returns(ctx) if ctx.received else (_NA, [])
    if not pd.isna(value):
        rows.append(_row(ind, value=value, source="young_people_counts", note=notes))
    elif not ctx.cases.empty:
        note = "from the case-level extracts (distinct young people)"
        if ctx.received:
            note += ": the returns do not report open and closed young people"
        rows.append(
            _row(ind, value=ctx.cases["person_key"].nunique(), source="case_periods", note=note)
        )
    elif ctx.received:
        rows.append(_row(ind, reason=r_not_reported("open and closed young people")))
    else:
        rows.append(_row(ind, reason=R_NO_RETURN_OR_EXTRACT))

    ind = "spoke_areas_reached"
    if ctx.spokes.empty:
        rows.append(_row(ind, reason=R_NO_SPOKE_AREAS))
    else:
        n_unknown = int(ctx.spokes["spoke_start_month"].isna().sum())
        note = f"{n_unknown} spoke area(s) with no start month not counted" if n_unknown else None
        rows.append(
            _row(
                ind,
                value=_spokes_in_post(ctx)["area_code"].nunique(),
                source="areas",
                note=note,
            )
        )
    filled = posts_in_year(ctx.posts, ctx.year)
    if ctx.posts.empty:
        rows.append(_row("spoke_posts_filled", reason=R_NO_POSTS))
    else:
        rows.append(_row("spoke_posts_filled", value=float(len(filled)), source="posts"))
    return rows + _group_reach(ctx)


def _group_reach(ctx: _Context) -> list[dict[str, Any]]:
    """Group sessions with children and young people, and their attendance, in the year."""
    groups = ctx.groups
    if groups.empty:
        reason = R_NO_GROUP_RECORDS if ctx.received else R_NO_RETURN
        return [_row("group_sessions", reason=reason), _row("group_attendees", reason=reason)]
    note = None
    periods = groups["period"].nunique()
    if ctx.received and periods < len(ctx.received):
        note = f"group-session records for {periods} of the {len(ctx.received)} periods received"
    sessions = float(len(groups.drop_duplicates(["period", "session_id"])))
    attendees = float(pd.to_numeric(groups["attendees"]).sum())
    return [
        _row("group_sessions", value=sessions, source="group_sessions", note=note),
        _row("group_attendees", value=attendees, source="group_sessions", note=note),
    ]


# --------------------------------------------------------------------------- outcome 5


def _outcome5(ctx: _Context) -> list[dict[str, Any]]:
    """Training sessions, professionals trained, mean pre/post confidence change."""
    rows = []
    value, reason, notes = _flow(
        ctx, ctx.outputs, "count", "training sessions", key=("output", "training_sessions")
    )
    rows.append(_row("training_sessions", value=value, reason=reason, source="outputs", note=notes))

    ind = "professionals_trained"
    value, reason, notes = _flow(
        ctx, ctx.outputs, "count", "professionals trained", key=("output", "professionals_trained")
    )
    if reason is None:
        rows.append(_row(ind, value=value, source="outputs", note=notes))
    elif not ctx.training.empty:
        note = "counted from training feedback forms (one per professional)"
        if ctx.received:
            note += ": the returns do not report professionals trained"
        rows.append(_row(ind, value=len(ctx.training), source="training", note=note))
    else:
        rows.append(_row(ind, reason=R_NO_RETURN_OR_TRAINING if not ctx.received else reason))

    ind = "confidence_change_mean"
    tr = ctx.training
    if tr.empty:
        rows.append(_row(ind, reason=R_NO_TRAINING))
    else:
        pre = pd.to_numeric(tr["confidence_pre"], errors="coerce")
        post = pd.to_numeric(tr["confidence_post"], errors="coerce")
        both = pre.notna() & post.notna()
        note = (
            f"{int((~both).sum())} of {len(tr)} professionals lack a pre or post rating"
            if (~both).any()
            else None
        )
        change = (post[both] - pre[both]).astype(float)
        rows.append(
            _ratio_row(
                ind,
                float(change.sum()),
                float(both.sum()),
                reason_if_empty=R_NO_CONFIDENCE_PAIRS,
                source="training",
                note=note,
            )
        )
    # How many of the professionals trained the confidence figure rests on (outcome 5 is
    # self-report from those who returned feedback: its response rate qualifies it).
    ind = "training_feedback_response_share"
    trained = next((r for r in rows if r["indicator"] == "professionals_trained"), None)
    if trained is None or pd.isna(trained["value"]) or trained.get("source") != "outputs":
        rows.append(_row(ind, reason=R_NO_RETURN if not ctx.received else R_NO_TRAINED_COUNT))
    elif tr.empty:
        rows.append(_row(ind, reason=R_NO_TRAINING))
    else:
        pairs = int((pd.to_numeric(tr["confidence_pre"], errors="coerce").notna()
                     & pd.to_numeric(tr["confidence_post"], errors="coerce").notna()).sum())  # fmt: skip
        if pairs > trained["value"]:
            rows.append(_row(ind, reason=R_FEEDBACK_ABOVE_TRAINED))
        else:
            rows.append(
                _ratio_row(
                    ind,
                    float(pairs),
                    float(trained["value"]),
                    reason_if_empty=R_NO_TRAINED_COUNT,
                    source="training, outputs",
                )
            )
    return rows


# --------------------------------------------------------------------------- outcome 6


def _ordered_assessments(ass: pd.DataFrame) -> pd.DataFrame:
    """Assessments in time order within person (month, then months since referral, period)."""
    keys = ["person_key", "assessment_month"]
    if "months_since_referral" in ass.columns:
        keys.append("months_since_referral")
    keys.append("period")
    return ass.sort_values(keys, kind="stable", na_position="last")


def _outcome6(ctx: _Context) -> list[dict[str, Any]]:
    """Change in harmonised score and risk band, first to latest assessment."""
    ids = (
        "assessed_young_people",
        "two_plus_assessments",
        "outcome_score_change_mean",
        "risk_band_improved_share",
        "risk_band_unchanged_share",
        "risk_band_worsened_share",
    )
    ass = ctx.assessments_to_date
    this_year = ass.loc[ass["evaluation_year"] == ctx.year]
    if this_year.empty:
        reason = R_NO_MEASURE if ctx.instrument in NO_MEASURE_INSTRUMENTS else R_NO_ASSESSMENTS
        return [_row(i, reason=reason) for i in ids]

    eligible = set(this_year["person_key"].dropna())
    ass = _ordered_assessments(ass.loc[ass["person_key"].isin(eligible)])
    note = "first assessment at the service (any year so far) to latest assessment this year"
    rows = [_row("assessed_young_people", value=len(eligible), source="assessments")]

    scored = ass.loc[ass["score"].notna()]
    n_scored = scored.groupby("person_key").size()
    used = scored.loc[scored["person_key"].isin(n_scored[n_scored >= 2].index)]
    rows.append(
        _row(
            "two_plus_assessments",
            value=float(used["person_key"].nunique()),
            source="assessments",
            note="two or more assessments with a harmonised score",
        )
    )
    grouped = used.groupby("person_key", sort=True)["score"]
    change = (grouped.last().astype(float) - grouped.first().astype(float)).sort_index()
    rows.append(
        _ratio_row(
            "outcome_score_change_mean",
            float(change.sum()),
            float(len(change)),
            reason_if_empty=R_FEWER_THAN_TWO,
            source="assessments",
            note=f"{len(change)} of {len(eligible)} eligible young people used; {note}",
        )
    )

    banded = ass.loc[ass["risk_band"].notna()]
    banded = banded.assign(
        _rank=pd.to_numeric(banded["risk_band"].astype("str").map(RISK_ORDER)).astype(float)
    )
    n_unknown = int(banded["_rank"].isna().sum())
    banded = banded.loc[banded["_rank"].notna()]
    n_banded = banded.groupby("person_key").size()
    banded = banded.loc[banded["person_key"].isin(n_banded[n_banded >= 2].index)]
    g = banded.groupby("person_key", sort=True)["_rank"]
    diff = (g.last() - g.first()).astype(float)
    n = float(len(diff))
    no_two = R_FEWER_THAN_TWO if len(change) == 0 else R_NO_BANDS
    band_note = [f"{len(diff)} of {len(eligible)} eligible young people used; {note}"]
    if n_unknown:
        band_note.append(f"{n_unknown} assessment(s) with an unknown risk band left out")
    for ind, num in (
        ("risk_band_improved_share", float((diff < 0).sum())),
        ("risk_band_unchanged_share", float((diff == 0).sum())),
        ("risk_band_worsened_share", float((diff > 0).sum())),
    ):
        rows.append(
            _ratio_row(
                ind, num, n, reason_if_empty=no_two, source="assessments", note=list(band_note)
            )
        )
    return rows
