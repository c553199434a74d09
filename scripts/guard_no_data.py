#!/usr/bin/env python
"""Pre-commit guard: refuse to commit anything that may hold real data. It reads content.

Usage (pre-commit passes the staged file names, symlinks included)::

    python scripts/guard_no_data.py FILE [FILE ...]
    python scripts/guard_no_data.py              # the staged files (git diff --cached)
    python scripts/guard_no_data.py --all        # every file git tracks
    python scripts/guard_no_data.py --allow FILE [FILE ...]   # list FILEs as allowed

Refused, anywhere and whatever the file is called (names are compared without regard to
case):

* a symlink (it can point at real data outside the repository);
* by content (magic bytes): ZIP containers (Excel workbooks, ``.zip``, ``.qdpx``, Word
  documents), OLE2 files (old ``.xls``, password-protected workbooks), Parquet,
  Arrow/Feather, gzip, bzip2, xz, zstd, 7-Zip, RAR, SQLite, SPSS, Stata and PDF files, PNG
  and JPEG images (a figure or a screenshot of a report), and any other binary content (a
  NUL byte; UTF-16 text included);
* by content (text): a rendered report (the renderer's ``<meta name="generator">`` marker,
  or a notebook exported to HTML), an executed notebook (outputs or execution counts), a
  pseudonymisation key (``keygen``'s first line, a PEM private key, or a lone
  high-entropy token), a ledger (JSON with ``totals``, ``files`` and ``rejected``), a
  quarantine (a header with ``file``, ``row``, ``column`` and ``reason``), and CSV-like
  text whose header (in its first five lines) names an identifying column (case ID, name,
  date of birth, postcode, notes, person key ...: ``analysis.core.privacy``);
* by path: anything under ``data/`` but ``data/external/``, anything under ``reports/``
  (``README.md`` and ``.gitkeep`` aside), files named ``ledger.json`` or
  ``quarantine.csv``, and data, archive and key suffixes (``.parquet``, ``.feather``,
  ``.xlsx``, ``.zip``, ``.gz``, ``.key`` ...).

Allowed: files listed with their SHA-256 in ``scripts/guard_no_data.sha256`` (the
project's test fixtures, screenshots of the synthetic reports, and any template or vendored
asset the content checks would refuse; a listed file whose content changed is checked
again), and ``data/external/`` (published statistics committed with
their provenance). Exits 1 listing every refused file with its reason; 0 otherwise.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # the vocabulary of the commit being checked

from analysis.core.privacy import (  # noqa: E402
    IDENTIFYING_HEADERS,
    KEY_FILE_HEADER,
    LEDGER_SIGNATURE,
    QUARANTINE_SIGNATURE,
    RENDERED_PAGE_META,
    key_weakness,
    normalise_header,
)

ALLOWLIST = "scripts/guard_no_data.sha256"
EXTERNAL = "data/external/"
KEEP_NAMES = ("readme.md", ".gitkeep")
HEAD_BYTES = 1 << 16
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "ZIP container"),
    (b"PK\x05\x06", "ZIP container"),
    (b"PK\x07\x08", "ZIP container"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 file (old .xls, .doc or encrypted workbook)"),
    (b"PAR1", "Parquet file"),
    (b"ARROW1", "Arrow IPC / Feather file"),
    (b"FEA1", "Feather (v1) file"),
    (b"\x1f\x8b", "gzip-compressed file"),
    (b"\xfd7zXZ\x00", "xz-compressed file"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"$FL2", "SPSS data file"),
    (b"$FL3", "SPSS data file"),
    (b"<stata_dta>", "Stata data file"),
    (b"%PDF-", "PDF document (a printed report?)"),
    (b"\x89PNG\r\n\x1a\n", "PNG image (a figure or screenshot of a report?)"),
    (b"\xff\xd8\xff", "JPEG image (a photo, a scan or a screenshot?)"),
)
SUFFIXES = frozenset({
    ".parquet", ".pq", ".feather", ".arrow", ".ipc", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods",
    ".csv.gz", ".zip", ".qdpx", ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".tgz",
    ".key", ".pem", ".p12", ".pfx", ".sav", ".dta", ".rds", ".rdata", ".sqlite", ".db",
    ".pkl", ".pickle",
})  # fmt: skip
DATA_NAMES = frozenset({"ledger.json", "quarantine.csv"})
DELIMITERS = (",", ";", "\t", "|")
HEADER_NOISE = re.compile(r"[=(){}\[\]<>`]")


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data`` (hex)."""
    return hashlib.sha256(data).hexdigest()


def load_allowlist(root: Path) -> dict[str, str]:
    """``path -> sha256`` from the allowlist (``sha256sum`` format)."""
    file = root / ALLOWLIST
    if not file.is_file():
        return {}
    out = {}
    for line in file.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, _, path = line.partition("  ")
            out[path.strip()] = digest.strip()
    return out


def _binary_kind(head: bytes, data_tail: bytes) -> str | None:
    for magic, kind in MAGIC:
        if head.startswith(magic):
            if kind == "ZIP container":
                if b"xl/" in head or b"[Content_Types].xml" in head:
                    return "ZIP container (an Excel workbook)"
                return "ZIP container (a .zip, .qdpx or Office file)"
            return kind
    if data_tail.endswith(b"PAR1"):
        return "Parquet file"
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return "bzip2-compressed file"
    if b"\x00" in head:
        return "binary content (not text): if it is a fixture, template or vendored asset, list it"
    return None


def _text(head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return head.decode("cp1252", errors="replace")


def _notebook_has_outputs(doc: object) -> bool:
    if not isinstance(doc, dict):
        return False
    for cell in doc.get("cells", []) or []:
        code = isinstance(cell, dict) and cell.get("cell_type") == "code"
        if code and (cell.get("outputs") or cell.get("execution_count")):
            return True
    return False


def notebook_has_outputs(text: str) -> bool:
    """True when a notebook's JSON holds any output or execution count."""
    try:
        return _notebook_has_outputs(json.loads(text))
    except json.JSONDecodeError:
        return False


def _json_kind(text: str) -> str | None:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    notebook = isinstance(doc, dict) and "cells" in doc and "nbformat" in doc
    if notebook and _notebook_has_outputs(doc):
        return "executed notebook (has outputs): run nbstripout on it"
    if isinstance(doc, dict) and set(doc) >= LEDGER_SIGNATURE:
        return "a cleaning ledger (ledger.json)"
    return None


def _cells(line: str) -> list[str]:
    """The cells of one line of delimited text (the most frequent delimiter), trailing
    empty cells dropped; ``[]`` when the line does not split."""
    counts = {d: line.count(d) for d in DELIMITERS}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return []
    try:
        cells = [c.strip() for c in next(csv.reader(io.StringIO(line), delimiter=delim))]
    except (csv.Error, StopIteration):
        return []
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _headers(line: str) -> list[str]:
    """The normalised column names of a header line, or ``[]`` when the line does not
    look like one (an empty cell, a long one, or code or markup characters)."""
    cells = _cells(line)
    if any(not c or len(c) > 40 or HEADER_NOISE.search(c) for c in cells):
        return []
    return [normalise_header(c) for c in cells]


def _tabular_kind(text: str) -> str | None:
    """A quarantine header, or a header naming an identifying column followed by a row
    with as many fields (so prose and source code that happen to hold commas pass)."""
    lines = [ln for ln in text.lstrip("\ufeff").splitlines()[:50] if ln.strip()][:6]
    for i, line in enumerate(lines[:5]):
        headers = _headers(line)
        if len(headers) < 2:
            continue
        if set(headers) >= QUARANTINE_SIGNATURE:
            return "a quarantine (quarantine.csv)"
        named = sorted(set(headers) & IDENTIFYING_HEADERS)
        if named and i + 1 < len(lines) and len(_cells(lines[i + 1])) == len(headers):
            return f"tabular text with identifying column(s): {', '.join(named[:4])}"
    return None


def _key_kind(text: str, size: int) -> str | None:
    first = text.lstrip("\ufeff").lstrip().split("\n", 1)[0].strip()
    if first.startswith(KEY_FILE_HEADER):
        return "a pseudonymisation key (written by keygen)"
    if re.search(r"(?m)^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\s*$", text):
        return "a private key"
    token = text.strip()
    lone = size <= 1024 and len(token) >= 32 and not re.search(r"\s", token)
    if lone and key_weakness(token.encode("utf-8", errors="replace")) is None:
        return "a lone high-entropy token (a key or secret?)"
    return None


def _html_kind(text: str) -> str | None:
    start = text.lstrip("\ufeff").lstrip()[:20].lower()
    if not (start.startswith("<!doctype html") or start.startswith("<html")):
        return None
    if RENDERED_PAGE_META in text:
        return "a rendered report page (the renderer's marker)"
    if 'class="jp-Notebook' in text or "jp-Cell" in text:
        return "a notebook exported to HTML"
    return None


def content_reason(file: Path) -> str | None:
    """Why the content of ``file`` may not be committed, or ``None``."""
    size = file.stat().st_size
    with open(file, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        if size > HEAD_BYTES:
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
        else:
            tail = head[-4:]
    kind = _binary_kind(head, tail)
    if kind:
        return kind
    text = _text(head)
    for check in (_html_kind, _tabular_kind):
        kind = check(text)
        if kind:
            return kind
    kind = _key_kind(text, size)
    if kind:
        return kind
    if text.lstrip("\ufeff").lstrip().startswith("{"):
        whole = head if size <= HEAD_BYTES else file.read_bytes()
        return _json_kind(_text(whole))
    return None


def path_reason(path: str) -> str | None:
    """Why a file at ``path`` (relative, ``/``) may not be committed, whatever it holds."""
    p = PurePosixPath(path)
    low = p.as_posix().lower()
    name = p.name.lower()
    if low.startswith("data/") and not path.startswith(EXTERNAL) and name not in KEEP_NAMES:
        return "under data/ (raw, interim and processed data never enter git)"
    if low.startswith("reports/") and name not in KEEP_NAMES:
        return "under reports/ (reports are built by the pipeline, never committed)"
    if name in DATA_NAMES:
        return f"named {p.name} (a cleaning output)"
    suffixes = [s.lower() for s in p.suffixes]
    for n in (2, 1):
        suffix = "".join(suffixes[-n:])
        if len(suffixes) >= n and suffix in SUFFIXES:
            return f"a {suffix} file (data, archive or key)"
    return None


def reason(path: str, root: Path, allowlist: dict[str, str] | None = None) -> str | None:
    """Why ``path`` (relative to ``root``) may not be committed, or ``None``."""
    path = path.replace("\\", "/")
    file = root / path
    if file.is_symlink():
        return "a symlink (it can point at data outside the repository)"
    if not file.exists():
        return path_reason(path)
    if not file.is_file():
        return "not a regular file"
    allowed = load_allowlist(root) if allowlist is None else allowlist
    if path in allowed:
        if sha256(file.read_bytes()) == allowed[path]:
            return None
        changed = content_reason(file) or path_reason(path)
        return (
            f"{changed} (listed in {ALLOWLIST}, but its content changed: list it again "
            "with --allow if the change is intended)"
            if changed
            else None
        )
    if path.startswith(EXTERNAL):
        return None
    return path_reason(path) or content_reason(file)


def violations(paths: list[str], root: Path) -> list[str]:
    """One line per refused path: ``path: reason``."""
    allowlist = load_allowlist(root)
    out = []
    for path in paths:
        why = reason(path, root, allowlist)
        if why:
            out.append(f"{path}: {why}")
    return out


def _git(root: Path, *args: str) -> list[str]:
    res = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    return [os.fsdecode(p) for p in res.stdout.split(b"\0") if p]


def allow(paths: list[str], root: Path) -> int:
    """Add (or refresh) ``paths`` in the allowlist with their current SHA-256."""
    allowed = load_allowlist(root)
    for path in paths:
        rel = _relative(path, root)
        file = root / rel
        if file.is_symlink() or not file.is_file():
            print(
                f"refused: {rel}: not a regular file (symlinks are never allowed)", file=sys.stderr
            )
            return 1
        allowed[rel] = sha256(file.read_bytes())
    lines = [f"{allowed[p]}  {p}\n" for p in sorted(allowed)]
    header = (
        "# Files the pre-commit guard (scripts/guard_no_data.py) lets into git although their\n"
        "# content looks like data: the project's test fixtures (invented), screenshots of the\n"
        "# synthetic reports, any template or vendored asset that needs it. sha256sum format;\n"
        "# add with `python scripts/guard_no_data.py --allow FILE`.\n"
    )
    (root / ALLOWLIST).write_text(header + "".join(lines), "utf-8")
    return 0


def _relative(arg: str, root: Path) -> str:
    p = Path(arg)
    if p.is_absolute():
        with contextlib.suppress(ValueError):
            p = Path(os.path.abspath(p)).relative_to(root)
    return p.as_posix()


def main(argv: list[str] | None = None) -> int:
    """Check the given (or staged, or all tracked) files; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    root = ROOT
    if args[:1] == ["--allow"]:
        return allow(args[1:], root)
    if args[:1] == ["--all"]:
        names = _git(root, "ls-files", "-z")
    elif args:
        names = [_relative(a, root) for a in args]
    else:
        names = _git(root, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMRT")
    bad = violations(names, root)
    for line in bad:
        print(f"refused: {line}", file=sys.stderr)
    if bad:
        print(
            "guard_no_data: real data, keys, ledgers, quarantines, reports, executed notebooks "
            "and symlinks never enter git (docs/data-protection.md).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
