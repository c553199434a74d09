"""The top of the summary: the six-outcome verdict table and the key findings.

Both are worded here from numbers the analyse stage computed (``verdicts.json``,
``programme_indicators.parquet``); nothing is rated or counted here. The key findings
follow documented rules (``docs/evaluation-framework.md``), in this order, at most eight:

1. young people supported in the year, and the change from the year before (as known now);
2. professionals trained in the year;
3. one finding per outcome measure that has a rating (met, partly met, not met), in outcome
   order, worded by its strength of evidence;
4. the outcome measures it is too early to rate, in one finding.

A finding's words follow its evidence label: a descriptive result says what was recorded
(never "led to" or "because of"), an associational one says "was associated with", a causal
one says what the programme did *if* its stated assumptions hold.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.core.catalog import PROGRAMME_INDICATORS, VERDICTS
from analysis.core.io import read_json
from analysis.publish import disclosure
from analysis.publish.registry import RULES
from analysis.report.context import YearContext
from analysis.report.sections.common import people_n, rounded_n
from analysis.report.wording import HTML, PERSON_FREE_INDICATORS
from analysis.report.writer import table_item

PRIMARY_WHAT: dict[str, str] = {
    "funded_beyond_programme_share": "of spoke posts had funding beyond the programme grant",
    "host_agency_referral_share": "of referrals came from the spokes' host agency type",
    "cse_referral_share": "of young people on the caseload were referred for CSE",
    "young_people_supported": "young people supported",
    "confidence_change_mean": "average change in professionals' confidence (1-5 scale) "
    "from before to after training",
    "risk_band_improved_share": "of young people with two or more assessments moved to a "
    "lower risk band on their own instrument's cut-offs",
}
"""How each primary indicator's value reads after the number."""

EVIDENCE_WORDS: dict[str, str] = {
    "descriptive": "Descriptive",
    "associational": "Associational",
    "causal": "Causal, under stated assumptions",
}

EVIDENCE_CAVEAT: dict[str, str] = {
    "descriptive": "what the returns recorded, not what caused it",
    "associational": "a pattern in the data, which could have other causes",
    "causal": "an effect of the programme if the stated assumptions hold",
}


JOINT_DISPLAY_ANCHOR = "joint-display-{n}"
"""The id of outcome ``n``'s joint display in section 8 (the verdict table links to it)."""

AGREEMENT_WORDS: dict[str, str] = {
    "agree": "agrees with the rating",
    "diverge": "diverges from the rating",
    "fieldwork only": "the only evidence so far",
    "no fieldwork": "no fieldwork in the year",
}


def fieldwork_cell(v: dict[str, Any]) -> str:
    """The verdict table's qualitative evidence for one outcome (``verdicts.json``'s
    ``fieldwork``, evidence label ``qualitative``)."""
    f = v.get("fieldwork")
    if not f:
        return "No fieldwork in the year"
    return (
        f"Raised at {f['sites_raised']} of {f['sites']} sites visited; "
        f"{AGREEMENT_WORDS.get(f['agreement'], f['agreement'])} (joint display, section 8)"
    )


def joint_display_links(outcomes: list[int]) -> Any:
    """The line under the verdict table linking each outcome to its joint display."""
    links = ", ".join(
        f'<a href="#{JOINT_DISPLAY_ANCHOR.format(n=n)}">outcome {n}</a>' for n in outcomes
    )
    return HTML(
        '<p class="joint-display-links">The numbers beside the fieldwork for each outcome '
        f"(joint displays, section 8): {links}.</p>"
    )


def _verdicts(ctx: YearContext) -> dict[str, Any]:
    return read_json(ctx.analysis_dir / VERDICTS)


def _share(v: dict[str, Any], ctx: YearContext) -> tuple[float | None, str | None]:
    """A share's value, or ``(None, "[c]")`` when its numerator is a small count of young
    people."""
    personal = v["primary"] not in PERSON_FREE_INDICATORS
    num = v.get("numerator")
    if personal and num is not None and 0 < num <= ctx.settings.threshold:
        return None, "[c]"
    return v["value"], None


def personal_small(v: dict[str, Any], ctx: YearContext, n: float | None) -> bool:
    """Whether ``n`` is a small count of young people (1 to the threshold) for the
    verdict's primary indicator (indicators that count no people are never small)."""
    if v["primary"] in PERSON_FREE_INDICATORS or n is None:
        return False
    return 0 < n <= ctx.settings.threshold


def headline_share(
    ctx: YearContext, outcome: int, numerator: str | None, denominator: str, *, indicator: str
) -> None:
    """Declare outcome ``outcome``'s headline share (``evidence_line``) a ratio of two
    cells published elsewhere (ids: ``numerator`` over ``denominator``; ``numerator`` None
    when no one cell holds it), for the release audit: the share at its printed precision
    then constrains those cells."""
    base = f"outcome-{outcome}/{indicator}"
    if numerator is not None:
        ctx.stats.relation(f"{base}/~/numerator", [numerator])
    ctx.stats.relation(f"{base}/base", [denominator])


def evidence_line(v: dict[str, Any], ctx: YearContext, *, tagged: bool = False) -> str:
    """One line stating the primary indicator's value (disclosed) for the verdict table.

    Its numbers are registered in ``ctx.stats`` (ids ``outcome-<n>/<indicator>...``); with
    ``tagged`` the line is HTML with each number tagged for the page, else plain text."""
    what = PRIMARY_WHAT.get(v["primary"], v["primary"])
    words = html.escape if tagged else str
    base = f"outcome-{v['outcome']}/{v['primary']}"

    def num(ident: str, value: float | None, **kwargs: Any) -> str:
        out = ctx.stats.number(ident, value, **kwargs)
        return out if tagged else ctx.stats.stats[ident].text

    if v.get("value") is None:
        return words(f"No figure yet ({what})")
    if v["unit"] == "share":
        value, status = _share(v, ctx)
        den = v.get("denominator", 0)
        personal = v["primary"] not in PERSON_FREE_INDICATORS
        shown = value is not None and v.get("numerator") is not None
        if personal and shown and not personal_small(v, ctx, den):
            # young people: the share of the rounded counts the tables publish, so the
            # sentence adds nothing to them (an exact share at 0 dp would narrow the
            # tables' rounded totals); the rating still uses the exact share
            shown_num, shown_den = rounded_n(ctx, v["numerator"]), rounded_n(ctx, den)
            value = shown_num / shown_den if shown_den else value
            ctx.stats.rounded(f"{base}/~/numerator", ctx.settings.total_rounding)
        share = num(base, value, unit="percent", status=status)
        if personal_small(v, ctx, den):
            # a small number of young people is "fewer than 10", never its value
            bound = ctx.stats.cite(RULES["smallest_shown"])
            out_of = words("fewer than ") + (
                bound if tagged else ctx.stats.stats[RULES["smallest_shown"]].text
            )
        elif personal:
            # young people: rounded like the tables' totals (exact, it pins them)
            out_of = words("about ") + num(f"{base}/base", rounded_n(ctx, den))
            ctx.stats.rounded(f"{base}/base", ctx.settings.total_rounding)
        else:
            out_of = num(f"{base}/base", den)
        # the audit reads the share as a ratio of exact counts (headline_share ties them)
        ctx.stats.relation(f"{base}/~/denominator", [f"{base}/base"])
        ctx.stats.relations.append(
            {
                "kind": "ratio",
                "share": base,
                "numerator": f"{base}/~/numerator",
                "denominator": f"{base}/~/denominator",
            }
        )
        return f"{share}{words(f' {what} (out of ')}{out_of}{words(')')}"
    if v["unit"] == "mean change":
        change = num(base, v["value"], unit="change", precision=2)
        return f"{change}{words(f': {what}')}"
    counts = {ctx.year: v["numerator"], ctx.settings.previous_year: v.get("denominator", 0)}
    if any(0 < n <= ctx.settings.threshold for n in counts.values()):
        # a small count of young people is suppressed in the key figures: neither it nor
        # the change from it (which would give it away) is stated
        change = num(base, None, unit="percent-change", status="[c]")
        shown = {}
        for year, n in counts.items():
            if 0 < n <= ctx.settings.threshold:
                bound = ctx.stats.cite(RULES["smallest_shown"])
                shown[year] = words("fewer than ") + (
                    bound if tagged else ctx.stats.stats[RULES["smallest_shown"]].text
                )
            else:
                shown[year] = words("about ") + num(f"{v['primary']}/{year}", rounded_n(ctx, n))
        return (
            f"{change}{words(f' {what}: ')}{shown[ctx.year]}{words(' against ')}"
            f"{shown[ctx.settings.previous_year]}{words(' the year before')}"
        )
    now, before = rounded_n(ctx, v["numerator"]), rounded_n(ctx, v.get("denominator", 0))
    change = num(base, v["value"], unit="percent-change", text=f"{v['value']:+.0%}")
    now_text = num(f"{v['primary']}/{ctx.year}", now)
    before_text = num(f"{v['primary']}/{ctx.settings.previous_year}", before)
    return (
        f"{change}{words(f' {what}: about ')}{now_text}{words(' against ')}{before_text}"
        f"{words(' the year before')}"
    )


def _threshold(x: float, unit: str) -> str:
    return (
        f"{x:+.0%}"
        if unit == "relative change"
        else (f"{x:.0%}" if unit == "share" else f"{x:+.2f}")
    )


def what_would_change(v: dict[str, Any], first_rated_year: str) -> str:
    """What would change the rating, from the criterion's thresholds or the reason."""
    met, partly, unit = v["met"], v["partly"], v["unit"]
    if v["rating"] == "met":
        return f"Below {_threshold(met, unit)} it would be partly met"
    if v["rating"] == "partly met":
        return f"Met at {_threshold(met, unit)}; not met below {_threshold(partly, unit)}"
    if v["rating"] == "not met":
        return f"Partly met at {_threshold(partly, unit)}"
    if "rates outcomes from" in v["reason"]:
        return f"Rated from {first_rated_year}"
    return f"Rated when {v['reason'].replace('fewer than', 'no fewer than', 1)} no longer holds"


def verdict_table(ctx: YearContext) -> list[Any]:
    """The six outcome measures' ratings, evidence, its strength, completeness and what
    would change each rating (text cells; the one number per row is disclosed)."""
    record = _verdicts(ctx)
    first = record["first_rated_year"]
    rows = []
    for v in record["verdicts"]:
        rating = v["rating"] if not v["reason"] else f"Too early to tell: {v['reason']}"
        owing = v["services_owing"]
        rows.append(
            {
                "Outcome measure": f"{v['outcome']}. {v['title'][:1].upper()}{v['title'][1:]}",
                "Rating": rating.capitalize(),
                "Evidence": evidence_line(v, ctx),
                "Strength of evidence": EVIDENCE_WORDS[v["evidence"]],
                "Fieldwork (qualitative evidence)": fieldwork_cell(v),
                "Data completeness": f"{v['services_with_value']} of {owing} services"
                if owing
                else "No service owes a figure yet",
                "What would change the rating": what_would_change(v, first),
            }
        )
    frame = pd.DataFrame(rows)
    notes = [
        f"Rated by the evaluation framework version {record['framework_version']} "
        "(criteria, evidence levels and assumptions: the methods annex).",
        "Descriptive evidence describes what the returns recorded, not what caused it; "
        "outcome 6 compares young people's first and latest assessments with no comparison "
        "group, so it cannot be attributed to the services.",
        "Fieldwork evidence is qualitative: what participants described at the sites "
        "visited, beside the rating, not part of it.",
    ]
    if record["criteria_changed_since_previous"]:
        notes.insert(1, f"Criteria changed since the previous report: {record['changes']}")
    table = disclosure.disclose_table(
        frame,
        index="Outcome measure",
        count_columns=[],
        text_columns=[c for c in frame.columns if c != "Outcome measure"],
        # no count cells: the one number per row was disclosed above (_share), and the
        # completeness counts services, not young people
        threshold=0,
        total_rounding=ctx.settings.total_rounding,
        total_row=False,
        title=f"Verdicts on the six outcome measures, {ctx.year}",
        notes=notes,
    )
    linked = [v["outcome"] for v in record["verdicts"] if v.get("fieldwork")]
    return table_item(table) + ([joint_display_links(linked)] if linked else [])


def key_findings(ctx: YearContext) -> list[Any]:
    """Five to eight findings by the rules in the module docstring, as a list."""
    record = _verdicts(ctx)
    prog = pd.read_parquet(ctx.analysis_dir / PROGRAMME_INDICATORS).set_index(
        ["evaluation_year", "indicator"]
    )
    items: list[str] = []  # HTML: words escaped, numbers tagged (ctx.stats)
    esc = html.escape
    supported = prog["value"].get((ctx.year, "young_people_supported"))
    before = prog["value"].get((ctx.settings.previous_year, "young_people_supported"))
    if supported is not None and pd.notna(supported):
        # a small count is "fewer than 10", never its rounded value: the key figures
        # table suppresses it, and the audit would work it out from the sentence
        now = people_n(ctx, supported, f"young_people_supported/{ctx.year}")
        text = f"{now[0].upper()}{now[1:]} young people were supported in {esc(ctx.year)}"
        if before is not None and pd.notna(before) and before > 0:
            prev = ctx.settings.previous_year
            then = people_n(ctx, before, f"young_people_supported/{prev}")
            text += f", against {then} in {esc(prev)} (as known now)"
        items.append(text + " (descriptive).")
    trained = prog["value"].get((ctx.year, "professionals_trained"))
    if trained is not None and pd.notna(trained):
        count = ctx.stats.number(f"professionals_trained/{ctx.year}", trained)
        items.append(
            f"{count} professionals took part in CSE training or awareness sessions (descriptive)."
        )
    early = []
    for v in record["verdicts"]:
        if v["reason"]:
            early.append(str(v["outcome"]))
            continue
        items.append(
            esc(f"Outcome {v['outcome']} ({v['title']}) is {v['rating']}: ")
            + evidence_line(v, ctx, tagged=True)
            + esc(f". This is {EVIDENCE_CAVEAT[v['evidence']]}.")
        )
    if early:
        which = ", ".join(early[:-1]) + (" and " if len(early) > 1 else "") + early[-1]
        noun = "Outcome measure" if len(early) == 1 else "Outcome measures"
        items.append(esc(f"{noun} {which}: too early to tell (reasons in the verdict table)."))
    body = "".join(f"<li>{i}</li>" for i in items[:8])
    return [HTML(f'<h3>Key findings</h3><ul class="key-findings">{body}</ul>')]
