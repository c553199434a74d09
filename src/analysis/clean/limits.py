"""Limits on what the cleaner reads, checked before a file is read (``docs/data-contract.md``,
"Limits").

A monitoring return is a few kilobytes and a case extract a few hundred kilobytes; the
limits sit far above any real return and far below what would exhaust the machine, so a
damaged or hostile file is rejected with a clear message instead of taking the step down.
"""

from __future__ import annotations

MAX_CSV_BYTES = 20 * 1024 * 1024
"""Largest CSV file read (20 MiB: about 100,000 case-extract rows)."""

MAX_CSV_ROWS = 200_000
"""Most rows (blank ones included) read from one CSV file."""

MAX_WORKBOOK_BYTES = 10 * 1024 * 1024
"""Largest workbook file read (10 MiB)."""

MAX_WORKBOOK_XML_BYTES = 50 * 1024 * 1024
"""Largest uncompressed size of all parts of one workbook (50 MiB; a guard against a small
file that unpacks to gigabytes)."""

MAX_SHEET_ROWS = 10_000
"""Most rows a template sheet may declare or hold (a return sheet has about ten)."""

MAX_SHEET_COLUMNS = 50
"""Most columns a template sheet may declare or hold (a return sheet has two or three)."""


def megabytes(n: int) -> str:
    """A byte count for a message (``"20 MiB"``, ``"0.4 MiB"``)."""
    mib = n / (1024 * 1024)
    return f"{mib:.0f} MiB" if mib >= 10 else f"{mib:.1f} MiB"


MAX_QDPX_BYTES = 50 * 1024 * 1024
"""Largest REFI-QDA project file (``.qdpx``) read (50 MiB: transcripts are text; a
project's audio or video is never read)."""

MAX_QDPX_MEMBERS = 20_000
"""Most entries one ``.qdpx`` archive may list."""

MAX_QDPX_XML_BYTES = 64 * 1024 * 1024
"""Largest uncompressed ``project.qde`` (64 MiB)."""

MAX_QDPX_TEXT_BYTES = 128 * 1024 * 1024
"""Largest uncompressed size of all the source texts one ``.qdpx`` may hold together (a
guard against a small archive that unpacks to gigabytes)."""
