"""Interval coverage of the main models on simulated data with known truth.

Two estimands are checked, each against a data-generating process whose true value is known:

* the average slope of an outcome score over months since referral
  (:func:`analysis.models.trajectory_model`), and
* the rollout's simple average effect on an area-level outcome, ATT "simple"
  (:func:`analysis.models.staggered_att` then :func:`analysis.models.aggregate_att`).

For each seed the data are simulated as tables (no workbooks), both models are fitted, and
whether each 95% interval contains the truth is recorded. The study is checkpointed per seed
(one small JSON file each), so it can be stopped and resumed, and runs seeds in parallel::

    python -m analysis.validation --seeds 400 --jobs 2 --out bench/coverage

writes ``bench/coverage/seeds/seed_NNNN.json`` and the summary ``bench/coverage/summary.json``
(+ ``summary.md``). Coverage is expected within 92.5-97.5% for both estimands.

By default the data come from the programme's own generator, :mod:`analysis.synthesise_core`
(``simulate_trajectories`` with the latent score, ``simulate_area_panel`` and
``area_panel_estimands``), so the process behind the synthetic workbooks and behind this study
is one; ``--simulator internal`` uses the minimal self-contained simulators below instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.analyse.models import aggregate_att, staggered_att, trajectory_model
from analysis.analyse.parallel import run_parallel
from analysis.core.paths import ROOT

__all__ = [
    "CoverageConfig",
    "simulate_trajectories_small",
    "simulate_rollout_panel_small",
    "run_seed",
    "run_study",
    "summarise",
    "main",
]

COVERAGE_BAND: tuple[float, float] = (0.925, 0.975)
"""Acceptable range for the 95% interval coverage over many seeds."""


@dataclass(frozen=True)
class CoverageConfig:
    """Sizes (reduced scale, for speed) and, for the internal simulators, true values.

    ``n_people``, ``n_services``, ``n_spoke_areas`` and ``n_comparison_areas`` apply to both
    simulators (35 spoke areas is the programme's size); the remaining fields only shape the
    ``internal`` simulators, the synthesise generator taking its calibration from
    ``params.yaml``.
    """

    n_people: int = 150
    n_services: int = 8
    true_slope: float = -0.25
    sd_intercept: float = 3.0
    sd_slope: float = 0.15
    corr_intercept_slope: float = -0.3
    sd_residual: float = 2.0
    n_spoke_areas: int = 35
    n_comparison_areas: int = 100
    true_att: float = 1.5
    first_year: int = 2011
    last_year: int = 2017
    rollout_years: tuple[int, int, int] = (2014, 2015, 2016)
    rollout_shares: tuple[float, float, float] = (3 / 16, 5 / 16, 8 / 16)
    simulator: str = "synthesise"


def simulate_trajectories_small(
    rng: np.random.Generator, config: CoverageConfig
) -> tuple[pd.DataFrame, float]:
    """Repeated outcome scores per young person, with the true average slope.

    Each person has 1-6 assessments about three months apart (months since referral,
    jittered); score = service effect + person intercept + (slope + person slope) * months +
    noise, with correlated person intercepts and slopes. About one in ten people has a single
    assessment, so the model's exclusion rule is exercised.
    """
    n = config.n_people
    cov = np.array(
        [
            [config.sd_intercept**2, 0.0],
            [0.0, config.sd_slope**2],
        ]
    )
    cov[0, 1] = cov[1, 0] = config.corr_intercept_slope * config.sd_intercept * config.sd_slope
    person_effects = rng.multivariate_normal(np.zeros(2), cov, size=n)
    service_effects = rng.normal(0.0, 2.0, config.n_services)
    n_assess = rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.1, 0.25, 0.25, 0.2, 0.1, 0.1])
    service = rng.integers(0, config.n_services, size=n)
    rows = []
    for i in range(n):
        k = int(n_assess[i])
        months = np.concatenate([[0.0], 3.0 * np.arange(1, k) + rng.uniform(-1, 1, k - 1)])
        score = (
            20.0
            + service_effects[service[i]]
            + person_effects[i, 0]
            + (config.true_slope + person_effects[i, 1]) * months
            + rng.normal(0.0, config.sd_residual, k)
        )
        rows.append(
            pd.DataFrame(
                {
                    "person": f"p{i:04d}",
                    "service": f"s{service[i]}",
                    "months": months,
                    "score": score,
                }
            )
        )
    return pd.concat(rows, ignore_index=True), config.true_slope


def simulate_rollout_panel_small(
    rng: np.random.Generator, config: CoverageConfig
) -> tuple[pd.DataFrame, float]:
    """Area-by-year panel with a staggered three-phase rollout and a constant true effect.

    Spoke areas start in one of the rollout years (multinomial with the phase shares),
    comparison areas never do. Outcome = area level + common year shock + area trend noise
    (AR(1) errors) + ``true_att`` once the area's spoke has started. Parallel trends hold by
    construction, so the simple ATT's true value is ``true_att``.
    """
    years = np.arange(config.first_year, config.last_year + 1)
    n_spoke, n_comp = config.n_spoke_areas, config.n_comparison_areas
    cohorts = rng.choice(config.rollout_years, size=n_spoke, p=config.rollout_shares)
    cohort = np.concatenate([cohorts, np.zeros(n_comp, dtype=int)])
    n_areas = n_spoke + n_comp
    level = rng.normal(30.0, 8.0, n_areas) + 3.0 * (cohort > 0)  # spokes differ in level
    shocks = rng.normal(0.0, 2.0, len(years)).cumsum()
    err = np.zeros((n_areas, len(years)))
    err[:, 0] = rng.normal(0.0, 2.0, n_areas)
    for j in range(1, len(years)):
        err[:, j] = 0.5 * err[:, j - 1] + rng.normal(0.0, 2.0 * math.sqrt(0.75), n_areas)
    treated = (cohort[:, None] > 0) & (years[None, :] >= cohort[:, None])
    y = level[:, None] + shocks[None, :] + err + config.true_att * treated
    panel = pd.DataFrame(
        {
            "area": np.repeat([f"a{i:03d}" for i in range(n_areas)], len(years)),
            "year": np.tile(years, n_areas),
            "cohort": np.repeat(cohort, len(years)),
            "cse_rate": y.ravel(),
        }
    )
    return panel, config.true_att


Simulated = tuple[pd.DataFrame, float, dict[str, str]]
"""A simulated table, the true value of its estimand, and the model's column names."""


def _internal(config: CoverageConfig) -> tuple[Callable[..., Simulated], Callable[..., Simulated]]:
    traj_cols = {"outcome": "score", "time": "months", "person": "person", "service": "service"}
    panel_cols = {"unit": "area", "time": "year", "cohort": "cohort", "outcome": "cse_rate"}

    def traj(rng: np.random.Generator) -> Simulated:
        return (*simulate_trajectories_small(rng, config), traj_cols)

    def panel(rng: np.random.Generator) -> Simulated:
        return (*simulate_rollout_panel_small(rng, config), panel_cols)

    return traj, panel


def _synthesise(
    config: CoverageConfig,
) -> tuple[Callable[..., Simulated], Callable[..., Simulated]]:
    """The programme's own data-generating process (:mod:`analysis.synthesise_core`)."""
    from analysis.synthesise.design import (
        area_panel_estimands,
        simulate_area_panel,
        simulate_trajectories,
    )

    traj_cols = {
        "outcome": "score",
        "time": "months_since_referral",
        "person": "person",
        "service": "service",
    }
    panel_cols = {
        "unit": "area_code",
        "time": "quarter_index",
        "cohort": "cohort_quarter",
        "outcome": "cse_concerns",
    }

    def traj(rng: np.random.Generator) -> Simulated:
        table = simulate_trajectories(
            rng, config.n_people, n_services=config.n_services, instrument="latent"
        )
        return table, float(table.attrs["true_mean_monthly_change"]), traj_cols

    def panel(rng: np.random.Generator) -> Simulated:
        table = simulate_area_panel(rng, config.n_spoke_areas, config.n_comparison_areas)
        return table, float(area_panel_estimands(table)["simple"]), panel_cols

    return traj, panel


def _simulators(
    config: CoverageConfig,
) -> tuple[Callable[..., Simulated], Callable[..., Simulated]]:
    """The trajectory and panel simulators for the chosen source."""
    if config.simulator == "internal":
        return _internal(config)
    if config.simulator == "synthesise":
        return _synthesise(config)
    raise ValueError(f"simulator must be 'synthesise' or 'internal', got {config.simulator!r}")


def _covers(lo: float, hi: float, truth: float) -> bool:
    return bool(np.isfinite(lo) and np.isfinite(hi) and lo <= truth <= hi)


def run_seed(seed: int, config: CoverageConfig) -> dict[str, Any]:
    """Simulate both datasets for one seed, fit both models, record interval coverage."""
    sim_traj, sim_panel = _simulators(config)
    rng_traj = np.random.default_rng([seed, 1])
    rng_panel = np.random.default_rng([seed, 2])
    start = time.perf_counter()
    people, slope, tcols = sim_traj(rng_traj)
    traj = trajectory_model(people, **tcols)
    row = traj.term(tcols["time"])
    panel, att_true, pcols = sim_panel(rng_panel)
    gt = staggered_att(panel, **pcols)
    simple = aggregate_att(gt, "simple")
    lo = simple.overall_att - 1.959963984540054 * simple.overall_se
    hi = simple.overall_att + 1.959963984540054 * simple.overall_se
    return {
        "seed": int(seed),
        "slope_true": float(slope),
        "slope_estimate": float(row["estimate"]),
        "slope_se": float(row["std_error"]),
        "slope_covered": _covers(float(row["ci_lower"]), float(row["ci_upper"]), slope),
        "slope_converged": bool(traj.converged),
        "people_used": int(traj.n_units_used),
        "att_true": float(att_true),
        "att_estimate": float(simple.overall_att),
        "att_se": float(simple.overall_se),
        "att_covered": _covers(lo, hi, att_true),
        "seconds": round(time.perf_counter() - start, 3),
    }


def _seed_path(out: Path, seed: int) -> Path:
    return out / "seeds" / f"seed_{seed:04d}.json"


def _run_and_save(args: tuple[int, CoverageConfig, str]) -> dict[str, Any]:
    seed, config, out = args
    record = run_seed(seed, config)
    path = _seed_path(Path(out), seed)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, sort_keys=True) + "\n")
    os.replace(tmp, path)  # atomic: a killed run never leaves a half-written checkpoint
    return record


def run_study(
    seeds: Iterable[int], config: CoverageConfig, out: Path, jobs: int = 2
) -> list[dict[str, Any]]:
    """Run every seed not already checkpointed under ``out``; return all seed records."""
    seeds = list(seeds)
    (out / "seeds").mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), sort_keys=True, indent=2) + "\n")
    todo = [s for s in seeds if not _seed_path(out, s).exists()]
    tasks = [(s, config, str(out)) for s in todo]
    run_parallel(_run_and_save, tasks, jobs=jobs, chunksize=1, every=25, what="seeds")
    return [json.loads(_seed_path(out, s).read_text()) for s in seeds]


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage, bias and standard-error calibration over the seed records."""
    df = pd.DataFrame(records)
    n = len(df)
    out: dict[str, Any] = {"n_seeds": n, "band": list(COVERAGE_BAND)}
    for name in ("slope", "att"):
        cov = float(df[f"{name}_covered"].mean())
        mc_se = math.sqrt(cov * (1 - cov) / n) if n else float("nan")
        err = df[f"{name}_estimate"] - df[f"{name}_true"]
        out[name] = {
            "coverage": round(cov, 4),
            "coverage_mc_se": round(mc_se, 4),
            "within_band": bool(COVERAGE_BAND[0] <= cov <= COVERAGE_BAND[1]),
            "bias": round(float(err.mean()), 5),
            "empirical_sd": round(float(df[f"{name}_estimate"].std(ddof=1)), 5),
            "mean_se": round(float(df[f"{name}_se"].mean()), 5),
        }
    out["slope"]["non_converged"] = int((~df["slope_converged"].astype(bool)).sum())
    out["seconds_per_seed"] = round(float(df["seconds"].mean()), 3)
    return out


def _markdown(summary: dict[str, Any], wall: float, jobs: int) -> str:
    lines = [
        "# Interval coverage on simulated data",
        "",
        f"{summary['n_seeds']} seeds, {jobs} worker(s), wall time {wall:.0f} s this run "
        f"(mean {summary['seconds_per_seed']} s per seed per worker).",
        "",
        "| estimand | coverage of 95% CI | MC s.e. | in 92.5-97.5% | bias | empirical SD "
        "| mean SE |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    labels = {"slope": "trajectory slope", "att": "rollout simple ATT"}
    for key, label in labels.items():
        s = summary[key]
        lines.append(
            f"| {label} | {s['coverage']:.1%} | {s['coverage_mc_se']:.1%} | "
            f"{'yes' if s['within_band'] else 'NO'} | {s['bias']} | {s['empirical_sd']} | "
            f"{s['mean_se']} |"
        )
    return "\n".join(lines) + "\n"


def _study_main(args: argparse.Namespace) -> int:
    """A study with its own module (``run_study``, ``summarise``, ``markdown``): the
    rollout's evidence (:mod:`analysis.analyse.validation_rollout`) or reach per spoke
    (:mod:`analysis.analyse.validation_reach`); its summary in ``summary.json`` and
    ``summary.md`` under the output folder."""
    from analysis.analyse import validation_outcomes, validation_reach, validation_rollout

    if args.study == "rollout":
        study: Any = validation_rollout
        out = args.out or Path("bench/rollout-validation")
        options = {"power": not args.no_power}
    elif args.study == "outcomes":
        study, out, options = validation_outcomes, args.out or Path("bench/outcome-validation"), {}
    else:
        study, out, options = validation_reach, args.out or Path("bench/reach-validation"), {}
    out = out if out.is_absolute() else ROOT / out
    start = time.perf_counter()
    records = study.run_study(args.seeds, out, jobs=args.jobs, **options)
    wall = time.perf_counter() - start
    summary = study.summarise(records)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    text = study.markdown(summary, wall, args.jobs)
    (out / "summary.md").write_text(text)
    print(text)
    return 0 if all(summary["done_when"].values()) else 1


def main(argv: list[str] | None = None) -> int:
    """Command line: run (or resume) a validation study and print its summary. ``--study
    rollout`` (the default): the rollout's evidence on the default world and the stress
    scenarios (:mod:`analysis.analyse.validation_rollout`); ``--study models``: interval
    coverage of the trajectory and rollout models (this module)."""
    parser = argparse.ArgumentParser(prog="python -m analysis.validation", description=__doc__)
    parser.add_argument(
        "--study",
        default="rollout",
        choices=["rollout", "models", "reach", "outcomes"],
        help="rollout: the rollout's evidence on the default world and the stress scenarios "
        "(default); models: interval coverage of the trajectory and rollout models; reach: "
        "the spoke-level reach model on the default world and slow_recruitment; outcomes: "
        "outcome 6 (young people's scores) on the default world and its four scenarios",
    )
    parser.add_argument("--seeds", type=int, default=400, help="number of seeds (1..N) per world")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (under ROOT; default bench/rollout-validation, bench/coverage or "
        "bench/reach-validation)",
    )
    parser.add_argument(
        "--no-power",
        action="store_true",
        help="rollout study: skip the power curve's extra strengths of chosen_on_need",
    )
    parser.add_argument(
        "--simulator",
        default="synthesise",
        choices=["synthesise", "internal"],
        help="models study: synthesise, the programme's own generator (default); internal: "
        "a minimal one",
    )
    args = parser.parse_args(argv)
    if args.study in ("rollout", "reach", "outcomes"):
        return _study_main(args)
    out = args.out or Path("bench/coverage")
    out = out if out.is_absolute() else ROOT / out
    config = CoverageConfig(simulator=args.simulator)
    start = time.perf_counter()
    records = run_study(range(1, args.seeds + 1), config, out, jobs=args.jobs)
    wall = time.perf_counter() - start
    summary = summarise(records)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (out / "summary.md").write_text(_markdown(summary, wall, args.jobs))
    print(_markdown(summary, wall, args.jobs))
    ok = summary["slope"]["within_band"] and summary["att"]["within_band"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
