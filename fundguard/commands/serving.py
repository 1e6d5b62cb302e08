"""Serving commands: ``serve`` the service and console, and manage its ``users``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from fundguard.console import console, fail, summary


def serve_command(host: str, port: int) -> list[str]:
    """The ``bentoml serve`` command line that runs the service."""
    return [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:FundGuard",
        "--host",
        host,
        "--port",
        str(port),
    ]


SERVICE_NAME = "fundguard"
"""The BentoML service's name (``serving.service.FundGuard``), whose config BentoML merges."""


def service_environment(data_dir: str, workers: int = 1) -> dict[str, str]:
    """The environment of the service process: no usage tracking, BentoML home in data_dir,
    and ``workers`` worker processes.

    BentoML fixes a service's workers when its class is defined (``@bentoml.service``), so
    the count reaches it as a BentoML config override (``BENTOML_CONFIG_OVERRIDES``, merged
    over the decorator's), not through ``Settings`` at import time. An override the caller
    already set for the service's workers wins.
    """
    env = dict(os.environ)
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    env.setdefault("BENTOML_HOME", os.path.join(data_dir, "bentoml"))
    env["FUNDGUARD_DATA_DIR"] = data_dir
    overrides = json.loads(env.get("BENTOML_CONFIG_OVERRIDES") or "{}")
    service = overrides.setdefault("services", {}).setdefault(SERVICE_NAME, {})
    service.setdefault("workers", workers)
    env["BENTOML_CONFIG_OVERRIDES"] = json.dumps(overrides)
    return env


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to the app."""
    from fundguard.cli import settings

    @app.command()
    def serve(
        port: int | None = typer.Option(None, "--port", "-p", help="Port; default from settings."),
        host: str | None = typer.Option(None, "--host", help="Address; default 127.0.0.1."),
        evidence: Path | None = typer.Option(
            None,
            "--evidence",
            help="Dataset directory whose settlements make the cases' evidence timelines "
            "(the directory that was scored); default FUNDGUARD_SERVING__EVIDENCE_DIR.",
        ),
    ) -> None:
        """Serve /check, /score and the console (BentoML), with the @champion model."""
        s = settings()
        host = host or s.serving.host
        port = port or s.serving.port
        data_dir = str(s.data_dir.resolve())
        console.print(
            f"fundguard console: http://{host}:{port}/console/  "
            f"(API docs: http://{host}:{port}/ ; log in with a token from "
            "`fundguard users add NAME --role inspector`)"
        )
        env = service_environment(data_dir, s.serving.workers)
        if evidence is not None:
            if not evidence.is_dir():
                raise fail(f"--evidence {evidence} is not a directory of the contract's files")
            env["FUNDGUARD_SERVING__EVIDENCE_DIR"] = str(evidence.resolve())
        command = serve_command(host, port)
        os.execvpe(command[0], command, env)

    users = typer.Typer(help="Users of the service and console, with their roles and tokens.")
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(
        name: str = typer.Argument(..., help="The user's name, as it appears in records."),
        role: str = typer.Option(
            ..., "--role", help="inspector, planner, model_owner, auditor or system."
        ),
    ) -> None:
        """Create a user (or issue a new token to an existing one) and print its token."""
        from serving.application import users_path
        from serving.auth import UserRegistry

        s = settings()
        token = UserRegistry(users_path(s.serving, s.data_dir)).add(name, role)
        typer.echo(token)

    @users.command("list")
    def users_list() -> None:
        """List users with their roles (tokens are never shown again)."""
        from serving.application import users_path
        from serving.auth import UserRegistry

        s = settings()
        rows = UserRegistry(users_path(s.serving, s.data_dir)).users()
        summary(
            "users",
            {
                u.name: f"{u.role.value}{'' if active else ' (revoked)'} since {created}"
                for u, active, created in rows
            },
        )

    @users.command("revoke")
    def users_revoke(name: str = typer.Argument(..., help="The user to revoke.")) -> None:
        """Revoke a user's token."""
        from serving.application import users_path
        from serving.auth import UserRegistry

        s = settings()
        UserRegistry(users_path(s.serving, s.data_dir)).revoke(name)
        console.print(f"revoked {name}")
