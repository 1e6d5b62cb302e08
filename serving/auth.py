"""Who may do what: users with API tokens, their roles, and the permissions each role holds.

A user is a name, a role and a secret token; only the token's SHA-256 is stored, in a small
JSON file under the data directory (``ServingSettings.users_file``). The same token
authenticates API calls (``Authorization: Bearer <token>``) and the console (an HTTP-only
cookie set at login). Every write the service makes names the user as its actor.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from settlements.errors import InputError


class Role(StrEnum):
    """The roles of a bureau's staff (and the settlement system that calls /check)."""

    INSPECTOR = "inspector"
    """Works the lead queue: opens cases, reads evidence, decides."""
    PLANNER = "planner"
    """Reads grades and credit archives, generates sampling plans."""
    MODEL_OWNER = "model_owner"
    """Reads model versions and their evaluation, promotes a challenger."""
    AUDITOR = "auditor"
    """Reads everything, including the audit log; writes nothing."""
    SYSTEM = "system"
    """The settlement platform: calls /check and /score, nothing else."""


class Permission(StrEnum):
    """What an endpoint needs."""

    SCORE = "score"
    READ_LEADS = "read_leads"
    DECIDE = "decide"
    READ_ARCHIVE = "read_archive"
    READ_GRADES = "read_grades"
    WRITE_PLANS = "write_plans"
    READ_MODELS = "read_models"
    PROMOTE = "promote"
    READ_AUDIT = "read_audit"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.INSPECTOR: frozenset(
        {Permission.SCORE, Permission.READ_LEADS, Permission.DECIDE, Permission.READ_ARCHIVE}
    ),
    Role.PLANNER: frozenset(
        {Permission.READ_GRADES, Permission.READ_ARCHIVE, Permission.WRITE_PLANS}
    ),
    Role.MODEL_OWNER: frozenset({Permission.SCORE, Permission.READ_MODELS, Permission.PROMOTE}),
    Role.AUDITOR: frozenset(
        {
            Permission.READ_LEADS,
            Permission.READ_ARCHIVE,
            Permission.READ_GRADES,
            Permission.READ_MODELS,
            Permission.READ_AUDIT,
        }
    ),
    Role.SYSTEM: frozenset({Permission.SCORE}),
}
"""The permissions of each role; writes (decide, plans, promote) belong to one role each."""


@dataclass(frozen=True)
class User:
    """An authenticated caller."""

    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    @property
    def actor(self) -> str:
        """How the user is named in every record it writes."""
        return f"{self.name} ({self.role.value})"


@dataclass(frozen=True)
class _Entry:
    name: str
    role: str
    token_sha256: str
    created_at: str
    active: bool = True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserRegistry:
    """The users of one data directory, kept in a JSON file (tokens hashed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_digest: dict[str, User] = {}
        self._mtime: float | None = None

    def add(self, name: str, role: Role | str) -> str:
        """Create (or re-issue) the user ``name`` with ``role``; return its new token."""
        name = name.strip()
        if not name or len(name) > 64 or any(c in name for c in "\n\r\t"):
            raise InputError("a user name must be 1-64 characters on one line")
        try:
            role = Role(role)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise InputError(f"unknown role {role!r}: use one of {roles}") from None
        token = secrets.token_urlsafe(24)
        entries = [e for e in self._read() if e.name != name]
        created = datetime.now(UTC).isoformat(timespec="seconds")
        entries.append(_Entry(name, role.value, _digest(token), created))
        self._write(entries)
        return token

    def revoke(self, name: str) -> None:
        """Deactivate ``name``: its token no longer authenticates."""
        entries = self._read()
        if not any(e.name == name for e in entries):
            raise InputError(f"no user named {name!r}: see `fundguard users list`")
        self._write(
            [_Entry(**{**asdict(e), "active": False}) if e.name == name else e for e in entries]
        )

    def users(self) -> list[tuple[User, bool, str]]:
        """Every user with whether it is active and when it was created."""
        return [(User(e.name, Role(e.role)), e.active, e.created_at) for e in self._read()]

    def authenticate(self, token: str | None) -> User | None:
        """The active user whose token this is, else ``None``."""
        if not token:
            return None
        with self._lock:
            mtime = self.path.stat().st_mtime if self.path.exists() else None
            if mtime != self._mtime:
                self._by_digest = {
                    e.token_sha256: User(e.name, Role(e.role)) for e in self._read() if e.active
                }
                self._mtime = mtime
            return self._by_digest.get(_digest(token))

    def _read(self) -> list[_Entry]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [_Entry(**item) for item in raw["users"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"{self.path} is not a users file ({exc}); remove it and re-add users"
            ) from None

    def _write(self, entries: list[_Entry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"users": [asdict(e) for e in entries]}, indent=1), encoding="utf-8"
        )
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)


def bearer_token(authorization: str | None, cookie: str | None) -> str | None:
    """The token of a request: the ``Authorization: Bearer`` header, else the console cookie."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return cookie or None


TOKEN_COOKIE = "fundguard_token"
