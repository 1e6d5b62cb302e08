"""Errors of the supervision services; all are ``InputError`` so the CLI prints one line."""

from __future__ import annotations

from settlements.errors import InputError


class NotFoundError(InputError):
    """The case, subject, record or plan named does not exist."""


class ConflictError(InputError):
    """Someone else changed the same thing first; reload it and decide again."""


class RuleError(InputError):
    """The action breaks a rule of the workflow or ledger (wrong state, missed deadline)."""
