"""Intake commands: ``validate`` a dataset directory."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from fundguard.console import console, fail, summary, track


def register(app: typer.Typer) -> None:
    """Add the intake commands to the app."""
    app.command("validate")(validate)


def validate(
    directory: Path = typer.Argument(
        ..., help="Dataset directory: one .parquet or .csv file per contract table."
    ),
    quarantine: Path | None = typer.Option(
        None,
        "--quarantine",
        help="Where quarantine files go (default: <data_dir>/quarantine/<directory name>).",
    ),
) -> None:
    """Validate a dataset directory: per table read = accepted + quarantined.

    Exit 0 when the data are usable, 1 when they are not (too many rows quarantined or a
    required table with none accepted), 2 when a file cannot be read at all.
    """
    from fundguard.cli import settings as load
    from settlements.intake import read_dataset

    settings = load()
    key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else None
    result = read_dataset(directory, settings.intake, key, track)
    out = quarantine or settings.data_dir / "quarantine" / directory.resolve().name
    result.write_quarantine(out)

    table = Table(title=f"Intake of {directory}", title_justify="left")
    table.add_column("table")
    for name in ("read", "accepted", "quarantined"):
        table.add_column(name, justify="right")
    table.add_column("top reasons")
    for name, r in result.reconciliation.items():
        reasons = "; ".join(f"{reason} ({n:,})" for reason, n in list(r.reasons.items())[:3])
        table.add_row(name, f"{r.read:,}", f"{r.accepted:,}", f"{r.quarantined:,}", reasons)
    console.print(table)
    summary(
        "Summary",
        {
            "usable": "yes" if result.usable else "no",
            "quarantined rows": f"{sum(r.quarantined for r in result.reconciliation.values()):,}",
            "invalid resident ID numbers (kept)": f"{result.invalid_certno:,}",
            "quarantine files": str(out),
        },
    )
    if not result.usable:
        raise fail("data not usable: " + "; ".join(result.problems), code=1)
