"""What notebook 03 shows of a year's analysis: readable estimate tables, one diagnostics
figure per fitted model and the per-service outcome indicators.

Everything here reads what ``evaluation.evaluate_year`` wrote (and, for the diagnostics,
the same model inputs it fitted); nothing is written and no model is refitted, so the
notebook adds no time to the pipeline's models. The figures are for analysts, not for a
report: they are not disclosure-controlled.

* :func:`estimate_table`: a model's estimates with 95% intervals, one row per term;
* :func:`linear_predictor`: a fitted model's fixed-effect prediction for new rows, from its
  estimate table (patsy term names such as ``C(service_id)[T.S02]`` or ``service_id[S02]``);
* :func:`observed_predicted_figure` (trajectory, reach) and :func:`event_study_figure`
  (rollout): the diagnostics figures, each a small pure function of a data frame;
* :func:`service_indicators`: the year's outcome indicators, one column per service.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.catalog import INDICATORS, MODELS, model_file

MODEL_TITLES = {
    "trajectory": "Outcome trajectories (linear mixed model)",
    "reach": "Reach: new young people per spoke-month (rate model)",
    "rollout": "Rollout: effect of a spoke's arrival on CSE concerns (group-time ATT)",
}

_COLUMNS = {
    "term": "term",
    "estimate": "estimate",
    "ci_lower": "95% CI lower",
    "ci_upper": "95% CI upper",
    "std_error": "std. error",
    "p_value": "p-value",
    "rate_ratio": "rate ratio",
    "rr_ci_lower": "rate ratio 95% CI lower",
    "rr_ci_upper": "rate ratio 95% CI upper",
}


def estimate_table(estimates: pd.DataFrame, *, digits: int = 4) -> pd.DataFrame:
    """A model's estimates for reading: one row per term, the estimate with its 95%
    interval, standard error and p-value (and rate ratios for count models), rounded to
    ``digits`` decimals, with plain column names."""
    present = [c for c in _COLUMNS if c in estimates.columns]
    table = estimates[present].rename(columns=_COLUMNS)
    numeric = [c for c in table.columns if c != "term"]
    table[numeric] = table[numeric].astype("float64").round(digits)
    if "p-value" in table:
        table["p-value"] = estimates["p_value"].map(lambda p: f"{p:.2g}" if p == p else "")
    return table.reset_index(drop=True)


def model_summaries(analysis_dir: Path) -> dict[str, dict[str, Any]]:
    """Each model of a year's analysis: its title, whether it was fitted (and if not, why),
    counts and estimate table. The words describing a fitted model are the report's."""
    from analysis.core.io import read_json

    folder = Path(analysis_dir)
    records = read_json(folder / MODELS)
    out = {}
    for name in sorted(
        records, key=lambda n: list(MODEL_TITLES).index(n) if n in MODEL_TITLES else 99
    ):
        record = records[name]
        estimates = pd.read_parquet(folder / model_file(name))
        out[name] = {
            "title": MODEL_TITLES.get(name, name),
            "reason": record.get("reason", ""),
            "fitted": bool(record["fitted"]),
            "counts": pd.DataFrame(
                {
                    "units used": [record["n_units_used"]],
                    "units eligible": [record["n_units_eligible"]],
                    "observations used": [record["n_obs_used"]],
                    "observations eligible": [record["n_obs_eligible"]],
                }
            ),
            "estimates": estimate_table(estimates),
        }
    return out


_FACTOR = re.compile(r"^(?:C\((?P<c>[^)]+)\)\[T\.(?P<cl>.*)\]|(?P<f>[^\[\]]+)\[(?P<fl>.*)\])$")


def _term_values(term: str, data: pd.DataFrame) -> np.ndarray:
    """The design-matrix column of one patsy term (``Intercept``, a number column, a
    factor level, or an interaction ``a:b`` of those)."""
    if term == "Intercept":
        return np.ones(len(data))
    values = np.ones(len(data))
    for part in term.split(":"):
        match = _FACTOR.match(part)
        if match:
            column = match["c"] or match["f"]
            level = match["cl"] if match["c"] else match["fl"]
            if column not in data:
                raise ValueError(f"term {term!r}: no column {column!r} in the data")
            values = values * (data[column].astype("str") == level).to_numpy(dtype="float64")
        elif part in data:
            values = values * data[part].to_numpy(dtype="float64")
        else:
            raise ValueError(f"term {term!r}: no column {part!r} in the data")
    return values


def linear_predictor(estimates: pd.DataFrame, data: pd.DataFrame) -> np.ndarray:
    """The fixed-effect linear predictor of every row of ``data`` from an estimate table
    (columns ``term`` and ``estimate``): the sum of each term's design value times its
    estimate. Factor levels absent from the table are the reference level (zero)."""
    lp = np.zeros(len(data))
    for term, estimate in zip(estimates["term"], estimates["estimate"], strict=True):
        lp = lp + float(estimate) * _term_values(str(term), data)
    return lp


def _figure(ncols: int) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * ncols, 3.4), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def observed_predicted_figure(
    observed: Sequence[float] | np.ndarray,
    predicted: Sequence[float] | np.ndarray,
    *,
    title: str,
    what: str,
) -> Any:
    """Two panels: observed against predicted (with the line of equality) and residuals
    (observed minus predicted) against predicted (with zero). ``what`` names the outcome."""
    obs = np.asarray(observed, dtype="float64")
    pred = np.asarray(predicted, dtype="float64")
    if obs.shape != pred.shape:
        raise ValueError(f"observed ({obs.shape}) and predicted ({pred.shape}) differ in shape")
    fig, (left, right) = _figure(2)
    left.scatter(pred, obs, s=8, alpha=0.4, color="#0072B2")
    if len(obs):
        low, high = float(min(obs.min(), pred.min())), float(max(obs.max(), pred.max()))
        left.plot([low, high], [low, high], color="#D55E00", linewidth=1)
    left.set(xlabel=f"predicted {what}", ylabel=f"observed {what}", title="Observed vs predicted")
    right.scatter(pred, obs - pred, s=8, alpha=0.4, color="#0072B2")
    right.axhline(0.0, color="#D55E00", linewidth=1)
    right.set(xlabel=f"predicted {what}", ylabel="residual", title="Residuals vs predicted")
    fig.suptitle(title)
    return fig


def event_study_figure(dynamic: pd.DataFrame, *, title: str) -> Any:
    """The rollout's effect by quarters since the spoke arrived (column ``egt``, relative to
    the quarter before arrival), with pointwise 95% intervals (the reference quarter has
    none); the report's rollout section tests the pre-arrival quarters jointly."""
    frame = dynamic.sort_values("egt")
    fig, (ax,) = _figure(1)
    fig.set_size_inches(7.0, 3.4)
    x = frame["egt"].to_numpy(dtype="float64")
    att = frame["att"].to_numpy(dtype="float64")
    err = np.vstack([att - frame["ci_lower"].to_numpy(), frame["ci_upper"].to_numpy() - att])
    colours = np.where(x < 0, "#999999", "#0072B2")
    for xi, yi, lo, hi, colour in zip(x, att, err[0], err[1], colours, strict=True):
        ax.errorbar(xi, yi, yerr=[[lo], [hi]], fmt="o", markersize=3, color=colour)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="#D55E00", linewidth=1, linestyle="--")
    ax.set(xlabel="quarters since the spoke arrived", ylabel="effect (95% CI)", title=title)
    return fig


def png(fig: Any) -> Any:
    """The figure as an ``IPython.display.Image`` (a PNG output under any backend)."""
    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return Image(data=buf.getvalue(), format="png")


def diagnostic_figures(
    processed_dir: Path, analysis_dir: Path, year: str, *, cutoff_days: int
) -> dict[str, Any]:
    """One diagnostics figure per fitted model of ``year``, on the data it was fitted to:
    observed vs predicted and residuals for the trajectory (fixed effects: the average
    young person) and reach models, the event-study plot for the rollout."""
    from analysis.analyse import vintage
    from analysis.analyse import year as evaluation
    from analysis.core import calendar
    from analysis.core.io import load_tables

    summaries = model_summaries(analysis_dir)
    folder = Path(analysis_dir)
    seen = vintage.tables_as_of(
        load_tables(Path(processed_dir)), year, calendar.cutoff_date(year, cutoff_days)
    )
    out: dict[str, Any] = {}
    if summaries.get("trajectory", {}).get("fitted"):
        data = evaluation.trajectory_data(seen["assessments"], seen["services"])
        data = data[data.groupby("person_key")["score"].transform("size") >= 2]
        est = pd.read_parquet(folder / model_file("trajectory"))
        out["trajectory"] = observed_predicted_figure(
            data["score"], linear_predictor(est, data), title=MODEL_TITLES["trajectory"],
            what="outcome score",
        )  # fmt: skip
    if summaries.get("reach", {}).get("fitted"):
        data = pd.read_parquet(folder / model_file("reach", "spoke_months"))
        out["reach"] = observed_predicted_figure(
            data["new_young_people"], data["fitted"], title=MODEL_TITLES["reach"],
            what="new young people",
        )  # fmt: skip
    dynamic = folder / model_file("rollout", "att_dynamic")
    if summaries.get("rollout", {}).get("fitted") and dynamic.exists():
        out["rollout"] = event_study_figure(pd.read_parquet(dynamic), title=MODEL_TITLES["rollout"])
    return out


def service_indicators(analysis_dir: Path, year: str, *, digits: int = 3) -> pd.DataFrame:
    """The year's outcome indicators with one column per service: the value (rounded to
    ``digits``), or ``–`` where the data cannot support one (see
    :func:`indicator_reasons` for why)."""
    frame = pd.read_parquet(Path(analysis_dir) / INDICATORS)
    frame = frame[frame["evaluation_year"] == year]
    values = frame["value"].astype("Float64").round(digits)
    cells = values.astype("str").where(values.notna(), "–")
    table = frame.assign(cell=cells).pivot(
        index=["outcome", "label"], columns="service_id", values="cell"
    )
    table.columns.name = None
    return table.fillna("")


def indicator_reasons(analysis_dir: Path, year: str) -> pd.DataFrame:
    """Why an indicator has no value for a service: one row per reason and indicator,
    with the services it applies to."""
    frame = pd.read_parquet(Path(analysis_dir) / INDICATORS)
    frame = frame[(frame["evaluation_year"] == year) & frame["value"].isna()]
    grouped = frame.groupby(["outcome", "label", "reason"], as_index=False, dropna=False).agg(
        services=("service_id", lambda s: ", ".join(sorted(s)))
    )
    return grouped.reset_index(drop=True)
