"""The published DfE statistics behind the national context: their files and checksums, cells and GSS symbols, boundary changes and rates per population."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import paths

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
