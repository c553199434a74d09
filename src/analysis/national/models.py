"""Trend models of the national statistics (national, regional and local-authority variation) and the sentences and key points that describe them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from analysis.analyse import models
from analysis.national.sources import LOCAL, NATIONAL, REGIONAL, STATUS_OK
from analysis.national.tables import CSE, measure_frame
from analysis.publish import disclosure

if TYPE_CHECKING:
    from analysis.national.funnel import FunnelResult
    from analysis.national.tables import NationalData


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
