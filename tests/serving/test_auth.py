from __future__ import annotations

from pathlib import Path

import pytest

from serving.auth import GRANTS, Permission, Role, User, UserRegistry, bearer_token
from settlements.errors import InputError


def test_a_new_token_authenticates_its_user_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    registry = UserRegistry(tmp_path / "users.json")

    token = registry.add("ann", "inspector")

    assert registry.authenticate(token) == User("ann", Role.INSPECTOR)
    assert token not in (tmp_path / "users.json").read_text()
    assert registry.authenticate("not-a-token") is None
    assert registry.authenticate(None) is None


def test_reissuing_a_user_replaces_its_old_token(tmp_path: Path) -> None:
    registry = UserRegistry(tmp_path / "users.json")
    old = registry.add("ann", "inspector")

    new = registry.add("ann", "auditor")

    assert registry.authenticate(old) is None
    assert registry.authenticate(new) == User("ann", Role.AUDITOR)


def test_a_revoked_user_no_longer_authenticates(tmp_path: Path) -> None:
    registry = UserRegistry(tmp_path / "users.json")
    token = registry.add("ann", "inspector")

    registry.revoke("ann")

    assert registry.authenticate(token) is None
    assert [(u.name, active) for u, active, _ in registry.users()] == [("ann", False)]


def test_an_unknown_role_is_a_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown role 'boss'"):
        UserRegistry(tmp_path / "users.json").add("ann", "boss")


def test_each_write_belongs_to_exactly_one_role() -> None:
    for write in (Permission.DECIDE, Permission.WRITE_PLANS, Permission.PROMOTE):
        holders = [role for role, grants in GRANTS.items() if write in grants]
        assert len(holders) == 1, write


def test_an_inspector_cannot_promote_and_an_auditor_writes_nothing() -> None:
    inspector, auditor = User("ann", Role.INSPECTOR), User("aud", Role.AUDITOR)

    assert not inspector.can(Permission.PROMOTE)
    assert inspector.can(Permission.DECIDE)
    assert not any(
        auditor.can(p) for p in (Permission.DECIDE, Permission.WRITE_PLANS, Permission.PROMOTE)
    )
    assert auditor.can(Permission.READ_AUDIT)


def test_the_bearer_header_wins_over_the_console_cookie() -> None:
    assert bearer_token("Bearer abc", "cookie") == "abc"
    assert bearer_token(None, "cookie") == "cookie"
    assert bearer_token("Basic abc", None) is None
