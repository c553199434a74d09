"""The release audit: can an intruder who reads everything published work out a suppressed
number? (``docs/disclosure.md``)

Every published statistic of every release (the registries, ``reports/*/statistics.json``)
becomes a constraint on non-negative integer unknowns: an exact count is a constant, a
rounded total an interval, a share a ratio of its numerator to its denominator at its
published precision, ``[k]`` a small non-zero value; the relations recorded at registration
time (sums, ratios, rounding, one quantity under two ids) tie them together, and across
releases one id names one quantity unless a release marks it ``[r]`` (revised). For each
suppressed count, two integer programmes (``scipy.optimize.milp``, HiGHS) give the smallest
and largest value consistent with everything published: the range the intruder can deduce.

The pass rule: a cell suppressed for being small must keep the whole band from 1 to the
threshold (``low <= 1`` and ``high >= threshold``); a complementary cell a band at least as
wide as the threshold (``high - low >= threshold``). Which cells are small is not published;
when the audit is not told (``primary`` is ``None`` for a release), a cell passes if either
condition holds.

Only the unknowns that share a constraint with a suppressed cell are solved, one connected
part at a time, so four releases take seconds.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from analysis.publish.disclosure.table import (
    CONFIDENTIAL,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    REVISED,
    ROUNDS_TO_ZERO,
)
from analysis.publish.registry import RULES, Registry, Statistic, parse_number
from analysis.publish.release import read_reasons

__all__ = [
    "AuditError",
    "AuditResult",
    "CellRange",
    "Difference",
    "audit",
    "audit_reports",
    "read_releases",
]

AS_PUBLISHED = " as published"
"""Suffix of a frozen release's vintage when its year's report has been re-run since."""

UPPER = 10_000_000
"""Upper bound on any count (a range reaching it is unbounded for the intruder)."""

_ZERO_SYMBOLS = (NOT_AVAILABLE, NOT_APPLICABLE)
"""Cells with no number that count as nothing in the sums they belong to (a table's total
adds what it has; a structural zero is zero)."""


class AuditError(ValueError):
    """Releases that cannot be audited (no threshold published, inconsistent figures)."""


@dataclass(frozen=True)
class CellRange:
    """What an intruder can deduce about one suppressed count."""

    vintage: str
    id: str
    low: float
    high: float
    reason: str
    """``small``, ``complementary`` or ``unknown`` (the audit was not told)."""
    threshold: int
    exact: bool = True
    """False when the range is only known to be at least this wide (it passes anyway)."""

    @property
    def passed(self) -> bool:
        """The pass rule (module docstring)."""
        band = self.low <= 1 and self.high >= self.threshold
        wide = self.high - self.low >= self.threshold
        if self.reason == "small":
            return band
        if self.reason == "complementary":
            return wide
        return band or wide

    def describe(self) -> str:
        """One line: the cell, its deducible range and the verdict."""
        high = "unbounded" if self.high >= UPPER else f"{self.high:g}"
        verdict = "ok" if self.passed else "DISCLOSED"
        span = f"{self.low:g} to {high}" if self.exact else f"at least {self.low:g} to {high}"
        return f"{verdict:9} {self.vintage} {self.id}: {span} ({self.reason})"


@dataclass(frozen=True)
class Difference:
    """A figure and its revision in a later release: their difference is published too."""

    id: str
    earlier: str
    later: str
    value: float
    threshold: int

    @property
    def passed(self) -> bool:
        """A revision may not give away a small count (1 to the threshold)."""
        return not (1 <= self.value <= self.threshold)

    def describe(self) -> str:
        verdict = "ok" if self.passed else "DISCLOSED"
        return (
            f"{verdict:9} {self.later} {self.id} [r] against {self.earlier}: "
            f"the revision differs by exactly {self.value:g}"
        )


@dataclass(frozen=True)
class AuditResult:
    """The audit of a set of releases: one range per suppressed count, and the revisions."""

    cells: tuple[CellRange, ...]
    differences: tuple[Difference, ...]
    n_constraints: int

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cells) and all(d.passed for d in self.differences)

    @property
    def failures(self) -> tuple[CellRange | Difference, ...]:
        return tuple(c for c in (*self.cells, *self.differences) if not c.passed)

    def report(self) -> str:
        """Every suppressed cell's deducible range and verdict, then the overall verdict."""
        lines = [c.describe() for c in (*self.cells, *self.differences)]
        n = len(self.failures)
        lines.append(
            f"audit {'passed' if self.passed else 'FAILED'}: {len(self.cells)} suppressed "
            f"cells, {len(self.differences)} revisions, {n} disclosed"
        )
        return "\n".join(lines)


# ------------------------------------------------------------------------------ reading
def read_releases(reports_dir: Path) -> list[Registry]:
    """Every release's registry in ``reports_dir`` (``<year>/statistics.json``) and the
    index's (``index_statistics.json``), and the frozen earlier releases
    (``releases/<year>/statistics.json``) that are no longer the current report."""
    root = Path(reports_dir)
    found = sorted(root.glob("*/statistics.json"))
    if not found:
        raise AuditError(f"{root}: no <year>/statistics.json to audit (run `make reports`)")
    registries = [Registry.read(p) for p in found]
    current = {r.vintage for r in registries}
    for frozen in sorted(root.glob("releases/*/statistics.json")):
        reg = Registry.read(frozen)
        if reg.vintage in current:  # re-run since: the report as published is public too
            ids = sorted(i for i, s in reg.stats.items() if s.unit in ("count", "number"))
            reg.vintage = f"{reg.vintage}{AS_PUBLISHED}"
            same_year = next(r for r in registries if r.vintage == reg.vintage[:7])
            for r in (reg, same_year):  # one quantity in both unless marked [r]
                r.relations.append({"kind": "persistent", "ids": ids})
        registries.append(reg)
    index = root / "index_statistics.json"
    if index.exists():
        reg = Registry.read(index)
        reg.vintage = f"{reg.vintage} index"  # its own page: its ids are its own
        registries.append(reg)
    return registries


# ------------------------------------------------------------------------------ the system
@dataclass
class _System:
    """Linear constraints over integer unknowns (named ``vintage|id``)."""

    names: dict[str, int]
    lower: list[float]
    upper: list[float]
    rows: list[tuple[dict[int, float], float, float]]

    def var(self, name: str) -> int:
        if name not in self.names:
            self.names[name] = len(self.lower)
            self.lower.append(0.0)
            self.upper.append(float(UPPER))
        return self.names[name]

    def bound(self, name: str, low: float, high: float) -> None:
        i = self.var(name)
        self.lower[i] = max(self.lower[i], low)
        self.upper[i] = min(self.upper[i], high)

    def add(self, coefs: Mapping[str, float], low: float, high: float) -> None:
        row: dict[int, float] = defaultdict(float)
        for name, c in coefs.items():
            row[self.var(name)] += c
        self.rows.append((dict(row), low, high))


def _threshold(registries: Sequence[Registry]) -> int:
    for reg in registries:
        stat = reg.stats.get(RULES["threshold"])
        if stat is not None and stat.value is not None:
            return int(stat.value)
    raise AuditError(
        f"no release publishes the suppression threshold ({RULES['threshold']}): the audit "
        "needs the rule the intruder knows"
    )


def _bounds_of(stat: Statistic, base: int | None) -> tuple[float, float] | None:
    """The integer interval a published statistic pins a count to (None: no constraint)."""
    if stat.status == CONFIDENTIAL:
        return None
    if stat.status in _ZERO_SYMBOLS:
        return 0.0, 0.0
    if stat.status == ROUNDS_TO_ZERO:
        return (1.0, float(max(1, (base - 1) // 2))) if base else (1.0, float(UPPER))
    if stat.value is None:
        return None
    v = float(stat.value)
    if base and base > 1:
        return float(math.ceil(v - base / 2)), float(math.ceil(v + base / 2) - 1)
    return v, v


def _build(
    registries: Sequence[Registry],
) -> tuple[_System, list[tuple[str, str, str]], list[Difference]]:
    """The constraints of every release, and the suppressed counts to audit
    ``(variable, vintage, id)``."""
    system = _System({}, [], [], [])
    targets: dict[str, tuple[str, str]] = {}
    ratio_shares: set[str] = set()
    for reg in registries:
        v = reg.vintage
        for rel in reg.relations:
            if rel["kind"] == "ratio":
                ratio_shares.add(f"{v}|{rel['share']}")
    for reg in registries:
        v = reg.vintage

        def name(ident: str, vintage: str = v) -> str:
            return f"{vintage}|{ident}"

        bases = {rel["id"]: int(rel["base"]) for rel in reg.relations if rel["kind"] == "rounded"}
        in_sums = {
            ident
            for rel in reg.relations
            if rel["kind"] == "sum"
            for ident in (rel["total"], *rel["parts"])
        }
        in_ratios = {
            ident
            for rel in reg.relations
            if rel["kind"] == "ratio"
            for ident in (rel["numerator"], rel["denominator"])
        }
        linked = {i for pair in reg.links for i in pair}
        related = in_sums | in_ratios | linked
        for ident, stat in reg.stats.items():
            counted = ident in related
            if stat.unit == "text" or (stat.unit == "percent" and not counted):
                continue
            if stat.status == CONFIDENTIAL:
                if name(ident) not in ratio_shares and stat.unit != "estimate":
                    targets[name(ident)] = (v, ident)
                    system.var(name(ident))
                continue
            if not counted:
                continue
            if stat.status in _ZERO_SYMBOLS and ident not in in_sums:
                continue
            b = _bounds_of(stat, bases.get(ident))
            if b is not None:
                system.bound(name(ident), *b)
        for rel in reg.relations:
            if rel["kind"] == "sum":
                coefs: dict[str, float] = defaultdict(float)
                coefs[name(rel["total"])] -= 1.0
                for p in rel["parts"]:
                    coefs[name(p)] += 1.0
                system.add(coefs, 0.0, 0.0)
            elif rel["kind"] == "ratio":
                share = reg.stats.get(rel["share"])
                num, den = name(rel["numerator"]), name(rel["denominator"])
                system.var(num)
                system.var(den)
                system.add({num: 1.0, den: -1.0}, -math.inf, 0.0)
                if share is None:
                    continue
                if share.status == NOT_APPLICABLE:
                    system.bound(den, 0.0, 0.0)
                    continue
                if share.value is None or share.status in (CONFIDENTIAL, NOT_AVAILABLE):
                    if share.status == CONFIDENTIAL and rel["numerator"] not in reg.stats:
                        targets[num] = (v, rel["numerator"])
                    continue
                if rel["numerator"] in bases or rel["denominator"] in bases:
                    continue  # a share of rounded totals is worked out from what is shown
                # as printed: "35%" in prose (a fraction registered) or "35" in a table
                pct, places, _ = parse_number(share.text)
                pct, places = (share.value, share.precision) if pct is None else (pct, places)
                half = 0.5 * 10.0 ** -(places or 0)
                lo, hi = max(0.0, pct - half), pct + half
                # 100 * num / den in [lo, hi]  <=>  100 num - lo den >= 0, 100 num - hi den <= 0
                system.add({num: 100.0, den: -lo}, 0.0, math.inf)
                system.add({num: 100.0, den: -hi}, -math.inf, 0.0)
                if share.value > 0:
                    system.bound(num, 1.0, float(UPPER))
        for first, second in reg.links:
            system.add({name(first): 1.0, name(second): -1.0}, 0.0, 0.0)
    differences = _link_vintages(registries, system)
    return system, [(var, *targets[var]) for var in sorted(targets)], differences


def _link_vintages(registries: Sequence[Registry], system: _System) -> list[Difference]:
    """Across releases, a cell of a table with one period per row (or column) is one
    quantity in every release that shows it (:meth:`DisclosedTable.by_period`), unless a
    release marks it revised (``[r]``). Returns what revisions give away: the difference
    between an exact figure and its exact revision is itself a count."""
    seen: dict[str, list[tuple[str, Statistic, bool]]] = defaultdict(list)
    for reg in registries:
        rounded = {rel["id"] for rel in reg.relations if rel["kind"] == "rounded"}
        for rel in reg.relations:
            if rel["kind"] != "persistent":
                continue
            for ident in rel["ids"]:
                stat = reg.stats.get(ident)
                if stat is not None and stat.unit in ("count", "number"):
                    seen[ident].append((reg.vintage, stat, ident in rounded))
    differences: list[Difference] = []
    for ident, where in seen.items():
        where.sort(key=lambda w: (w[0][:7], not w[0].endswith(AS_PUBLISHED), w[0]))
        same = [(v, s) for v, s, _ in where if s.status != REVISED]
        if any(s.status == CONFIDENTIAL for _, s in same) and len(same) > 1:
            names = [f"{v}|{ident}" for v, _ in same]
            for (_, stat), n in zip(same, names, strict=True):
                b = _bounds_of(stat, None)
                if b is not None:
                    system.bound(n, *b)
            for n in names[1:]:
                system.add({names[0]: 1.0, n: -1.0}, 0.0, 0.0)
        for (v0, s0, r0), (v1, s1, r1) in itertools.pairwise(where):
            if s1.status != REVISED or r0 or r1 or s0.value is None or s1.value is None:
                continue
            differences.append(Difference(ident, v0, v1, abs(s1.value - s0.value), 0))
    return differences


def _reduced(system: _System) -> list[tuple[dict[int, float], float, float]]:
    """The constraints with every published (fixed) count moved to the bounds; a constraint
    left with no unknown must hold, or the releases contradict one another."""
    out = []
    for coefs, low, high in system.rows:
        free: dict[int, float] = {}
        shift = 0.0
        for g, c in coefs.items():
            if c == 0:
                continue
            if system.lower[g] == system.upper[g]:
                shift += c * system.lower[g]
            else:
                free[g] = c
        if not free:
            if not (low - 1e-6 <= shift <= high + 1e-6):
                names = sorted(_name_of(system, g) for g in coefs)
                raise AuditError(f"published figures contradict one another: {names}")
            continue
        out.append((free, low - shift, high - shift))
    return out


def _components(n: int, rows: Sequence[tuple[dict[int, float], float, float]]) -> list[int]:
    """Union-find label of each unknown (unknowns in one constraint share a label)."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for coefs, _, _ in rows:
        idx = list(coefs)
        for j in idx[1:]:
            a, b = find(idx[0]), find(j)
            if a != b:
                parent[b] = a
    return [find(i) for i in range(n)]


def _solve_part(
    system: _System,
    members: list[int],
    rows: Sequence[tuple[dict[int, float], float, float]],
    targets: list[int],
    *,
    reasons: Mapping[int, str],
    threshold: int,
    exact: bool,
) -> dict[int, tuple[float, float, bool]]:
    """Min and max of each target over the integer points of one connected part
    (``(low, high, True)``), or, unless ``exact``, a range of feasible points already wide
    enough to pass for either reason (``(low, high, False)``: the true range is wider)."""
    local = {g: k for k, g in enumerate(members)}
    lower = np.array([system.lower[g] for g in members])
    upper = np.array([system.upper[g] for g in members])
    bounds = Bounds(lower, upper)
    data, ri, ci, lo, hi = [], [], [], [], []
    for k, (coefs, low, high) in enumerate(rows):
        for g, c in coefs.items():
            data.append(c)
            ri.append(k)
            ci.append(local[g])
        lo.append(low)
        hi.append(high)
    matrix = csr_array((data, (ri, ci)), shape=(len(rows), len(members)))
    constraints = [LinearConstraint(matrix, np.array(lo), np.array(hi))]
    integrality = np.ones(len(members))
    seen_lo = dict.fromkeys(targets, math.inf)
    seen_hi = dict.fromkeys(targets, -math.inf)

    # The linear relaxation is tried first only where it is likely integral: sums and
    # equalities (coefficients +-1); ratio rows have fractional vertices.
    unit = all(abs(c) == 1.0 for coefs, _, _ in rows for c in coefs.values())
    relaxed = np.zeros(len(members)) if unit else integrality

    def solve(c: np.ndarray) -> np.ndarray:
        # The linear relaxation first: when its optimum is integral (a table's sums usually
        # give integral vertices) it is the integer optimum, without the branch and bound.
        res = milp(c, constraints=constraints, integrality=relaxed, bounds=bounds)
        if unit and (res.x is None or np.abs(res.x - np.round(res.x)).max(initial=0.0) > 1e-7):
            res = milp(c, constraints=constraints, integrality=integrality, bounds=bounds)
        if res.x is None:
            raise AuditError(
                f"the published figures around {_name_of(system, targets[0])} have no "
                f"solution ({res.message})"
            )
        x = np.round(res.x) + 0.0  # no -0
        for g in targets:  # every solution is a point the intruder cannot rule out
            seen_lo[g] = min(seen_lo[g], x[local[g]])
            seen_hi[g] = max(seen_hi[g], x[local[g]])
        return x

    def proven(g: int) -> bool:
        """Feasible points already show a range that passes the cell's rule."""
        return CellRange("", "", seen_lo[g], seen_hi[g], reasons[g], threshold).passed

    if not exact:  # all targets down, then all up: often enough to prove most of them
        push = np.zeros(len(members))
        push[[local[g] for g in targets]] = 1.0
        solve(push)
        solve(-push)
        # Then the cells not yet proven up (or down) and the proven ones the other way: a
        # vertex solution gives each sum's slack to one cell, so each round proves about
        # one cell per constraint, where one programme per cell proves one.
        for sign in itertools.cycle((-1.0, 1.0)):
            todo = [g for g in targets if not proven(g)]
            if not todo:
                break
            push[:] = 0.0
            push[[local[g] for g in targets]] = -sign
            push[[local[g] for g in todo]] = sign
            solve(push)
            if len([g for g in targets if not proven(g)]) == len(todo) and sign > 0:
                break  # neither way proves more: one programme per cell
    out: dict[int, tuple[float, float, bool]] = {}
    for g in targets:
        if not exact and proven(g):
            out[g] = (seen_lo[g] + 0.0, seen_hi[g] + 0.0, False)
            continue
        ends = []
        for sign in (-1.0, 1.0):  # the largest value first, then (if needed) the smallest
            c = np.zeros(len(members))
            c[local[g]] = sign
            ends.append(float(solve(c)[local[g]]) + 0.0)
            if not exact and proven(g):
                break
        if len(ends) == 2:
            out[g] = (ends[1], ends[0], True)
        else:
            out[g] = (seen_lo[g] + 0.0, seen_hi[g] + 0.0, False)
    return out


def _name_of(system: _System, index: int) -> str:
    return next(n for n, i in system.names.items() if i == index)


# ------------------------------------------------------------------------------ the audit
def audit(
    registries: Sequence[Registry],
    *,
    primary: Mapping[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    exact: bool = False,
) -> AuditResult:
    """Audit ``registries`` (the releases an intruder can read) as one system.

    ``primary`` maps a vintage to the ids suppressed for being small (the registry's
    private :attr:`Registry.primary`); a vintage not in it is judged with the rule for
    cells of unknown reason. ``threshold`` defaults to the one the releases publish. With
    ``exact`` every range is the exact minimum and maximum; without, a cell whose feasible
    points already span a passing range is not solved further (its range is a lower bound
    on what the intruder cannot rule out, marked "at least").
    """
    t = _threshold(registries) if threshold is None else int(threshold)
    small = {v: set(ids) for v, ids in (primary or {}).items()}
    system, targets, differences = _build(registries)
    bad = [n for n, g in system.names.items() if system.lower[g] > system.upper[g]]
    if bad:
        raise AuditError(f"published figures contradict one another: {sorted(bad)[:5]}")
    rows = _reduced(system)
    labels = _components(len(system.lower), rows)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        if system.lower[i] != system.upper[i]:
            by_label[lab].append(i)
    rows_by_label: dict[int, list[tuple[dict[int, float], float, float]]] = defaultdict(list)
    for row in rows:
        rows_by_label[labels[next(iter(row[0]))]].append(row)
    wanted: dict[int, list[int]] = defaultdict(list)
    ranges: dict[int, tuple[float, float, bool]] = {}
    for var, _, _ in targets:
        g = system.names[var]
        if system.lower[g] == system.upper[g] or not rows_by_label.get(labels[g]):
            ranges[g] = (system.lower[g], system.upper[g], True)
        else:
            wanted[labels[g]].append(g)
    reasons = {
        system.names[var]: (
            "unknown"
            if vintage not in small
            else ("small" if ident in small[vintage] else "complementary")
        )
        for var, vintage, ident in targets
    }
    for lab, gs in wanted.items():
        ranges.update(
            _solve_part(
                system,
                by_label[lab],
                rows_by_label[lab],
                gs,
                reasons=reasons,
                threshold=t,
                exact=exact,
            )
        )
    cells = []
    for var, vintage, ident in targets:
        low, high, is_exact = ranges[system.names[var]]
        cells.append(CellRange(vintage, ident, low, high, reasons[system.names[var]], t, is_exact))
    diffs = tuple(Difference(d.id, d.earlier, d.later, d.value, t) for d in differences)
    return AuditResult(tuple(cells), diffs, len(rows))


def audit_reports(
    reports_dir: Path, *, exact: bool = False, reasons: Path | None = None
) -> AuditResult:
    """:func:`audit` of every release in ``reports_dir`` (:func:`read_releases`); with
    ``reasons`` (the folder :func:`write_reasons` writes to), each current release's cells
    are judged by their own rule."""
    return audit(read_releases(reports_dir), exact=exact, primary=read_reasons(reasons))
