"""Fieldwork evidence: theme prevalence, realist configurations, joint displays and quotes.

Pure functions of the processed fieldwork tables (``fieldwork_sources``: a row per
interview or case study kept by the cleaner; ``fieldwork_quotes``: a row per coded
selection and code, redacted) and, for the joint displays, of the year's programme
indicators and verdicts.

* **Theme prevalence** (:func:`theme_prevalence`): the share of sources (interviews and case
  studies) in which a theme (a code) was raised, with the sites it was raised at, by role
  group, phase, host type or evaluation year. Sources are clustered in sites, so the
  interval is a Wilson score interval on the effective number of sources, ``n / deff``,
  where the design effect ``deff`` is the cluster-robust (sites) variance of the share over
  its binomial variance, never below 1 (:func:`cluster_wilson`).
* **Context-mechanism-outcome configurations** (:func:`configurations`): a context code, a
  mechanism code and an outcome code raised together in one source; a configuration is
  reported when at least ``min_sources`` sources at at least ``min_sites`` sites (never
  fewer than 2) support it.
* **Joint displays** (:func:`joint_displays`): for each of the six outcome measures, the
  quantitative indicators beside the qualitative evidence (the outcome's theme: how many
  sources and sites raised it), and whether the two agree.
* **Quotes** (:func:`choose_quotes`): chosen by a fixed, documented rule from the quotes a
  report may attribute (:func:`attributable`): never a young person's words or a case study
  about one, never from a site with a single spoke worker in the year, never from a role
  group and phase with fewer than ``min_group`` sources in the year; attributed to role
  group and phase only.

Outcome codes are recognised by their name: ``Outcome <n>: ...`` (the codebook's outcome
group, one code per outcome measure).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.analyse.outcomes.definitions import INDICATORS
from analysis.analyse.workforce import posts_in_year
from analysis.core.catalog import (
    FIELDWORK_CONFIGURATIONS,
    FIELDWORK_EVIDENCE,
    FIELDWORK_PREVALENCE,
)
from analysis.core.framework import Framework
from analysis.core.io import read_json, write_json, write_parquet
from analysis.core.settings import FieldworkParams

DIMENSIONS: tuple[str, ...] = ("evaluation_year", "role_group", "phase", "host_type")
"""What theme prevalence is broken down by."""

QUALITATIVE_EVIDENCE = "qualitative"
"""The evidence label of fieldwork evidence beside a verdict (``docs/evaluation-framework.md``,
"Strength of evidence")."""

CONTEXT, MECHANISM, OUTCOME = "Context", "Mechanism", "Outcome"
"""The realist code groups of the codebook."""

NOT_QUOTED_ROLE_GROUPS: tuple[str, ...] = ("young_person", "case_study")
"""Role groups whose words are never quoted: young people, and the practice case studies
(each about one young person's support)."""

_OUTCOME_CODE = re.compile(r"^\s*Outcome\s+(\d)\b")
_Z95 = 1.959963984540054


def outcome_of(code: str) -> int | None:
    """The outcome measure (1-6) an outcome code is about, from its name, or ``None``."""
    m = _OUTCOME_CODE.match(str(code))
    return int(m.group(1)) if m else None


def cluster_wilson(
    hits: np.ndarray, sizes: np.ndarray, z: float = _Z95
) -> tuple[float, float, float, float]:
    """Share, lower and upper limits and design effect of a clustered proportion.

    ``hits[j]`` of ``sizes[j]`` sources in site ``j`` raised the theme. The share is
    ``sum(hits) / sum(sizes)``; its cluster-robust variance (sites as clusters, with the
    ``k / (k - 1)`` correction) over the binomial variance gives the design effect (at
    least 1; 1 with fewer than two sites or a share of 0 or 1); the interval is Wilson's on
    ``n / deff`` sources.
    """
    n = float(np.sum(sizes))
    if n <= 0:
        return math.nan, math.nan, math.nan, math.nan
    y = float(np.sum(hits))
    p = y / n
    k = len(sizes)
    deff = 1.0
    binomial = p * (1 - p) / n
    if k >= 2 and binomial > 0:
        resid = hits - p * sizes
        robust = k / (k - 1) * float(np.sum(resid**2)) / n**2
        deff = max(1.0, robust / binomial)
    m = n / deff
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z / (1 + z * z / m) * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    # exact at the ends (no rounding error past the share)
    lower = 0.0 if y == 0 else min(p, max(0.0, centre - half))
    upper = 1.0 if y == n else max(p, min(1.0, centre + half))
    return p, lower, upper, deff


def source_codes(sources: pd.DataFrame, quotes: pd.DataFrame) -> pd.DataFrame:
    """One row per source and code raised in it, with the source's attributes."""
    raised = quotes[["source_ref", "code_group", "code"]].drop_duplicates()
    return raised.merge(sources, on="source_ref", how="inner", validate="many_to_one")


def theme_prevalence(sources: pd.DataFrame, quotes: pd.DataFrame, by: str) -> pd.DataFrame:
    """Each theme's prevalence in ``sources`` by ``by`` (one of :data:`DIMENSIONS`).

    Columns: ``dimension``, ``group``, ``code_group``, ``code``, ``sources`` (in the group),
    ``raised`` (sources raising the theme), ``sites``, ``sites_raised``, ``share``,
    ``lower``, ``upper`` (95%, :func:`cluster_wilson`), ``deff``. Sources without the
    breakdown's value (a host type not recorded) are left out of that breakdown only.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"theme prevalence is broken down by one of {DIMENSIONS}, not {by!r}")
    cols = ["dimension", "group", "code_group", "code", "sources", "raised", "sites",
            "sites_raised", "share", "lower", "upper", "deff"]  # fmt: skip
    src = sources.loc[sources[by].notna()].assign(group=lambda f: f[by].astype("str"))
    if src.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    codes = quotes[["code_group", "code"]].drop_duplicates().sort_values(["code_group", "code"])
    raised = source_codes(src, quotes)
    per_site = src.groupby(["group", "site_key"]).size().rename("n")
    keys = list(codes.itertuples(index=False, name=None))
    hits = (
        raised.groupby(["group", "site_key", "code_group", "code"]).size()
        .unstack(["code_group", "code"], fill_value=0)
        .reindex(index=per_site.index, columns=pd.MultiIndex.from_tuples(keys), fill_value=0)
    )  # fmt: skip
    rows = []
    for group in per_site.index.get_level_values("group").unique().sort_values():
        n = per_site.loc[group].to_numpy(dtype=float)
        y_all = hits.loc[group].to_numpy(dtype=float)
        for j, (code_group, code) in enumerate(keys):
            y = y_all[:, j]
            share, lo, hi, deff = cluster_wilson(y, n)
            rows.append({
                "dimension": by, "group": group, "code_group": code_group, "code": code,
                "sources": int(n.sum()), "raised": int(y.sum()), "sites": len(n),
                "sites_raised": int((y > 0).sum()), "share": share, "lower": lo, "upper": hi,
                "deff": deff,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def prevalence_tables(sources: pd.DataFrame, quotes: pd.DataFrame, year: str) -> pd.DataFrame:
    """Theme prevalence for a year's report: by evaluation year (every year to ``year``) and
    by role group, phase and host type (the year's own sources)."""
    upto = sources.loc[sources["evaluation_year"].astype("str") <= year]
    own = sources.loc[sources["evaluation_year"].astype("str") == year]
    parts = [theme_prevalence(upto, quotes, "evaluation_year")]
    parts += [theme_prevalence(own, quotes, by) for by in DIMENSIONS[1:]]
    parts = [p for p in parts if len(p)]
    if not parts:
        return theme_prevalence(own, quotes, "role_group")
    return pd.concat(parts, ignore_index=True)


def configurations(
    sources: pd.DataFrame, quotes: pd.DataFrame, *, min_sources: int, min_sites: int = 2
) -> pd.DataFrame:
    """Context-mechanism-outcome configurations supported by at least ``min_sources``
    sources at at least ``min_sites`` sites (at least 2, whatever is asked).

    A source supports a configuration when it raises the context, the mechanism and the
    outcome code. Columns ``context``, ``mechanism``, ``outcome``, ``outcome_measure``,
    ``sources``, ``sites``; most supported first, ties by name.
    """
    min_sites = max(2, int(min_sites))
    cols = ["context", "mechanism", "outcome", "outcome_measure", "sources", "sites"]
    raised = source_codes(sources, quotes)
    parts = {
        g: raised.loc[raised["code_group"] == g, ["source_ref", "site_key", "code"]]
        for g in (CONTEXT, MECHANISM, OUTCOME)
    }
    if any(p.empty for p in parts.values()):
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    cm = parts[CONTEXT].merge(parts[MECHANISM], on=["source_ref", "site_key"],
                              suffixes=("_c", "_m"))  # fmt: skip
    cmo = cm.merge(parts[OUTCOME], on=["source_ref", "site_key"])
    cmo = cmo.rename(columns={"code_c": "context", "code_m": "mechanism", "code": "outcome"})
    out = (
        cmo.groupby(["context", "mechanism", "outcome"], sort=True)
        .agg(sources=("source_ref", "nunique"), sites=("site_key", "nunique"))
        .reset_index()
    )
    out = out.loc[(out["sources"] >= min_sources) & (out["sites"] >= min_sites)]
    out = out.assign(outcome_measure=out["outcome"].map(outcome_of).astype("Int64"))
    out = out.sort_values(["sources", "sites", "context", "mechanism", "outcome"],
                          ascending=[False, False, True, True, True])  # fmt: skip
    return out[cols].reset_index(drop=True)


def single_worker_sites(posts: pd.DataFrame, year: str) -> set[str]:
    """Services with at most one spoke post filled at some time in ``year``: a quote from
    one could single out its worker."""
    filled = posts_in_year(posts, year) if len(posts) else posts
    counts = filled.groupby("service_id")["post_id"].nunique() if len(filled) else pd.Series()
    return {str(s) for s in posts["service_id"].unique() if int(counts.get(s, 0)) <= 1}


def attributable(
    sources: pd.DataFrame, quotes: pd.DataFrame, posts: pd.DataFrame, year: str, min_group: int
) -> pd.DataFrame:
    """The year's quotes a report may attribute (to role group and phase only): not a young
    person's or a case study's (:data:`NOT_QUOTED_ROLE_GROUPS`), not from a site with a
    single spoke worker in the year (:func:`single_worker_sites`), and from a role group
    and phase with at least ``min_group`` sources in the year."""
    own = sources.loc[sources["evaluation_year"].astype("str") == year]
    size = own.groupby(["role_group", "phase"]).size()
    big = {k for k, n in size.items() if n >= min_group}
    single = single_worker_sites(posts, year)
    q = quotes.loc[quotes["evaluation_year"].astype("str") == year]
    keep = (
        ~q["role_group"].isin(NOT_QUOTED_ROLE_GROUPS)
        & ~q["site_key"].isin(single)
        & pd.Series([(r, int(p)) in big for r, p in zip(q["role_group"], q["phase"],
                                                         strict=True)], index=q.index)
    )  # fmt: skip
    return q.loc[keep]


def _rank(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def choose_quotes(candidates: pd.DataFrame, year: str, per_code: int = 1) -> pd.DataFrame:
    """The quotes a report shows for each outcome code: among the attributable quotes
    (:func:`attributable`), fewest redaction marks first (``[name]`` ...), then by the
    SHA-256 of year, code, text, role group and phase (one quote per text): the same data
    give the same quotes, whatever the order of the rows. Columns ``outcome_measure``, ``code``, ``text``,
    ``role_group``, ``phase``."""
    cols = ["outcome_measure", "code", "text", "role_group", "phase"]
    out = candidates.loc[candidates["code"].map(outcome_of).notna()]
    if out.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    out = out.assign(
        outcome_measure=out["code"].map(outcome_of),
        marks=out["text"].str.count(r"\[(?:name|place|school|date|phone|postcode|email)\]"),
        rank=[
            _rank(year, c, t, r, p)
            for c, t, r, p in zip(
                out["code"], out["text"], out["role_group"], out["phase"], strict=True
            )
        ],
    )
    out = out.sort_values(["outcome_measure", "marks", "rank", "role_group", "phase"])
    out = out.drop_duplicates(["code", "text"])
    out = out.groupby("outcome_measure", sort=True).head(per_code)
    return out[cols].reset_index(drop=True)


@dataclass(frozen=True)
class JointDisplay:
    """One outcome measure's quantitative and qualitative evidence side by side."""

    outcome: int
    title: str
    indicators: list[dict[str, Any]]
    rating: str
    sources: int
    raised: int
    sites: int
    sites_raised: int
    share: float | None
    lower: float | None
    upper: float | None
    qualitative: str
    agreement: str
    explanation: str
    configurations: list[dict[str, Any]]
    evidence: str = QUALITATIVE_EVIDENCE

    def record(self) -> dict[str, Any]:
        """JSON-ready: a number that does not exist is left out, never NaN or null."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def complete(self) -> bool:
        """Both sides present: at least one indicator with a value, and fieldwork sources."""
        return bool(self.indicators) and self.sources > 0


def _finite(x: Any) -> float | None:
    if x is None or pd.isna(x):
        return None
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


def agreement(rating: str, supported: bool | None) -> tuple[str, str]:
    """Whether the verdict's rating and the fieldwork agree, with a plain explanation.

    ``supported``: the outcome's theme was raised at at least the parameter's share of the
    sites visited (``None``: no fieldwork)."""
    if supported is None:
        return "no fieldwork", "No fieldwork was held in the year."
    if rating == "too early to tell":
        return ("fieldwork only", "The indicators cannot rate the outcome yet; the fieldwork "
                "is the only evidence of it this year.")  # fmt: skip
    progress = rating in ("met", "partly met")
    if progress and supported:
        return "agree", "The indicator and the fieldwork both point to progress."
    if not progress and not supported:
        return "agree", "Neither the indicator nor the fieldwork points to progress."
    if progress:
        return ("diverge", "The indicator shows progress that few sites raised in the "
                "fieldwork.")  # fmt: skip
    return ("diverge", "Many sites describe progress the indicator does not show: it may be "
            "recorded differently, or not yet show in the returns.")  # fmt: skip


def joint_displays(
    prevalence: pd.DataFrame,
    configs: pd.DataFrame,
    programme: pd.DataFrame,
    verdicts: list[Mapping[str, Any]],
    year: str,
    indicators_of: Mapping[int, tuple[str, ...]],
    support_site_percent: int,
) -> list[JointDisplay]:
    """One joint display per outcome measure for ``year``.

    ``prevalence``: the year's theme prevalence by evaluation year (:func:`prevalence_tables`);
    ``programme``: the programme indicator table; ``verdicts``: the year's verdict records;
    ``indicators_of``: each outcome's indicators, primary first. The fieldwork supports an
    outcome when its theme was raised at at least ``support_site_percent`` % of the sites
    visited in the year."""
    rows = programme.loc[programme["evaluation_year"].astype("str") == year]
    rows = rows.set_index("indicator")
    prev = prevalence.loc[
        (prevalence["dimension"] == "evaluation_year") & (prevalence["group"] == year)
    ]
    out = []
    for v in verdicts:
        n = int(v["outcome"])
        inds = []
        for ind in indicators_of.get(n, ()):
            if ind in rows.index and _finite(rows.loc[ind, "value"]) is not None:
                inds.append({"indicator": ind, "value": _finite(rows.loc[ind, "value"]),
                             "services_with_value": int(rows.loc[ind, "services_with_value"])})  # fmt: skip
        theme = prev.loc[prev["code"].map(outcome_of) == n]
        if len(theme):
            t = theme.iloc[0]
            sources, raised = int(t["sources"]), int(t["raised"])
            sites, sites_raised = int(t["sites"]), int(t["sites_raised"])
            share, lo, hi = _finite(t["share"]), _finite(t["lower"]), _finite(t["upper"])
            supported: bool | None = sites_raised * 100 >= support_site_percent * sites
        else:
            sources = raised = sites = sites_raised = 0
            share = lo = hi = None
            supported = None
        qualitative = (
            "no fieldwork" if supported is None
            else "raised at many sites" if supported
            else "raised at few sites" if sites_raised else "not raised"
        )  # fmt: skip
        agree, why = agreement(str(v["rating"]), supported)
        cfg = configs.loc[configs["outcome_measure"] == n].head(3)
        out.append(JointDisplay(
            outcome=n, title=str(v["title"]), indicators=inds, rating=str(v["rating"]),
            sources=sources, raised=raised, sites=sites, sites_raised=sites_raised,
            share=share, lower=lo, upper=hi, qualitative=qualitative, agreement=agree,
            explanation=why,
            configurations=[{k: (int(x) if isinstance(x, np.integer) else x)
                             for k, x in r.items()} for r in
                            cfg[["context", "mechanism", "sources", "sites"]].to_dict("records")],
        ))  # fmt: skip
    return out


def fieldwork_evidence(
    tables: Mapping[str, pd.DataFrame],
    year: str,
    programme: pd.DataFrame,
    verdicts: list[Mapping[str, Any]],
    indicators_of: Mapping[int, tuple[str, ...]],
    params: FieldworkParams,
) -> dict[str, Any]:
    """Everything the year's fieldwork section shows, from the tables the year may see:
    prevalence, configurations (fieldwork to date), joint displays and chosen quotes."""
    sources, quotes = tables["fieldwork_sources"], tables["fieldwork_quotes"]
    upto = sources.loc[sources["evaluation_year"].astype("str") <= year]
    prevalence = prevalence_tables(sources, quotes, year)
    configs = configurations(
        upto,
        quotes,
        min_sources=params.min_configuration_sources,
        min_sites=params.min_configuration_sites,
    )
    displays = joint_displays(
        prevalence, configs, programme, verdicts, year, indicators_of,
        params.support_site_percent,
    )  # fmt: skip
    quotes_shown = choose_quotes(
        attributable(sources, quotes, tables["posts"], year, params.min_attribution_group),
        year,
        params.quotes_per_outcome,
    )
    return {
        "prevalence": prevalence,
        "configurations": configs,
        "joint_displays": displays,
        "quotes": quotes_shown,
    }


def indicators_of(framework: Framework) -> dict[int, tuple[str, ...]]:
    """Each outcome's indicators, its framework's primary indicator first."""
    out = {}
    for n, criterion in framework.outcomes.items():
        others = [i.indicator for i in INDICATORS if i.outcome == n and i.change_of is None]
        out[n] = (criterion.primary, *[i for i in others if i != criterion.primary])
    return out


def write_evidence(evidence: Mapping[str, Any], out_dir: Path) -> None:
    """Write what :func:`fieldwork_evidence` gives to the year's analysis folder."""
    write_parquet(evidence["prevalence"], Path(out_dir) / FIELDWORK_PREVALENCE)
    write_parquet(evidence["configurations"], Path(out_dir) / FIELDWORK_CONFIGURATIONS)
    quotes = evidence["quotes"]
    write_json(
        {
            "joint_displays": [d.record() for d in evidence["joint_displays"]],
            "quotes": [
                {k: (int(v) if isinstance(v, np.integer) else v) for k, v in r.items()}
                for r in quotes.to_dict("records")
            ],
        },
        Path(out_dir) / FIELDWORK_EVIDENCE,
    )


def read_evidence(analysis_dir: Path) -> dict[str, Any]:
    """The year's fieldwork evidence as :func:`write_evidence` wrote it."""
    folder = Path(analysis_dir)
    return {
        "prevalence": pd.read_parquet(folder / FIELDWORK_PREVALENCE),
        "configurations": pd.read_parquet(folder / FIELDWORK_CONFIGURATIONS),
        **read_json(folder / FIELDWORK_EVIDENCE),
    }
