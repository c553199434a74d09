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
from analysis.synthesise.costs import build_grants
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
from analysis.synthesise.sessions import session_days, simulate_group_sessions
from analysis.synthesise.workforce import CO_FUNDER_SOURCE, build_posts, in_post_months

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
    posts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The spoke posts (roster): one row per post, see :mod:`analysis.synthesise.workforce`."""
    grants: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Grants by holder and evaluation year, see :mod:`analysis.synthesise.costs`."""
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Group sessions with children and young people, see :mod:`analysis.synthesise.sessions`."""


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


def simulate_people(seed: int, service: pd.Series, posts: pd.DataFrame, cal: dict[str, Any]):
    """Young people referred to one service's spoke workers, with the post that worked with
    them, their true attributes, closure and latent outcome trajectory (one row per young
    person). A post takes referrals only while it is filled, ramping up over its first year.

    The columns are built as arrays and framed once (framing each post's referrals, or
    adding columns one by one, costs more than the draws at scale)."""
    rng = stream(seed, "people", service["service_id"])
    last = to_days(LAST_DAY)
    refs, which = [], []
    for k, post in enumerate(posts.itertuples()):
        months = in_post_months(post)
        lam = service["size_mult"] * referral_rate(
            np.arange(len(months)),
            cal["referrals_per_worker_year"],
            cal["referral_growth_per_month"],
        )
        n_month = rng.poisson(lam)
        day0 = np.repeat([to_days(d) for d in months], n_month)
        length = np.repeat([to_days(add_months(d, 1)) - to_days(d) for d in months], n_month)
        refs.append(day0 + np.floor(rng.random(len(day0)) * length).astype(int))
        which.append(np.full(len(day0), k))
    ref_all, post_all = np.concatenate(refs), np.concatenate(which)
    order = np.argsort(ref_all, kind="stable")
    post_of = post_all[order]
    referral_day = ref_all[order]
    n = len(referral_day)
    cols: dict[str, Any] = {
        name: posts[name].to_numpy(dtype=object)[post_of]
        for name in ("spoke_id", "post_id", "host_agency", "co_funder")
    }
    cols["referral_day"] = referral_day
    # demographics
    lo, hi = cal["age_range"]
    age = rng.normal(cal["age_mean"], cal["age_sd"], n * 3)
    age = age[(age >= lo) & (age < hi)][:n]
    while len(age) < n:  # pragma: no cover - practically never
        age = np.concatenate([age, np.clip(rng.normal(cal["age_mean"], cal["age_sd"], n), lo, hi)])
    age = age[:n]
    cols["age"] = age
    cols["dob_day"] = referral_day - np.rint(age * 365.25).astype(int)
    cols["gender"] = _choice(rng, cal["gender_probs"], n)
    cols["ethnicity"] = _choice(rng, cal["ethnicity_probs"], n)
    cols["sexuality"] = _choice(rng, cal["sexuality_probs"], n)
    cols["disability"] = np.where(rng.random(n) < cal["disability_rate"], "yes", "no")
    for k, r in cal["vulnerability_rates"].items():
        cols[k] = np.where(rng.random(n) < r, "yes", "no")
    # referral source: the host agency's source gets a boost, and a part-funded post's
    # co-funder asks for referrals of its own kind
    src = cal["referral_source_probs"]
    keys = list(src)
    out = np.empty(n, dtype=object)
    pairs = list(zip(cols["host_agency"], cols["co_funder"], strict=True))
    for host, funder in sorted(set(pairs)):
        idx = np.nonzero((cols["host_agency"] == host) & (cols["co_funder"] == funder))[0]
        w = np.asarray([src[k] for k in keys], dtype=float)
        w[keys.index(HOST_SOURCE[host])] *= cal["host_referral_boost"]
        if funder:
            w[keys.index(CO_FUNDER_SOURCE[funder])] *= cal["part_funded_referral_boost"]
        out[idx] = np.asarray(keys, dtype=object)[rng.choice(len(keys), len(idx), p=w / w.sum())]
    cols["referral_source"] = out
    cols["referral_reason"] = _choice(rng, cal["referral_reason_probs"], n)
    # latent outcome: intercept gives the risk at referral
    a, b = person_effects(
        rng,
        n,
        baseline_mean=cal["score_baseline_mean"],
        baseline_sd=cal["score_baseline_sd"],
        slope_sd=cal["person_slope_sd"],
        corr=cal["intercept_slope_corr"],
    )
    # statutory co-funders wanted spoke workers to take high-risk cases
    a = a - np.where(cols["co_funder"] != "", cal["part_funded_risk_shift"], 0.0)
    cols["intercept"] = a
    cols["slope"] = cal["mean_monthly_change"] + service["slope_dev"] + b
    seraf0 = np.maximum(0, np.rint(30 * (1 - a))).astype(int)
    category = seraf_category(seraf0)
    cols["seraf_category"] = category
    cols["risk"] = np.select([category <= 2, category == 3], ["low", "medium"], "high")
    # closure: lognormal duration, capped at the 18th birthday
    dur = case_durations(rng, n, cal)
    close = referral_day + dur
    birthday18 = cols["dob_day"] + int(round(18 * 365.25))
    aged_out = birthday18 < close
    close = np.where(aged_out, np.maximum(birthday18, referral_day + 1), close)
    reason = _choice(rng, cal["closure_reason_probs"], n)
    reason = np.where(aged_out, "aged_out", reason)
    closed = close <= last
    cols["closure_day"] = pd.array(np.where(closed, close, 0), dtype="Int64")
    cols["closure_day"][~closed] = pd.NA
    cols["closure_reason"] = pd.array(np.where(closed, reason, None), dtype="str")
    cols["no_followup"] = rng.random(n) < service["no_followup"]
    return pd.DataFrame(
        {"service_id": service["service_id"], "person": np.arange(n, dtype="int64"), **cols}
    )


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
    seed: int, service: pd.Series, people: pd.DataFrame, cal: dict[str, Any], adjust=None
) -> pd.DataFrame:
    """Assessments in the service's instrument (none for ``none``): one row per assessment
    with the latent score, the harmonised score and the raw values (``adjust``: the outcome
    scenarios of :mod:`analysis.synthesise.scenarios`, drawing from their own stream)."""
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
    level = people["intercept"].to_numpy()[idx]
    change = people["slope"].to_numpy()[idx] * months
    noise = rng.normal(0, cal["residual_sd"], len(idx))
    latent = seen = level + change + noise
    if adjust is not None:
        latent, seen = adjust.observed_latent(
            stream(seed, "outcome-scenarios", service["service_id"]),
            instrument, len(people), idx, months, level, change, noise,
        )  # fmt: skip
    score, raw = harmonised_from_latent(rng, seen, instrument)
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
    seed: int, service: pd.Series, posts: pd.DataFrame, cal: dict[str, Any]
) -> pd.DataFrame:
    """Training and awareness-raising sessions for professionals run by the service's spoke
    workers: one row per professional attending."""
    rng = stream(seed, "training", service["service_id"])
    rows = []
    rate = cal["training_sessions_per_worker_year"] / 12
    for post in posts.itertuples():
        days, n_month = session_days(rng, in_post_months(post), rate)
        n_att = np.clip(
            np.rint(rng.normal(cal["attendees_mean"], cal["attendees_sd"], len(days))),
            3,
            cal["attendees_max"],
        ).astype(int)
        rows += [
            (post.spoke_id, post.host_agency, int(d), int(a))
            for d, a in zip(days, n_att, strict=True)
        ]
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
    panel and the spoke posts, :mod:`analysis.synthesise.scenarios`)."""
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
    posts = build_posts(stream(seed, "posts"), services, spokes, sustained, cal)
    if adjust is not None:
        posts = adjust.posts(posts, stream(seed, "slow-recruitment"), cal)
    posts = posts.merge(spokes[["spoke_id", "area_code"]], on="spoke_id", how="left")
    people, assess, training, groups, periods = [], [], [], [], {}
    for _, svc in services.iterrows():
        sp = posts[posts["service_id"] == svc["service_id"]]
        p = simulate_people(seed, svc, sp, cal)
        p = pd.concat([p, recording_pattern(seed, svc, p, cal)], axis=1)
        people.append(p)
        a = simulate_assessments(seed, svc, p, cal, adjust)
        if adjust is not None:
            p, a = adjust.dropout(p, a, stream(seed, "dropout", svc["service_id"]), cal)
        people[-1] = p
        assess.append(a)
        training.append(simulate_training(seed, svc, sp, cal))
        groups.append(
            simulate_group_sessions(
                stream(seed, "groups", svc["service_id"]), svc["service_id"], sp, cal
            )
        )
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
        posts=posts,
        grants=build_grants(services, posts, scale, cal),
        groups=pd.concat(groups, ignore_index=True),
    )
