"""Quarantine and ledger bookkeeping: every source row is kept, quarantined or superseded.

A :class:`Ledger` is filled as the cleaner reads files. For each source file and sheet it
records how many data rows were read (blank rows counted separately) and what happened to
each row. :meth:`Ledger.check` fails unless every line balances::

    read = kept + quarantined + superseded

A row with several problems is quarantined once in the ledger but gets one line per
problem in ``quarantine.csv``. Files rejected whole are listed with their reason. No value
read from a source file is stored: the quarantine's ``value`` is masked
(:func:`analysis.clean.masking.masked`: type, length and a keyed hash), so it never holds a
name, date of birth, service-side ID, postcode or free text, whatever column it came from.
The quarantine CSV is written through :func:`analysis.core.io.csv_rows_text`, which
neutralises any text a spreadsheet would run as a formula.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from analysis.clean.masking import masked
from analysis.core.io import csv_rows_text

QUARANTINE_COLUMNS: tuple[str, ...] = ("file", "sheet", "row", "column", "value", "reason")


class LedgerError(RuntimeError):
    """The ledger does not balance: some rows are unaccounted for."""


@dataclass
class SheetLine:
    """Counts for one source file × sheet."""

    read: int = 0
    kept: int = 0
    quarantined: int = 0
    superseded: int = 0
    blank: int = 0
    status: dict[int, str] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, int]:
        """The public counts (no per-row detail)."""
        return {
            "read": self.read,
            "kept": self.kept,
            "quarantined": self.quarantined,
            "superseded": self.superseded,
            "blank": self.blank,
        }

    @property
    def balanced(self) -> bool:
        """True when ``read = kept + quarantined + superseded``."""
        return self.read == self.kept + self.quarantined + self.superseded


@dataclass
class Ledger:
    """What happened to every source row; see the module docstring."""

    lines: dict[tuple[str, str], SheetLine] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    quarantine: list[dict[str, str]] = field(default_factory=list)
    key: bytes = field(default=b"", repr=False)
    """Key of the masked values' hash (the run's pseudonymisation key)."""

    # ------------------------------------------------------------------ recording
    def read(self, file: str, sheet: str, rows: list[int], blank: int = 0) -> None:
        """Register the data rows (by row number) read from ``file``/``sheet``."""
        line = self.lines.setdefault((file, sheet), SheetLine())
        line.read += len(rows)
        line.blank += blank
        for r in rows:
            line.status.setdefault(r, "pending")

    def _set(self, file: str, sheet: str, row: int, status: str) -> None:
        line = self.lines.setdefault((file, sheet), SheetLine())
        if row not in line.status:
            raise LedgerError(f"{file} [{sheet}] row {row} was never registered as read")
        old = line.status[row]
        if old == "quarantined":
            return  # quarantine is final
        if old != "pending":
            setattr(line, old, getattr(line, old) - 1)
        line.status[row] = status
        setattr(line, status, getattr(line, status) + 1)

    def keep(self, file: str, sheet: str, row: int) -> None:
        """Mark a row kept (unless it was already quarantined)."""
        self._set(file, sheet, row, "kept")

    def supersede(self, file: str, sheet: str, row: int, reason: str) -> None:
        """Mark a kept row superseded (a later resubmission replaced it) and note why."""
        line = self.lines.get((file, sheet))
        if line is not None and line.status.get(row) == "quarantined":
            return
        self._set(file, sheet, row, "superseded")
        self._note(file, sheet, row, "", "", reason)

    def quarantine_row(
        self, file: str, sheet: str, row: int, column: str, value: Any, reason: str
    ) -> None:
        """Quarantine a row (once) and add a line for this problem to the quarantine."""
        self._set(file, sheet, row, "quarantined")
        self._note(file, sheet, row, column, masked(value, self.key), reason)

    def set_aside(self, file: str, sheet: str, reason: str) -> None:
        """Note a part of a file that was not read (a hidden sheet): a quarantine line
        with no row, so the ledger names what was set aside."""
        self._note(file, sheet, "", "", "", reason)

    def reject_file(self, file: str, reason: str) -> None:
        """Reject a whole file; rows already registered from it become quarantined."""
        self.rejected[file] = reason
        for (f, sheet), line in self.lines.items():
            if f == file:
                for r, st in sorted(line.status.items()):
                    if st != "quarantined":
                        self._set(f, sheet, r, "quarantined")
        self._note(file, "", "", "", "", f"file rejected: {reason}")

    def _note(self, file: str, sheet: str, row: int | str, column: str, value: str, reason: str):
        self.quarantine.append(
            {
                "file": file,
                "sheet": sheet,
                "row": str(row),
                "column": column,
                "value": value,
                "reason": reason,
            }
        )

    # ------------------------------------------------------------------ checking
    def status_of(self, file: str, sheet: str, row: int) -> str:
        """``kept``/``quarantined``/``superseded``/``pending`` for one row."""
        return self.lines[(file, sheet)].status[row]

    def unbalanced(self) -> list[str]:
        """Descriptions of every line that does not balance or still has undecided rows."""
        problems = []
        for (file, sheet), line in sorted(self.lines.items()):
            pending = [r for r, s in line.status.items() if s == "pending"]
            if pending or not line.balanced:
                problems.append(
                    f"{file} [{sheet}]: read {line.read} != kept {line.kept} + quarantined "
                    f"{line.quarantined} + superseded {line.superseded}"
                    + (f" (rows {sorted(pending)[:5]} undecided)" if pending else "")
                )
        return problems

    def check(self) -> None:
        """Raise :class:`LedgerError` unless every line balances."""
        problems = self.unbalanced()
        if problems:
            raise LedgerError("ledger does not balance: " + "; ".join(problems))

    # ------------------------------------------------------------------ output
    def totals(self) -> dict[str, int]:
        """Sums of every count over all lines, plus the number of rejected files."""
        keys = ("read", "kept", "quarantined", "superseded", "blank")
        out = {k: sum(getattr(line, k) for line in self.lines.values()) for k in keys}
        out["rejected_files"] = len(self.rejected)
        return out

    def to_json(self, **extra: Any) -> str:
        """The ledger as deterministic JSON (sorted files and sheets), plus ``extra`` keys."""
        doc: dict[str, Any] = {
            "rule": "read = kept + quarantined + superseded; blank rows counted separately",
            "totals": self.totals(),
            "files": [
                {"file": f, "sheet": s, **line.as_dict()}
                for (f, s), line in sorted(self.lines.items())
            ],
            "rejected": [{"file": f, "reason": r} for f, r in sorted(self.rejected.items())],
            **extra,
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    def quarantine_csv(self) -> str:
        """The quarantine as CSV text, sorted by file, sheet, row number and column."""

        def key(q: dict[str, str]) -> tuple:
            row = int(q["row"]) if q["row"].isdigit() else -1
            return (q["file"], q["sheet"], row, q["column"], q["reason"], q["value"])

        seen = set()
        rows = []
        for q in sorted(self.quarantine, key=key):
            t = tuple(q[c] for c in QUARANTINE_COLUMNS)
            if t not in seen:
                seen.add(t)
                rows.append(t)
        return csv_rows_text(QUARANTINE_COLUMNS, rows)
