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
from training.config import TrainingSettings


@functools.cache
def example_scorer() -> Any:
    """A small fitted scorer (cold start on the models' example signals), once per process.

    Enough for the guards and request parsing, which never reach the signals."""
    from models.config import ModelSettings
    from models.examples import example_feature_set
    from models.scorer import FraudScorer

    feature_set, _ = example_feature_set(120)
    return FraudScorer(ModelSettings(cold_start_trees=10)).fit(feature_set, None)


@pytest.fixture
def application(tmp_path: Path) -> Application:
    """An Application over a temporary data directory with a small scorer loaded."""
    serving = ServingSettings()
    data_dir = tmp_path / "data"
    app = Application(
        serving=serving,
        data_dir=data_dir,
        users=UserRegistry(users_path(serving, data_dir)),
        training=TrainingSettings(
            tracking_uri=f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}",
            artifact_root=tmp_path / "artifacts",
        ),
    )
    app.use_scorer(example_scorer())
    return app


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


def service_asgi() -> Any:
    """A fresh ASGI app of the service (as ``FundGuard.to_asgi()``), without Prometheus
    metrics, which BentoML can register only once per process; fresh, because the adaptive
    batcher binds to the event loop of the client that first calls /score."""
    from _bentoml_impl.server.app import ServiceAppFactory

    from serving.service import FundGuard

    FundGuard.inject_config()  # type: ignore[attr-defined]
    return ServiceAppFactory(FundGuard, is_main=True, enable_metrics=False)()


@pytest.fixture
def service_client(
    application: Application, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The whole BentoML service in-process, over the test's Application."""
    monkeypatch.setattr(application_module, "_current", application)
    with TestClient(service_asgi()) as client:
        yield client


@pytest.fixture
def casework(application: Application) -> Application:
    """The application with the hand-built world as evidence and its leads opened as cases."""
    from supervision.cases import open_cases
    from supervision.ledger import register_subject
    from supervision.registry import register_inspector

    from .world import small_leads, small_world

    application.use_evidence(small_world())
    register_subject(
        application.store(),
        kind="individual",
        credit_key="pseudonym-of-P1",
        name="张三",
        category="insured",
        local_code="P1",
        legal_rep_id="110105195001010012",
        actor="registry (system)",
    )
    register_subject(
        application.store(),
        kind="institution",
        credit_key="91110105MA01ABCDEB",
        name="第一医院",
        category="hospital",
        local_code="H1",
        legal_rep_name="李四",
        actor="registry (system)",
    )
    for code, name in (("I1", "王五"), ("I2", "赵六")):
        register_inspector(application.store(), code=code, name=name, actor="registry (system)")
    opened = open_cases(application.store(), small_leads(), actor="scoring (system)")
    assert opened.opened == 3
    return application


@pytest.fixture(scope="session")
def registry_world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A synthetic world trained and promoted to @champion in a temporary MLflow (slow).

    Built once per run: pytest-xdist workers share it through a locked directory beside
    their temporary roots (the first builds it, the others read it)."""
    import fcntl
    import pickle

    from .trained import build_registry_world

    root = tmp_path_factory.getbasetemp().parent / "serving-registry"
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = root / "world.pkl"
        if not built.exists():
            world = build_registry_world(root)
            built.write_bytes(pickle.dumps(world))
            return world
        return pickle.loads(built.read_bytes())


@pytest.fixture
def champion_application(application: Application, registry_world: Any) -> Application:
    """The application loading the registry world's @champion, with the world as evidence."""
    from dataclasses import replace

    served = replace(application, training=registry_world.training, _scorer=None)
    served.use_evidence(registry_world.dataset)
    return served


@pytest.fixture
def champion_client(
    champion_application: Application, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The whole service in-process over the champion application."""
    monkeypatch.setattr(application_module, "_current", champion_application)
    with TestClient(service_asgi()) as client:
        yield client
