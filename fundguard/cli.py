"""The ``fundguard`` command line: one Typer app, command groups registered per area."""

from __future__ import annotations

import importlib
from functools import lru_cache

import typer

from fundguard.console import err_console
from fundguard.logs import configure_logging
from fundguard.settings import ConfigError, Settings, load_settings
from settlements.errors import InputError

COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "world",
    "intake",
    "importers",
    "features",
    "models",
    "supervision",
    "serving",
    "spark",
)
"""Modules of ``fundguard.commands`` whose ``register(app)`` adds their commands."""


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this invocation, loaded on first use by a command."""
    return load_settings()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="fundguard",
        help="Medical-insurance fraud scoring, verification and credit ledger.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )

    @app.callback()
    def _root(
        log_level: str = typer.Option(
            "WARNING", "--log-level", envvar="FUNDGUARD_LOG_LEVEL", help="DEBUG, INFO, WARNING"
        ),
    ) -> None:
        configure_logging(log_level)

    for name in COMMAND_MODULES:
        importlib.import_module(f"fundguard.commands.{name}").register(app)
    return app


def main() -> None:
    """Console-script entry point: user errors are one line and exit code 2."""
    app = build_app()
    try:
        app()
    except (InputError, ConfigError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise SystemExit(2) from None
