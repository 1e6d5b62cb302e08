"""Intake commands: ``validate`` a dataset directory."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the intake commands to the app."""
