"""The serving-side application layer: what the endpoints and pages call.

One ``Application`` per worker holds the users, the champion scorer and the supervision
store, and offers the console's operations as plain methods (no HTTP in here). The
BentoML service and the console are thin shells over it; tests build one directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving.auth import UserRegistry
from serving.config import ServingSettings
from serving.schemas import CheckResult, SettlementIn
from settlements.errors import InputError


@dataclass
class Application:
    """Users, scoring and supervision of one data directory."""

    serving: ServingSettings
    data_dir: Path
    users: UserRegistry
    components: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ready(self) -> bool:
        return True

    def check(self, items: list[SettlementIn]) -> list[CheckResult]:
        """Score settlements with the champion: per-pattern scores, flags, recommendation."""
        raise InputError("no scorer is wired into the service yet")


def users_path(serving: ServingSettings, data_dir: Path) -> Path:
    """The users file of a data directory (``ServingSettings.users_file``)."""
    path = Path(serving.users_file)
    return path if path.is_absolute() else data_dir / path


_current: Application | None = None
_current_lock = threading.Lock()


def current_application() -> Application:
    """The worker's Application, built on first use from the environment's settings.

    This is the service's entry point into configuration: it loads ``Settings`` (env
    ``FUNDGUARD_*`` and ``FUNDGUARD_CONFIG``) once per process.
    """
    global _current
    with _current_lock:
        if _current is None:
            from fundguard.settings import load_settings

            _current = build_application(load_settings())
        return _current


def reset_current_application() -> None:
    """Forget the worker's Application (tests that change the environment)."""
    global _current
    with _current_lock:
        _current = None


def build_application(settings: Any) -> Application:
    """An Application over the data directory, store and champion model of ``settings``."""
    serving: ServingSettings = settings.serving
    data_dir = Path(settings.data_dir)
    return Application(
        serving=serving,
        data_dir=data_dir,
        users=UserRegistry(users_path(serving, data_dir)),
    )
