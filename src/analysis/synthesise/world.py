"""The synthetic programme's true state: services, spokes, areas, young people, assessments,
training and funding — before any file is written or any mess injected.

Every random draw comes from a named stream (:func:`stream`), so the parts are independent:
changing how training is simulated does not move the young people.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from analysis.core import calendar
from analysis.core.calendar import quarter_index_of
from analysis.core.schemas import HOST_AGENCIES
from analysis.synthesise.design import (
    DAYS_PER_MONTH,
    LAST_DAY,
    PHASE_STARTS,
    Period,
    add_months,
    area_panel_from_cohorts,
    assessment_schedule,
    case_durations,
    harmonised_from_latent,
    person_effects,
    referral_rate,
    seraf_category,
    service_periods,
    year_of,
)

EPOCH = date(1970, 1, 1)
HOST_PROBS: tuple[float, ...] = (0.3, 0.35, 0.1, 0.25)
HOST_SOURCE = {
    "police": "police",
    "childrens_social_care": "childrens_social_care",
    "health": "health",
    "multi_agency": "childrens_social_care",
}
TRAINING_AGENCIES: tuple[str, ...] = (
    "police",
    "childrens_social_care",
    "education",
    "health",
    "voluntary_youth",
    "other",
)
TRAINING_AGENCY_PROBS: tuple[float, ...] = (0.2, 0.3, 0.2, 0.12, 0.12, 0.06)
FUNDING_SOURCES: tuple[str, ...] = (
    "local_authority",
    "police_crime_commissioner",
    "health_commissioner",
    "charitable_trust",
    "other",
)
_PLACE_A = (
    "Qual", "Brim", "Cosk", "Dreb", "Elv", "Fask", "Grin", "Isk", "Jorv", "Lum", "Mosk",
    "Nesh", "Orv", "Pell", "Quin", "Rask", "Selv", "Tov", "Ulm", "Vesk", "Wrax", "Yarn", "Zell",
)  # fmt: skip
_PLACE_B = ("bury", "dale", "ford", "ham", "mere", "moor", "stead", "ton", "vale", "wick", "worth")
_PLACE_PREFIX = ("", "North ", "South ", "East ", "West ", "Upper ", "Lower ")
_ORG_FORMS = (
    "{p} Young People's Trust",
    "{p} CSE Project",
    "Safe Futures {p}",
    "{p} Children's Society Partnership",
    "{p} Youth Action",
    "Open Door {p}",
)


def stream(seed: int, *names: str | int) -> np.random.Generator:
    """An independent random generator for one named part of the simulation."""
    keys = [int(seed) & 0xFFFFFFFF]
    for n in names:
        keys.append(zlib.crc32(str(n).encode()) if isinstance(n, str) else int(n))
    return np.random.default_rng(keys)


def to_days(d: date) -> int:
    """Day number (days since 1970-01-01)."""
    return (d - EPOCH).days


def from_days(n: int) -> date:
    """The date of a day number."""
    return EPOCH + timedelta(days=int(n))


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    raw = np.asarray(weights, dtype=float) / np.sum(weights) * total
    out = np.floor(raw).astype(int)
    order = np.argsort(-(raw - out), kind="stable")
    out[order[: total - out.sum()]] += 1
    return out


def place_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct fictional place names."""
    combos = [f"{p}{a}{b}" for p in _PLACE_PREFIX for a in _PLACE_A for b in _PLACE_B]
    if n > len(combos):
        combos += [f"{c} {i}" for i in range(2, 2 + n // len(combos) + 1) for c in combos]
    plain = len(_PLACE_A) * len(_PLACE_B)
    perm = rng.permutation(len(combos))
    ordered = [i for i in perm if i < plain] + [i for i in perm if i >= plain]
    return [combos[i] for i in ordered[:n]]


@dataclass
class World:
    """The true synthetic programme."""

    seed: int
    scale: float
    cal: dict[str, Any]
    services: pd.DataFrame
    spokes: pd.DataFrame
    areas: pd.DataFrame
    panel: pd.DataFrame
    people: pd.DataFrame
    assessments: pd.DataFrame
    training: pd.DataFrame
    funding: pd.DataFrame
    periods: dict[str, list[Period]] = field(default_factory=dict)


# --------------------------------------------------------------------------- services


def build_services(seed: int, scale: float, cal: dict[str, Any]) -> pd.DataFrame:
    """The service register: phase sizes scale with K (at least one service per phase)."""
    rng = stream(seed, "services")
    counts = [max(1, int(round(n * scale))) for n in cal["services_per_phase"]]
    n = sum(counts)
    phase = np.repeat([1, 2, 3], counts)
    mix = cal["instrument_mix"]
    # interleave instruments so any prefix of the list spreads across instruments
    pattern: list[str] = []
    left = dict(mix)
    while any(v > 0 for v in left.values()):
        for k in ("seraf", "star5", "risk3", "star10", "bespoke", "none"):
            if left.get(k, 0) > 0:
                pattern.append(k)
                left[k] -= 1
    instruments = np.array([pattern[i % len(pattern)] for i in range(n)])
    instruments = instruments[rng.permutation(n)]
    names = place_names(stream(seed, "org-names"), n)
    forms = rng.integers(0, len(_ORG_FORMS), n)
    start = [PHASE_STARTS[p - 1] for p in phase]
    width = max(2, len(str(n)))
    lo, hi = cal["no_followup_range"]
    return pd.DataFrame(
        {
            "service_id": [f"S{i + 1:0{width}d}" for i in range(n)],
            "hub_organisation": [
                _ORG_FORMS[f].format(p=nm) for f, nm in zip(forms, names, strict=True)
            ],
            "phase": phase.astype("int64"),
            "start_date": start,
            "funded_until": [date(d.year + 3, 1, 1) - timedelta(days=1) for d in start],
            "reporting": ["annual" if p == 1 else "quarterly" for p in phase],
            "instrument": instruments,
            "size_mult": np.exp(rng.normal(0, cal["service_size_sd"], n)),
            "slope_dev": rng.normal(0, cal["service_slope_sd"], n),
            "no_followup": rng.uniform(lo, hi, n),
        }
    )


def build_spokes(seed: int, services: pd.DataFrame, cal: dict[str, Any]) -> pd.DataFrame:
    """Spoke posts: 1–3 per service, 2–5 workers per service, start after recruitment."""
    rng = stream(seed, "spokes")
    rows = []
    p_spokes = np.asarray(cal["spokes_per_service_probs"], dtype=float)
    delay_p = np.asarray(cal["spoke_delay_months_probs"], dtype=float)
    wmin, wmax = cal["workers_per_service"]
    for svc in services.itertuples():
        k = int(rng.choice(len(p_spokes), p=p_spokes / p_spokes.sum())) + 1
        total = int(np.clip(k + rng.binomial(k, 0.5), wmin, wmax))
        workers = np.ones(k, dtype=int)
        for _ in range(total - k):
            workers[rng.integers(0, k)] += 1
        for j in range(k):
            delay = int(rng.choice(len(delay_p), p=delay_p / delay_p.sum()))
            rows.append(
                {
                    "spoke_id": f"{svc.service_id}-{j + 1}",
                    "service_id": svc.service_id,
                    "host_agency": HOST_AGENCIES[rng.choice(4, p=HOST_PROBS)],
                    "spoke_workers": int(workers[j]),
                    "start_date": add_months(svc.start_date, delay),
                    "phase": int(svc.phase),
                }
            )
    return pd.DataFrame(rows)


def build_areas(seed: int, spokes: pd.DataFrame, scale: float, cal: dict[str, Any]) -> pd.DataFrame:
    """Spoke and comparison areas with shuffled codes and fictional names."""
    rng = stream(seed, "areas")
    n_cmp = max(1, int(round(cal["comparison_areas"] * scale)))
    n = len(spokes) + n_cmp
    codes = [f"LA{i + 1:03d}" for i in rng.permutation(n)]
    names = place_names(stream(seed, "area-names"), n)
    cohort = [quarter_index_of(d) for d in spokes["start_date"]] + [0] * n_cmp
    return pd.DataFrame(
        {
            "area_code": codes,
            "area_name": names,
            "spoke_id": list(spokes["spoke_id"]) + [None] * n_cmp,
            "cohort_quarter": np.asarray(cohort, dtype="int64"),
        }
    )


def build_funding(seed: int, services: pd.DataFrame, spokes: pd.DataFrame, cal: dict[str, Any]):
    """Funding rows per spoke × evaluation year × source, and each spoke's sustained flag."""
    rng = stream(seed, "funding")
    rows, sustained = [], {}
    svc = services.set_index("service_id")
    for sp in spokes.itertuples():
        until = svc.loc[sp.service_id, "funded_until"]
        years = range(year_of(sp.start_date), 2017)
        ok = bool(rng.random() < cal["sustained_funding_prob"])
        source = FUNDING_SOURCES[rng.integers(0, len(FUNDING_SOURCES))]
        extra_until = date(until.year + int(rng.integers(1, 3)), 3, 31)
        sustained[sp.spoke_id] = ok
        for y in years:
            ystart, yend = calendar.year_bounds(calendar.year_label(y))
            if ystart <= until:
                rows.append((sp.service_id, sp.spoke_id, y, "programme", until))
            if ok and yend >= calendar.year_start(calendar.year_label(until.year - 1)):
                rows.append((sp.service_id, sp.spoke_id, y, source, extra_until))
    df = pd.DataFrame(
        rows, columns=["service_id", "spoke_id", "year", "funding_source", "funded_until"]
    )
    df["evaluation_year"] = [f"{y}-{(y + 1) % 100:02d}" for y in df["year"]]
    return df.drop(columns="year"), sustained


# --------------------------------------------------------------------------- people


def _choice(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    keys = list(probs)
    p = np.asarray([probs[k] for k in keys], dtype=float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def simulate_people(seed: int, service: pd.Series, spokes: pd.DataFrame, cal: dict[str, Any]):
    """Young people referred to one service's spokes, with their true attributes, closure and
    latent outcome trajectory (one row per young person)."""
    rng = stream(seed, "people", service["service_id"])
    last = to_days(LAST_DAY)
    frames = []
    for sp in spokes.itertuples():
        months = []
        m = 0
        while True:
            first = add_months(sp.start_date.replace(day=1), m)
            if first > LAST_DAY:
                break
            months.append(first)
            m += 1
        lam = (
            sp.spoke_workers
            * service["size_mult"]
            * referral_rate(
                np.arange(len(months)),
                cal["referrals_per_worker_year"],
                cal["referral_growth_per_month"],
            )
        )
        n_month = rng.poisson(lam)
        day0 = np.repeat([to_days(d) for d in months], n_month)
        length = np.repeat([to_days(add_months(d, 1)) - to_days(d) for d in months], n_month)
        ref = day0 + np.floor(rng.random(len(day0)) * length).astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "spoke_id": sp.spoke_id,
                    "host_agency": sp.host_agency,
                    "spoke_start": to_days(sp.start_date),
                    "referral_day": ref,
                }
            )
        )
    people = pd.concat(frames, ignore_index=True).sort_values("referral_day", kind="stable")
    people = people.reset_index(drop=True)
    n = len(people)
    # demographics
    lo, hi = cal["age_range"]
    age = rng.normal(cal["age_mean"], cal["age_sd"], n * 3)
    age = age[(age >= lo) & (age < hi)][:n]
    while len(age) < n:  # pragma: no cover - practically never
        age = np.concatenate([age, np.clip(rng.normal(cal["age_mean"], cal["age_sd"], n), lo, hi)])
    age = age[:n]
    people["age"] = age
    people["dob_day"] = people["referral_day"] - np.rint(age * 365.25).astype(int)
    people["gender"] = _choice(rng, cal["gender_probs"], n)
    people["ethnicity"] = _choice(rng, cal["ethnicity_probs"], n)
    people["sexuality"] = _choice(rng, cal["sexuality_probs"], n)
    people["disability"] = np.where(rng.random(n) < cal["disability_rate"], "yes", "no")
    for k, r in cal["vulnerability_rates"].items():
        people[k] = np.where(rng.random(n) < r, "yes", "no")
    # referral source: the host agency's source gets a boost
    src = cal["referral_source_probs"]
    keys = list(src)
    out = np.empty(n, dtype=object)
    for host in HOST_AGENCIES:
        mask = (people["host_agency"] == host).to_numpy()
        if mask.any():
            w = np.asarray([src[k] for k in keys], dtype=float)
            w[keys.index(HOST_SOURCE[host])] *= cal["host_referral_boost"]
            out[mask] = np.asarray(keys, dtype=object)[
                rng.choice(len(keys), mask.sum(), p=w / w.sum())
            ]
    people["referral_source"] = out
    people["referral_reason"] = _choice(rng, cal["referral_reason_probs"], n)
    # latent outcome: intercept gives the risk at referral
    a, b = person_effects(
        rng,
        n,
        baseline_mean=cal["score_baseline_mean"],
        baseline_sd=cal["score_baseline_sd"],
        slope_sd=cal["person_slope_sd"],
        corr=cal["intercept_slope_corr"],
    )
    people["intercept"] = a
    people["slope"] = cal["mean_monthly_change"] + service["slope_dev"] + b
    seraf0 = np.maximum(0, np.rint(30 * (1 - a))).astype(int)
    people["seraf_category"] = seraf_category(seraf0)
    people["risk"] = np.select(
        [people["seraf_category"] <= 2, people["seraf_category"] == 3], ["low", "medium"], "high"
    )
    # closure: lognormal duration, capped at the 18th birthday
    dur = case_durations(rng, n, cal)
    close = people["referral_day"].to_numpy() + dur
    birthday18 = people["dob_day"].to_numpy() + int(round(18 * 365.25))
    aged_out = birthday18 < close
    close = np.where(aged_out, np.maximum(birthday18, people["referral_day"] + 1), close)
    reason = _choice(rng, cal["closure_reason_probs"], n)
    reason = np.where(aged_out, "aged_out", reason)
    closed = close <= last
    people["closure_day"] = pd.array(np.where(closed, close, 0), dtype="Int64")
    people.loc[~closed, "closure_day"] = pd.NA
    people["closure_reason"] = pd.array(np.where(closed, reason, None), dtype="str")
    people["no_followup"] = rng.random(n) < service["no_followup"]
    people.insert(0, "service_id", service["service_id"])
    people.insert(1, "person", np.arange(n, dtype="int64"))
    return people


def recording_pattern(
    seed: int, service: pd.Series, people: pd.DataFrame, cal: dict[str, Any]
) -> pd.DataFrame:
    """Whether each attribute was recorded at referral, and after how many further extracts a
    missing one gets recorded (``fill_<attr>``; large = never)."""
    rng = stream(seed, "recording", service["service_id"])
    n = len(people)
    years = (people["referral_day"].to_numpy() - to_days(date(2013, 9, 1))) / 365.25
    out = pd.DataFrame(index=people.index)
    for attr, (lo, hi) in cal["not_recorded_ranges"].items():
        base = rng.uniform(lo, hi)
        p = base * (1 - cal["recording_improvement_per_year"]) ** np.maximum(years, 0)
        missing = rng.random(n) < p
        fill = rng.geometric(cal["fill_in_later_prob"], n)
        out[f"fill_{attr}"] = np.where(missing, fill, 0).astype("int64")
    return out


def simulate_assessments(
    seed: int, service: pd.Series, people: pd.DataFrame, cal: dict[str, Any]
) -> pd.DataFrame:
    """Assessments in the service's instrument (none for ``none``): one row per assessment
    with the latent score, the harmonised score and the raw values."""
    instrument = service["instrument"]
    if instrument == "none" or people.empty:
        return pd.DataFrame()
    rng = stream(seed, "assessments", service["service_id"])
    end = people["closure_day"].fillna(to_days(LAST_DAY)).to_numpy(dtype="int64")
    follow = end - people["referral_day"].to_numpy()
    idx, days = assessment_schedule(
        rng,
        follow,
        interval_days=tuple(cal["assessment_interval_days"]),
        no_followup=people["no_followup"].to_numpy(),
        missing_rate=cal["assessment_missing_rate"],
    )
    months = days / DAYS_PER_MONTH
    latent = (
        people["intercept"].to_numpy()[idx]
        + people["slope"].to_numpy()[idx] * months
        + rng.normal(0, cal["residual_sd"], len(idx))
    )
    score, raw = harmonised_from_latent(rng, latent, instrument)
    out = pd.DataFrame(
        {
            "service_id": service["service_id"],
            "person": people["person"].to_numpy()[idx],
            "assessment_day": people["referral_day"].to_numpy()[idx] + days,
            "months_since_referral": months,
            "latent": latent,
            "score": score,
        }
    )
    for k, r in enumerate(raw):
        out[f"raw_{k}"] = r
    return out


def simulate_training(
    seed: int, service: pd.Series, spokes: pd.DataFrame, cal: dict[str, Any]
) -> pd.DataFrame:
    """Training sessions by the service's spokes: one row per professional trained."""
    rng = stream(seed, "training", service["service_id"])
    rows = []
    rate = cal["training_sessions_per_spoke_year"] / 12
    for sp in spokes.itertuples():
        m = 0
        while (first := add_months(sp.start_date.replace(day=1), m)) <= LAST_DAY:
            length = to_days(add_months(first, 1)) - to_days(first)
            for _ in range(rng.poisson(rate * min(1.0, 0.5 + m / 6))):
                n_att = int(
                    np.clip(
                        np.rint(rng.normal(cal["attendees_mean"], cal["attendees_sd"])),
                        3,
                        cal["attendees_max"],
                    )
                )
                rows.append(
                    (
                        sp.spoke_id,
                        sp.host_agency,
                        to_days(first) + int(rng.integers(0, length)),
                        n_att,
                    )
                )
            m += 1
    sessions = pd.DataFrame(rows, columns=["spoke_id", "host_agency", "session_day", "attendees"])
    sessions = sessions.sort_values(["session_day", "spoke_id"], kind="stable").reset_index(
        drop=True
    )
    sessions["session_no"] = np.arange(1, len(sessions) + 1)
    people = sessions.loc[sessions.index.repeat(sessions["attendees"])].reset_index(drop=True)
    n = len(people)
    agency = np.asarray(TRAINING_AGENCIES, dtype=object)[
        rng.choice(len(TRAINING_AGENCIES), n, p=np.asarray(TRAINING_AGENCY_PROBS))
    ]
    pre = rng.choice(5, n, p=np.asarray(cal["confidence_pre_probs"])) + 1
    gain = rng.choice(
        len(cal["confidence_gain_probs"]), n, p=np.asarray(cal["confidence_gain_probs"])
    )
    post = np.minimum(pre + gain, 5)
    people["attendee_agency"] = agency
    people["confidence_pre"] = pre
    people["confidence_post"] = post
    people["pre_missing"] = rng.random(n) < cal["feedback_missing_rate"]
    people["post_missing"] = rng.random(n) < cal["feedback_missing_rate"]
    people.insert(0, "service_id", service["service_id"])
    return people.drop(columns=["attendees"])


def training_estimands(cal: dict[str, Any]) -> dict[str, Any]:
    """Expected pre/post confidence change (1–5 scale, post capped at 5)."""
    pre = np.asarray(cal["confidence_pre_probs"], dtype=float)
    gain = np.asarray(cal["confidence_gain_probs"], dtype=float)
    change = sum(
        pre[i] * gain[g] * (min(i + 1 + g, 5) - (i + 1)) for i in range(5) for g in range(len(gain))
    )
    return {"mean_confidence_change": float(change), "scale": "1-5 confidence, post minus pre"}


def build_world(seed: int, scale: float, cal: dict[str, Any], progress=None, adjust=None) -> World:
    """Simulate the whole programme's true state (``adjust``: stress scenarios for the area
    panel, :mod:`analysis.synthesise.scenarios`)."""
    services = build_services(seed, scale, cal)
    spokes = build_spokes(seed, services, cal)
    areas = build_areas(seed, spokes, scale, cal)
    spokes = spokes.merge(areas[["spoke_id", "area_code", "area_name"]], on="spoke_id")
    panel = area_panel_from_cohorts(
        stream(seed, "area-panel"),
        areas["cohort_quarter"].to_numpy(),
        list(areas["area_code"]),
        calibration=cal,
        adjust=adjust,
    )
    funding, sustained = build_funding(seed, services, spokes, cal)
    spokes["sustained"] = spokes["spoke_id"].map(sustained)
    people, assess, training, periods = [], [], [], {}
    for _, svc in services.iterrows():
        sp = spokes[spokes["service_id"] == svc["service_id"]]
        p = simulate_people(seed, svc, sp, cal)
        p = pd.concat([p, recording_pattern(seed, svc, p, cal)], axis=1)
        people.append(p)
        assess.append(simulate_assessments(seed, svc, p, cal))
        training.append(simulate_training(seed, svc, sp, cal))
        periods[svc["service_id"]] = service_periods(svc["start_date"], svc["reporting"])
    return World(
        seed=seed,
        scale=scale,
        cal=cal,
        services=services,
        spokes=spokes,
        areas=areas,
        panel=panel,
        people=pd.concat(people, ignore_index=True),
        assessments=pd.concat([a for a in assess if not a.empty], ignore_index=True),
        training=pd.concat(training, ignore_index=True),
        funding=funding,
        periods=periods,
    )
