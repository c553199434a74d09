"""The one guard on what the pipeline publishes: no NaN, infinity or None, ever.

A published number is either a finite value or a symbol that says why there is none
(``[x]`` not available, ``[z]`` not applicable, ``[c]`` confidential ...; see
:data:`analysis.disclosure.SYMBOL_KEY`); a model that could not be fitted says so in words
and carries no estimate keys (``<model>_fitted: false`` in the metrics, ``fitted: false``
and a ``reason`` in ``models.json``). Every writer of published outputs (metrics, the
year's headline and model records, report tables and their CSV downloads, report text)
passes its data through :func:`check_publishable` or :func:`check_text`, which refuse the
values a reader must never see, naming where they were found.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.errors import UserError

__all__ = [
    "UnpublishableValue",
    "check_publishable",
    "check_text",
    "non_finite_cells",
    "non_finite_words",
]

_BAD_CELL = re.compile(r"^\s*[-+]?(nan|inf|infinity|none|null|<na>|nat)\s*$", re.IGNORECASE)
"""A table cell or CSV field that is a missing or non-finite value spelled as text."""

_BAD_WORD = re.compile(r"(?<![\w.-])[-+]?(nan|NaN|NAN|inf|Inf|Infinity|-Infinity|<NA>|NaT)(?![\w])")
"""A non-finite number written into prose (``nan%``, ``rate ratio nan``, ``inf``)."""


class UnpublishableValue(UserError):
    """A published output would show NaN, infinity or None (names the output and place)."""


def _walk(data: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every leaf value of nested dicts, lists and DataFrames with its location."""
    if isinstance(data, pd.DataFrame):
        for col in data.columns:
            for i, value in enumerate(data[col].tolist()):
                yield f"{where}[row {i}, column {col!r}]", value
    elif isinstance(data, pd.Series):
        for i, value in enumerate(data.tolist()):
            yield f"{where}[{i}]", value
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from _walk(value, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            yield from _walk(value, f"{where}[{i}]")
    else:
        yield where, data


def _is_bad(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    if isinstance(value, str):
        return bool(_BAD_CELL.match(value))
    return False


def non_finite_cells(data: Any, where: str = "") -> list[str]:
    """Locations of NaN, infinite, None (or such values spelled as text) in ``data``."""
    return [place for place, value in _walk(data, where) if _is_bad(value)]


def non_finite_words(text: str) -> list[str]:
    """Non-finite numbers written into prose, each with a little context."""
    return [
        text[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")
        for m in _BAD_WORD.finditer(text)
    ]


def check_publishable(data: Any, what: str) -> Any:
    """Return ``data`` unchanged if it holds no NaN, infinity or None; raise otherwise.

    ``data`` is a dict, list, DataFrame or scalar, nested as JSON would be; ``what`` names
    the output (a file or table title) for the message.
    """
    bad = non_finite_cells(data)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UnpublishableValue(
            f"{what}: refusing to publish {len(bad)} missing or non-finite value(s) at "
            f"{shown}; publish a symbol ([x], [z]) or leave the key out instead"
        )
    return data


def check_text(text: str, what: str) -> str:
    """Return ``text`` unchanged if no non-finite number is written in it; raise otherwise."""
    bad = non_finite_words(text)
    if bad:
        raise UnpublishableValue(
            f"{what}: refusing to publish text with a non-finite number: "
            + "; ".join(repr(b) for b in bad[:3])
        )
    return text
