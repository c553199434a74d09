"""Pseudonymisation: keyed hashes for service-side IDs, ages instead of birth dates, months.

* ``person_key`` = HMAC-SHA256(key, ``service_id`` + ``"|"`` + service-side ID), hex, cut to
  20 characters (80 bits: no collisions at programme scale, short enough to read).
* On synthetic data the key derives from the seed, so outputs are deterministic. On real
  data the key comes from the environment variable ``HUBSPOKE_PSEUDONYM_KEY`` or from the
  file named by ``HUBSPOKE_KEY_FILE`` (kept outside the repository); without one the step
  stops with :class:`MissingKeyError`.
* Dates of birth become a whole-year age at referral; event dates are cut to the month.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import date
from pathlib import Path

KEY_ENV = "HUBSPOKE_PSEUDONYM_KEY"
KEY_FILE_ENV = "HUBSPOKE_KEY_FILE"
KEY_LENGTH_HEX = 20


class MissingKeyError(RuntimeError):
    """Real-data mode without a pseudonymisation key."""


def synthetic_key(seed: int) -> bytes:
    """The HMAC key used on synthetic data: a hash of the generator's seed."""
    return hashlib.sha256(f"hubspoke-synthetic-key:{seed}".encode()).digest()


def real_key(environ: dict[str, str] | None = None) -> bytes:
    """The HMAC key for real data, from ``HUBSPOKE_PSEUDONYM_KEY`` or ``HUBSPOKE_KEY_FILE``.

    Raises :class:`MissingKeyError` with a message saying how to supply one.
    """
    env = os.environ if environ is None else environ
    value = env.get(KEY_ENV, "").strip()
    if value:
        if len(value) < 16:
            raise MissingKeyError(f"{KEY_ENV} is too short: use at least 16 characters")
        return value.encode("utf-8")
    key_file = env.get(KEY_FILE_ENV, "").strip()
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise MissingKeyError(f"{KEY_FILE_ENV} names {path}, which is not a readable file")
        data = path.read_bytes().strip()
        if len(data) < 16:
            raise MissingKeyError(f"the key file {path} is too short: use at least 16 bytes")
        return data
    raise MissingKeyError(
        "real-data mode needs a pseudonymisation key: set HUBSPOKE_PSEUDONYM_KEY, or set "
        "HUBSPOKE_KEY_FILE to a file outside the repository holding the key"
    )


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
