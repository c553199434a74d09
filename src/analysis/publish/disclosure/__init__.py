"""Statistical disclosure control for every table and figure in the reports.

The rules (see ``docs`` and the shared domain notes):

* a count from 1 to ``threshold`` (``report.suppression_threshold`` in ``params.yaml``;
  the functions have no default, callers pass the setting) is published as ``[c]``
  (primary suppression); 0 is a true zero and stays ``0``;
* secondary suppression: no suppressed cell can be recovered from row or column totals.
  Totals are treated as public knowledge even when a table does not show them, and the
  protection is checked exactly: a suppressed cell is recoverable when it is determined by
  the linear system "parts sum to their total" given every published value. While some
  suppressed cell is determined, the smallest non-zero unsuppressed cell on one of its
  lines is suppressed as well (ties broken by position, so the choice is deterministic);
* totals are rounded to the nearest ``total_rounding`` (``report.total_rounding``); a
  total that is small is suppressed like any other cell; a non-zero value that rounds to zero is ``[k]``;
* a percentage whose numerator or denominator is suppressed is suppressed;
* symbols follow the GSS guidance: see :data:`SYMBOL_KEY`.

Design by construction: every function here returns a :class:`DisclosedTable`, and only
this module can create one. ``DisclosedTable.__init__`` requires a private sentinel
(``_TOKEN``, an ``object()`` created when the module is imported) as its first argument and
raises ``TypeError`` for anything else; subclassing is refused and instances are frozen. The
report's table and figure helpers (:mod:`analysis.figures`) accept only this type, so an
unprotected count cannot reach a report by mistake. (Python cannot stop a determined
programmer from reaching into ``_TOKEN``; the guard is against accidents, and a code review
will notice any import of a private name.)"""

from __future__ import annotations

from analysis.publish.disclosure.counts import (
    disclose_counts,
    disclose_table,
)
from analysis.publish.disclosure.estimates import (
    disclose_estimates,
    disclose_programme_totals,
    disclose_published,
    disclose_shares,
    mark_revised,
)
from analysis.publish.disclosure.suppression import (
    is_small,
    protect,
    round_to_base,
)
from analysis.publish.disclosure.table import (
    CONFIDENTIAL,
    LOW_RELIABILITY,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    REVISED,
    ROUNDS_TO_ZERO,
    SYMBOL_KEY,
    TOTAL_LABEL,
    DisclosedTable,
    DisclosureError,
    symbol_key_html,
    symbol_key_markdown,
)

__all__ = [
    "CONFIDENTIAL",
    "DisclosedTable",
    "DisclosureError",
    "LOW_RELIABILITY",
    "NOT_APPLICABLE",
    "NOT_AVAILABLE",
    "REVISED",
    "ROUNDS_TO_ZERO",
    "SYMBOL_KEY",
    "TOTAL_LABEL",
    "disclose_counts",
    "disclose_estimates",
    "disclose_programme_totals",
    "disclose_published",
    "disclose_shares",
    "disclose_table",
    "is_small",
    "mark_revised",
    "protect",
    "round_to_base",
    "symbol_key_html",
    "symbol_key_markdown",
]
