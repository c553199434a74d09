"""The national data as tables: measures by area and year, shares, and England, regional and referral rates and counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.national.sources import (
    CIN_FILE,
    FACTORS_FILE,
    NATIONAL,
    POPULATION_FILE,
    REFERRALS_FILE,
    REGIONAL,
    SOURCE_DIR,
    add_rate,
    harmonise_boundaries,
    read_measures,
    read_population,
    verify_sources,
    with_population,
)
from analysis.publish import disclosure

# --------------------------------------------------------------------------------------
# Loading everything the page uses
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NationalData:
    """Everything the national page uses, in long form.

    * ``factors``: CSE, going missing and episodes with any factor by area and year (2018+),
      with the child population, as published (LAs as they were each year);
    * ``factors_harmonised``: the same with LAs merged into stable units;
    * ``referrals``: referrals and children in need (2013+), with population.
    """

    factors: pd.DataFrame
    factors_harmonised: pd.DataFrame
    referrals: pd.DataFrame
    checksums: Mapping[str, str]


FACTOR_MEASURES: Mapping[str, str] = {
    "Child_sexual_exploitation": "Child sexual exploitation",
    "Going_missing": "Going missing",
    "Episodes_with_assessment_factor": "Episodes with any factor",
}
REFERRAL_MEASURES: Mapping[str, str] = {"referral_count": "Referrals"}
CIN_MEASURES: Mapping[str, str] = {"Anypoint_child": "Children in need at any point"}


def load_national_data(folder: Path = SOURCE_DIR) -> NationalData:
    """Verify and read the source files in ``folder`` (default: ``data/external``)."""
    folder = Path(folder)
    checksums = verify_sources(folder)
    population = read_population(folder / POPULATION_FILE)
    factors = read_measures(folder / FACTORS_FILE, list(FACTOR_MEASURES))
    factors = with_population(factors, population)
    referrals = pd.concat(
        [
            read_measures(folder / REFERRALS_FILE, list(REFERRAL_MEASURES)),
            read_measures(folder / CIN_FILE, list(CIN_MEASURES)),
        ],
        ignore_index=True,
    )
    referrals = with_population(referrals, population)
    return NationalData(
        factors=factors,
        factors_harmonised=harmonise_boundaries(factors),
        referrals=referrals,
        checksums=checksums,
    )


def measure_frame(data: pd.DataFrame, measure: str, level: str) -> pd.DataFrame:
    """Rows of one measure at one geographic level, with the rate per 10,000 children.

    At regional level only the nine regions are kept (DfE also publishes Inner and Outer
    London, which are parts of London).
    """
    rows = data[(data["measure"] == measure) & (data["geographic_level"] == level)]
    if level == REGIONAL:  # the nine regions (E12), not Inner/Outer London (E13)
        rows = rows[rows["area_code"].str.startswith("E12")]
    return add_rate(rows).sort_values(["area_code", "year"], ignore_index=True)


def share_frame(data: pd.DataFrame, measure: str, level: str) -> pd.DataFrame:
    """``measure`` as a percentage of episodes with any factor (both must be published)."""
    sub = data[data["geographic_level"] == level]
    keys = ["area_code", "area_name", "year"]
    num = sub[sub["measure"] == measure][[*keys, "value", "status"]]
    den = sub[sub["measure"] == "Episodes_with_assessment_factor"][[*keys, "value", "status"]]
    both = num.merge(den, on=keys, suffixes=("", "_den"), how="left")
    both = both.assign(status_den=both["status_den"].fillna("x").astype("str"))
    return add_rate(
        both,
        denominator="value_den",
        denominator_status="status_den",
        per=100,
        name="share",
    ).sort_values(keys, ignore_index=True)


# --------------------------------------------------------------------------------------
# Published tables (DisclosedTable, keeping the publisher's symbols)
# --------------------------------------------------------------------------------------

SOURCE_NOTE = (
    "Source: Department for Education, Characteristics of children in need (October 2025 "
    "release); ONS mid-year estimates of children aged 0 to 17. Contains public sector "
    "information licensed under the Open Government Licence v3.0."
)
SUPPRESSION_NOTE = (
    "Shown as published: [c] suppressed by DfE (1 to 5, or to protect another cell), [x] "
    "not available, [u] low reliability, [z] not applicable. A rate is shown only where "
    "both its count and its population were published."
)


def rate_table(
    frame: pd.DataFrame,
    *,
    value: str,
    status: str,
    index: str = "year",
    columns: str = "area_name",
    title: str,
    notes: Sequence[str] = (),
    decimals: int | None = 1,
) -> disclosure.DisclosedTable:
    """A published/derived figure (rate, share or count) as a :class:`DisclosedTable`."""
    return disclosure.disclose_published(
        frame.assign(**{index: frame[index].astype("str")}),
        index=index,
        columns=columns,
        values=value,
        status=status,
        title=title,
        notes=[*notes, SUPPRESSION_NOTE, SOURCE_NOTE],
        decimals=decimals,
    )


# --------------------------------------------------------------------------------------
# The page's tables
# --------------------------------------------------------------------------------------

CSE = "Child_sexual_exploitation"
MISSING = "Going_missing"
YEARS_NOTE = "Years end on 31 March: 2018 is the year April 2017 to March 2018."
ROUNDING_NOTE = "DfE rounds England and regional counts to the nearest 10."


def _series(frame: pd.DataFrame, label: str, value: str, status: str, digits: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": frame["year"].astype("str"),
            "series": label,
            "value": frame[value].round(digits),
            "status": frame[status].astype("str"),
        }
    )


def england_rates(data: NationalData) -> disclosure.DisclosedTable:
    """England: CSE and going missing identified per 10,000 children, and CSE as a share."""
    f = data.factors
    long = pd.concat(
        [
            _series(measure_frame(f, CSE, NATIONAL), "CSE per 10,000", "rate", "rate_status", 1),
            _series(
                measure_frame(f, MISSING, NATIONAL),
                "Going missing per 10,000",
                "rate",
                "rate_status",
                1,
            ),
            _series(
                share_frame(f, CSE, NATIONAL),
                "CSE as % of episodes with any factor",
                "share",
                "share_status",
                1,
            ),
        ],
        ignore_index=True,
    )
    return disclosure.disclose_published(
        long,
        index="year",
        columns="series",
        values="value",
        status="status",
        title="England: child sexual exploitation and going missing identified at the end of "
        "assessment, per 10,000 children aged 0 to 17",
        notes=[
            YEARS_NOTE,
            "Rates use the mid-year population estimate of the calendar year in which the "
            "reporting year begins (2018 uses mid-2017).",
            SUPPRESSION_NOTE,
            SOURCE_NOTE,
        ],
        decimals=1,
    )


def england_counts(data: NationalData) -> disclosure.DisclosedTable:
    """England: the published counts behind the rates, and the child population used."""
    f = data.factors
    parts = []
    for measure, label in FACTOR_MEASURES.items():
        parts.append(_series(measure_frame(f, measure, NATIONAL), label, "value", "status", 0))
    pop = measure_frame(f, CSE, NATIONAL)
    parts.append(
        _series(pop, "Children aged 0 to 17 (previous mid-year)", "population", "pop_status", 0)
    )
    return disclosure.disclose_published(
        pd.concat(parts, ignore_index=True),
        index="year",
        columns="series",
        values="value",
        status="status",
        title="England: episodes with each factor identified at the end of assessment, "
        "and children aged 0 to 17",
        notes=[YEARS_NOTE, ROUNDING_NOTE, SUPPRESSION_NOTE, SOURCE_NOTE],
        decimals=0,
    )


def regional_rates(data: NationalData, measure: str = CSE) -> disclosure.DisclosedTable:
    """Rows = years, columns = England and the nine regions: ``measure`` per 10,000."""
    f = data.factors
    frame = pd.concat(
        [measure_frame(f, measure, NATIONAL), measure_frame(f, measure, REGIONAL)],
        ignore_index=True,
    )
    frame = frame.assign(rate=frame["rate"].round(1))
    return rate_table(
        frame,
        value="rate",
        status="rate_status",
        columns="area_name",
        title=f"{FACTOR_MEASURES.get(measure, measure)} identified per 10,000 children, by region",
        notes=[YEARS_NOTE, ROUNDING_NOTE],
    )


def referrals_rates(
    data: NationalData, years: Sequence[int] = (2013, 2014, 2015, 2016, 2017)
) -> disclosure.DisclosedTable:
    """England: referrals and children in need per 10,000 children in ``years``."""
    r = data.referrals[data.referrals["year"].isin(list(years))]
    parts = []
    for measure, label in {**REFERRAL_MEASURES, **CIN_MEASURES}.items():
        frame = measure_frame(r, measure, NATIONAL)
        parts.append(_series(frame, f"{label} per 10,000", "rate", "rate_status", 1))
    return disclosure.disclose_published(
        pd.concat(parts, ignore_index=True),
        index="year",
        columns="series",
        values="value",
        status="status",
        title="England: referrals to children's social care and children in need, per 10,000 "
        "children aged 0 to 17, over the programme years",
        notes=[
            "The programme ran from January 2014 to 2017: reporting years 2014 to 2017 "
            "(April 2013 to March 2017); 2013 is the year before.",
            YEARS_NOTE,
            SUPPRESSION_NOTE,
            SOURCE_NOTE,
        ],
        decimals=1,
    )


def referrals_counts(
    data: NationalData, years: Sequence[int] = (2013, 2014, 2015, 2016, 2017)
) -> disclosure.DisclosedTable:
    """England: referrals and children in need as published, in ``years``."""
    r = data.referrals[data.referrals["year"].isin(list(years))]
    parts = [
        _series(measure_frame(r, m, NATIONAL), label, "value", "status", 0)
        for m, label in {**REFERRAL_MEASURES, **CIN_MEASURES}.items()
    ]
    return disclosure.disclose_published(
        pd.concat(parts, ignore_index=True),
        index="year",
        columns="series",
        values="value",
        status="status",
        title="England: referrals and children in need, as published",
        notes=[YEARS_NOTE, ROUNDING_NOTE, SOURCE_NOTE],
        decimals=0,
    )
