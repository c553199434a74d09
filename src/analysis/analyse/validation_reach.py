"""Validation of the published reach quantities on worlds with known truth (issue 24).

For the default world and ``slow_recruitment`` (:mod:`analysis.synthesise.scenarios`),
``seeds`` programmes' spoke posts are simulated with the programme's own generator (the
services, spokes, funding and roster of :mod:`analysis.synthesise.world` at scale 1 and the
calibration of ``params.yaml``), each filled post-month's new young people are drawn as the
generator draws them (Poisson with the post's own ramp,
:func:`analysis.synthesise.truth.expected_spoke_months`), to the end of the final report's
year (2016-17), and the spoke-level reach model is fitted exactly as the analyse stage
fits it (:func:`analysis.analyse.models.spoke_reach_model`). Compared with the truth:

* ``first_year`` and ``later_years``: coverage of the 95% intervals of the two published
  rate ratios (per year in a spoke's first year of operation, and after it). Their truth
  is the same spline fitted to the expected counts
  (:func:`analysis.analyse.models.reach.reach_estimand`): the ramp is per post, so a spoke
  whose posts started at different times does not follow the spline exactly.
* ``per_post_year``: the published young people per post-year by year of operation
  against their expectation (mean relative error; descriptive, no interval).

What this does not test: the cleaning and missing returns between the generator and the
processed tables (the pipeline tests compare those with ``_truth``), and group reach (a
count, no interval). Targets are :data:`analysis.analyse.validation_rollout.TARGETS`'s
"exact" band (92.5-97.5%). Results are checkpointed per world and seed::

    python -m analysis.validation --study reach --seeds 400 --jobs 2
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.analyse import models
from analysis.analyse.models.reach import reach_estimand
from analysis.analyse.parallel import run_checkpointed
from analysis.analyse.validation_rollout import TARGETS, World

FINAL_YEAR = "2016-17"
WORLDS: tuple[World, ...] = (World("default"), World("slow_recruitment", "slow_recruitment"))
"""The worlds: the default and ``slow_recruitment`` at its ``params.yaml`` strength."""

QUANTITIES: tuple[str, ...] = ("first_year", "later_years")
"""The published rate ratios whose intervals are checked."""

BAND: tuple[str, float, float] = TARGETS["overall"]
"""Coverage band: the rollout validation's band for intervals meant to be exact."""


def simulate(world: World, seed: int) -> pd.DataFrame:
    """One programme's spoke-months for ``seed``: the roster of the generator's world (the
    scenario's when there is one), the expected and drawn new young people."""
    from analysis.core import calendar
    from analysis.synthesise.design import load_synthetic_params
    from analysis.synthesise.scenarios import scenario_set
    from analysis.synthesise.truth import expected_spoke_months
    from analysis.synthesise.workforce import build_posts
    from analysis.synthesise.world import build_funding, build_services, build_spokes, stream

    section = load_synthetic_params()
    cal = section["calibration"]
    services = build_services(seed, 1.0, cal)
    spokes = build_spokes(seed, services, cal)
    _, sustained = build_funding(seed, services, spokes, cal)
    posts = build_posts(stream(seed, "posts"), services, spokes, sustained, cal)
    adjust = scenario_set(world.scenario, section.get("scenarios")) if world.scenario else None
    if adjust is not None:
        posts = adjust.posts(posts, stream(seed, "slow-recruitment"), cal)
    months = expected_spoke_months(posts, services, cal, calendar.year_end(FINAL_YEAR))
    rng = np.random.default_rng([int(seed), 24])
    return months.assign(new_young_people=rng.poisson(months["expected"].to_numpy()))


def run_seed(world: World, seed: int) -> dict[str, Any]:
    """Simulate one world for one seed, fit the reach model, compare with the truth."""
    start = time.perf_counter()
    data = simulate(world, seed)
    rec: dict[str, Any] = {"world": world.label, "seed": int(seed), "fitted": True}
    try:
        fit = models.spoke_reach_model(data)
    except models.ModelNotFitted as exc:
        rec.update(fitted=False, reason=exc.reason)
        rec["seconds"] = round(time.perf_counter() - start, 3)
        return rec
    used = data.loc[data.groupby("spoke_id")["new_young_people"].transform("sum") > 0]
    truth = reach_estimand(used, used["expected"].to_numpy(), fit.terms)
    for term in fit.terms:
        row = fit.term(term)
        rec[f"{term}_true"] = truth[term]
        rec[f"{term}_estimate"] = float(row["estimate"])
        rec[f"{term}_se"] = float(row["std_error"])
        rec[f"{term}_covered"] = bool(row["ci_lower"] <= truth[term] <= row["ci_upper"])
    by = data.groupby("year_of_operation")[["post_months", "expected", "new_young_people"]].sum()
    rec["per_post_year_relative_error"] = {
        str(int(k)): float(r.new_young_people / r.expected - 1) for k, r in by.iterrows()
    }
    rec["spokes"], rec["services"], rec["spoke_months"] = (
        fit.n_units_used,
        fit.n_clusters,
        len(data),
    )
    rec["seconds"] = round(time.perf_counter() - start, 3)
    return rec


def run_study(seeds: int, out: Path, *, jobs: int = 2) -> dict[str, list[dict[str, Any]]]:
    """Run every (world, seed) not yet checkpointed under ``out``; return the records."""
    return run_checkpointed(run_seed, WORLDS, seeds, out, jobs=jobs, chunksize=8)


def _coverage(values: list[bool]) -> dict[str, Any]:
    kind, lo, hi = BAND
    n = len(values)
    p = float(np.mean(values)) if n else float("nan")
    mc = math.sqrt(p * (1 - p) / n) if n else float("nan")
    return {"coverage": round(p, 4), "mc_se": round(mc, 4), "n": n, "kind": kind,
            "target": [lo, hi], "within": bool(lo <= p <= hi)}  # fmt: skip


def summarise_world(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage, bias and spread of each rate ratio, and the per-post-year errors."""
    fitted = [r for r in records if r["fitted"]]
    out: dict[str, Any] = {"n_seeds": len(records), "not_fitted": len(records) - len(fitted)}
    for q in QUANTITIES:
        rows = [r for r in fitted if f"{q}_covered" in r]
        if not rows:
            continue
        est = np.array([r[f"{q}_estimate"] for r in rows])
        true = np.array([r[f"{q}_true"] for r in rows])
        out[q] = {
            **_coverage([r[f"{q}_covered"] for r in rows]),
            "mean_truth_rate_ratio": round(float(np.exp(true).mean()), 4),
            "mean_estimate_rate_ratio": round(float(np.exp(est).mean()), 4),
            "bias_log": round(float((est - true).mean()), 4),
            "empirical_sd_log": round(float(est.std(ddof=1)), 4),
            "mean_se_log": round(float(np.mean([r[f"{q}_se"] for r in rows])), 4),
        }
    errs: dict[str, list[float]] = {}
    for r in fitted:
        for k, v in r["per_post_year_relative_error"].items():
            errs.setdefault(k, []).append(v)
    out["per_post_year_mean_relative_error"] = {
        k: round(float(np.mean(v)), 4) for k, v in sorted(errs.items(), key=lambda kv: int(kv[0]))
    }
    out["seconds_per_seed"] = round(float(np.mean([r["seconds"] for r in records])), 3)
    return out


def done_when(summary: dict[str, Any]) -> dict[str, bool]:
    """The issue's acceptance: both rate ratios' coverage within the band, in both worlds."""
    return {
        f"{label}: {q} coverage within {100 * BAND[1]:.1f}-{100 * BAND[2]:.1f}%": bool(
            w.get(q, {}).get("within", False)
        )
        for label, w in summary["worlds"].items()
        for q in QUANTITIES
    }


def summarise(records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every world's summary and the acceptance checks."""
    summary: dict[str, Any] = {
        "world": (
            "the generator's services, spokes and roster at scale 1 (calibration of "
            f"params.yaml), new young people per filled post-month drawn to the end of "
            f"{FINAL_YEAR}"
        ),
        "band": list(BAND),
        "worlds": {label: summarise_world(recs) for label, recs in records.items()},
    }
    summary["done_when"] = done_when(summary)
    return summary


def markdown(summary: dict[str, Any], wall: float, jobs: int) -> str:
    """The summary as the Markdown table of ``bench/README.md``."""

    def pct(v: Any) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    lines = [
        "# Reach per spoke on known truth",
        "",
        f"World: {summary['world']}. Wall time {wall:.0f} s with {jobs} worker(s).",
        "",
        "| world | seeds | quantity | coverage (MC s.e.) | mean true RR | mean estimated RR | "
        "bias (log) | mean SE | emp. SD |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, w in summary["worlds"].items():
        for q in QUANTITIES:
            if q not in w:
                continue
            c = w[q]
            lines.append(
                f"| {label} | {w['n_seeds']} | {q} | {pct(c['coverage'])} ({pct(c['mc_se'])}) | "
                f"{c['mean_truth_rate_ratio']} | {c['mean_estimate_rate_ratio']} | "
                f"{c['bias_log']} | {c['mean_se_log']} | {c['empirical_sd_log']} |"
            )
    lines += ["", "Young people per post-year by year of operation, mean relative error:", ""]
    for label, w in summary["worlds"].items():
        errs = ", ".join(
            f"year {k}: {v:+.3f}" for k, v in w["per_post_year_mean_relative_error"].items()
        )
        lines.append(f"- {label}: {errs} (not fitted: {w['not_fitted']})")
    lines += [
        "",
        f"Band: {BAND[0]} {100 * BAND[1]:.1f}-{100 * BAND[2]:.1f}%.",
        "",
        "Acceptance:",
        "",
    ]
    lines += [f"- {'met' if ok else 'NOT met'}: {k}" for k, ok in summary["done_when"].items()]
    return "\n".join(lines) + "\n"
