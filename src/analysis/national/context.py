"""National context from published statistics: children in need and CSE identified at
assessment, England, by region and local authority (DfE "Characteristics of children in
need", Open Government Licence v3.0; see ``data/external/README.md``).

What this module does, each step a small function:

* verifies the copied source files against their sha256 checksums (:func:`verify_sources`);
* reads a DfE tidy CSV into a long table, one row per area x year x measure, parsing every
  published cell into a ``value`` and a ``status`` (:func:`parse_cell`): the bare DfE symbols
  ``c``, ``x``, ``z``, ``u``, ``k``, their bracketed GSS forms (``[c]``...) and any other
  non-numeric marker (status ``other``) give no value, so a suppressed cell is never read as
  zero;
* attaches the child population of the mid-year in which the reporting year begins (the
  year ending 31 March 2018 uses the mid-2017 estimate) (:func:`with_population`);
* harmonises local authority boundary changes into the smallest set of units stable over
  the whole series (:func:`harmonise_boundaries`); a merged unit has a number only when
  every part was published, so a merge never reveals a suppressed cell;
* computes rates per 10,000 children and shares only where numerator and denominator are
  both known (:func:`add_rate`);
* fits trend models with :func:`analysis.models.rate_model` and draws a funnel plot of
  local authority rates (:func:`funnel_data`, :func:`funnel_plot`) and regional small
  multiples (:func:`small_multiples`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis.analyse import models
from analysis.core import paths
from analysis.publish import disclosure, figures

__all__ = [
    "BOUNDARY_UNITS",
    "SOURCES",
    "SOURCE_DIR",
    "STATUS_OK",
    "FunnelResult",
    "NationalData",
    "add_rate",
    "check_stable_units",
    "funnel_data",
    "funnel_plot",
    "harmonise_boundaries",
    "load_national_data",
    "national_trend_model",
    "parse_cell",
    "parse_values",
    "rate_table",
    "read_measures",
    "regional_trend_model",
    "la_variation_model",
    "small_multiples",
    "verify_sources",
    "winsorised_dispersion",
    "with_population",
]

SOURCE_DIR: Path = paths.EXTERNAL_DIR / "dfe_children_in_need"
"""Where the copied DfE/ONS files live inside the repository."""

SOURCES: Mapping[str, str] = {
    "c3_factors_identified_at_end_of_assessment_2018_to_2025.csv": (
        "ddf55eeb6334d12300e36e30f29fe0136d8050e403a02ee10bed02158f4738d8"
    ),
    "b1_children_in_need_2013_to_2025.csv": (
        "fc065f5eb33a97fcbf3b2df6a7a55e15dbf645ce9739ef0128776461602179ad"
    ),
    "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv": (
        "e548b10b4e2de4e8845c35eae274f6280636f5ff262f8189cbe62c320591f75d"
    ),
    "ons_mid-year_population_estimates_2012_to_2024.csv": (
        "bd6420a0edd97dc2bfb25e70955399778a460483d5c417032b8fcb92230bfaa3"
    ),
}
"""Each source file and its sha256 checksum (as copied; see data/external/README.md)."""

FACTORS_FILE = "c3_factors_identified_at_end_of_assessment_2018_to_2025.csv"
CIN_FILE = "b1_children_in_need_2013_to_2025.csv"
REFERRALS_FILE = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
POPULATION_FILE = "ons_mid-year_population_estimates_2012_to_2024.csv"

STATUS_OK = "ok"
"""Status of a published number; every other status means there is no number."""

SYMBOLS: Mapping[str, str] = {
    "c": "c",  # confidential (DfE: 1 to 5, and secondary suppression)
    "x": "x",  # not available
    "z": "z",  # not applicable
    "u": "u",  # low reliability
    "k": "k",  # rounds to zero but is not zero
}
"""Publisher symbols (bare or in square brackets) and the status each becomes."""

STATUS_PRIORITY: tuple[str, ...] = ("c", "u", "k", "other", "x", "z")
"""When parts of a merged unit or a rate have different statuses, the first of these wins
(a confidential part makes the whole confidential)."""

GEO_COLUMNS: tuple[str, ...] = (
    "geographic_level",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
)
NATIONAL, REGIONAL, LOCAL = "National", "Regional", "Local authority"

BOUNDARY_UNITS: Mapping[str, tuple[str, str]] = {
    **dict.fromkeys(
        ("835", "836", "837", "838", "839"),
        ("835+836+837+838+839", "Bournemouth, Christchurch and Poole, and Dorset"),
    ),
    **dict.fromkeys(
        ("928", "940", "941"),
        ("928+940+941", "Northamptonshire (North and West Northamptonshire)"),
    ),
    **dict.fromkeys(
        ("909", "942", "943"),
        ("909+942+943", "Cumbria (Cumberland, and Westmorland and Furness)"),
    ),
}
"""Local authorities (DfE 3-digit numbers) merged into units stable over 2013–2025.

* 2020 (from April 2019): Bournemouth (837) and Poole (836) joined Christchurch, taken from
  Dorset county (835), as Bournemouth, Christchurch and Poole (839); the rest of Dorset
  became Dorset (838). No boundary splits Christchurch out, so the smallest stable unit is
  all five codes together.
* 2022: Northamptonshire (928) split into North (940) and West (941) Northamptonshire.
* 2024: Cumbria (909) split into Cumberland (942) and Westmorland and Furness (943).

Code-only changes (North Yorkshire, Buckinghamshire, Somerset: new ONS codes, same area
and DfE number) need no merge: units are keyed on the DfE number.
"""


class NationalDataError(ValueError):
    """A source file that cannot be read as expected (names the file, row and column)."""


# --------------------------------------------------------------------------------------
# Sources and parsing
# --------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sources(folder: Path = SOURCE_DIR) -> dict[str, str]:
    """Check every source file in ``folder`` against :data:`SOURCES`; return name -> sha256.

    Raises :class:`NationalDataError` naming each missing or changed file.
    """
    problems, found = [], {}
    for name, expected in SOURCES.items():
        path = Path(folder) / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        actual = sha256_of(path)
        found[name] = actual
        if actual != expected:
            problems.append(f"{path}: sha256 {actual} differs from the recorded {expected}")
    if problems:
        raise NationalDataError(
            "source files do not match data/external/README.md: " + "; ".join(problems)
        )
    return found


_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def parse_cell(text: object) -> tuple[float, str]:
    """One published cell as ``(value, status)``.

    A number (thousands separators allowed) is ``(number, "ok")``; a publisher symbol, bare
    (``c``) or bracketed (``[c]``), is ``(nan, symbol)``; an empty cell is ``(nan, "x")``
    (nothing published); any other marker is ``(nan, "other")``. A symbol never becomes 0.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return math.nan, "x"
    raw = str(text).strip()
    plain = raw.replace(",", "")
    if _NUMBER.match(plain):
        return float(plain), STATUS_OK
    if raw == "":
        return math.nan, "x"
    code = raw.strip("[]").strip().lower()
    return math.nan, SYMBOLS.get(code, "other")


def parse_values(series: pd.Series) -> pd.DataFrame:
    """Parse a column of published cells into ``value`` (float) and ``status`` (str)."""
    parsed = [parse_cell(v) for v in series]
    return pd.DataFrame(
        {
            "value": pd.Series([v for v, _ in parsed], index=series.index, dtype="float64"),
            "status": pd.Series([s for _, s in parsed], index=series.index, dtype="str"),
        }
    )


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise NationalDataError(f"{path}: cannot be read as CSV ({exc})") from exc
    need = ["time_period", *GEO_COLUMNS]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise NationalDataError(f"{path}: columns {missing} are missing")
    years = pd.to_numeric(frame["time_period"], errors="coerce")
    if years.isna().any():
        row = int(years.isna().to_numpy().argmax())
        raise NationalDataError(
            f"{path}: row {row + 2}, column 'time_period': "
            f"{frame['time_period'].iloc[row]!r} is not a year"
        )
    return frame.assign(time_period=years.astype("int64"))


def read_measures(path: Path, measures: Sequence[str]) -> pd.DataFrame:
    """A DfE tidy CSV as a long table: area columns, ``year``, ``measure``, ``value``, ``status``.

    ``year`` is the ``time_period`` (the year ending 31 March). Raises
    :class:`NationalDataError` naming the file and column if a measure is missing.
    """
    frame = _read_csv(Path(path))
    missing = [m for m in measures if m not in frame.columns]
    if missing:
        raise NationalDataError(f"{path}: measure columns {missing} are missing")
    long = frame.melt(
        id_vars=["time_period", *GEO_COLUMNS],
        value_vars=list(measures),
        var_name="measure",
        value_name="text",
    )
    parsed = parse_values(long["text"])
    out = long.drop(columns="text").rename(columns={"time_period": "year"})
    out = pd.concat([out, parsed], axis=1)
    return _with_area(out)


def _with_area(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``area_code`` / ``area_name``: England, the region, or the LA's DfE number."""
    level = frame["geographic_level"]
    code = np.where(
        level == NATIONAL,
        "E92000001",
        np.where(level == REGIONAL, frame["region_code"], frame["old_la_code"]),
    )
    name = np.where(
        level == NATIONAL,
        "England",
        np.where(level == REGIONAL, frame["region_name"], frame["la_name"]),
    )
    return frame.assign(
        area_code=pd.Series(code, index=frame.index, dtype="str"),
        area_name=pd.Series(name, index=frame.index, dtype="str"),
    )


def read_population(path: Path) -> pd.DataFrame:
    """ONS children aged 0–17 by area and mid-year (``pop_year``): ``population``, ``pop_status``."""
    frame = read_measures(path, ["population_estimate"])
    return frame.rename(
        columns={"year": "pop_year", "value": "population", "status": "pop_status"}
    ).drop(columns="measure")


def with_population(data: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Attach the child population of the mid-year in which each reporting year begins.

    The year ending 31 March ``Y`` begins in calendar year ``Y - 1``, so it takes the
    mid-``Y-1`` estimate (2018 uses mid-2017). Areas are matched on level and area code; an
    area-year without an estimate gets status ``x`` (no number), never zero.
    """
    keys = ["geographic_level", "area_code", "pop_year"]
    pop = population[[*keys, "population", "pop_status"]]
    if pop.duplicated(keys).any():
        dup = pop[pop.duplicated(keys, keep=False)].iloc[0]
        raise NationalDataError(
            f"population: more than one estimate for {dup['area_code']} in {dup['pop_year']}"
        )
    merged = data.assign(pop_year=data["year"] - 1).merge(pop, on=keys, how="left")
    return merged.assign(
        pop_status=merged["pop_status"].fillna("x").astype("str"),
        population=merged["population"].astype("float64"),
    )


# --------------------------------------------------------------------------------------
# Statuses, harmonisation and rates
# --------------------------------------------------------------------------------------


def combine_status(statuses: Sequence[str]) -> str:
    """The status of a figure derived from parts: ``ok`` only when every part is ``ok``."""
    bad = [s for s in statuses if s != STATUS_OK]
    if not bad:
        return STATUS_OK
    for status in STATUS_PRIORITY:
        if status in bad:
            return status
    return "other"


def _combine(frame: pd.DataFrame, keys: list[str], value: str, status: str) -> pd.DataFrame:
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(
        **{
            value: (value, lambda v: float(v.sum()) if v.notna().all() else math.nan),
            status: (status, lambda s: combine_status(list(s))),
        }
    ).reset_index()
    # A merged unit is published only when every part was published.
    return out.assign(**{value: out[value].where(out[status] == STATUS_OK)})


def harmonise_boundaries(
    data: pd.DataFrame, units: Mapping[str, tuple[str, str]] = BOUNDARY_UNITS
) -> pd.DataFrame:
    """Local authority rows merged into units stable over the whole series.

    Non-LA rows pass through unchanged. An LA in ``units`` takes that unit's code and name;
    others keep their DfE number and their most recent name. ``value`` (and ``population``
    when present) is the sum of the parts when every part is published (status ``ok``),
    otherwise no number, with the parts' combined status (a suppressed part makes the unit
    ``c``), so no merged figure reveals a suppressed cell. ``n_parts`` counts the LAs merged.
    """
    la = data[data["geographic_level"] == LOCAL]
    other = data[data["geographic_level"] != LOCAL].assign(n_parts=1)
    latest = la.sort_values("year").groupby("old_la_code")["la_name"].last().to_dict()
    unit_code = la["old_la_code"].map(lambda c: units[c][0] if c in units else c)
    unit_name = la["old_la_code"].map(lambda c: units[c][1] if c in units else latest[c])
    la = la.assign(area_code=unit_code.astype("str"), area_name=unit_name.astype("str"))
    keys = ["geographic_level", "region_code", "region_name", "area_code", "area_name", "year"]
    keys += [k for k in ("measure",) if k in la.columns]
    merged = _combine(la, keys, "value", "status")
    merged = merged.merge(
        la.groupby(keys, sort=True).size().rename("n_parts").reset_index(), on=keys
    )
    if "population" in la.columns:
        pop_keys = [k for k in keys if k != "measure"]
        pop = _combine(
            la.drop_duplicates([*pop_keys, "old_la_code"]), pop_keys, "population", "pop_status"
        )
        merged = merged.merge(pop, on=pop_keys, how="left")
    cols = [c for c in merged.columns if c in other.columns or c == "n_parts"]
    return pd.concat([other[cols], merged[cols]], ignore_index=True)


def check_stable_units(data: pd.DataFrame) -> pd.DataFrame:
    """Units (LA level) not present in every year of ``data``; empty when all are stable."""
    la = data[data["geographic_level"] == LOCAL]
    years = sorted(la["year"].unique())
    present = la.groupby(["area_code", "area_name"])["year"].nunique()
    short = present[present < len(years)]
    return short.rename("years_present").reset_index()


def add_rate(
    data: pd.DataFrame,
    *,
    numerator: str = "value",
    numerator_status: str = "status",
    denominator: str = "population",
    denominator_status: str = "pop_status",
    per: float = 10_000,
    name: str = "rate",
) -> pd.DataFrame:
    """Add ``<name>`` = numerator / denominator x ``per`` and ``<name>_status``.

    The rate is computed only where both are published numbers; otherwise it has no value
    and takes the combined status (``c`` if either is suppressed); a zero denominator gives
    ``z`` (not applicable).
    """
    num, den = data[numerator].astype("float64"), data[denominator].astype("float64")
    status = [
        combine_status([a, b])
        for a, b in zip(data[numerator_status], data[denominator_status], strict=True)
    ]
    status_s = pd.Series(status, index=data.index, dtype="str")
    status_s = status_s.where(~((status_s == STATUS_OK) & (den == 0)), "z")
    ok = (status_s == STATUS_OK) & num.notna() & den.notna()
    status_s = status_s.where(ok | (status_s != STATUS_OK), "x")
    rate = (num / den.where(den != 0) * per).where(ok)
    return data.assign(**{name: rate, f"{name}_status": status_s})


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
# Models
# --------------------------------------------------------------------------------------


def _model_frame(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Model rows: ``count`` only where count and population were published, else missing
    (the model leaves such rows out and says how many)."""
    usable = (frame["status"] == STATUS_OK) & (frame["pop_status"] == STATUS_OK)
    return frame.assign(
        count=frame["value"].where(usable).round(),
        population=frame["population"].where(usable),
        years_since=(frame["year"] - base_year).astype("float64"),
        area=frame["area_name"].astype("str"),
    )


def national_trend_model(frame: pd.DataFrame, *, base_year: int = 2018) -> models.RateResult:
    """Quasi-Poisson trend in England's count with population exposure (rate ratio per year)."""
    return models.rate_model(
        _model_frame(frame, base_year),
        formula="count ~ years_since",
        exposure="population",
        family="quasipoisson",
    )


def regional_trend_model(frame: pd.DataFrame, *, base_year: int = 2018) -> models.RateResult:
    """Negative binomial model of regional counts: a level per region and a common trend."""
    return models.rate_model(
        _model_frame(frame, base_year),
        formula="count ~ C(area) + years_since",
        exposure="population",
        family="negative_binomial",
    )


def la_variation_model(frame: pd.DataFrame, *, base_year: int = 2018) -> models.RateResult:
    """Negative binomial model across harmonised LA units: common trend, alpha = variation.

    The NB2 ``alpha`` measures how much LA rates vary beyond chance: the coefficient of
    variation of the LA rate multipliers is about ``sqrt(alpha)``.
    """
    return models.rate_model(
        _model_frame(frame, base_year),
        formula="count ~ years_since",
        exposure="population",
        family="negative_binomial",
    )


def model_estimates_table(
    results: Mapping[str, models.RateResult], *, terms: Mapping[str, str]
) -> pd.DataFrame:
    """Rate ratios (95% CI) of the named term of each model, one row per model."""
    rows = []
    for label, result in results.items():
        row = result.term(terms[label])
        rows.append(
            {
                "model": label,
                "estimate": float(row["rate_ratio"]),
                "ci_lower": float(row["rr_ci_lower"]),
                "ci_upper": float(row["rr_ci_upper"]),
                "dispersion": f"{result.dispersion_label} {result.dispersion:.3f}",
                "n": result.n_obs_used,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Funnel plot
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelResult:
    """Funnel plot data for one year: points, target rate, limits and areas outside."""

    year: int
    points: pd.DataFrame
    target: float
    dispersion: float
    excluded: int
    limits: pd.DataFrame

    def outside(self, level: float = 0.998) -> pd.DataFrame:
        """Areas outside the ``level`` limits (``above`` True = higher than expected)."""
        col = _limit_name(level)
        pts = self.points
        out = pts[pts[f"outside_{col}"]]
        return out.sort_values(["rate"], ascending=False, ignore_index=True)


def _limit_name(level: float) -> str:
    return f"{level * 100:g}".replace(".", "_")


def _limits(target: float, population: np.ndarray, level: float, phi: float, per: float):
    z = float(stats.norm.ppf(0.5 + level / 2))
    sd = np.sqrt(phi * target / population)
    return (target - z * sd) * per, (target + z * sd) * per


def winsorised_dispersion(count: np.ndarray, expected: np.ndarray, tail: float = 0.1) -> float:
    """Overdispersion factor from z-scores winsorised at ``tail`` (Spiegelhalter 2005).

    ``z = (O - E) / sqrt(E)``; the lowest and highest ``tail`` fractions are set to the
    ``tail`` and ``1 - tail`` quantiles so outlying areas do not widen their own limits;
    ``phi = mean(z^2)``.
    """
    z = (count - expected) / np.sqrt(expected)
    lo, hi = np.quantile(z, [tail, 1 - tail])
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def funnel_data(
    frame: pd.DataFrame,
    year: int,
    *,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: bool = False,
    per: float = 10_000,
) -> FunnelResult:
    """Local authority rates in ``year`` against child population, with control limits.

    The target is the pooled rate over the LAs with published count and population; limits
    are the normal approximation to Poisson, ``target +/- z * sqrt(phi * target / pop)``,
    with ``phi = 1`` or, with ``overdispersion``, the Pearson dispersion of the LA counts
    about the target from winsorised z-scores (:func:`winsorised_dispersion`; multiplicative
    adjustment, Spiegelhalter 2005; only when above 1). LAs
    whose count or population was not published are left out and counted in ``excluded``.
    """
    rows = frame[(frame["year"] == year) & (frame["geographic_level"] == LOCAL)]
    if rows.empty:
        raise ValueError(f"funnel_data: no local authority rows for {year}")
    ok = (
        (rows["status"] == STATUS_OK) & (rows["pop_status"] == STATUS_OK) & (rows["population"] > 0)
    )
    pts = rows[ok]
    count = pts["value"].to_numpy(dtype=float)
    pop = pts["population"].to_numpy(dtype=float)
    target = float(count.sum() / pop.sum())
    expected = target * pop
    phi = 1.0
    if overdispersion:
        phi = max(1.0, winsorised_dispersion(count, expected))
    out = pd.DataFrame(
        {
            "area_code": pts["area_code"].to_numpy(),
            "area_name": pts["area_name"].to_numpy(),
            "count": count,
            "population": pop,
            "rate": count / pop * per,
            "expected": expected,
        }
    )
    grid = np.geomspace(max(pop.min() * 0.8, 1.0), pop.max() * 1.1, 200)
    limits = pd.DataFrame({"population": grid})
    for level in levels:
        name = _limit_name(level)
        lo, hi = _limits(target, pop, level, phi, per)
        out[f"lower_{name}"], out[f"upper_{name}"] = lo, hi
        out[f"outside_{name}"] = (out["rate"] < lo) | (out["rate"] > hi)
        glo, ghi = _limits(target, grid, level, phi, per)
        limits[f"lower_{name}"], limits[f"upper_{name}"] = np.clip(glo, 0, None), ghi
    out = out.assign(above=out["rate"] > target * per)
    return FunnelResult(
        year=int(year),
        points=out.sort_values("area_code", ignore_index=True),
        target=target * per,
        dispersion=phi,
        excluded=int((~ok).sum()),
        limits=limits,
    )


def funnel_plot(
    result: FunnelResult, *, measure: str = "CSE identified", label_top: int = 40
) -> Figure:
    """Funnel plot of LA rates against child population, naming the areas outside 99.8%.

    Areas outside the 99.8% limits are labelled on the plot (up to ``label_top`` of them,
    the furthest out first) and all of them are named in the alt text.
    """
    import matplotlib.pyplot as plt

    pts, lim = result.points, result.limits
    outside = result.outside(0.998)
    with figures.house_style():
        fig, ax = plt.subplots(figsize=(figures.A4_WIDTH_IN, 4.6))
        inside = ~pts["outside_99_8"]
        ax.scatter(
            pts.loc[inside, "population"],
            pts.loc[inside, "rate"],
            s=10,
            color=figures.PALETTE[0],
            alpha=0.7,
            label="Within 99.8% limits",
        )
        ax.scatter(
            pts.loc[~inside, "population"],
            pts.loc[~inside, "rate"],
            s=16,
            color=figures.PALETTE[5],
            marker="D",
            label="Outside 99.8% limits",
        )
        ax.axhline(
            result.target, color="#333333", linewidth=1, label=f"England (LAs) {result.target:.1f}"
        )
        for name, style in (("95", "--"), ("99_8", ":")):
            label = "95% limits" if name == "95" else "99.8% limits"
            ax.plot(
                lim["population"],
                lim[f"upper_{name}"],
                style,
                color="#555555",
                linewidth=1,
                label=label,
            )
            ax.plot(lim["population"], lim[f"lower_{name}"], style, color="#555555", linewidth=1)
        ax.set_xscale("log")
        far = outside.assign(
            dist=(outside["rate"] - result.target).abs() / (outside["upper_99_8"] - result.target)
        )
        ranked = far.sort_values("dist", ascending=False).head(label_top)
        for k, (_, row) in enumerate(ranked.sort_values("population").iterrows()):
            ax.annotate(
                str(row["area_name"]),
                (row["population"], row["rate"]),
                fontsize=5.5,
                xytext=(4, 5) if k % 2 == 0 else (-4, -9),
                ha="left" if k % 2 == 0 else "right",
                textcoords="offset points",
                color="#333333",
            )
        ax.set_xlabel("Children aged 0 to 17 (log scale)")
        ax.set_ylabel(f"{measure} per 10,000 children")
        ax.set_ylim(0, float(pts["rate"].max()) * 1.25)
        ax.set_title(f"{measure} per 10,000 children by local authority, {result.year}", loc="left")
        ax.legend(frameon=False, fontsize=7, loc="upper right")
        fig.tight_layout()
    high = outside[outside["above"]]["area_name"].tolist()
    low = outside[~outside["above"]]["area_name"].tolist()
    alt = (
        f"Funnel plot of {measure} per 10,000 children in {len(pts)} local authorities in "
        f"{result.year} against their child population, with the England rate over these "
        f"authorities ({result.target:.1f}) and 95% and 99.8% control limits"
        + (
            f" (widened for overdispersion, factor {result.dispersion:.2f})"
            if result.dispersion > 1
            else ""
        )
        + f". {len(outside)} authorities lie outside the 99.8% limits: "
        + (f"above: {', '.join(high)}" if high else "none above")
        + "; "
        + (f"below: {', '.join(low)}" if low else "none below")
        + "."
        + (
            f" {result.excluded} authorities are not shown (count suppressed or not published)."
            if result.excluded
            else ""
        )
    )
    return figures.set_alt_text(fig, alt)


def funnel_outside_table(result: FunnelResult) -> disclosure.DisclosedTable:
    """The areas outside the 99.8% limits: position, rate, limits and published count.

    Rates and limits are rounded to 1 decimal place; counts are as published (LA counts
    are unrounded and not suppressed when shown).
    """
    out = result.outside(0.998)
    area = out["area_name"].astype("str") + np.where(out["above"], " (above)", " (below)")
    columns = {
        "Rate per 10,000": out["rate"].round(1),
        "Lower 99.8% limit": out["lower_99_8"].round(1),
        "Upper 99.8% limit": out["upper_99_8"].round(1),
        "Count": out["count"],
        "Children aged 0 to 17": out["population"],
    }
    long = pd.concat(
        [
            pd.DataFrame({"Local authority": area, "column": name, "v": values, "s": STATUS_OK})
            for name, values in columns.items()
        ],
        ignore_index=True,
    )
    return disclosure.disclose_published(
        long,
        index="Local authority",
        columns="column",
        values="v",
        status="s",
        title=f"Local authorities outside the 99.8% control limits, {result.year}",
        notes=[
            "Above or below: the rate is higher or lower than the 99.8% limits allow for an "
            "authority of that size.",
            SOURCE_NOTE,
        ],
        decimals={"Rate per 10,000": 1, "Lower 99.8% limit": 1, "Upper 99.8% limit": 1},
    )


# --------------------------------------------------------------------------------------
# Regional small multiples
# --------------------------------------------------------------------------------------


def small_multiples(
    table: disclosure.DisclosedTable,
    *,
    value_label: str = "per 10,000 children",
    reference: str | None = "England",
) -> Figure:
    """One small panel per column of ``table`` (rows = years), same axes, with ``reference``.

    Takes a :class:`DisclosedTable` like every report figure; values shown as symbols are
    gaps.
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, disclosure.DisclosedTable):
        raise TypeError("small_multiples accepts only a DisclosedTable")
    data = table.numeric
    ref = data[reference] if reference and reference in data.columns else None
    panels = [c for c in data.columns if c != reference]
    n_cols = 3
    n_rows = math.ceil(len(panels) / n_cols)
    x = np.arange(len(data.index))
    top = float(np.nanmax(data.to_numpy(dtype=float))) * 1.1
    with figures.house_style():
        fig, axes = plt.subplots(
            n_rows,
            n_cols,
            figsize=(figures.A4_WIDTH_IN, 1.7 * n_rows + 0.6),
            sharex=True,
            sharey=True,
        )
        flat = np.atleast_1d(axes).ravel()
        for ax, col in zip(flat, panels, strict=False):
            if ref is not None:
                ax.plot(x, ref.to_numpy(dtype=float), color="#999999", linewidth=1, label=reference)
            ax.plot(
                x,
                data[col].to_numpy(dtype=float),
                color=figures.PALETTE[0],
                marker="o",
                markersize=2.5,
                linewidth=1.4,
            )
            ax.set_title(str(col), fontsize=8, loc="left")
            ax.set_ylim(0, top)
            ax.set_xticks(x[::2], [str(i) for i in data.index[::2]], fontsize=6)
            ax.tick_params(axis="y", labelsize=6)
        for ax in flat[len(panels) :]:
            ax.set_visible(False)
        fig.supylabel(value_label, fontsize=8)
        fig.suptitle(table.title, fontsize=9, x=0.01, ha="left")
        fig.tight_layout()
    first, last = data.index[0], data.index[-1]
    parts = [
        f"{c}: {data[c].iloc[0]:.1f} in {first} to {data[c].iloc[-1]:.1f} in {last}"
        for c in panels
        if not (math.isnan(data[c].iloc[0]) or math.isnan(data[c].iloc[-1]))
    ]
    alt = (
        f"{table.title}. Small multiples, one panel per region, {value_label} from {first} to "
        f"{last}"
        + (f", with {reference} in grey in each panel" if ref is not None else "")
        + ". "
        + "; ".join(parts)
        + "."
    )
    return figures.set_alt_text(fig, alt)


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


def fit_models(data: NationalData, measure: str = CSE) -> dict[str, models.RateResult]:
    """The three trend models for ``measure``: England, regions, harmonised LA units."""
    f, h = data.factors, data.factors_harmonised
    return {
        "England (quasi-Poisson)": national_trend_model(measure_frame(f, measure, NATIONAL)),
        "Regions (negative binomial, level per region)": regional_trend_model(
            measure_frame(f, measure, REGIONAL)
        ),
        "Local authority units (negative binomial)": la_variation_model(
            measure_frame(h, measure, LOCAL)
        ),
    }


def models_table(results: Mapping[str, models.RateResult]) -> disclosure.DisclosedTable:
    """Yearly rate ratio (95% CI), dispersion and observations of each trend model."""
    rows = []
    for label, result in results.items():
        row = result.term("years_since")
        values = {
            "Rate ratio per year": round(float(row["rate_ratio"]), 3),
            "Lower 95% CI": round(float(row["rr_ci_lower"]), 3),
            "Upper 95% CI": round(float(row["rr_ci_upper"]), 3),
            "Dispersion": round(float(result.dispersion), 3),
            "Area-years used": float(result.n_obs_used),
            "Area-years left out": float(result.n_obs_eligible - result.n_obs_used),
        }
        rows += [{"model": label, "column": k, "v": v, "s": STATUS_OK} for k, v in values.items()]
    return disclosure.disclose_published(
        pd.DataFrame(rows),
        index="model",
        columns="column",
        values="v",
        status="s",
        title="Trend in CSE identified per 10,000 children: rate ratio per year (models with "
        "child population as exposure)",
        decimals={"Rate ratio per year": 3, "Lower 95% CI": 3, "Upper 95% CI": 3, "Dispersion": 3},
        notes=[
            "A rate ratio of 0.95 means the rate falls by about 5% a year.",
            "Dispersion: Pearson chi-squared / df for the quasi-Poisson model; NB2 alpha for "
            "the negative binomial models (for local authorities, sqrt(alpha) is roughly the "
            "coefficient of variation of their rates beyond chance).",
            "Area-years with a suppressed or unpublished count are left out, never read as 0.",
        ],
    )


def model_sentences(results: Mapping[str, models.RateResult]) -> list[str]:
    """One plain-English sentence per model."""
    out = []
    for label, result in results.items():
        row = result.term("years_since")
        change = (float(row["rate_ratio"]) - 1) * 100
        out.append(
            f"{label}: the rate of CSE identified changed by {change:+.1f}% a year "
            f"(95% CI {(row['rr_ci_lower'] - 1) * 100:+.1f}% to "
            f"{(row['rr_ci_upper'] - 1) * 100:+.1f}%), from {result.n_obs_used} area-years."
        )
    return out


def key_points(data: NationalData, funnel: FunnelResult) -> str:
    """The page's key points as Markdown."""
    eng = measure_frame(data.factors, CSE, NATIONAL).set_index("year")
    first, last = int(eng.index.min()), int(eng.index.max())
    outside = funnel.outside(0.998)
    above = outside[outside["above"]]["area_name"].tolist()
    below = outside[~outside["above"]]["area_name"].tolist()
    lines = [
        f"- In England, child sexual exploitation was identified at the end of "
        f"{eng.loc[first, 'value']:,.0f} social care assessments in {first} and "
        f"{eng.loc[last, 'value']:,.0f} in {last}: {eng.loc[first, 'rate']:.1f} and "
        f"{eng.loc[last, 'rate']:.1f} per 10,000 children aged 0 to 17.",
        f"- In {funnel.year}, {len(outside)} of {len(funnel.points)} local authorities lie "
        f"outside the 99.8% funnel limits"
        + (f"; higher than expected: {', '.join(above)}" if above else "")
        + (f"; lower than expected: {', '.join(below)}" if below else "")
        + ".",
        "- These are counts of statutory social care assessments, not of young people "
        "supported by the Hub and Spoke services: they are context, not programme outcomes.",
    ]
    return "\n".join(lines)
