"""Errors a user can act on (a bad path, a missing key ...): printed as one line by the CLI."""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix: ``python -m analysis`` prints it as one line and exits 2."""
