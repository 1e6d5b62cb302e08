"""``fundguard generate``: write a synthetic region as a dataset directory."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from fundguard.console import summary, track


def register(app: typer.Typer) -> None:
    """Add the ``generate`` command to the app."""

    @app.command("generate")
    def generate(
        out: Path = typer.Option(..., "--out", help="Directory to write the dataset into."),
        persons: int = typer.Option(
            4_000, "--persons", min=200, help="Insured persons (every variant from 500)."
        ),
        seed: int = typer.Option(
            0, "--seed", help="Random seed; the same seed gives the same world."
        ),
        fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
        certno: bool = typer.Option(
            True, "--certno/--no-certno", help="Give persons a synthetic resident ID number."
        ),
        malformed: int = typer.Option(
            0, "--malformed", min=0, help="Append this many malformed rows to demo quarantine."
        ),
    ) -> None:
        """Generate a synthetic region with injected fraud, labels and the full truth."""
        from settlements.errors import InputError
        from settlements.synthetic import WorldConfig, generate_world, write_world

        if fmt not in ("parquet", "csv"):
            raise InputError(f"--format {fmt!r} is not known: use parquet or csv")
        config = WorldConfig(with_certno=certno, malformed_rows=malformed)
        started = time.perf_counter()
        world = generate_world(persons, seed, config, track=track)
        write_world(world, out, fmt)
        truth = world.truth
        labels = world.dataset.labels
        fraud = truth[truth["fraud"]]
        summary(
            "Synthetic world",
            {
                "directory": str(out),
                "persons": f"{persons:,}",
                "settlements": f"{len(world.dataset.settlements):,}",
                "fee lines": f"{len(world.dataset.fee_details):,}",
                "institutions": f"{len(world.dataset.institutions):,}",
                "labels": f"{0 if labels is None else len(labels):,}",
                "fraud subjects": f"{len(fraud):,} in {fraud['variant'].nunique()} variants",
                "look-alikes": f"{(truth['severity'] == 'lookalike').sum():,}",
                "seconds": f"{time.perf_counter() - started:.1f}",
            },
        )
