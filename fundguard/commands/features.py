"""Feature commands: ``features list``, ``catalogue``, ``build`` and ``report``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from fundguard.console import console, fail, summary, track

features_app = typer.Typer(
    help="Fraud signals: list, catalogue, build, report.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``features`` command group to the app."""
    app.add_typer(features_app, name="features")


@features_app.command("list")
def list_features(
    level: str | None = typer.Option(
        None, help="Only this level: visit, person, institution, doctor."
    ),
    pattern: str | None = typer.Option(None, help="Only this pattern, e.g. bed_hanging."),
) -> None:
    """Print every declared signal as a table."""
    from features.contract import Level, Pattern
    from features.registry import registry

    try:
        lv = Level(level) if level else None
        pt = Pattern(pattern) if pattern else None
    except ValueError as exc:
        raise fail(f"{exc}: levels are {', '.join(Level)}; patterns {', '.join(Pattern)}") from None
    table = Table(title="Declared signals", title_justify="left")
    table.add_column("name", no_wrap=True)
    for col in ("pattern", "level", "kind", "description", "settings"):
        table.add_column(col, overflow="fold")
    specs = registry.specs(lv, pt)
    for s in specs:
        table.add_row(
            s.name, s.pattern.value, s.level.value, s.kind, s.description, ", ".join(s.settings)
        )
    console.print(table)
    console.print(f"{len(specs)} signals")


@features_app.command("catalogue")
def catalogue(
    out: Path = typer.Option(Path("docs/signals.md"), "--out", help="Markdown file to write."),
) -> None:
    """Write the markdown catalogue of every signal (docs/signals.md)."""
    from features.catalogue import render_catalogue
    from features.registry import registry

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_catalogue(registry), encoding="utf-8")
    console.print(f"wrote {out} ({len(registry)} signals)")


def _read(directory: Path):  # type: ignore[no-untyped-def]
    from fundguard.cli import settings as load
    from settlements.intake import read_dataset

    settings = load()
    key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else None
    result = read_dataset(directory, settings.intake, key, track)
    if not result.usable:
        raise fail("data not usable: " + "; ".join(result.problems), code=1)
    return settings, result.dataset


@features_app.command("build")
def build(
    directory: Path = typer.Argument(..., help="Dataset directory (one file per contract table)."),
    out: Path = typer.Option(..., "--out", help="Directory for <level>.parquet and evidence."),
) -> None:
    """Build every signal of a dataset: one Parquet file per level plus evidence.parquet."""
    from features.build import build_features

    settings, dataset = _read(directory)
    fs = build_features(dataset, settings.features, track)
    out.mkdir(parents=True, exist_ok=True)
    for level, frame in fs.frames.items():
        frame.to_parquet(out / f"{level.value}.parquet")
    fs.evidence.to_parquet(out / "evidence.parquet", index=False)
    rows = {f"{lv.value} rows": f"{len(f):,}" for lv, f in fs.frames.items()}
    rows["evidence lines"] = f"{len(fs.evidence):,}"
    rows["signals built"] = str(len(fs.specs))
    rows["signals skipped"] = ", ".join(n for n, _ in fs.skipped) or "none"
    rows["output"] = str(out)
    summary("Features", rows)


@features_app.command("report")
def report(
    directory: Path = typer.Argument(..., help="Dataset directory with a labels table."),
    out: Path | None = typer.Option(None, "--out", help="Also write the report as markdown."),
) -> None:
    """For each pattern: labelled subjects each rule flag catches, honest subjects it flags
    (and, with a synthetic world's truth.parquet, which variants the rules catch)."""
    import pandas as pd

    from features.build import build_features
    from features.report import report_markdown, rule_report, variant_report

    settings, dataset = _read(directory)
    if dataset.labels is None or dataset.labels.empty:
        raise fail(f"{directory} has no labels table: the report needs labels.parquet or .csv")
    fs = build_features(dataset, settings.features, track)
    rep = rule_report(fs, dataset.labels)
    table = Table(title=f"Rule flags against labels in {directory}", title_justify="left")
    for col in ("pattern", "level", "rule", "confirmed", "caught", "recall", "honest flagged",
                "honest flag rate"):  # fmt: skip
        table.add_column(col, justify="right" if col[0] in "chr" and col != "rule" else "left")
    for r in rep.itertuples(index=False):
        table.add_row(
            str(r.pattern), str(r.level), str(r.rule), f"{r.confirmed:,}", f"{r.caught:,}",
            f"{r.recall:.1%}", f"{r.honest_flagged:,}", f"{r.honest_flag_rate:.2%}",
        )  # fmt: skip
    console.print(table)
    if fs.skipped:
        console.print("skipped: " + "; ".join(f"{n} ({why})" for n, why in fs.skipped))
    variants = None
    truth_file = directory / "truth.parquet"
    if truth_file.is_file():  # the synthetic world's full truth: variants and look-alikes
        variants = variant_report(fs, pd.read_parquet(truth_file))
        vt = Table(title="Variants flagged by any rule of their pattern", title_justify="left")
        for col in ("pattern", "level", "variant", "severity", "subjects", "flagged", "share"):
            vt.add_column(col)
        for v in variants.itertuples(index=False):
            vt.add_row(
                str(v.pattern), str(v.level), str(v.variant), str(v.severity),
                f"{v.subjects:,}", f"{v.flagged:,}", f"{v.flagged_share:.0%}",
            )  # fmt: skip
        console.print(vt)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report_markdown(rep, variants), encoding="utf-8")
        console.print(f"wrote {out}")
