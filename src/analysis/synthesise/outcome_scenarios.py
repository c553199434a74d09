"""Stress scenarios for young people's outcome scores (issue 23): regression to the mean,
drop-out at random given what was observed (MAR) or given what was not (MNAR), and
instruments that respond differently, and non-linearly, to the same latent change.

The default world's outcome model is a linear mixed model on a latent 0-1 score (higher =
safer), observed through each service's instrument (:func:`analysis.synthesise.design.
harmonised_from_latent`). Each function here changes one part of it, drawing from its own
random stream, so every other draw of the world is unchanged:

* :func:`transient_at_referral` (``regression_to_mean``): referral happens when a transient
  part of risk is high: each young person's latent score at referral carries an extra
  ``-|z| x transient_sd`` (half-normal, always towards risk) that fades as
  ``exp(-months / decay_months)``. It is not an effect of the service; the planted
  programme effect is still the mean slope.
* :func:`disengage` (``dropout_mar`` / ``dropout_mnar``): after each assessment but the
  last, a young person disengages with probability ``expit(logit(base_rate) + strength x
  (centre - y) / sd)``: ``y`` is the last observed harmonised score (MAR) or the
  unobserved latent score at the next assessment (MNAR); later assessments are missing and
  the case closes as ``disengaged`` between the two assessment days.
* :func:`noninvariant` (``instrument_noninvariance``): an instrument sees the latent change
  scaled by its responsiveness ``exp(responsiveness x c)`` and through the curve
  ``y ** exp(curvature x c)`` (``c`` from :data:`INSTRUMENT_AXIS`), before its own rounding,
  clipping and banding.

:func:`own_unit_truth` gives each instrument's expected change per month in its own units
(SERAF total, Star life-area mean, the 3-level rating 1 = low to 3 = high risk, bespoke
0-100): for each young person with two or more assessments, the least-squares slope over
their assessment months of the expected own-unit score (the residual noise integrated out),
without the transient of ``regression_to_mean``; averaged over young people.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

INSTRUMENT_AXIS: dict[str, float] = {
    "seraf": 1.0,
    "star5": -1.0,
    "star10": 0.5,
    "risk3": -0.5,
    "bespoke": 0.0,
    "latent": 0.0,
}
"""Each instrument's place on the non-invariance axis: its responsiveness to change is
``exp(responsiveness x c)`` and its curve ``y ** exp(curvature x c)``."""

STAR_AREA_SD = 0.08
"""The Star's extra noise per life area (as in ``harmonised_from_latent``)."""

_NODES = norm.ppf((np.arange(64) + 0.5) / 64)
"""Fixed standard-normal quantiles used to integrate the residual noise out."""


def transient_at_referral(
    rng: np.random.Generator,
    n_people: int,
    person: np.ndarray,
    months: np.ndarray,
    *,
    transient_sd: float,
    decay_months: float,
) -> np.ndarray:
    """The transient risk at referral on each assessment's latent score (never positive):
    ``-|z_i| x transient_sd x exp(-months / decay_months)``."""
    u = -np.abs(rng.standard_normal(n_people)) * float(transient_sd)
    return u[np.asarray(person)] * np.exp(-np.asarray(months, dtype=float) / float(decay_months))


def noninvariant(
    level: np.ndarray,
    change: np.ndarray,
    noise: np.ndarray,
    instrument: str,
    *,
    responsiveness: float,
    curvature: float,
) -> np.ndarray:
    """What an instrument sees of latent ``level + change + noise`` under
    ``instrument_noninvariance`` (still on 0-1 before the instrument's own mapping)."""
    c = INSTRUMENT_AXIS[instrument]
    y = np.clip(level + np.exp(responsiveness * c) * change + noise, 0.0, 1.0)
    return y ** np.exp(curvature * c)


def own_units(y: np.ndarray, instrument: str) -> np.ndarray:
    """The noise-free own-unit reading of a 0-1 value (SERAF total, Star mean, risk3 level,
    bespoke 0-100) as ``harmonised_from_latent`` would record it (Star without area noise)."""
    y = np.asarray(y, dtype=float)
    if instrument == "seraf":
        return np.maximum(0, np.rint(30 * (1 - y)))
    if instrument in ("star5", "star10"):
        n = 5 if instrument == "star5" else 10
        return np.clip(np.rint(1 + (n - 1) * y), 1, n)
    if instrument == "risk3":
        return np.where(y >= 2 / 3, 1.0, np.where(y >= 1 / 3, 2.0, 3.0))
    if instrument == "bespoke":
        return np.clip(np.rint(100 * y), 0, 100)
    if instrument == "latent":
        return y
    raise ValueError(f"unknown instrument {instrument!r}")


def harmonised(own: np.ndarray, instrument: str) -> np.ndarray:
    """The harmonised 0-1 score of an own-unit reading (the pipeline's mapping)."""
    own = np.asarray(own, dtype=float)
    if instrument == "seraf":
        return 1 - np.minimum(own, 30) / 30
    if instrument in ("star5", "star10"):
        n = 5 if instrument == "star5" else 10
        return (own - 1) / (n - 1)
    if instrument == "risk3":
        return np.choose(own.astype(int) - 1, [5 / 6, 1 / 2, 1 / 6])
    if instrument == "bespoke":
        return own / 100
    return own


def expected_own_units(
    level: np.ndarray,
    change: np.ndarray,
    instrument: str,
    *,
    residual_sd: float | np.ndarray,
    noninvariance: Mapping[str, float] | None = None,
    on_harmonised: bool = False,
) -> np.ndarray:
    """Expected own-unit score (the harmonised 0-1 score if ``on_harmonised``) at latent
    ``level + change`` with the residual noise (and the Star's area noise) integrated out
    over fixed normal quantiles. ``residual_sd`` is a number or one SD per row (e.g. the
    SD of everything that varies between young people at that month, to get the
    population's expected score)."""
    level = np.asarray(level, dtype=float)[:, None]
    change = np.asarray(change, dtype=float)[:, None]
    sd = np.broadcast_to(np.asarray(residual_sd, dtype=float), level.shape[:1])[:, None]
    if instrument in ("star5", "star10"):
        sd = np.hypot(sd, STAR_AREA_SD)
    noise = sd * _NODES[None, :]
    if noninvariance:
        y = noninvariant(level, change, noise, instrument, **noninvariance)
    else:
        y = level + change + noise
    own = own_units(y, instrument)
    return (harmonised(own, instrument) if on_harmonised else own).mean(axis=1)


def own_unit_truth(
    assessments: pd.DataFrame,
    instrument: str,
    *,
    residual_sd: float,
    noninvariance: Mapping[str, float] | None = None,
    on_harmonised: bool = False,
) -> dict[str, float]:
    """One instrument's expected change per month in its own units (module docstring; on
    the harmonised 0-1 score if ``on_harmonised``).

    ``assessments`` has ``person``, ``months_since_referral``, ``intercept`` and ``slope``
    (the person's latent level at referral and monthly change). Returns ``change_per_month``,
    ``people`` (young people with two or more assessments) and ``change`` (the mean expected
    change from their first to their last assessment)."""
    d = assessments[["person", "months_since_referral", "intercept", "slope"]]
    m = d["months_since_referral"].to_numpy(dtype=float)
    expect = expected_own_units(
        d["intercept"].to_numpy(),
        d["slope"].to_numpy() * m,
        instrument,
        residual_sd=residual_sd,
        noninvariance=noninvariance,
        on_harmonised=on_harmonised,
    )
    w = d.assign(e=expect, m=m)
    g = w.groupby("person")
    n = g["m"].transform("size")
    w = w.loc[n >= 2]
    if w.empty:
        return {"change_per_month": float("nan"), "people": 0, "change": float("nan")}
    g = w.groupby("person")
    dm = w["m"] - g["m"].transform("mean")
    de = w["e"] - g["e"].transform("mean")
    sxy = (dm * de).groupby(w["person"]).sum()
    sxx = (dm * dm).groupby(w["person"]).sum()
    ok = sxx > 0
    slopes = sxy[ok] / sxx[ok]
    ends = g["e"].agg(["first", "last"])
    return {
        "change_per_month": float(slopes.mean()),
        "people": int(ok.sum()),
        "change": float((ends["last"] - ends["first"]).mean()),
    }


def disengage(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    *,
    base_rate: float,
    strength: float,
    centre: float,
    sd: float,
    mnar: bool,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Which assessment rows stay under drop-out, and who disengaged when.

    ``frame`` has ``person``, ``assessment_day``, ``score`` (the observed harmonised score)
    and ``latent``, sorted by person and day. Returns the keep mask and a frame of
    ``person``, ``closure_day`` for those who disengaged (strictly after their last kept
    assessment and before the next one that was due)."""
    f = frame.reset_index(drop=True)
    person = f["person"].to_numpy()
    nxt_same = np.r_[person[1:] == person[:-1], False]
    driver = f["score"].to_numpy(dtype=float)
    if mnar:
        driver = np.r_[f["latent"].to_numpy(dtype=float)[1:], np.nan]
    hazard = expit(logit(base_rate) + strength * (centre - driver) / sd)
    u = rng.random(len(f))
    event = nxt_same & (u < np.nan_to_num(hazard))
    # drop every row after a person's first event
    after = pd.Series(event.astype(int)).groupby(person).cumsum().to_numpy()
    prior = after - event.astype(int)
    keep = prior == 0
    first = np.nonzero(event & (prior == 0))[0]
    day = f["assessment_day"].to_numpy(dtype="int64")
    gap = day[first + 1] - day[first]
    frac = rng.random(len(first))
    close = day[first] + 1 + np.floor(frac * np.maximum(gap - 1, 0)).astype("int64")
    close = np.minimum(close, day[first + 1] - 1)
    close = np.maximum(close, day[first] + 1)
    return keep, pd.DataFrame({"person": person[first], "closure_day": close})


def population_sd(
    months: np.ndarray,
    *,
    baseline_sd: float,
    slope_sd: float,
    corr: float,
    residual_sd: float,
    instrument: str,
    noninvariance: Mapping[str, float] | None = None,
) -> np.ndarray:
    """SD, across young people, of the latent score an instrument sees at ``months`` after
    referral: person intercepts and slopes (correlated normal, as
    :func:`analysis.synthesise.design.person_effects` draws them, the slope scaled by the
    instrument's responsiveness under ``instrument_noninvariance``) plus residual noise.
    With the service's mean level and slope it gives the population's expected score
    (:func:`expected_own_units` with this as ``residual_sd``)."""
    r = 1.0
    if noninvariance:
        r = float(np.exp(noninvariance["responsiveness"] * INSTRUMENT_AXIS[instrument]))
    m = r * np.asarray(months, dtype=float)
    var = baseline_sd**2 + 2 * corr * baseline_sd * slope_sd * m + (slope_sd * m) ** 2
    return np.sqrt(var + residual_sd**2)
