"""The registry of published statistics: one entry per number a report publishes.

Every cell of every disclosed table a report shows (and offers as a CSV) and every number
its prose states is registered here, once, as a :class:`Statistic`: its id, the text as
rendered, its value, unit, precision (decimal places shown), vintage (the report's year)
and GSS status symbol (``[c]``, ``[x]``, ``[z]``, ``[r]``, ``[u]``, ``[k]`` or none). The
page carries the ids: a table has ``data-stats`` (its slug) and its cells ``data-stat``
(the rest of their id), a number in prose is
a ``<data value=... data-stat=...>`` element (:meth:`Registry.number`, :meth:`Registry.cite`).
Registering one id twice with different values is an error: one number per statistic.

:func:`check_page` parses a rendered page against its registry (``statistics.json``,
written beside the report): every tagged cell and number must be the registered one, and
in the sections it is asked to check strictly, a number in prose that is not tagged is an
error unless it is one of the documented non-statistics (:data:`ALLOWED_UNTAGGED`).
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.core.io import neutralise_cell, write_json
from analysis.publish.disclosure.table import (
    REVISED,
    STATUS_HEADER,
    SYMBOL_KEY,
    VALUE_HEADER,
    DisclosedTable,
    human_header,
    split_status,
)
from analysis.publish.registry_rules import ALLOWED_UNTAGGED
from analysis.publish.structure import record_structure

__all__ = [
    "ALLOWED_UNTAGGED",
    "Registry",
    "RegistryError",
    "Statistic",
    "check_csv",
    "check_page",
    "parse_number",
]

RULES: dict[str, str] = {
    "threshold": "settings/suppression-threshold",
    "rounding": "settings/total-rounding",
    "cutoff_days": "settings/cutoff-days",
    "smallest_shown": "settings/smallest-count-shown",
    "min_services": "settings/fewest-services-for-a-breakdown",
    "cost_rounding": "settings/cost-rounding-gbp",
    "late_days": "settings/late-after-days",
    "min_assessments": "settings/fewest-assessments-per-person",
}
"""The ids of the rule parameters a page states as numbers (registered like any
statistic: the suppression threshold, the rounding base of totals, the cut-off's days)."""

NOTE_RULES: tuple[tuple[str, str], ...] = (
    (r"(?<=\b1 to )\d+\b", RULES["threshold"]),
    (r"(?<=\bnearest )\d+\b", RULES["rounding"]),
    (r"(?<=\bnearest £)\d+\b", RULES["cost_rounding"]),
    (r"(?<=\bmore than )\d+(?= days after the period)", RULES["late_days"]),
    (r"(?<=\bfewer than )\d+(?= assessments)", RULES["min_assessments"]),
)
"""Where a table note written by :mod:`analysis.publish.disclosure` (or a reason the
analysis gives for a missing figure) states a rule parameter: tagged with its id when
published (:meth:`Registry.tag_notes`)."""

SYMBOLS: tuple[str, ...] = tuple(SYMBOL_KEY)
"""The GSS status symbols a statistic may carry."""


class RegistryError(ValueError):
    """A statistic registered twice with different values, or an unknown id cited."""


@dataclass(frozen=True)
class Statistic:
    """One published number (or symbol standing in for it)."""

    id: str
    text: str
    """As rendered (a table cell's display string; a sentence's number as written)."""
    unit: str
    """``count``, ``percent``, ``estimate``, ``days``, ``text`` ..."""
    vintage: str
    """The report (evaluation year) that published it; earlier years' figures as known then
    carry ``[r]`` when revised."""
    value: float | None = None
    """The number published; ``None`` where a symbol replaces it or the cell is words."""
    precision: int | None = None
    """Decimal places shown (``None`` for words)."""
    status: str | None = None
    """The GSS symbol shown with or instead of the number, if any."""
    table: str | None = None
    """The table's slug (its CSV's stem) for a table cell, else ``None``."""
    row: str | None = None
    column: str | None = None


_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?")


def parse_number(text: str) -> tuple[float | None, int | None, str | None]:
    """``(value, decimals, status)`` of a published string: its first number (commas and
    a leading ``+`` allowed) and its GSS symbol; ``(None, None, symbol)`` with no number."""
    status = next((s for s in SYMBOLS if s in text), None)
    rest = text
    for s in SYMBOLS:
        rest = rest.replace(s, " ")
    match = _NUMBER.search(rest)
    if match is None:
        return None, None, status
    raw = match.group(0).replace(",", "").replace("−", "-")
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    return float(raw), decimals, status


def _unit_of(text: str, kind: str) -> str:
    if re.search(r"[A-Za-z]{3,}", text.replace("[", " ")):
        return "text"
    if text.strip().endswith("%"):
        return "percent"
    return {"counts": "count", "estimates": "estimate", "shares": "percent"}.get(kind, "number")


def _label(value: Any) -> str:
    return " / ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class Registry:
    """The statistics one page publishes (the report of ``vintage``, or the index)."""

    vintage: str
    stats: dict[str, Statistic] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list, compare=False)
    """Pairs of ids that state one quantity (:meth:`same`)."""
    relations: list[dict[str, Any]] = field(default_factory=list, compare=False)
    """What an intruder knows between statistics (``docs/disclosure.md``)."""
    primary: set[str] = field(default_factory=set, compare=False)
    """Ids suppressed for being small; never written (it would tell which cells are)."""
    archive: dict[str, tuple[str, Statistic]] = field(default_factory=dict, compare=False)

    # -- registering ---------------------------------------------------------------------
    def add(self, stat: Statistic) -> Statistic:
        """Register ``stat``; the same id again must be the same statistic."""
        known = self.stats.get(stat.id)
        if known is not None and known != stat:
            raise RegistryError(
                f"statistic {stat.id!r} published twice with different values: "
                f"{known.text!r} ({known.value}) and {stat.text!r} ({stat.value}); one "
                "number per statistic"
            )
        self.stats[stat.id] = stat
        for first, second in self.links:
            if stat.id in (first, second):
                self._check_same(first, second)
        return stat

    def table(self, table: DisclosedTable, name: str) -> pd.DataFrame:
        """Register every cell of ``table`` (published under the slug ``name``); return the
        frame of their ids, aligned to ``table.table`` (for the HTML's ``data-stat``)."""
        shown, numeric = table.table, table.numeric
        texts, values = shown.to_numpy(), numeric.to_numpy()
        frame = self.table_ids(table, name)
        out = frame.to_numpy().tolist()
        for i, row in enumerate(shown.index):
            for j, col in enumerate(shown.columns):
                ident = out[i][j]
                text = str(texts[i, j])
                unit = _unit_of(text, table.kind)
                _, decimals, status = parse_number(text)
                self.add(
                    Statistic(
                        id=ident,
                        text=text,
                        value=None if unit == "text" else _finite(values[i, j]),
                        unit=unit,
                        precision=None if unit == "text" else decimals,
                        vintage=self.vintage,
                        status=status,
                        table=name,
                        row=_label(row),
                        column=_label(col),
                    )
                )
        pairs = itertools.product(enumerate(shown.index), enumerate(shown.columns))
        ids = {(r, c): out[i][j] for (i, r), (j, c) in pairs}
        record_structure(self, table, name, ids)
        return frame

    @staticmethod
    def table_ids(table: DisclosedTable, name: str) -> pd.DataFrame:
        """The id each cell of ``table`` is published under as ``name`` (two labels with
        one slug are numbered in order), aligned to ``table.table``."""
        shown = table.table
        rows = [_slug(_label(r)) for r in shown.index]
        cols = [_slug(_label(c)) for c in shown.columns]
        used: set[str] = set()
        out = [["" for _ in cols] for _ in rows]
        for i, j in itertools.product(range(len(rows)), range(len(cols))):
            ident = base = f"{name}/{rows[i]}/{cols[j]}"
            k = 2
            while ident in used:
                ident, k = f"{base}-{k}", k + 1
            used.add(ident)
            out[i][j] = ident
        return pd.DataFrame(out, index=shown.index, columns=shown.columns, dtype="str")

    @staticmethod
    def cell_id(table: DisclosedTable, name: str, row: Any, column: Any) -> str:
        """The id of ``table``'s cell ``(row, column)`` published as ``name`` (``/~/`` for
        a quantity the table does not show, such as a hidden total)."""
        shown = table.table
        hidden = "" if row in shown.index and column in shown.columns else "~/"
        return f"{name}/{hidden}{_slug(_label(row))}/{_slug(_label(column))}"

    def rounded(self, ident: str, base: int) -> None:
        """Record that ``ident`` is published rounded to the nearest ``base``."""
        record = {"kind": "rounded", "id": ident, "base": int(base)}
        if base > 1 and record not in self.relations:
            self.relations.append(record)

    def relation(self, total: str, parts: Iterable[str]) -> None:
        """Declare that ``parts`` add up to ``total`` (for the release audit)."""
        self.relations.append({"kind": "sum", "total": total, "parts": list(parts)})

    def number(
        self,
        ident: str,
        value: float | None,
        *,
        unit: str = "count",
        precision: int = 0,
        text: str | None = None,
        status: str | None = None,
    ) -> str:
        """Register a number stated in prose and return it tagged for the page.

        ``text`` defaults to the value with thousands separators at ``precision`` places
        (a ``percent`` value is a fraction, written as ``34%``); ``status`` a symbol shown
        instead of (``value`` None) or beside the number. A statistic declared the same
        (:meth:`same`) as one already published as revised takes its ``[r]``: a figure
        restated in prose is marked revised wherever it is.
        """
        if status is None and value is not None and self._revised_twin(ident):
            status = REVISED
        if text is None:
            if value is None:
                text = status or "[x]"
            elif unit == "percent":
                text = f"{value:.{precision}%}"
            elif unit == "change":
                text = f"{value:+,.{precision}f}"
            else:
                text = f"{value:,.{precision}f}"
        if status and value is not None and status not in text:
            text = f"{text} {status}"
        stat = self.add(
            Statistic(
                id=ident,
                text=text,
                value=None if value is None else float(value),
                unit=unit,
                precision=None if value is None else precision,
                vintage=self.vintage,
                status=status,
            )
        )
        return tag(stat)

    def cite(self, ident: str, text: str | None = None) -> str:
        """A registered statistic stated again (in prose), tagged with its id: ``text`` may
        format it differently (``1,640`` for the cell ``1640``), never change it."""
        stat = self.stats.get(ident)
        if stat is None:
            raise RegistryError(f"no statistic {ident!r} has been published")
        shown = stat.text if text is None else text
        if not _same_number(shown, stat, status=False):
            raise RegistryError(
                f"{shown!r} restates {ident!r} ({stat.text!r}) with another number: one "
                "number per statistic"
            )
        if stat.status and stat.status not in shown:
            shown = f"{shown} {stat.status}"
        return tag(stat, shown)

    def same(self, first: str, second: str) -> None:
        """Declare that ``first`` and ``second`` state one quantity (a table's cell and the
        sentence that restates it under an id of its own): refused, now or when the later
        of the two is registered, if their numbers differ."""
        self.links.append((first, second))
        self._check_same(first, second)

    def _revised_twin(self, ident: str) -> bool:
        """Whether ``ident`` is declared the same as a statistic published as revised."""
        twins = [b if a == ident else a for a, b in self.links if ident in (a, b)]
        return any(
            (twin := self.stats.get(other)) is not None and twin.status == REVISED
            for other in twins
        )

    def _check_same(self, first: str, second: str) -> None:
        a, b = self.stats.get(first), self.stats.get(second)
        if a is None or b is None or a.value is None or b.value is None:
            return
        if not _same_number(b.text, a, status=False):
            raise RegistryError(
                f"{first} ({a.text!r}) and {second} ({b.text!r}) are one statistic published "
                "with two numbers"
            )
        if (a.status == REVISED) != (b.status == REVISED):
            raise RegistryError(
                f"{first} ({a.text!r}) and {second} ({b.text!r}) are one statistic, revised "
                "in one place and not the other: a revised figure carries [r] wherever it "
                "is stated"
            )

    def tag_notes(self, notes: Iterable[str]) -> list[str]:
        """A table's notes as HTML, the rule parameters they state tagged
        (:data:`NOTE_RULES`) when registered; every other character escaped."""
        out = []
        for note in notes:
            pieces, last = [], 0
            spans = sorted(
                (m.start(), m.end(), ident)
                for pattern, ident in NOTE_RULES
                if ident in self.stats
                for m in re.finditer(pattern, note)
            )
            for start, end, ident in spans:
                if start < last:
                    continue
                pieces += [html.escape(note[last:start]), self.cite(ident, note[start:end])]
                last = end
            pieces.append(html.escape(note[last:]))
            out.append("".join(pieces))
        return out

    # -- reading and writing -------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        """The statistics in id order, as plain dictionaries (a field that does not apply,
        such as the value of a suppressed cell, is left out: nothing published is null)."""
        return [
            {k: v for k, v in vars(self.stats[i]).items() if v is not None}
            for i in sorted(self.stats)
        ]

    def write(self, path: Path) -> Path:
        """Write the registry as JSON (``statistics.json``)."""
        same = [{"kind": "same", "ids": [a, b]} for a, b in self.links]
        write_json(
            {
                "vintage": self.vintage,
                "statistics": self.records(),
                "relations": [*self.relations, *same],
            },
            Path(path),
        )
        return Path(path)

    @classmethod
    def read(cls, path: Path) -> Registry:
        """A registry written by :meth:`write`."""
        data = json.loads(Path(path).read_text("utf-8"))
        reg = cls(str(data["vintage"]))
        for record in data["statistics"]:
            reg.stats[record["id"]] = Statistic(**record)
        for rel in data.get("relations", []):
            if rel["kind"] == "same":
                reg.links.append((rel["ids"][0], rel["ids"][1]))
            else:
                reg.relations.append(rel)
        return reg


def tag(stat: Statistic, text: str | None = None) -> str:
    """``<data value=... data-stat=...>text</data>``: a number in prose and its id."""
    value = stat.status or "" if stat.value is None else repr(stat.value)
    shown = stat.text if text is None else text
    return (
        f'<data value="{html.escape(value, quote=True)}" '
        f'data-stat="{html.escape(stat.id, quote=True)}">{html.escape(shown)}</data>'
    )


# ------------------------------------------------------------------------------ checks
_ALLOWED = re.compile("|".join(f"(?:{p})" for _, p in ALLOWED_UNTAGGED), re.MULTILINE)
_ANY_DIGIT = re.compile(r"\d")
_SKIP = {"style", "script", "nav", "th", "header", "footer", "code", "svg", "figcaption"}
"""Elements whose text is not checked: styles, the contents list, row and column labels,
the page's banner and footer, code (version hashes, commands) and charts with their
captions (drawn from the disclosed tables whose cells are registered; a caption names the
figure, its note says what the chart leaves out or how its scale runs)."""
_HEADING = re.compile(r"h[1-6]")


class _PageScanner(HTMLParser):
    """Collects tagged numbers, table cells and untagged prose per section (h2)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section = ""
        self.heading: list[str] | None = None
        self.stack: list[str] = []
        self.skip = 0
        self.tagged: list[tuple[str, str, str]] = []  # (id, value attr, text)
        self.cells: list[tuple[str, str]] = []  # (id, text)
        self.untagged_cells: list[tuple[str, str]] = []  # (section, text)
        self.prose: list[tuple[str, str]] = []  # (section, text)
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self._tables: list[str] = []  # the data-stats of the tables the parser is in

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.stack.append(tag)
        if tag == "h2":
            self.heading = []
        if tag in _SKIP:
            self.skip += 1
        if tag == "table":
            self._tables.append(values.get("data-stats", ""))
        if tag == "data" and "data-stat" in values or tag == "td":
            self._open.append((tag, values, []))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack[-1] != tag:
            self.stack.pop()  # void or unclosed elements
        if self.stack:
            self.stack.pop()
        if tag == "h2" and self.heading is not None:
            self.section = " ".join("".join(self.heading).split())
            self.heading = None
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        if tag == "table" and self._tables:
            self._tables.pop()
        if self._open and self._open[-1][0] == tag and tag in ("data", "td"):
            _, values, text = self._open.pop()
            shown = " ".join("".join(text).split())
            if tag == "data":
                self.tagged.append((values["data-stat"], values.get("value", ""), shown))
            elif "data-stat" in values:
                table = self._tables[-1] if self._tables else ""
                ident = f"{table}/{values['data-stat']}" if table else values["data-stat"]
                self.cells.append((ident, shown))
            elif _ANY_DIGIT.search(shown):
                self.untagged_cells.append((self.section, shown))

    def handle_data(self, data: str) -> None:
        if self.heading is not None:
            self.heading.append(data)
        if self._open:
            self._open[-1][2].append(data)
            if self._open[-1][0] == "data" or "data-stat" in self._open[-1][1]:
                return  # a tagged number: checked against the registry
            if self._open[-1][0] == "td":
                return  # an untagged cell: reported whole
        if self.skip == 0 and _ANY_DIGIT.search(data):
            self.prose.append((self.section, data))


def _same_number(shown: str, stat: Statistic, *, status: bool = True) -> bool:
    """``shown`` states ``stat``'s number (at the coarser of their precisions) and, with
    ``status``, its symbol."""
    value, decimals, shown_status = parse_number(shown)
    ref, ref_decimals, ref_status = parse_number(stat.text)
    if status and shown_status != ref_status:
        return False
    if value is None or ref is None:
        return value is None and ref is None
    places = min(decimals or 0, ref_decimals or 0)
    return round(value, places) == round(ref, places)


def untagged_numbers(text: str) -> list[str]:
    """The numbers in ``text`` that are neither tagged nor documented non-statistics."""
    rest = _ALLOWED.sub(" ", text)
    return [m.group(0) for m in _NUMBER.finditer(rest)]


def check_page(
    page: str, registry: Registry, *, strict_sections: Iterable[str] | None = None
) -> list[str]:
    """Every problem with ``page``'s numbers against ``registry`` (empty when consistent).

    * a tagged number (``<data data-stat>``) must cite a registered statistic and show its
      number (and symbol) at no finer precision than registered;
    * a table cell with ``data-stat`` must show exactly the registered text;
    * in the sections whose ``<h2>`` text starts with one of ``strict_sections`` (every
      section when ``None``), a number in prose or in a table cell that is not tagged is
      an error unless :data:`ALLOWED_UNTAGGED` describes it.
    """
    scanner = _PageScanner()
    scanner.feed(page)
    scanner.close()
    problems: list[str] = []
    for ident, value, shown in scanner.tagged:
        stat = registry.stats.get(ident)
        if stat is None:
            problems.append(f"number {shown!r} cites {ident!r}, which is not registered")
        elif not _same_number(shown, stat):
            problems.append(f"number {shown!r} differs from {ident} registered as {stat.text!r}")
        elif value != (stat.status or "" if stat.value is None else repr(stat.value)):
            problems.append(f"{ident}: value attribute {value!r} is not the registered value")
    for ident, shown in scanner.cells:
        stat = registry.stats.get(ident)
        if stat is None:
            problems.append(f"table cell {shown!r} has id {ident!r}, which is not registered")
        elif " ".join(stat.text.split()) != shown:
            problems.append(f"table cell {ident} shows {shown!r}, registered as {stat.text!r}")
    strict = None if strict_sections is None else tuple(strict_sections)

    def checked(section: str) -> bool:
        return strict is None or any(section.startswith(s) for s in strict)

    for section, shown in scanner.untagged_cells:
        if checked(section) and untagged_numbers(shown):
            problems.append(f"{section or 'page'}: table cell {shown!r} is not registered")
    for section, text in scanner.prose:
        if not checked(section):
            continue
        for number in untagged_numbers(text):
            context = " ".join(text.split())[:120]
            problems.append(f"{section or 'page'}: untagged number {number!r} in {context!r}")
    return problems


def check_csv(path: Path, registry: Registry, table: str) -> list[str]:
    """Every problem with a published (tidy) CSV against the registered statistics of
    ``table``: one row per registered cell, with its row labels, its column's heading, the
    registered number (as shown, without separators) or words in ``Value`` and the
    registered GSS symbol in ``Status``; a symbol in ``Value`` is an error."""
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    ids = {(s.row, s.column): s for s in registry.stats.values() if s.table == table}
    if not ids:
        return [f"{path.name}: no statistics registered for table {table!r}"]
    if list(frame.columns[-2:]) != [VALUE_HEADER, STATUS_HEADER] or frame.shape[1] < 4:
        return [
            f"{path.name}: not a tidy table (row labels, measure, {VALUE_HEADER}, "
            f"{STATUS_HEADER}): {list(frame.columns)}"
        ]
    expected = {
        (neutralise_cell(r), neutralise_cell(human_header(c))): s for (r, c), s in ids.items()
    }
    problems = []
    labels, measure = list(frame.columns[:-3]), frame.columns[-3]
    seen = set()
    for _, record in frame.iterrows():
        key = (" / ".join(str(record[c]) for c in labels), str(record[measure]))
        seen.add(key)
        stat = expected.get(key)
        value, status = str(record[VALUE_HEADER]), str(record[STATUS_HEADER])
        if any(symbol in value for symbol in SYMBOLS):
            problems.append(f"{path.name}: cell {key} holds a symbol in {VALUE_HEADER}")
        if stat is None:
            problems.append(f"{path.name}: cell {key} is not registered")
            continue
        shown, shown_status = split_status(stat.text)
        if value != neutralise_cell(shown) or status != (shown_status or ""):
            problems.append(
                f"{path.name}: cell {key} is {value!r} {status!r}, registered as {stat.text!r}"
            )
    missing = sorted(set(expected) - seen)
    if missing:
        problems.append(f"{path.name}: registered cells missing from the CSV: {missing[:5]}")
    return problems


def statistics_by_table(registry: Registry) -> Mapping[str, list[Statistic]]:
    """The registered table cells grouped by table slug."""
    out: dict[str, list[Statistic]] = {}
    for stat in registry.stats.values():
        if stat.table is not None:
            out.setdefault(stat.table, []).append(stat)
    return out
