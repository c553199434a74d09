"""What the cleaner may say about a value it read: never the value itself.

The quarantine and the ledger describe a problem by file, sheet, row, column and reason. A
value from a source file never appears there: :func:`masked` describes it by its type, its
length and a keyed hash (so an analyst holding the key can tell whether two quarantined
cells hold the same text without either being written down), and :func:`shown` lets a
reason name a value only when it is one of the contract's own codes or matches a strict
pattern (a service ID, a template version), which cannot be a name, a date of birth, a
postcode or a note. Case IDs are compared after :func:`normalise_case_id`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Collection
from datetime import date, datetime, time
from typing import Any

from analysis.clean.returns import cell_text

MASK_HASH_CHARS = 8
"""Hex digits of the keyed hash in a masked value (32 bits: enough to match, not to invert
without the key)."""

SERVICE_ID = re.compile(r"S\d{2,4}")
SPOKE_ID = re.compile(r"S\d{2,4}-\d{1,2}")
AREA_CODE = re.compile(r"LA\d{3,4}")
TEMPLATE_VERSION = re.compile(r"v\d{1,2}", re.IGNORECASE)
_DATE_LIKE = re.compile(r"\d{1,4}[-/. ]\s*(?:\d{1,2}|[A-Za-z]{3,9})[-/. ]\s*\d{2,4}")


def _kind(value: Any, text: str) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime | date):
        return "date"
    if isinstance(value, time):
        return "time"
    if text.isdigit():
        return "text of digits"
    if _DATE_LIKE.fullmatch(text):
        return "date-like text"
    return "text"


def masked(value: Any, key: bytes) -> str:
    """A value as the quarantine may hold it: ``[text; 15 chars; #1a2b3c4d]``.

    The type (``number``, ``date``, ``true/false``, ``text of digits``, ``date-like
    text`` or ``text``), the length of the cell's text and the first
    :data:`MASK_HASH_CHARS` hex digits of HMAC-SHA256(key, text). An empty cell is ``""``.
    """
    text = cell_text(value)
    if not text:
        return ""
    digest = hmac.new(key, b"quarantine-value|" + text.encode("utf-8"), hashlib.sha256)
    n = len(text)
    return f"[{_kind(value, text)}; {n} char{'s' if n != 1 else ''}; #{digest.hexdigest()[:MASK_HASH_CHARS]}]"


def shown(value: Any, allowed: Collection[str] | re.Pattern[str], what: str = "value") -> str:
    """``value``'s text when it is one of ``allowed`` (a code) or fully matches the pattern
    ``allowed``; otherwise a neutral phrase (``"an unlisted value"``) that reveals nothing."""
    text = cell_text(value)
    ok = bool(allowed.fullmatch(text)) if isinstance(allowed, re.Pattern) else text in allowed
    return text if ok else f"an unlisted {what}"


def normalise_case_id(text: str) -> str:
    """A service's case ID as the cleaner compares it: Unicode-normalised (NFKC), every
    space removed and letters in upper case (``" ab 012"`` → ``AB012``), so the same young
    person is one person however an export wrote their ID."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).upper()
