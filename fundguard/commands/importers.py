"""Importer commands: ``import-cms`` converts the public Medicare claims into the contract."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.table import Table

from fundguard.console import console, fail, summary, track
from settlements.importers.cms import ImportResult, import_cms, write_import

log = logging.getLogger(__name__)


def reconciliation_table(result: ImportResult) -> Table:
    """Source rows read, added, written and skipped per source and contract table."""
    table = Table(title="import reconciliation", title_justify="left")
    table.add_column("table")
    table.add_column("source", overflow="fold")
    for name in ("read", "added", "written", "skipped"):
        table.add_column(name, justify="right")
    for count in result.counts:
        table.add_row(
            count.table,
            count.source,
            f"{count.read:,}",
            f"{sum(count.added.values()):,}",
            f"{count.written:,}",
            f"{sum(count.skipped.values()):,}",
        )
    return table


def reasons_lines(result: ImportResult) -> list[str]:
    """One line per reason rows were added or skipped."""
    lines = []
    for count in result.counts:
        lines += [f"{count.table}: +{n:,} {why}" for why, n in count.added.items() if n]
        lines += [f"{count.table}: -{n:,} {why}" for why, n in count.skipped.items() if n]
    return lines


def register(app: typer.Typer) -> None:
    """Add the importer commands to the app."""

    @app.command("import-cms")
    def import_cms_command(
        src: Path = typer.Argument(
            ..., help="Folder of the CMS provider-fraud files (claims, beneficiaries, labels)."
        ),
        out: Path = typer.Argument(..., help="Dataset directory to write (created if absent)."),
        fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
        include_test: bool = typer.Option(
            True, "--include-test/--train-only", help="Also import the unlabelled Test files."
        ),
    ) -> None:
        """Convert the public Medicare provider-fraud claims into a contract dataset."""
        if fmt not in ("parquet", "csv"):
            raise fail(f"--format {fmt!r} is not supported: use parquet or csv")
        result = import_cms(src, include_test=include_test, track=track)
        skipped_file = write_import(result, out, fmt)
        console.print(reconciliation_table(result))
        for line in reasons_lines(result):
            console.print(f"  {line}", soft_wrap=True)
        for count in result.counts:
            log.info(
                "import reconciled",
                extra={
                    "source": count.source,
                    "table": count.table,
                    "read": count.read,
                    "written": count.written,
                    "skipped": sum(count.skipped.values()),
                    "reconciles": count.reconciles,
                },
            )
        rows = {name: f"{len(frame):,} rows" for name, frame in result.dataset.tables()}
        rows["written to"] = str(out)
        if skipped_file is not None:
            rows["skipped rows"] = str(skipped_file)
        summary("import-cms", rows)
        if not all(c.reconciles for c in result.counts):
            raise fail("the import does not reconcile (read + added != written + skipped)", 1)
