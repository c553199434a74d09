"""What keeps real data out of reach, defined once (``docs/data-protection.md``).

* **The generator's marker** (``_truth/generator.json`` in a raw folder): the synthesiser
  writes it last, with its seed, its scale and the SHA-256 of every file it wrote. A raw
  folder *carries the marker* only when the marker names exactly the files in the folder
  and every checksum matches (:func:`check_generator_marker`): real returns cannot carry it
  by accident, and a synthetic folder that was edited, or had a file added, no longer does.
  Only such a folder is pseudonymised with the key derived from the public seed.
* **The rendered-page marker** (:data:`RENDERED_PAGE_META`): every page the renderer writes
  carries it in its ``<head>``, so the pre-commit guard recognises a report whatever its name.
* **The key file's first line** (:data:`KEY_FILE_HEADER`), written by ``keygen``, and
  :func:`key_weakness`, the test of a key's strength shared by the cleaner and the guard.
* **Identifying column names** (:data:`IDENTIFYING_HEADERS`): headers of tabular text the
  guard refuses to let into git.

Pure standard library (the pre-commit guard imports it before the environment is built).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from analysis.core.catalog import GENERATOR_MARKER
from analysis.core.labels import ASSESSMENT_COLUMNS, EXTRACT_COLUMNS

# ------------------------------------------------------------------ markers the guard reads
RENDERED_PAGE_META = '<meta name="generator" content="hubspoke-rendered-page">'
"""Written into the ``<head>`` of every page the renderer makes (reports, the index, the
quality-assurance pages, the national report)."""

KEY_FILE_HEADER = "# hubspoke pseudonymisation key"
"""First line of a key file written by ``python -m analysis keygen`` (the key is the next
line); the guard refuses any file that starts with it."""

_IDENTIFYING = ("case_id", "name", "date_of_birth", "postcode", "notes")
IDENTIFYING_HEADERS: frozenset[str] = frozenset(
    {v for v, c in EXTRACT_COLUMNS.items() if c in _IDENTIFYING}
    | {v for v, c in ASSESSMENT_COLUMNS.items() if c == "case_id"}
    | {
        "person_key", "person_id", "child_id", "child_name", "young_person_id",
        "young_person", "yp_name", "client", "client_name", "case_ref", "case_reference",
        "case_number", "first_name", "forename", "forenames", "given_name", "surname",
        "last_name", "family_name", "initials", "birth_date", "date_of_birth_dob",
        "address", "address_line_1", "street", "nhs_number", "nhs_no", "upn",
        "unique_pupil_number", "email", "email_address", "phone", "telephone", "mobile",
        "school", "school_name", "placement", "case_notes", "free_text",
    }
)  # fmt: skip
"""Normalised column headers that identify a young person (the data contract's variants of
the case ID, name, date of birth, postcode and notes, and common others)."""

QUARANTINE_SIGNATURE: frozenset[str] = frozenset({"file", "row", "column", "reason"})
"""Columns every quarantine file has (``clean.ledger.QUARANTINE_COLUMNS`` holds them)."""

LEDGER_SIGNATURE: frozenset[str] = frozenset({"totals", "files", "rejected"})
"""Keys every ledger (``ledger.json``) has."""


def normalise_header(text: str) -> str:
    """A column header as the data contract normalises it: lower case, every run of other
    characters one ``_``, trimmed (``D.O.B.`` -> ``d_o_b``, ``Client ID`` -> ``client_id``)."""
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "").casefold()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


# ------------------------------------------------------------------ keys
MIN_KEY_BYTES = 32
"""Shortest key accepted (bytes)."""

MIN_KEY_DISTINCT = 10
"""Fewest distinct byte values a key may have (a hex key has up to 16)."""

MIN_KEY_ENTROPY_BITS = 128.0
"""Least estimated entropy (bytes x empirical bits per byte) a key may have."""


def key_weakness(key: bytes) -> str | None:
    """Why ``key`` is obviously weak, or ``None``: shorter than 32 bytes, few distinct byte
    values, a repeated pattern (a period), a run (bytes that mostly step by one constant), or too
    little entropy for its length. Never quotes the key."""
    n = len(key)
    if n < MIN_KEY_BYTES:
        return f"it is {n} bytes long: use at least {MIN_KEY_BYTES}"
    distinct = len(set(key))
    if distinct < MIN_KEY_DISTINCT:
        return f"it uses only {distinct} distinct byte values"
    for period in range(1, n // 2 + 1):
        if all(key[i] == key[i + period] for i in range(n - period)):
            return f"it repeats a pattern of {period} bytes"
    steps = Counter((key[i + 1] - key[i]) % 256 for i in range(n - 1))
    if steps.most_common(1)[0][1] > (n - 1) / 2:
        return "most of its bytes follow a run (each the same step from the last)"
    counts = Counter(key)
    bits = -sum(c / n * math.log2(c / n) for c in counts.values()) * n
    if bits < MIN_KEY_ENTROPY_BITS:
        return f"it carries about {bits:.0f} bits of entropy: at least {MIN_KEY_ENTROPY_BITS:.0f}"
    return None


# ------------------------------------------------------------------ the generator's marker
@dataclass(frozen=True)
class GeneratorMarker:
    """A raw folder's intact generator marker: the seed and scale it was generated with."""

    seed: int
    scale: float
    files: int


@dataclass(frozen=True)
class MarkerCheck:
    """The result of :func:`check_generator_marker`: the marker, or why there is none."""

    marker: GeneratorMarker | None
    reason: str

    @property
    def synthetic(self) -> bool:
        """True when the folder carries the generator's marker intact."""
        return self.marker is not None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_files(folder: Path) -> tuple[list[str], list[str]]:
    """(files, symlinks) under ``folder``, relative with ``/``, sorted; symlinks are never
    followed (a linked folder is listed as one symlink, not walked)."""
    files, links = [], []
    for here, dirs, names in os.walk(folder, followlinks=False):
        base = Path(here)
        for name in list(dirs):
            if (base / name).is_symlink():
                links.append((base / name).relative_to(folder).as_posix())
                dirs.remove(name)
        for name in names:
            rel = (base / name).relative_to(folder).as_posix()
            (links if (base / name).is_symlink() else files).append(rel)
    return sorted(files), sorted(links)


def _checksum(seed: int, scale: float, digests: dict[str, str]) -> str:
    """One SHA-256 over the seed, the scale and every file's SHA-256 (``sha256sum`` lines)."""
    lines = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(digests.items()))
    return hashlib.sha256(f"seed {seed}\nscale {scale!r}\n{lines}".encode()).hexdigest()


def write_generator_marker(
    folder: Path, *, seed: int, scale: float, owned: tuple[str, ...] | None = None
) -> Path:
    """Write ``_truth/generator.json`` into ``folder`` (after every other file): the seed,
    the scale and the SHA-256 of every file the generator wrote (those under the top-level
    names ``owned``; every file when ``None``), with one checksum over all of them. A file it
    did not write stays unlisted, so the folder does not carry the marker."""
    folder = Path(folder)
    files, links = folder_files(folder)
    if links:
        raise ValueError(f"{folder} holds symlinks ({', '.join(links[:3])}): not generated")
    mine = [
        rel
        for rel in files
        if rel != GENERATOR_MARKER and (owned is None or rel.split("/", 1)[0] in owned)
    ]
    digests = {rel: _sha256(folder / rel) for rel in mine}
    doc = {
        "generator": "analysis.synthesise",
        "seed": int(seed),
        "scale": float(scale),
        "files": digests,
        "checksum": _checksum(int(seed), float(scale), digests),
    }
    path = folder / GENERATOR_MARKER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def check_generator_marker(folder: Path) -> MarkerCheck:
    """Whether ``folder`` carries the generator's marker intact, and if not, why.

    Intact means: the marker is a JSON file of the generator, its checksum matches its list
    of files, the folder holds exactly those files (and no symlink), and every file's
    SHA-256 matches. Reads every file once; parses none.
    """
    folder = Path(folder)
    path = folder / GENERATOR_MARKER
    if path.is_symlink() or not path.is_file():
        return MarkerCheck(None, f"it has no generator's marker ({GENERATOR_MARKER})")
    try:
        doc = json.loads(path.read_text("utf-8"))
        digests = {str(k): str(v) for k, v in doc["files"].items()}
        seed, scale, checksum = int(doc["seed"]), float(doc["scale"]), str(doc["checksum"])
        ok = doc.get("generator") == "analysis.synthesise"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return MarkerCheck(None, f"its {GENERATOR_MARKER} is not a generator's marker")
    if not ok or checksum != _checksum(seed, scale, digests):
        return MarkerCheck(None, f"its {GENERATOR_MARKER} does not match its own checksum")
    files, links = folder_files(folder)
    if links:
        return MarkerCheck(None, f"it holds a symlink ({links[0]})")
    present = set(files) - {GENERATOR_MARKER}
    extra = sorted(present - set(digests))
    if extra:
        return MarkerCheck(None, f"{extra[0]} was not written by the generator")
    gone = sorted(set(digests) - present)
    if gone:
        return MarkerCheck(None, f"{gone[0]}, written by the generator, is missing")
    for rel in sorted(digests):
        if _sha256(folder / rel) != digests[rel]:
            return MarkerCheck(None, f"{rel} changed after it was generated")
    return MarkerCheck(GeneratorMarker(seed, scale, len(digests)), "it carries the marker")
