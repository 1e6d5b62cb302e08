"""``fundguard demo``: the main job end to end on a synthetic region.

generate → validate → enroll → train → promote → evaluate → score → open cases → top leads, each
step the very CLI command a user would run, so the demo exercises the real paths.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import typer
from typer.core import TyperGroup

from fundguard.console import console, fail, summary


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the app."""

    @app.command("demo")
    def demo(
        ctx: typer.Context,
        out: Path = typer.Option(
            Path("fundguard-data/demo"), "--out", help="Where the world, leads and report go."
        ),
        persons: int = typer.Option(4_000, "--persons", min=200, help="Insured persons."),
        seed: int = typer.Option(7, "--seed", help="Random seed of the world."),
        top: int = typer.Option(10, "--top", min=1, help="Leads to print at the end."),
    ) -> None:
        """Run the main job end to end on a synthetic region and print the top leads."""
        started = time.perf_counter()
        if not os.environ.get("FUNDGUARD_PSEUDONYM_KEY"):
            os.environ["FUNDGUARD_PSEUDONYM_KEY"] = secrets.token_hex(32)
            console.print(
                "[dim]demo: no FUNDGUARD_PSEUDONYM_KEY set, using a one-off random key "
                "(set your own secret for real data)[/]"
            )
        world = out / "world"
        leads = out / "leads.parquet"
        report = out / "report"
        steps: list[tuple[str, list[str], bool]] = [
            ("generate", ["generate", "--out", str(world), "--persons", str(persons),
                          "--seed", str(seed)], True),
            ("validate", ["validate", str(world)], True),
            ("enroll institutions", ["ledger", "enroll", str(world)], True),
            ("train", ["train", str(world)], True),
            ("promote", ["promote"], False),
            ("evaluate", ["evaluate", str(world), "--out", str(report)], True),
            ("score", ["score", str(world), "--out", str(leads)], True),
            ("open cases", ["cases", "open", str(leads), "--top", "50"], True),
        ]  # fmt: skip
        root = ctx.find_root().command
        assert isinstance(root, TyperGroup)
        for title, args, required in steps:
            console.rule(f"[bold]{title}[/]  fundguard {' '.join(args)}")
            code = _invoke(root, args)
            if code and required:
                raise fail(f"demo step '{title}' failed (exit {code}); run it alone to see why")
            if code:
                console.print(f"[yellow]{title} exited {code}; the demo goes on[/]")
        _print_top(leads, top)
        summary(
            "demo",
            {
                "world": str(world),
                "leads": str(leads),
                "evaluation report": str(report / "index.html"),
                "console": "fundguard users add me --role inspector   (prints a token)",
                "then": f"fundguard serve --evidence {world}   → open "
                "http://127.0.0.1:3000/console/ and log in with the token",
                "seconds": f"{time.perf_counter() - started:.0f}",
            },
        )


def _invoke(command: TyperGroup, args: list[str]) -> int:
    """Run one CLI command in this process; its exit code."""
    try:
        result = command.main(args=args, prog_name="fundguard", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.BadParameter as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0


def _print_top(leads_file: Path, top: int) -> None:
    """The ``top`` most suspicious leads, taken in turn from each pattern so that every
    pattern shows; calibrated leads before cold-start rankings."""
    import pandas as pd

    leads = pd.read_parquet(leads_file)
    leads["cold"] = leads["reasons"].str.startswith("cold start")
    leads = leads.sort_values(["cold", "score"], ascending=[True, False])
    leads["turn"] = leads.groupby("pattern").cumcount()
    chosen = leads.sort_values(["turn", "cold", "score"], ascending=[True, True, False]).head(top)
    console.rule(f"[bold]Top {len(chosen)} leads[/] (from {leads_file})")
    for n, r in enumerate(chosen.itertuples(index=False), start=1):
        console.print(
            f"[bold]{n}. {r.subject_type} {r.subject_id}[/] · {r.pattern} · "
            f"score {r.score:.2f} · ¥{r.amount_at_risk:,.0f} at risk · {r.model_version}",
            markup=True,
            highlight=False,
        )
        for reason in str(r.reasons).split(" | "):
            console.print(f"   - {_shorten(reason, 400)}", markup=False)
        if r.evidence:
            console.print(f"   evidence: {_shorten(str(r.evidence), 300)}", markup=False)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
