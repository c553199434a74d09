"""Resubmissions and duplicates, recognised however the files are named, by one rule.

A service may send a period's file more than once: a resubmission (``_v2.xlsx``, or
``_v01.xlsx`` re-sent under the same number), a copy with another letter case
(``.XLSX``), a second extract for the same period. The cleaner groups the files that passed
their name, service, period and manifest checks by kind, service and period and orders each
group by :func:`analysis.core.rules.submission_order` (the highest version, then the latest
received date), the rule the vintages and the data-quality tables share:

* the last file of the group that the cleaner can read is **current**;
* an earlier **return** is read and kept with ``superseded`` true (an earlier report
  cut-off may still use it); an earlier extract, assessments or training file is read and
  its rows are counted ``superseded`` in the ledger, but not stored (every report uses the
  current one);
* files equal on version and received date are **duplicates**: identical bytes keep the
  current one and reject the others as copies; different bytes reject them all (which
  one is right cannot be told).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.clean.harmonise import Period
from analysis.core import rules

if TYPE_CHECKING:
    from analysis.clean.intake import State


@dataclass(frozen=True)
class Submission:
    """One service file that passed its name, service, period and manifest checks."""

    path: Path
    file: str
    kind: str
    service_id: str
    period: Period
    version: int | None
    received: date

    @property
    def order(self) -> tuple:
        """Its place among the submissions of its group (the shared rule)."""
        return rules.submission_order(self.version, self.received, self.file)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _what(sub: Submission) -> str:
    version = f"version {sub.version} of " if sub.version is not None else ""
    return f"{version}{sub.service_id} {sub.period.period} received {sub.received:%d/%m/%Y}"


def plan_group(st: State, items: list[Submission]) -> list[Submission]:
    """One group (same kind, service and period) in the rule's order, duplicates settled
    (copies and ambiguous files rejected in the ledger); the last is current."""
    items = sorted(items, key=lambda s: s.order)
    ties: dict[tuple, list[Submission]] = defaultdict(list)
    for s in items:
        ties[s.order[:2]].append(s)
    kept: list[Submission] = []
    for group in ties.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        digests = {s.file: _digest(s.path) for s in group}
        current = group[-1]
        if len(set(digests.values())) == 1:
            for s in group[:-1]:
                st.ledger.reject_file(
                    s.file,
                    f"a copy of {current.file} (the same bytes, {_what(s)}): read once, "
                    "from that file",
                )
            kept.append(current)
        else:
            names = ", ".join(s.file for s in group)
            for s in group:
                st.ledger.reject_file(
                    s.file,
                    f"{len(group)} different files claim to be {_what(s)} ({names}): which "
                    "is right cannot be told; keep one in the folder and the manifest",
                )
    return sorted(kept, key=lambda s: s.order)


def plan(st: State, subs: list[Submission]) -> list[list[Submission]]:
    """``subs`` grouped by kind, service and period, each group by :func:`plan_group`;
    groups in the order of their first file's name."""
    groups: dict[tuple[str, str, str], list[Submission]] = defaultdict(list)
    for s in subs:
        groups[(s.kind, s.service_id, s.period.period)].append(s)
    planned = [plan_group(st, items) for items in groups.values()]
    return sorted((g for g in planned if g), key=lambda g: min(s.file for s in g))
