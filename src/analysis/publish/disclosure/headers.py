"""Readers' headings for the internal column names disclosed tables are built with, and
the tidy CSV's own headings (:meth:`analysis.publish.disclosure.table.DisclosedTable.tidy`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

HEADERS: Mapping[str, str] = {
    "category": "Group",
    "service_id": "Service",
    "evaluation_year": "Evaluation year",
    "N": "Number",
    "n": "Number",
    "role": "Role",
    "phase": "Phase",
    "host": "Host agency type",
    "quarter": "Quarter",
    "period": "Period",
    "spoke_id": "Spoke",
}
"""Readers' headings for the internal column names tables are built with."""

VALUE_HEADER = "Value"
STATUS_HEADER = "Status"
MEASURE_HEADER = "Measure"
"""The tidy CSV's value, status and column-label headings (:meth:`DisclosedTable.tidy`)."""

_CODE_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")


def human_header(name: Any) -> str:
    """A column or row-label heading as readers see it: ``service_id`` -> ``Service``,
    other snake_case names spelt out (``young_people`` -> ``Young people``), tuples (from
    a two-level header) joined with `` / ``; anything else unchanged."""
    if name is None:
        return ""
    if isinstance(name, tuple):
        return " / ".join(human_header(n) for n in name)
    text = str(name)
    if text in HEADERS:
        return HEADERS[text]
    if _CODE_NAME.fullmatch(text) or re.fullmatch(r"[a-z]+", text):
        return text.replace("_", " ").capitalize()
    return text
