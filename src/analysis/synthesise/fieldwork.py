"""Synthetic fieldwork: coded interviews and case studies, as the evaluators' analysis
software would export them.

The evaluation was realist (context, mechanism, outcome). :data:`CODEBOOK` holds codes for
the contexts and mechanisms the year-two summary reports (recruitment taking more than one
round, host agencies' demands on spokes' time, the tension between high-risk casework and
preventative work, independence through dedicated funding, forms of embeddedness,
inconsistent recording of outcomes ...) and one outcome code for each of the six key
outcome measures. :func:`simulate_fieldwork` draws:

* **sources**: the interviews of the fieldwork log (``fieldwork.csv``: the same number by
  evaluation year, phase and role), spread over the services of each phase, each held at
  one spoke of its service (its host type); visit 1 in a phase's first fieldwork year and 2
  after, one visit only for phase 3 (its services are visited once); and the 30 practice
  case studies;
* **coded selections**: each code appears in a source with probability
  ``expit(base + phase effect + host-type effect + role effect)`` (:data:`EFFECTS`), once
  or twice; the model and the realised prevalences are recorded in the truth;
* **transcripts** with identifiers planted in them: young people's and workers' names,
  places, schools, dates, phone numbers and postcodes. Every planted name, place and school
  is listed in the redaction register the generator writes beside the truth
  (``_truth/redaction_register.csv``): the evaluators keep such a register outside the
  repository; the cleaner reads the generator's only on synthetic data.

Everything is drawn from the seed's own random streams: the same seed gives the same
projects, byte for byte (:mod:`analysis.synthesise.write.qdpx` writes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.core.labels import ROLE_GROUPS
from analysis.synthesise.world import World, stream
from analysis.synthesise.write.registers import fieldwork_table

CODEBOOK: tuple[tuple[str, str, str], ...] = (
    ("Context", "recruitment", "Recruiting spoke workers took more than one round"),
    ("Context", "host_demands", "Host agencies place high demands on spoke workers' time"),
    ("Context", "police_lead", "Police as the lead agency in the local CSE response"),
    ("Context", "voluntary_valued", "How the voluntary sector is valued locally"),
    ("Context", "recording", "Outcomes defined and recorded inconsistently"),
    ("Mechanism", "dedicated_funding", "Dedicated independent funding keeps spokes independent"),
    ("Mechanism", "embeddedness", "Embeddedness in the host: co-location and hosting"),
    ("Mechanism", "hub_support", "Hub support keeps a voluntary-sector identity"),
    ("Mechanism", "risk_vs_prevention", "Tension between high-risk casework and prevention"),
    ("Mechanism", "formal_agreement", "Formal agreement between hub and host"),
    ("Mechanism", "training_referrals", "Awareness raising and training bring referrals"),
    ("Outcome", "o1_funding", "Outcome 1: sustainable funding for spoke services"),
    ("Outcome", "o2_embedded", "Outcome 2: spokes embedded in the local CSE landscape"),
    ("Outcome", "o3_identity", "Outcome 3: a distinctive identity and role focused on CSE"),
    ("Outcome", "o4_reach", "Outcome 4: reach of specialist CSE services extended"),
    ("Outcome", "o5_skills", "Outcome 5: partner agencies' skills improve"),
    ("Outcome", "o6_young_people", "Outcome 6: outcomes improve for young people"),
)
"""``(group, key, name)`` of every code; the groups are the realist context, mechanism and
outcome (the six outcome measures of the programme)."""

EFFECTS: dict[str, dict[str, Any]] = {
    "recruitment": {"base": -0.8, "phase": {1: -0.5, 2: 0.4, 3: 0.6},
                    "role": {"spoke_worker": 0.3, "hub_manager": 0.8}},
    "host_demands": {"base": -0.9, "host": {"police": 0.7, "childrens_social_care": 0.5,
                                            "health": -0.2},
                     "role": {"spoke_worker": 0.6, "host_agency": 0.3}},
    "police_lead": {"base": -1.2, "host": {"police": 1.0},
                    "role": {"partner_agency": 0.4, "strategic_lead": 0.6}},
    "voluntary_valued": {"base": -1.0, "role": {"host_agency": 0.4, "strategic_lead": 0.5}},
    "recording": {"base": -1.1, "phase": {1: 0.4},
                  "role": {"hub_manager": 0.5, "spoke_worker": 0.3}},
    "dedicated_funding": {"base": -1.2, "phase": {3: -0.3},
                          "role": {"hub_manager": 0.9, "spoke_worker": 0.4}},
    "embeddedness": {"base": -0.7, "phase": {1: 0.4}, "host": {"multi_agency": 0.5, "police": 0.2}},
    "hub_support": {"base": -1.0, "role": {"spoke_worker": 0.8}},
    "risk_vs_prevention": {"base": -1.0, "host": {"police": 0.8, "childrens_social_care": 0.6},
                           "role": {"spoke_worker": 0.5, "case_study": 0.5}},
    "formal_agreement": {"base": -1.4, "phase": {2: 0.5},
                         "role": {"host_agency": 0.6, "hub_manager": 0.4}},
    "training_referrals": {"base": -0.9, "role": {"partner_agency": 0.6}},
    "o1_funding": {"base": -1.3, "phase": {1: 0.6},
                   "role": {"strategic_lead": 0.7, "hub_manager": 0.6}},
    "o2_embedded": {"base": -1.0, "phase": {1: 0.5}, "host": {"multi_agency": 0.4}},
    "o3_identity": {"base": -1.1, "role": {"spoke_worker": 0.7}},
    "o4_reach": {"base": -0.8, "role": {"partner_agency": 0.3}},
    "o5_skills": {"base": -1.0, "role": {"partner_agency": 0.7, "host_agency": 0.4}},
    "o6_young_people": {"base": -0.9, "role": {"young_person": 1.6, "spoke_worker": 0.4,
                                               "case_study": 1.5}},
}  # fmt: skip
"""Log-odds that a code appears in a source: a base plus effects of the service's phase,
the spoke's host type and the participant's role (0 where not listed)."""

CASE_STUDIES: dict[str, int] = {"2014-15": 8, "2015-16": 11, "2016-17": 11}
"""Practice case studies by evaluation year: 30 over the evaluation [V]."""

QUOTES: dict[str, tuple[str, ...]] = {
    "recruitment": (
        "We advertised twice before {worker} came to us from {place}.",
        "The first round of recruitment found nobody with the right experience.",
    ),
    "host_demands": (
        "Everyone in the building wants a piece of {worker}'s time.",
        "The host team keep asking for training sessions on top of the caseload.",
    ),
    "police_lead": (
        "Since the operation at {place} the police have led on CSE here.",
        "The police analyst shares the problem profile with us every month.",
    ),
    "voluntary_valued": (
        "Here the voluntary sector is seen as a partner, not a provider.",
        "Some managers still see us as a charity that does youth clubs.",
    ),
    "recording": (
        "Each service records outcomes its own way, so nothing adds up.",
        "We stopped filling in the star for {yp} after {date}.",
    ),
    "dedicated_funding": (
        "Because the funding is ours we can say no to the high-risk list.",
        "Having our own money means {worker} answers to the hub, not the host.",
    ),
    "embeddedness": (
        "{worker} sits with the exploitation team two days a week.",
        "Being on the same floor as social care made the referrals easier.",
    ),
    "hub_support": (
        "Supervision from the hub keeps me grounded in a youth work approach.",
        "I ring {worker} at the hub when a case at {school} gets difficult.",
    ),
    "risk_vs_prevention": (
        "They want us on the high-risk cases only, but prevention is the job.",
        "{yp} was not high risk yet, which is exactly when we can help.",
    ),
    "formal_agreement": (
        "We signed an agreement with the host about desks and supervision.",
        "Nothing was written down, so nobody knew who managed {worker}.",
    ),
    "training_referrals": (
        "After the session at {school} on {date} the referrals doubled.",
        "Every training day brings two or three new referrals.",
    ),
    "o1_funding": (
        "The council has agreed to fund the post after the grant ends.",
        "We are bidding to the police and crime commissioner for next year.",
    ),
    "o2_embedded": (
        "The spoke is part of the multi-agency meeting now, it is just normal.",
        "Partners phone {worker} before they phone anyone else about CSE.",
    ),
    "o3_identity": (
        "I am still the CSE worker, not another social worker in the team.",
        "{worker} has kept the voluntary sector way of working with young people.",
    ),
    "o4_reach": (
        "We now reach young people in {place} who had no service before.",
        "Referrals come from schools we never worked with, like {school}.",
    ),
    "o5_skills": (
        "The teachers at {school} now spot the signs much earlier.",
        "Staff in the police team ask better questions since the training.",
    ),
    "o6_young_people": (
        "{yp} is back at {school} and has stopped going missing.",
        "Since {date} {yp} has been safer and talks to us every week. Call {phone} if it changes.",
    ),
}
"""Two quotes per code; slots are filled with planted identifiers."""

FILLER: tuple[str, ...] = (
    "Can you tell me about your role?",
    "I have been in post since {date}.",
    "You can reach me on {phone} or at the office in {postcode}.",
    "We met {yp} through the drop-in at {place}.",
    "It has been a busy year for the whole team.",
    "Thank you, that is really helpful.",
)

FIRST_NAMES = ("Anwen", "Briallen", "Tamsin", "Oriel", "Bexley", "Cressida", "Dashiell",
               "Elowen", "Fenwick", "Gwenllian", "Hollis", "Isolde", "Jareth", "Kestrel",
               "Linnea", "Marisol", "Niamh", "Odalys", "Peregrine", "Rosalind", "Saoirse",
               "Thaddeus", "Ulrika", "Wrenna")  # fmt: skip
SURNAMES = ("Quarrington", "Fennimore", "Quenby", "Ashdown", "Blackthorne", "Cavendish",
            "Dunmore", "Everleigh", "Fotheringham", "Gallimore", "Hartigan", "Inchbald",
            "Jessop", "Kilbride", "Loxley", "Merriweather", "Nettleship", "Ormerod")  # fmt: skip
PLACES = ("Lanthorn Arcade", "Quarry Bank Parade", "Wexcombe Rise", "Hollin Lane",
          "Tanner's Yard", "Saltmarsh Green", "Kittiwake Row", "Brackenfold Park")  # fmt: skip
SCHOOLS = ("Thornbury Vale Academy", "Greyfriars High School", "Millbeck Primary School",
           "Castlerigg College", "Ravensworth Academy", "Elmhurst Grange School")  # fmt: skip


@dataclass
class Source:
    """One simulated source: its attributes, text and coded selections ``(start, end, key)``."""

    number: int
    evaluation_year: str
    service_id: str
    phase: int
    host: str
    role: str
    source_type: str
    visit: int
    text: str = ""
    selections: list[tuple[int, int, str]] = field(default_factory=list)


@dataclass
class Fieldwork:
    """The simulated fieldwork: sources, the identifiers planted and the truth."""

    sources: list[Source]
    register: list[tuple[str, str]]
    planted: dict[str, list[str]]
    truth: dict[str, Any]


def logit_of(key: str, phase: int, host: str, role: str) -> float:
    """The log-odds that code ``key`` appears in a source (:data:`EFFECTS`)."""
    e = EFFECTS[key]
    return (e["base"] + e.get("phase", {}).get(phase, 0.0) + e.get("host", {}).get(host, 0.0)
            + e.get("role", {}).get(role, 0.0))  # fmt: skip


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _plan(world: World) -> list[Source]:
    """The sources: the fieldwork log's interviews and the case studies, spread over sites."""
    rng = stream(world.seed, "fieldwork-plan")
    svc = world.services.sort_values("service_id")
    spokes = world.spokes.sort_values("spoke_id")
    hosts = {s: list(g["host_agency"]) for s, g in spokes.groupby("service_id", sort=True)}
    first_year: dict[int, str] = {}
    for year, phase, _, _ in fieldwork_table():
        first_year.setdefault(int(phase), year)
    out: list[Source] = []

    def add(year: str, phase: int, role: str, source_type: str, n: int) -> None:
        ids = list(svc.loc[svc["phase"] == phase, "service_id"])
        if not ids:
            return
        order = [ids[i] for i in rng.permutation(len(ids))]
        for k in range(n):
            sid = order[k % len(order)]
            host_list = hosts.get(sid) or ["multi_agency"]
            host = host_list[int(rng.integers(len(host_list)))]
            visit = 1 if phase == 3 or year == first_year.get(phase) else 2
            out.append(Source(len(out) + 1, year, sid, phase, host, role, source_type, visit))

    for year, phase, role, n in fieldwork_table():
        add(year, int(phase), role, "interview", int(n))
    for year, n in CASE_STUDIES.items():
        phases = sorted({int(p) for y, p, _, _ in fieldwork_table() if y == year})
        share = np.full(len(phases), n // len(phases))
        share[: n - share.sum()] += 1
        for phase, k in zip(phases, share, strict=True):
            add(year, phase, "case_study", "case_study", int(k))
    return out


def simulate_fieldwork(world: World) -> Fieldwork:
    """Draw the fieldwork of ``world`` (see the module docstring)."""
    rng = stream(world.seed, "fieldwork-text")
    sources = _plan(world)
    people = [f"{f} {s}" for f in FIRST_NAMES for s in SURNAMES]
    used: dict[str, set[str]] = {"person": set(), "place": set(), "school": set()}
    planted: dict[str, set[str]] = {"date": set(), "phone": set(), "postcode": set()}

    def pick(kind: str) -> str:
        if kind == "person":
            name = people[int(rng.integers(len(people)))]
            used["person"].add(name)
            return name if rng.random() < 0.5 else name.split()[0]
        if kind in ("place", "school"):
            pool = PLACES if kind == "place" else SCHOOLS
            v = pool[int(rng.integers(len(pool)))]
            used[kind].add(v)
            return v
        if kind == "date":
            v = (f"{int(rng.integers(1, 29))}/{int(rng.integers(1, 13)):02d}/"
                 f"{int(rng.integers(2013, 2017))}")  # fmt: skip
            if rng.random() < 0.4:
                months = ("January", "March", "May", "July", "September", "November")
                v = f"{int(rng.integers(1, 29))} {months[int(rng.integers(len(months)))]} 2015"
        elif kind == "phone":
            v = f"07700 900{int(rng.integers(0, 1000)):03d}"
        else:
            v = f"ZZ{int(rng.integers(90, 100))} {int(rng.integers(1, 10))}" + "".join(
                "ABDEFGHJLNPQRSTUWXYZ"[int(i)] for i in rng.integers(0, 20, 2)
            )
        planted[kind].add(v)
        return v

    def fill(template: str) -> str:
        return template.format(
            yp=pick("person") if "{yp}" in template else "",
            worker=pick("person") if "{worker}" in template else "",
            place=pick("place") if "{place}" in template else "",
            school=pick("school") if "{school}" in template else "",
            date=pick("date") if "{date}" in template else "",
            phone=pick("phone") if "{phone}" in template else "",
            postcode=pick("postcode") if "{postcode}" in template else "",
        )

    present: dict[str, list[tuple[Source, bool]]] = {key: [] for _, key, _ in CODEBOOK}
    for src in sources:
        parts: list[tuple[str, str | None]] = []
        opening = (f"Interview, {src.evaluation_year}, visit {src.visit}." if src.source_type ==
                   "interview" else f"Case study, {src.evaluation_year}.")  # fmt: skip
        parts.append((opening, None))
        for _, key, _ in CODEBOOK:
            p = _expit(logit_of(key, src.phase, src.host, src.role))
            hit = bool(rng.random() < p)
            present[key].append((src, hit))
            if hit:
                for _ in range(1 + int(rng.random() < 0.3)):
                    q = QUOTES[key][int(rng.integers(len(QUOTES[key])))]
                    parts.append((fill(q), key))
            if rng.random() < 0.35:
                parts.append((fill(FILLER[int(rng.integers(len(FILLER)))]), None))
        text, pos = [], 0
        for sentence, key in parts:
            if key is not None:
                src.selections.append((pos, pos + len(sentence), key))
            text.append(sentence)
            pos += len(sentence) + 1
        src.text = "\n".join(text) + "\n"

    register = sorted((kind, v) for kind, vals in used.items() for v in vals)
    truth = _truth(sources, present)
    return Fieldwork(sources, register, {k: sorted(v) for k, v in planted.items()}, truth)


def _truth(sources: list[Source], present: dict[str, list[tuple[Source, bool]]]) -> dict[str, Any]:
    def shares(key: str, attr: str) -> dict[str, float]:
        groups: dict[str, list[bool]] = {}
        for src, hit in present[key]:
            groups.setdefault(str(getattr(src, attr)), []).append(hit)
        return {g: round(float(np.mean(v)), 4) for g, v in sorted(groups.items())}

    return {
        "definition": (
            "Each code appears in a source with probability expit(base + phase + host + role) "
            "(effects below, 0 where not listed); 'prevalence' gives the realised share of "
            "sources holding the code by phase, host type and role (case studies have the "
            "role case_study). Each present code gives one or two coded selections."
        ),
        "codebook": [{"group": g, "key": k, "name": n} for g, k, n in CODEBOOK],
        "effects": EFFECTS,
        "sources": {
            "interviews": sum(s.source_type == "interview" for s in sources),
            "case_studies": sum(s.source_type == "case_study" for s in sources),
            "by_year": {
                y: sum(s.evaluation_year == y for s in sources)
                for y in sorted({s.evaluation_year for s in sources})
            },
        },  # fmt: skip
        "coded_selections": sum(len(s.selections) for s in sources),
        "prevalence": {
            key: {a: shares(key, a) for a in ("phase", "host", "role")} for _, key, _ in CODEBOOK
        },
        "prevalence_by_year": _by_year(present),
    }


def _by_year(present: dict[str, list[tuple[Source, bool]]]) -> dict[str, Any]:
    """Per evaluation year, the model's prevalence of each code (the mean over the year's
    sources of their probability) and the realised share, overall and by role group (as
    the cleaner publishes roles), phase and host type: what each year's report estimates."""

    def group_of(src: Source, dim: str) -> str:
        if dim == "all":
            return "all"
        if dim == "role_group":
            return ROLE_GROUPS["case_study" if src.source_type == "case_study" else src.role]
        return str(getattr(src, dim))

    out: dict[str, Any] = {}
    for key, hits in present.items():
        cells: dict[tuple[str, str, str], list[tuple[float, bool]]] = {}
        for src, hit in hits:
            p = _expit(logit_of(key, src.phase, src.host, src.role))
            for dim in ("all", "role_group", "phase", "host"):
                cell = (src.evaluation_year, dim, group_of(src, dim))
                cells.setdefault(cell, []).append((p, hit))
        for (year, dim, group), vals in sorted(cells.items()):
            out.setdefault(year, {}).setdefault(key, {}).setdefault(dim, {})[group] = {
                "model": round(float(np.mean([p for p, _ in vals])), 4),
                "realised": round(float(np.mean([h for _, h in vals])), 4),
                "sources": len(vals),
            }
    return out
