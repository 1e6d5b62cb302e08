"""Fixtures of the serving tests: an Application over a temporary data directory, users of
every role, and in-process clients of the console and the whole BentoML service."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from serving import application as application_module
from serving.application import Application, users_path
from serving.auth import Role, UserRegistry
from serving.config import ServingSettings


@pytest.fixture
def application(tmp_path: Path) -> Application:
    serving = ServingSettings()
    data_dir = tmp_path / "data"
    return Application(
        serving=serving, data_dir=data_dir, users=UserRegistry(users_path(serving, data_dir))
    )


@pytest.fixture
def tokens(application: Application) -> dict[Role, str]:
    """One user per role: ann the inspector, pat the planner, mo the model owner..."""
    names = {
        Role.INSPECTOR: "ann",
        Role.PLANNER: "pat",
        Role.MODEL_OWNER: "mo",
        Role.AUDITOR: "aud",
        Role.SYSTEM: "his",
    }
    return {role: application.users.add(name, role) for role, name in names.items()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def console_client(application: Application) -> Iterator[TestClient]:
    from serving.console import create_console

    with TestClient(create_console(lambda: application)) as client:
        yield client


@functools.cache
def service_asgi() -> Any:
    """The service's ASGI app, built once per process (BentoML registers its metrics once)."""
    from serving.service import FundGuard

    return FundGuard.to_asgi()


@pytest.fixture
def service_client(
    application: Application, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The whole BentoML service in-process, over the test's Application."""
    monkeypatch.setattr(application_module, "_current", application)
    with TestClient(service_asgi()) as client:
        yield client
