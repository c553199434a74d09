"""Redacting quotes from fieldwork before anything else reads them.

A quote from an interview or case study is redacted at the clean stage, so no later stage
ever holds the words as said. Two things find what to take out:

* the **redaction register**: the people, places and schools the evaluators know are
  named in their fieldwork, kept outside the repository (a CSV with the columns ``kind``
  — ``person``, ``place``, ``school`` or ``organisation`` — and ``text``). A person is
  also redacted by each part of their name (``Ella`` and ``Thompson`` as well as ``Ella
  Thompson``), since interviewees use first names. :func:`register_path` says where it is;
* **patterns** for what has a shape: dates (a day and a month, with or without a year),
  phone numbers, UK postcodes, e-mail addresses, schools and colleges named with a
  capitalised name, and a title followed by a name (``Mrs Patel``).

Each is replaced by its kind in brackets (``[name]``, ``[place]``, ``[school]``,
``[date]``, ``[phone]``, ``[postcode]``, ``[email]``). Redaction over-reaches on purpose: a
word that is also someone's name is taken out wherever it appears. A named-entity detector
(Presidio, spaCy) was not used: each needs a language model downloaded at run time, which
a reproducible pipeline on a fresh clone cannot rely on.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from analysis.core.privacy import check_generator_marker

REGISTER_ENV = "HUBSPOKE_REDACTION_REGISTER"
"""Environment variable naming the redaction register of real fieldwork."""
SYNTHETIC_REGISTER = "_truth/redaction_register.csv"
"""Where the generator writes the register of the names it planted (synthetic data only)."""
REGISTER_KINDS = {"person": "[name]", "place": "[place]", "school": "[school]",
                  "organisation": "[place]"}  # fmt: skip

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")  # fmt: skip
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[email]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("[school]", re.compile(
        r"\b(?:(?:St\.?|Saint)\s+)?(?:[A-Z][\w'’-]*\s+){1,4}"
        r"(?:(?:Primary|Secondary|High|Grammar|Junior|Infant|Community|Free)\s+)?"
        r"(?:School|Academy|College|Sixth Form)\b")),
    ("[postcode]", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)),
    ("[phone]", re.compile(r"(?<![\w])(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}\b")),
    ("[date]", re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b")),
    ("[date]", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b(?:,?\s+\d{{4}})?", re.IGNORECASE)),
    ("[date]", re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:,?\s+\d{{4}})?", re.IGNORECASE)),
    ("[name]", re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][\w'’-]+")),
)  # fmt: skip
"""Shapes redacted whatever the register says, in this order."""


class RegisterError(ValueError):
    """The redaction register cannot be used (the message names no entry)."""


@dataclass(frozen=True)
class Register:
    """Entries of the redaction register: ``(kind, text)``."""

    entries: tuple[tuple[str, str], ...]


def read_register(path: Path) -> Register:
    """Read a redaction register (CSV: ``kind,text``). Raises :class:`RegisterError`."""
    try:
        text = Path(path).read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterError(
            f"the redaction register cannot be read ({type(exc).__name__})"
        ) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["kind", "text"]:
        raise RegisterError("the redaction register must have the columns kind,text")
    entries = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        kind = row[0].strip().lower() if row else ""
        if kind not in REGISTER_KINDS or len(row) < 2 or not row[1].strip():
            raise RegisterError(
                f"the redaction register's row {n} needs a kind ({', '.join(REGISTER_KINDS)}) "
                "and a text"
            )
        entries.append((kind, " ".join(row[1].split())))
    return Register(tuple(sorted(set(entries))))


def register_path(raw_dir: Path) -> Path | None:
    """The redaction register for ``raw_dir``: the file named by ``HUBSPOKE_REDACTION_REGISTER``
    when set; else, for a synthetic folder (the generator's marker intact), the register of
    the names the generator planted; else ``None`` (real fieldwork without a register is not
    read)."""
    named = os.environ.get(REGISTER_ENV)
    if named:
        return Path(named)
    candidate = Path(raw_dir) / SYNTHETIC_REGISTER
    if candidate.is_file() and check_generator_marker(Path(raw_dir)).marker is not None:
        return candidate
    return None


@dataclass
class Redactor:
    """Redacts text with a register and :data:`PATTERNS`; counts what it took out by kind."""

    register: Register
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        terms: dict[str, str] = {}
        for kind, text in self.register.entries:
            token = REGISTER_KINDS[kind]
            terms.setdefault(text.lower(), token)
            if kind == "person":
                for part in re.split(r"[\s-]+", text):
                    if len(part) >= 3:
                        terms.setdefault(part.lower(), token)
        ordered = sorted(terms, key=lambda t: (-len(t), t))
        self._tokens = terms
        self._names = (
            re.compile(
                r"(?<![\w])(?:" + "|".join(re.escape(t) for t in ordered) + r")(?:'s|’s)?(?![\w])",
                re.IGNORECASE,
            )
            if ordered
            else None
        )

    def _name(self, m: re.Match[str]) -> str:
        word = re.sub(r"(?:'s|’s)$", "", m[0])
        token = self._tokens.get(" ".join(word.lower().split()), "[name]")
        self.counts[token] += 1
        return token + m[0][len(word) :]

    def redact(self, text: str) -> str:
        """``text`` with every register entry and pattern replaced by its kind."""
        out = " ".join(text.split()) if "\n" in text or "\r" in text else text
        if self._names is not None:
            out = self._names.sub(self._name, out)
        for token, pattern in PATTERNS:
            out, n = pattern.subn(token, out)
            self.counts[token] += n
        return out
