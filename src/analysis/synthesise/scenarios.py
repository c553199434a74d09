"""Stress scenarios for the synthetic world: worlds in which the rollout design's assumptions
fail (or are strained), so that a validation can see whether the checks notice.

The default world builds in exactly what the rollout comparison needs (parallel trends in
levels, no anticipation, spoke areas chosen at random, one ramp for every spoke). Each
rollout scenario changes only the area panel's expected counts, before the Poisson draw,
and ``slow_recruitment`` only the spoke posts' start months, so the rest of the programme
and every random draw are unchanged; with no scenario the world is byte-identical to the
default one. Strengths live in ``params.yaml`` under
``synthetic.scenarios`` (documented in ``docs/parameters.md``):

* ``chosen_on_need`` (``strength``, ``lead_quarters``, ``level_gap``): spoke areas had
  higher identification (``level_gap`` times their level) and it was rising relative to the
  comparison areas from ``lead_quarters`` quarters before their spoke arrived, on and on
  after it (rising need). At ``strength`` 1 the rise accumulated over the ``lead_quarters``
  quarters before arrival equals the area's true (plateau) effect of the spoke.
* ``anticipation`` (``quarters``): identification starts to rise ``quarters`` quarters
  before the spoke arrives (from the hub's funding): the whole effect curve starts earlier.
* ``dynamic_effects`` (``change_per_quarter``): the effect grows (positive) or fades
  (negative, floored at zero) by this share of itself per quarter since arrival.
* ``national_decline`` (``decline_per_year``): identification falls everywhere, by this share
  a year from the panel's first quarter (as the DfE series does from 2018), and so does the
  extra identification spokes bring.
* ``slow_recruitment`` (``extra_rounds``): services struggled to recruit, as the seed
  reports: every spoke post takes a Poisson(``extra_rounds``) number of further failed
  recruitment rounds (each ``recruitment_round_months`` of the calibration) before its
  worker starts, so posts stay vacant longer, a spoke's first post can start after the
  spoke's official start, and posts of one spoke mature at more different times. (A post
  still starts at least one month before it ends.) Reach per filled post-month then ramps
  from the later start; the truth of the reach model is computed from the posts as filled
  (:func:`analysis.synthesise.truth.reach_truth`).
* ``regression_to_mean`` (``transient_sd``, ``decay_months``), ``dropout_mar`` and
  ``dropout_mnar`` (``base_rate``, ``strength``) and ``instrument_noninvariance``
  (``responsiveness``, ``curvature``) change young people's outcome scores only; see
  :mod:`analysis.synthesise.outcome_scenarios`. Their truth (the mean monthly change and
  each instrument's expected change per month in its own units) is in ``truth.json``'s
  ``outcome``.

The truth written to ``_truth/`` is the ``true_effect`` column: the spokes' effect against
each area's own counterfactual, whatever the scenario (the rise of ``chosen_on_need`` is
not an effect of the spokes and is never in it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

SCENARIOS: tuple[str, ...] = (
    "chosen_on_need",
    "anticipation",
    "dynamic_effects",
    "national_decline",
    "slow_recruitment",
    "regression_to_mean",
    "dropout_mar",
    "dropout_mnar",
    "instrument_noninvariance",
)
"""The scenarios the generator knows, in the order they are applied."""

OUTCOME_SCENARIOS: tuple[str, ...] = (
    "regression_to_mean",
    "dropout_mar",
    "dropout_mnar",
    "instrument_noninvariance",
)
"""The scenarios that change young people's outcome scores
(:mod:`analysis.synthesise.outcome_scenarios`), not the area panel or the posts."""

DEFAULT_STRENGTHS: dict[str, dict[str, float]] = {
    "chosen_on_need": {"strength": 1.0, "lead_quarters": 8, "level_gap": 0.2},
    "anticipation": {"quarters": 2},
    "dynamic_effects": {"change_per_quarter": 0.1},
    "national_decline": {"decline_per_year": 0.1},
    "slow_recruitment": {"extra_rounds": 2.0},
    "regression_to_mean": {"transient_sd": 0.12, "decay_months": 2.0},
    "dropout_mar": {"base_rate": 0.15, "strength": 1.0},
    "dropout_mnar": {"base_rate": 0.15, "strength": 1.0},
    "instrument_noninvariance": {"responsiveness": 0.5, "curvature": 0.4},
}
"""Fallback strengths when ``params.yaml`` has no ``synthetic.scenarios`` entry."""

Adjust = Callable[..., tuple[np.ndarray, np.ndarray]]
"""``adjust(mu0, effect, *, level, cohorts, t, phase_mult, cal)`` -> ``(mu0, effect)``."""


def parse_scenarios(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Scenario names from ``"a,b"`` (or a sequence), in :data:`SCENARIOS` order; an
    unknown name is a ``ValueError`` naming the known ones."""
    if text is None:
        return ()
    names = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in names if n and n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(
            f"unknown scenario(s) {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}"
        )
    return tuple(n for n in SCENARIOS if n in names)


@dataclass(frozen=True)
class ScenarioSet:
    """Scenarios to apply with their strengths (``strengths[name][key]``)."""

    names: tuple[str, ...]
    strengths: Mapping[str, Mapping[str, float]]

    def record(self) -> dict[str, Any]:
        """What ``_truth/truth.json`` says about the scenarios."""
        return {n: {k: float(v) for k, v in self.strengths[n].items()} for n in self.names}

    def posts(self, posts: pd.DataFrame, rng: np.random.Generator, cal: Mapping[str, Any]):
        """The spoke posts under ``slow_recruitment`` (unchanged without it): each post's
        start moved later by its further failed recruitment rounds, with
        ``recruitment_rounds`` counting them; a post still starts before it ends."""
        if "slow_recruitment" not in self.names:
            return posts
        from analysis.synthesise.design import add_months

        mean = float(self.strengths["slow_recruitment"]["extra_rounds"])
        months = int(cal["recruitment_round_months"])
        extra = rng.poisson(mean, len(posts))
        starts, rounds = [], []
        for post, k in zip(posts.itertuples(), extra, strict=True):
            start = add_months(post.start_date, int(k) * months)
            if post.end_date is not None:
                latest = date(post.end_date.year, post.end_date.month, 1)
                while start > latest and k > 0:
                    k -= 1
                    start = add_months(post.start_date, int(k) * months)
            starts.append(start)
            rounds.append(int(post.recruitment_rounds) + int(k))
        return posts.assign(start_date=starts, recruitment_rounds=rounds)

    def noninvariance(self) -> dict[str, float] | None:
        """``instrument_noninvariance``'s strengths, or ``None`` without it."""
        if "instrument_noninvariance" not in self.names:
            return None
        return {k: float(v) for k, v in self.strengths["instrument_noninvariance"].items()}

    def observed_latent(
        self,
        rng: np.random.Generator,
        instrument: str,
        n_people: int,
        person: np.ndarray,
        months: np.ndarray,
        level: np.ndarray,
        change: np.ndarray,
        noise: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(latent, seen)``: each assessment's latent score (with the transient of
        ``regression_to_mean``) and what the instrument sees of it (under
        ``instrument_noninvariance``); both ``level + change + noise`` by default."""
        from analysis.synthesise.outcome_scenarios import noninvariant, transient_at_referral

        latent = level + change + noise
        if "regression_to_mean" in self.names:
            s = self.strengths["regression_to_mean"]
            latent = latent + transient_at_referral(
                rng, n_people, person, months,
                transient_sd=float(s["transient_sd"]), decay_months=float(s["decay_months"]),
            )  # fmt: skip
        shape = self.noninvariance()
        if shape is None or instrument == "none":
            return latent, latent
        return latent, noninvariant(level, change, latent - level - change, instrument, **shape)

    def dropout(
        self,
        people: pd.DataFrame,
        assessments: pd.DataFrame,
        rng: np.random.Generator,
        cal: Mapping[str, Any],
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """People and assessments under ``dropout_mar`` / ``dropout_mnar`` (unchanged without
        them): later assessments dropped, the case closed as ``disengaged``."""
        from analysis.synthesise.outcome_scenarios import disengage

        which = [n for n in ("dropout_mar", "dropout_mnar") if n in self.names]
        if not which or assessments.empty:
            return people, assessments
        s = self.strengths[which[-1]]
        keep, closed = disengage(
            assessments,
            rng,
            base_rate=float(s["base_rate"]),
            strength=float(s["strength"]),
            centre=float(cal["score_baseline_mean"]),
            sd=float(cal["score_baseline_sd"]),
            mnar=which[-1] == "dropout_mnar",
        )
        assessments = assessments.loc[keep].reset_index(drop=True)
        if closed.empty:
            return people, assessments
        day = people["person"].map(closed.set_index("person")["closure_day"])
        hit = day.notna().to_numpy()
        people = people.copy()
        closure = people["closure_day"].astype("Int64").copy()
        closure[hit] = day[hit].astype("int64").to_numpy()
        reason = people["closure_reason"].copy()
        reason[hit] = "disengaged"
        people["closure_day"] = closure
        people["closure_reason"] = reason
        return people, assessments

    def __call__(
        self,
        mu0: np.ndarray,
        effect: np.ndarray,
        *,
        level: np.ndarray,
        cohorts: np.ndarray,
        t: np.ndarray,
        phase_mult: np.ndarray,
        cal: Mapping[str, Any],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected untreated counts and effects (areas x quarters) under the scenarios."""
        mu0, effect = mu0.copy(), effect.copy()
        spoke = cohorts > 0
        event = t[None, :] - cohorts[:, None]
        plateau = level * float(cal["spoke_effect"]) * phase_mult  # per-area plateau effect
        ramp_q = float(cal["spoke_effect_ramp_quarters"])
        for name in self.names:
            s = self.strengths[name]
            if name == "chosen_on_need":
                lead = float(s["lead_quarters"])
                rise = np.clip(event + lead, 0, None) * (float(s["strength"]) / lead)
                mu0 += np.where(spoke[:, None], plateau[:, None] * rise, 0.0)
                mu0 += np.where(spoke[:, None], float(s["level_gap"]) * level[:, None], 0.0)
            elif name == "anticipation":
                k = float(s["quarters"])
                started = spoke[:, None] & (event >= -k)
                ramp = 1 - np.exp(-(event + k + 1) / ramp_q)
                effect = np.where(started, plateau[:, None] * ramp, 0.0)
            elif name == "dynamic_effects":
                change = float(s["change_per_quarter"])
                effect = effect * np.clip(1 + change * np.clip(event, 0, None), 0, None)
            elif name == "slow_recruitment" or name in OUTCOME_SCENARIOS:
                continue  # the posts, not the area panel (:meth:`posts`)
            elif name == "national_decline":
                factor = (1 - float(s["decline_per_year"])) ** ((t - t.min()) / 4.0)
                mu0 = mu0 * factor[None, :]
                effect = effect * factor[None, :]
        return np.clip(mu0, 0.0, None), np.clip(effect, 0.0, None)


def scenario_set(
    names: Iterable[str] | str | None, section: Mapping[str, Any] | None = None
) -> ScenarioSet | None:
    """The scenarios ``names`` with strengths from ``section`` (``synthetic.scenarios`` of
    ``params.yaml``) over :data:`DEFAULT_STRENGTHS`; ``None`` for no scenario."""
    chosen = parse_scenarios(names)
    if not chosen:
        return None
    section = section or {}
    strengths: dict[str, dict[str, float]] = {}
    for name in chosen:
        given = dict(section.get(name) or {})
        unknown = set(given) - set(DEFAULT_STRENGTHS[name])
        if unknown:
            raise ValueError(
                f"synthetic.scenarios.{name}: unknown key(s) {sorted(unknown)}; "
                f"known: {sorted(DEFAULT_STRENGTHS[name])}"
            )
        strengths[name] = {**DEFAULT_STRENGTHS[name], **given}
    return ScenarioSet(chosen, strengths)
