#!/usr/bin/env python
"""Pre-commit guard: refuse to commit data files, rendered reports or executed notebooks.

Usage (pre-commit passes the staged file names)::

    python scripts/guard_no_data.py FILE [FILE ...]
    python scripts/guard_no_data.py            # checks `git diff --cached --name-only`

Refused:

* anything under ``data/raw/``, ``data/interim/`` or ``data/processed/``;
* ``*.parquet`` anywhere, and spreadsheets (``*.xlsx``, ``*.xlsm``, ``*.xls``) outside
  ``tests/data/``;
* ``*.csv`` under ``data/`` except ``data/external/`` (public open data, committed with its
  provenance);
* anything under ``reports/`` except ``README.md`` and ``.gitkeep``;
* any ``.ipynb`` holding outputs or execution counts (strip it with nbstripout first).

Exits 1 and lists every refused file with the reason; exits 0 otherwise.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path, PurePosixPath

DATA_FOLDERS = ("data/raw/", "data/interim/", "data/processed/")
SPREADSHEETS = (".xlsx", ".xlsm", ".xls")
KEEP_NAMES = ("README.md", ".gitkeep")


def notebook_has_outputs(text: str) -> bool:
    """True when a notebook's JSON holds any output or execution count."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        return False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count")):
            return True
    return False


def reason(path: str, root: Path) -> str | None:
    """Why ``path`` (relative to the repository root) may not be committed, or ``None``."""
    p = PurePosixPath(path.replace("\\", "/"))
    s = p.as_posix()
    name = p.name
    suffix = p.suffix.lower()
    if any(s.startswith(d) for d in DATA_FOLDERS) and name not in KEEP_NAMES:
        return "data folder (raw/interim/processed data never enters git)"
    if suffix == ".parquet":
        return "Parquet data file"
    if suffix in SPREADSHEETS and not s.startswith("tests/data/"):
        return "spreadsheet outside tests/data/"
    if suffix == ".csv" and s.startswith("data/") and not s.startswith("data/external/"):
        return "CSV data file under data/"
    if s.startswith("reports/") and name not in KEEP_NAMES:
        return "rendered report (reports are built by the pipeline, never committed)"
    if suffix == ".ipynb":
        file = root / s
        if file.is_file() and notebook_has_outputs(file.read_text("utf-8", errors="replace")):
            return "executed notebook (has outputs): run nbstripout on it"
    return None


def violations(paths: list[str], root: Path) -> list[str]:
    """One line per refused path: ``path: reason``."""
    out = []
    for path in paths:
        why = reason(path, root)
        if why:
            out.append(f"{path}: {why}")
    return out


def _staged(root: Path) -> list[str]:
    res = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in res.stdout.splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    """Check the given (or staged) files; return the exit code."""
    root = Path(__file__).resolve().parent.parent
    args = sys.argv[1:] if argv is None else argv
    paths = []
    for a in args or _staged(root):
        p = Path(a)
        if p.is_absolute():
            with contextlib.suppress(ValueError):
                p = p.resolve().relative_to(root)
        paths.append(p.as_posix())
    bad = violations(paths, root)
    for line in bad:
        print(f"refused: {line}", file=sys.stderr)
    if bad:
        print(
            "guard_no_data: data files, reports and executed notebooks never enter git "
            "(see README, real-data mode).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
