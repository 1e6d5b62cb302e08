"""The model owner's pages over a real registry (slow: trains a small model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from serving.application import Application
from serving.auth import Role

from .conftest import bearer

pytestmark = pytest.mark.slow


@pytest.fixture
def model_console(champion_application: Application) -> Iterator[TestClient]:
    from serving.console import create_console

    with TestClient(create_console(lambda: champion_application)) as client:
        yield client


def test_the_model_owner_sees_versions_metrics_and_plots_of_the_champion(
    model_console: TestClient, registry_world: Any, tokens: dict[Role, str]
) -> None:
    headers = bearer(tokens[Role.MODEL_OWNER])

    body = model_console.get("/api/models", headers=headers).json()

    assert [v["version"] for v in body["versions"]] == [registry_world.version]
    champion = body["compare"]["champion"]
    assert champion["version"] == registry_world.version
    assert body["compare"]["metrics"], "held-out metrics are listed side by side"
    assert champion["plots"], "the held-out report's plots are listed"
    plot = model_console.get(
        f"/models/{champion['version']}/plots/{champion['plots'][0]}", headers=headers
    )
    assert plot.status_code == 200
    assert plot.content[:8] == b"\x89PNG\r\n\x1a\n"
    page = model_console.get("/models", headers=headers)
    assert page.status_code == 200
    assert f"version {registry_world.version}" in page.text


def test_a_plot_name_outside_the_runs_plots_is_refused(
    model_console: TestClient, registry_world: Any, tokens: dict[Role, str]
) -> None:
    response = model_console.get(
        f"/models/{registry_world.version}/plots/../../mlflow.db",
        headers=bearer(tokens[Role.MODEL_OWNER]),
    )

    assert response.status_code in (400, 404)


def test_promoting_the_champion_again_keeps_it_and_tags_who_asked(
    model_console: TestClient,
    champion_application: Application,
    registry_world: Any,
    tokens: dict[Role, str],
) -> None:
    response = model_console.post(
        f"/api/models/{registry_world.version}/promote", headers=bearer(tokens[Role.MODEL_OWNER])
    )

    assert response.status_code == 200, response.text
    assert response.json()["promoted"] is True
    record = model_console.get(
        f"/api/models/{registry_world.version}", headers=bearer(tokens[Role.AUDITOR])
    ).json()
    assert record["tags"]["promotion_requested_by"].startswith("mo (model_owner)")
