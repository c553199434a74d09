"""The embedded default data: a realistic synthetic Hub and Spoke programme.

``python -m analysis synthesise OUT_DIR [--seed N] [--scale K]`` calls
:func:`synthesise_programme`, which writes the raw folder described in
``docs/data-contract.md`` (registers, monitoring return workbooks, case extracts, outcome
assessments, training feedback, the area panel, the fieldwork log and ``manifest.csv``) plus
``_truth/truth.json`` (the true parameters, never read by the cleaner) and
``_truth/mess.json`` (every discrepancy injected on purpose) and, written last,
``_truth/generator.json``: the generator's marker (seed, scale and the SHA-256 of every
file written; :mod:`analysis.core.privacy`), without which the cleaner treats a folder as
real data.

The model-validation study reuses the table-level simulators without writing workbooks:
:func:`simulate_trajectories` / :func:`trajectory_estimands` and
:func:`simulate_area_panel` / :func:`area_panel_estimands` (re-exported from
:mod:`analysis.synthesise_core`). Calibration and mess rates live in ``params.yaml``
(``synthetic.calibration``, ``synthetic.mess``).
"""

from __future__ import annotations

import multiprocessing
import shutil
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.privacy import write_generator_marker
from analysis.core.published_figures import published_reference_date
from analysis.core.settings import default_jobs, load_settings
from analysis.synthesise.design import (
    area_panel_estimands,
    load_synthetic_params,
    referral_estimands,
    simulate_area_panel,
    simulate_trajectories,
    trajectory_estimands,
)
from analysis.synthesise.scenarios import scenario_set
from analysis.synthesise.sessions import group_estimands
from analysis.synthesise.truth import reach_truth, reporting_truth
from analysis.synthesise.world import World, build_world, training_estimands
from analysis.synthesise.write import (
    Sink,
    plan_deliveries,
    progress,
    write_area_panel,
    write_fieldwork,
    write_json,
    write_manifest,
    write_registers,
    write_service_files,
)
from analysis.synthesise.write.qdpx import write_fieldwork_projects

__all__ = [
    "area_panel_estimands",
    "programme_truth",
    "simulate_area_panel",
    "simulate_trajectories",
    "synthesise_programme",
    "trajectory_estimands",
    "true_estimands",
]

GENERATOR_VERSION = "1.0"
_OWNED = ("manifest.csv", "register", "returns", "extracts", "assessments", "training",
          "groupwork", "area_panel.csv", "fieldwork.csv", "fieldwork", "_truth")  # fmt: skip


def true_estimands(
    trajectories: pd.DataFrame | None = None, panel: pd.DataFrame | None = None
) -> dict[str, Any]:
    """True estimands of simulated tables: ``{"outcome": …, "rollout": …}`` for whichever of
    a :func:`simulate_trajectories` table and a :func:`simulate_area_panel` table is given."""
    out: dict[str, Any] = {}
    if trajectories is not None:
        out["outcome"] = trajectory_estimands(trajectories)
    if panel is not None:
        out["rollout"] = area_panel_estimands(panel)
    return out


def own_unit_truths(world: World, noninvariance: dict[str, float] | None = None) -> dict[str, Any]:
    """Each instrument's expected change per month in its own units
    (:func:`analysis.synthesise.outcome_scenarios.own_unit_truth`), from the young people
    with two or more recorded assessments in the true state."""
    from analysis.synthesise.outcome_scenarios import own_unit_truth

    a = world.assessments
    if a.empty:
        return {}
    inst = world.services.set_index("service_id")["instrument"]
    d = a.merge(world.people[["service_id", "person", "intercept", "slope"]])
    d = d.assign(
        instrument=d["service_id"].map(inst), person=d["service_id"] + "/" + d["person"].astype(str)
    )
    out: dict[str, Any] = {}
    for name, part in d.groupby("instrument", sort=True):
        out[str(name)] = own_unit_truth(
            part, str(name), residual_sd=float(world.cal["residual_sd"]),
            noninvariance=noninvariance,
        )  # fmt: skip
    return out


def programme_truth(world: World, adjust: Any = None) -> dict[str, Any]:
    """The true parameters of a simulated programme (written to ``_truth/truth.json``;
    ``adjust``: the scenarios it was built with)."""
    cal = world.cal
    people = world.people
    a = world.assessments
    n_assess = a.groupby(["service_id", "person"]).size() if not a.empty else pd.Series(dtype=int)
    eligible = n_assess[n_assess >= 2].reset_index()[["service_id", "person"]]
    elig = people.merge(eligible, on=["service_id", "person"])
    by_service = elig.groupby("service_id")["slope"].mean()
    inst = world.services.set_index("service_id")["instrument"]
    by_instrument = (
        elig.assign(instrument=elig["service_id"].map(inst)).groupby("instrument")["slope"].mean()
    )
    rollout = area_panel_estimands(world.panel, cal)
    rollout["definition"] = (
        "Callaway-Sant'Anna group-time ATT on the count of CSE concerns identified per "
        "area-quarter: ATT(g,t) = mean over areas first reached by a spoke in quarter g of the "
        "expected extra concerns in quarter t (t >= g; 0 before: no anticipation), conditional "
        "on the areas' realised levels. Never-treated comparison areas; parallel trends hold in "
        "levels by construction. 'simple' weights post-treatment cells by cohort size "
        "(did::aggte type='simple'); 'dynamic' is the event-study aggregation by event time. "
        "'population' gives the same estimands over iid draws of areas (what analytic standard "
        "errors cover); the top-level values condition on this programme's areas."
    )
    closed = people["closure_day"].notna()
    recorded_closed = people.loc[closed].merge(eligible, on=["service_id", "person"])
    observed_scale, change_shares = _observed_scale_change(world, eligible)
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": world.seed,
        "scale": world.scale,
        "counts": {
            "services": len(world.services),
            "services_by_phase": {
                int(k): int(v)
                for k, v in world.services["phase"].value_counts().sort_index().items()
            },
            "spokes": len(world.spokes),
            "spoke_areas": int((world.areas["cohort_quarter"] > 0).sum()),
            "comparison_areas": int((world.areas["cohort_quarter"] == 0).sum()),
            "young_people": len(people),
            "assessments": len(a),
            "professionals_trained": len(world.training),
            "spoke_posts": len(world.posts),
            "group_sessions": len(world.groups),
            "group_attendees": int(world.groups["attendees"].sum()) if len(world.groups) else 0,
            "programme_cost_gbp": int(world.grants["amount_gbp"].sum()),
        },
        "outcome": {
            "harmonised_score": {
                "seraf": "1 - min(s, 30) / 30 for SERAF total s",
                "star5": "(m - 1) / 4 for the mean m of the life areas",
                "star10": "(m - 1) / 9 for the mean m of the life areas",
                "risk3": "low 5/6, medium 1/2, high 1/6",
                "bespoke": "v / 100",
            },
            "mean_monthly_change": float(cal["mean_monthly_change"]),
            "sample_mean_monthly_change": float(elig["slope"].mean()) if len(elig) else None,
            "by_service": {k: float(v) for k, v in by_service.items()},
            "by_instrument": {k: float(v) for k, v in by_instrument.items()},
            "observed_scale_monthly_change": observed_scale,
            "own_units_monthly_change": own_unit_truths(
                world, adjust.noninvariance() if adjust is not None else None
            ),
            "own_units": {
                "seraf": "SERAF total (0-30 and above; higher = more risk)",
                "star5": "mean of the life-area scores (1-5; higher = better)",
                "star10": "mean of the life-area scores (1-10; higher = better)",
                "risk3": "rating 1 = low, 2 = medium, 3 = high risk",
                "bespoke": "score 0-100 (higher = better)",
            },
            "all_people_mean_monthly_change": float(
                people.merge(a[["service_id", "person"]].drop_duplicates())["slope"].mean()
            )
            if len(a)
            else None,
            "closed_case_change_shares": change_shares,
            "people_with_two_plus_assessments": len(elig),
            "closed_cases_without_repeated_measure_share": float(
                1 - len(recorded_closed) / max(int(closed.sum()), 1)
            ),
            "definition": (
                "Latent harmonised score y (0-1, higher = safer/better) = intercept_i + "
                "(mean_monthly_change + service deviation + person deviation) x months since "
                "referral + noise; each instrument observes y through its mapping (rounding, "
                "clipping at 0 and 1, three bands for risk3), so instrument scores track y only "
                "approximately. 'mean_monthly_change' is the population mean slope a linear "
                "mixed model's fixed slope targets; 'sample_mean_monthly_change' averages the "
                "true slopes of people with two or more assessments (before any return went "
                "missing). 'observed_scale_monthly_change' is the within-person least-squares "
                "slope of the noise-free score clipped to 0-1 at the actual assessment times: "
                "how far the ceiling and floor of the 0-1 scale attenuate the change. "
                "'closed_case_change_shares' classifies closed cases' measured change in the "
                "harmonised score from first to last assessment (improve > +0.05, worse < -0.05; "
                "DOMAIN: about 65/25/10%)."
            ),
        },
        "rollout": rollout,
        "referral_growth": referral_estimands(cal),
        "training": training_estimands(cal),
        "group_sessions": group_estimands(cal),
        "funding": {
            "share_spokes_funded_beyond_programme": float(world.spokes["sustained"].mean()),
        },
        "marginals": {
            "female_share": float((people["gender"] == "female").mean()),
            "age_at_referral_mean": float(people["age"].mean()),
            "seraf_category_shares": {
                int(k): float(v)
                for k, v in people["seraf_category"]
                .value_counts(normalize=True)
                .sort_index()
                .items()
            },
        },
    }


def _observed_scale_change(
    world: World, eligible: pd.DataFrame
) -> tuple[float | None, dict[str, float]]:
    """Attenuated slope of the clipped noise-free score, and closed cases' change shares."""
    a = world.assessments
    if a.empty or eligible.empty:
        return None, {}
    cols = ["service_id", "person", "intercept", "slope", "closure_day"]
    d = a.merge(eligible, on=["service_id", "person"]).merge(world.people[cols])
    d["true_score"] = np.clip(d["intercept"] + d["slope"] * d["months_since_referral"], 0, 1)
    d["observed"] = d["score"]
    g = d.groupby(["service_id", "person"])
    xc = d["months_since_referral"] - g["months_since_referral"].transform("mean")
    yc = d["true_score"] - g["true_score"].transform("mean")
    slope = float((xc * yc).sum() / (xc**2).sum())
    closed = d[d["closure_day"].notna()].sort_values("months_since_referral", kind="stable")
    gc = closed.groupby(["service_id", "person"])["observed"]
    change = gc.last() - gc.first()
    shares = {
        "improve": float((change > 0.05).mean()),
        "no_change": float(change.between(-0.05, 0.05).mean()),
        "worse": float((change < -0.05).mean()),
    }
    return slope, shares


def _prepare(out_dir: Path) -> None:
    """Create ``out_dir``, removing only what a previous synthesis wrote there.

    Refuses (``FileExistsError``) to write into a folder holding raw-data files that a
    synthesis did not write (no ``_truth/truth.json``): real returns are never overwritten.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a folder")
    present = [n for n in _OWNED if (out_dir / n).exists()]
    if present and not (out_dir / "_truth" / "truth.json").is_file():
        raise FileExistsError(
            f"{out_dir} already holds {', '.join(present)} but no _truth/truth.json: it does "
            "not look like synthetic data, so it is left untouched; choose an empty folder"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in _OWNED:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


# What the service writers share, set before the worker processes are forked (so the world
# is not pickled for each service).
_SHARED: dict[str, Any] = {}


def _write_one_service(index: int) -> tuple[dict[str, int], Sink]:
    """(In a worker.) Write service ``index``'s files into a fresh :class:`Sink`."""
    world: World = _SHARED["world"]
    svc = world.services.iloc[index].to_dict()
    mine = [d for d in _SHARED["deliveries"] if d.service_id == svc["service_id"]]
    sink = Sink(_SHARED["out_dir"])
    return write_service_files(sink, world, svc, mine, _SHARED["mess"]), sink


def _write_services(
    sink: Sink, world: World, deliveries: list[Any], mess: dict[str, Any], jobs: int
) -> list[tuple[dict[str, int], list[Any]]]:
    """Write every service's files; merge what each recorded into ``sink`` in service order.

    Returns, per service, its counts and its deliveries. Each service draws only from its
    own random streams, so the files do not depend on ``jobs`` or on the order the workers
    finish in; the manifest, events and counters are merged in service order, as a single
    process would have recorded them.
    """
    n = len(world.services)
    _SHARED.update(world=world, deliveries=deliveries, mess=mess, out_dir=sink.out_dir)
    try:
        # fork shares the world without pickling it; where fork is not the safe default
        # (macOS, Windows) the services are written one after another.
        if jobs > 1 and n > 1 and sys.platform.startswith("linux"):
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(jobs, n), mp_context=context) as pool:
                parts = list(pool.map(_write_one_service, range(n)))
        else:
            parts = [_write_one_service(i) for i in range(n)]
    finally:
        _SHARED.clear()
    out = []
    for (stats, part), sid in zip(parts, world.services["service_id"], strict=True):
        sink.manifest.extend(part.manifest)
        sink.events.extend(part.events)
        for kind, count in part.counts.items():
            sink.counts[kind] = sink.counts.get(kind, 0) + count
        out.append((stats, [d for d in deliveries if d.service_id == sid]))
    return out


def synthesise_programme(
    out_dir: Path,
    *,
    seed: int | None = None,
    scale: float | None = None,
    params_file: Path | None = None,
    jobs: int | None = None,
    scenarios: str | Sequence[str] | None = None,
) -> str:
    """Write a synthetic programme's raw folder to ``out_dir``; return a one-paragraph summary.

    ``scenarios`` (``"chosen_on_need,anticipation"`` or a sequence) turns on stress
    scenarios for the area panel (:mod:`analysis.synthesise.scenarios`), with the strengths
    in ``synthetic.scenarios`` of the parameters; the truth records them. Without them the
    world is the default one, byte for byte.

    ``seed`` and ``scale`` default to ``synthetic.seed`` / ``synthetic.scale`` in
    ``params.yaml`` (or ``params_file``). ``scale`` K multiplies services (at least one per
    phase), areas and young people; fractions are allowed. The same seed, scale and
    parameters give byte-identical files, whatever ``jobs``: the services' files are
    written by up to ``jobs`` processes (default :func:`analysis.config.default_jobs`),
    each service from its own random streams, and merged in service order.
    """
    section = load_synthetic_params(params_file)
    seed = int(section.get("seed", 0) if seed is None else seed)
    scale = float(section.get("scale", 1.0) if scale is None else scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs!r}")
    cal, mess = section["calibration"], section["mess"]
    adjust = scenario_set(scenarios, section.get("scenarios"))
    out_dir = Path(out_dir)
    _prepare(out_dir)
    named = f", scenarios {', '.join(adjust.names)}" if adjust else ""
    progress(f"synthesise: simulating the programme (seed {seed}, scale {scale:g}{named})")
    world = build_world(seed, scale, cal, adjust=adjust)
    sink = Sink(out_dir)
    write_registers(sink, world)
    write_area_panel(sink, world, mess)
    write_fieldwork(sink)
    write_fieldwork_projects(sink, world)
    deliveries = plan_deliveries(world, mess)
    totals: dict[str, int] = {}
    written = _write_services(
        sink, world, deliveries, mess, default_jobs() if jobs is None else jobs
    )
    for (_, svc), (stats, mine) in zip(world.services.iterrows(), written, strict=True):
        for k, v in stats.items():
            totals[k] = totals.get(k, 0) + v
        n_people = int((world.people["service_id"] == svc["service_id"]).sum())
        progress(
            f"synthesise: {svc['service_id']} (phase {svc['phase']}, {svc['reporting']}, "
            f"{svc['instrument']}): {len(mine)} periods, {stats['returns']} workbooks, "
            f"{n_people} young people"
        )
    write_manifest(sink)
    truth = programme_truth(world, adjust)
    settings = load_settings(params_file)
    if settings.report is not None and settings.years:
        truth["reporting"] = reporting_truth(
            world,
            deliveries,
            as_of=published_reference_date(),
            final_year=settings.years[-1],
            cutoff_days=settings.report.cutoff_days_after_year_end,
        )
        truth["reach"] = reach_truth(world, settings.years[-1])
    if adjust is not None:
        truth["scenarios"] = adjust.record()
    write_json(out_dir / "_truth" / "truth.json", truth)
    summary_counts: dict[str, int] = {}
    for e in sink.events:
        summary_counts[e["kind"]] = summary_counts.get(e["kind"], 0) + 1
    write_json(
        out_dir / "_truth" / "mess.json",
        {"rates": mess, "summary": summary_counts, "events": sink.events},
    )
    # Last: the marker that lets the cleaner use the seed-derived key on this folder only.
    write_generator_marker(out_dir, seed=seed, scale=scale, owned=_OWNED)
    n_expected = len(deliveries)
    missing = sum(d.status == "missing" for d in deliveries)
    late = sum(d.status == "late" for d in deliveries)
    resub = sum(d.resubmitted is not None for d in deliveries)
    c = truth["counts"]
    return (
        f"Wrote a synthetic Hub and Spoke programme to {out_dir} (seed {seed}, scale {scale:g}"
        f"{named}): "
        f"{c['services']} services (phases 1/2/3: "
        f"{'/'.join(str(c['services_by_phase'].get(p, 0)) for p in (1, 2, 3))}), "
        f"{c['spokes']} spokes, {c['spoke_areas']} spoke and {c['comparison_areas']} comparison "
        f"areas, {c['young_people']:,} young people; {n_expected} returns expected, "
        f"{n_expected - missing} received ({late} late, {missing} missing, {resub} resubmitted), "
        f"{totals.get('extracts', 0)} case extracts, {totals.get('assessment_rows', 0):,} "
        f"assessment rows, {totals.get('training_rows', 0):,} professionals trained and "
        f"{totals.get('group_sessions', 0):,} group sessions with children and young people. "
        f"{len(sink.events):,} injected discrepancies are listed in _truth/mess.json; the true "
        f"parameters are in _truth/truth.json (true average monthly change "
        f"{truth['outcome']['mean_monthly_change']:.4f} on the harmonised 0-1 score; true simple "
        f"ATT of spoke arrival {truth['rollout']['simple']:.2f} CSE concerns per area-quarter)."
    )
