"""Shared fixtures: every test runs with its own data directory and no ambient settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No FUNDGUARD_* variable of the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("FUNDGUARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FUNDGUARD_DATA_DIR", str(tmp_path / "data"))
    yield
