"""Pseudonymisation: keyed hashes for service-side IDs, ages instead of birth dates, months.

* ``person_key`` = HMAC-SHA256(key, ``service_id`` + ``"|"`` + service-side ID), hex, cut to
  20 characters (80 bits: no collisions at programme scale, short enough to read).
* Which key (:func:`key_for_returns`) depends on the data, never on ``params.yaml``: a raw
  folder that carries the generator's marker intact (:mod:`analysis.core.privacy`) is
  synthetic, and its key derives from the generator's seed, so outputs are deterministic
  and the same on every machine. Any other folder is real data and needs a real key: the
  file named by ``HUBSPOKE_KEY_FILE`` (:func:`load_key`), kept outside the repository (after
  resolving symlinks), not a file of the project (nor a hard link to or a copy of one),
  not readable by every user, and not obviously weak (:func:`analysis.core.privacy.key_weakness`).
  ``python -m analysis keygen PATH`` writes a good one (:func:`write_key_file`). Without
  one the step stops with :class:`MissingKeyError`; a key in the environment
  (``HUBSPOKE_PSEUDONYM_KEY``) is refused, since every process inherits it.
* The key never appears in an output, a message or a log.
* Dates of birth become a whole-year age at referral; event dates are cut to the month.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import subprocess
from datetime import date
from pathlib import Path

from analysis.core import paths
from analysis.core.errors import UserError
from analysis.core.privacy import KEY_FILE_HEADER, check_generator_marker, key_weakness

KEY_ENV = "HUBSPOKE_PSEUDONYM_KEY"
"""No longer read: a key in the environment is refused (see :func:`real_key`)."""
KEY_FILE_ENV = "HUBSPOKE_KEY_FILE"
KEY_LENGTH_HEX = 20
MAX_KEY_FILE_BYTES = 4096
"""A key file larger than this is not a key file (the wrong file was named)."""

HOW_TO_GET_A_KEY = (
    f"create one outside the repository with `python -m analysis keygen PATH` (for example "
    f"/secure/hubspoke.key) and set {KEY_FILE_ENV} to its path"
)


class MissingKeyError(UserError):
    """Real data without a usable pseudonymisation key."""


class UnsafeKeyError(MissingKeyError):
    """A key that is refused: inside the repository, a project file, weak, or exposed."""


def synthetic_key(seed: int) -> bytes:
    """The HMAC key used on synthetic data: a hash of the generator's seed."""
    return hashlib.sha256(f"hubspoke-synthetic-key:{seed}".encode()).digest()


def parse_key_file(data: bytes) -> bytes:
    """The key in a key file's bytes: the line after :data:`KEY_FILE_HEADER` (``keygen``'s
    format), or else the whole content without surrounding whitespace."""
    lines = data.splitlines()
    if lines and lines[0].strip() == KEY_FILE_HEADER.encode():
        rest = [line.strip() for line in lines[1:] if line.strip()]
        return rest[0] if rest else b""
    return data.strip()


def _project_file_like(data: bytes) -> str | None:
    """A file of the repository with exactly these bytes (``git ls-files``), or ``None``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=paths.REPOSITORY,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout.split(b"\0")
    except (OSError, subprocess.SubprocessError):
        return None
    for name in filter(None, listed):
        file = paths.REPOSITORY / os.fsdecode(name)
        try:
            if file.stat().st_size == len(data) and file.read_bytes() == data:
                return os.fsdecode(name)
        except OSError:
            continue
    return None


def load_key(path: Path | str) -> bytes:
    """The key in the file ``path``, after checking it may be used for real data.

    Refused (:class:`UnsafeKeyError`): a file inside the repository once symlinks are
    resolved, a file with other hard links, a copy of a project file, a file every user
    may read, a file too large to be a key, and a key that :func:`key_weakness` finds
    weak. The message never quotes the key.
    """
    given = Path(path)
    try:
        target = paths.check_outside_repository(given, f"the key file ({KEY_FILE_ENV})")
    except paths.UnsafePathError as exc:
        raise UnsafeKeyError(str(exc)) from exc
    if not target.is_file():
        raise MissingKeyError(f"{KEY_FILE_ENV} names {given}, which is not a readable file")
    info = target.stat()
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise UnsafeKeyError(
            f"the key file {given} holds {info.st_size} bytes: a key file holds one key "
            f"(under {MAX_KEY_FILE_BYTES} bytes); is {KEY_FILE_ENV} naming the right file?"
        )
    if info.st_nlink > 1:
        raise UnsafeKeyError(
            f"the key file {given} has {info.st_nlink} names (hard links): a key file must "
            "be a file of its own, not another file under a second name"
        )
    if os.name == "posix" and info.st_mode & stat.S_IROTH:
        raise UnsafeKeyError(
            f"the key file {given} can be read by every user of this machine: restrict it "
            f"with `chmod 600 {given}`"
        )
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise MissingKeyError(f"the key file {given} cannot be read: {exc.strerror}") from exc
    copied = _project_file_like(data)
    if copied:
        raise UnsafeKeyError(
            f"the key file {given} holds the same bytes as the project's file {copied}: a "
            f"key must be secret; {HOW_TO_GET_A_KEY}"
        )
    key = parse_key_file(data)
    why = key_weakness(key)
    if why:
        raise UnsafeKeyError(f"the key in {given} is too weak ({why}); {HOW_TO_GET_A_KEY}")
    return key


def real_key(environ: dict[str, str] | None = None) -> bytes:
    """The HMAC key for real data: the file named by ``HUBSPOKE_KEY_FILE`` (:func:`load_key`).

    Raises :class:`MissingKeyError` naming ``HUBSPOKE_KEY_FILE`` and ``keygen`` when there
    is none, and :class:`UnsafeKeyError` for a key in ``HUBSPOKE_PSEUDONYM_KEY``.
    """
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV, "").strip():
        raise UnsafeKeyError(
            f"{KEY_ENV} is not read: a key in the environment is inherited by every process "
            f"and can show in process listings and logs; unset it, {HOW_TO_GET_A_KEY}"
        )
    key_file = env.get(KEY_FILE_ENV, "").strip()
    if not key_file:
        raise MissingKeyError(f"real data needs a pseudonymisation key: {HOW_TO_GET_A_KEY}")
    return load_key(key_file)


def key_for_returns(
    raw_dir: Path, *, out_dir: Path | None = None, environ: dict[str, str] | None = None
) -> bytes:
    """The key for the raw folder ``raw_dir``, whatever ``params.yaml`` says.

    The seed-derived key (:func:`synthetic_key`) only when the folder carries the
    generator's marker intact; otherwise the folder is real data: :func:`real_key`, and
    ``out_dir`` (if given) must lie outside the repository. Checked before any data is
    read or written; the messages say why the folder counts as real.
    """
    check = check_generator_marker(Path(raw_dir))
    if check.marker is not None:
        return synthetic_key(check.marker.seed)
    try:
        key = real_key(environ)
    except MissingKeyError as exc:
        raise type(exc)(f"{raw_dir} is treated as real data ({check.reason}): {exc}") from None
    if out_dir is not None:
        paths.check_outside_repository(out_dir, "the output folder for real data")
    return key


def generate_key() -> bytes:
    """A new random key: 32 bytes from the operating system's generator, as 64 hex digits."""
    return secrets.token_hex(32).encode("ascii")


def write_key_file(path: Path | str) -> Path:
    """Write a new key to ``path`` (``python -m analysis keygen``); return the resolved path.

    The file is created readable by its owner only (mode 600), never over an existing file
    or through a symlink, and only outside the repository; missing folders are created
    readable by the owner only. The key itself is never printed.
    """
    target = paths.check_outside_repository(path, "the key file")
    if os.path.lexists(path) or target.exists():
        raise UserError(
            f"{path} already exists: keygen never overwrites a key (a new key changes every "
            "person key; see the README, 'Rotating the key')"
        )
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(KEY_FILE_HEADER.encode() + b"\n" + generate_key() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    load_key(target)  # the checks every reader makes
    return target


def person_key(key: bytes, service_id: str, service_person_id: str) -> str:
    """The pseudonymous key of one young person at one service (hex, 20 characters)."""
    msg = f"{service_id}|{service_person_id.strip()}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:KEY_LENGTH_HEX]


def age_at(dob: date, on: date) -> int:
    """Age in whole years on a date (birthdays on 29 February count from 1 March)."""
    years = on.year - dob.year
    if (on.month, on.day) < (dob.month, dob.day):
        years -= 1
    return years


def to_month(d: date) -> date:
    """The first of the date's month (what the processed tables keep of an event date)."""
    return d.replace(day=1)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start``'s month to ``end``'s month."""
    return (end.year - start.year) * 12 + (end.month - start.month)
