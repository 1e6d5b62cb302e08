"""Model commands: ``train``, ``evaluate``, ``promote``, ``score``, ``models show`` / ``list``."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from fundguard.console import console, fail, summary, track

if TYPE_CHECKING:
    import pandas as pd

    from fundguard.settings import Settings
    from settlements.dataset import Dataset

log = logging.getLogger(__name__)

models_app = typer.Typer(help="The model registry: show and list versions.", no_args_is_help=True)

SHOWN = ("roc_auc", "pr_auc", "precision_at_5pct", "recall_at_5pct", "lift_top_decile")


def register(app: typer.Typer) -> None:
    """Add train, evaluate, promote, score and the ``models`` group to the app."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("promote")(promote_command)
    app.command("score")(score_command)
    app.add_typer(models_app, name="models")


def _read(directory: Path) -> tuple[Settings, Dataset]:
    from fundguard.cli import settings as load
    from settlements.intake import read_dataset

    settings = load()
    key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else None
    result = read_dataset(directory, settings.intake, key, track)
    if not result.usable:
        raise fail("data not usable: " + "; ".join(result.problems), code=1)
    return settings, result.dataset


def read_labels(path: Path | None, dataset: Dataset, directory: Path) -> pd.DataFrame:
    """Labels from ``--labels`` (CSV or Parquet), else the dataset's own labels table."""
    import pandas as pd

    from training.train import check_labels

    if path is not None:
        if not path.is_file():
            raise fail(f"--labels {path} is not a file")
        frame = (
            pd.read_parquet(path)
            if path.suffix == ".parquet"
            else pd.read_csv(path, dtype=str, keep_default_na=False)
        )
        return check_labels(frame)
    if dataset.labels is None or dataset.labels.empty:
        raise fail(f"no labels: pass --labels FILE or put labels.parquet (or .csv) in {directory}")
    return check_labels(dataset.labels)


HEADERS = {
    "roc_auc": "ROC",
    "pr_auc": "PR",
    "precision_at_5pct": "P@5%",
    "recall_at_5pct": "R@5%",
    "lift_top_decile": "lift",
}


def verified_labels(settings: Settings, path: Path | None, dataset: Dataset) -> pd.DataFrame:
    """The store's verified outcomes, over the file's (or the dataset's) labels if any."""
    import pandas as pd

    from supervision.cases import labels_frame
    from supervision.store import open_store
    from training.train import check_labels

    store = open_store(settings.store_url)
    try:
        verified = check_labels(labels_frame(store))
    finally:
        store.close()
    if path is not None:
        base = read_labels(path, dataset, path.parent)
    elif dataset.labels is not None and not dataset.labels.empty:
        base = check_labels(dataset.labels)
    else:
        base = verified.iloc[0:0]
    if verified.empty and base.empty:
        raise fail(
            f"no labels: the store at {settings.store_url} holds no decided cases; decide "
            "cases with `fundguard cases decide` or pass --labels FILE"
        )
    key = ["subject_type", "subject_id", "pattern"]
    merged = pd.concat([base, verified], ignore_index=True).drop_duplicates(key, keep="last")
    log.info("labels", extra={"from_store": len(verified), "total": len(merged)})
    return merged.reset_index(drop=True)


def _metrics_table(metrics: pd.DataFrame, title: str) -> Table:
    """Model and rules per pattern and level, compact enough for an 80-column terminal."""
    table = Table(title=title, title_justify="left")
    for col in ("level/pattern", "by", "scorer"):
        table.add_column(col, overflow="fold")
    for col in ("n", "conf", *(HEADERS[c] for c in SHOWN)):
        table.add_column(col, justify="right")
    for r in metrics.to_dict("records"):
        table.add_row(
            f"{r['subject_type']}/{r['pattern']}",
            r["ranker"],
            "cold" if r["method"] == "cold_start" else "sup",
            f"{r['n']:.0f}",
            f"{r['confirmed']:.0f}",
            *("–" if math.isnan(r.get(c, math.nan)) else f"{r[c]:.3f}" for c in SHOWN),
        )
    return table


def train_command(
    directory: Path = typer.Argument(..., help="Dataset directory (one file per contract table)."),
    labels: Path | None = typer.Option(
        None, "--labels", help="Labels file (CSV or Parquet); default: the dataset's labels."
    ),
    from_store: bool = typer.Option(
        False,
        "--labels-from-store",
        help="Add the verified outcomes of the supervision store (confirmed cases, rejected "
        "leads as negatives); on the same subject and pattern the store's verdict wins.",
    ),
) -> None:
    """Train the scorer on a labelled dataset, log it to MLflow and register a new version."""
    from features.build import build_features
    from training.train import TrainingData, fingerprint, train

    started = time.perf_counter()
    settings, dataset = _read(directory)
    frame = (
        verified_labels(settings, labels, dataset)
        if from_store
        else read_labels(labels, dataset, directory)
    )
    feature_set = build_features(dataset, settings.features, track)
    data = TrainingData(
        feature_set=feature_set,
        labels=frame,
        source=str(directory),
        fingerprint=fingerprint(dataset.with_tables(labels=frame)),
        tables={"settlements": dataset.settlements, "labels": frame},
        feature_settings=settings.features,
        intake_settings=settings.intake,
    )
    result = train(data, settings.models, settings.training, track)
    methods = Table(title="scorer per pattern and subject level", title_justify="left")
    for col in ("level/pattern", "method", "why"):
        methods.add_column(col, overflow="fold")
    for r in result.methods.to_dict("records"):
        methods.add_row(
            f"{r['subject_type']}/{r['pattern']}",
            f"{r['method']} {r['calibration']}".strip(),
            r["why"],
        )
    console.print(methods)
    if result.holdout is not None:
        console.print(_metrics_table(result.holdout.metrics, "held-out evaluation"))
    summary(
        "train",
        {
            "registered": f"{settings.training.registered_model} version {result.version} "
            f"(@{settings.training.challenger_alias})",
            "next": f"fundguard promote {result.version}",
            "tracking": settings.training.tracking_uri,
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
    )


def evaluate_command(
    directory: Path = typer.Argument(..., help="Dataset directory (one file per contract table)."),
    labels: Path | None = typer.Option(
        None, "--labels", help="Labels file (CSV or Parquet); default: the dataset's labels."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Evaluate this registered model (e.g. models:/fundguard@champion) on the labels; "
        "default: cross-validate a fresh scorer with the current settings.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Report directory; default: <data_dir>/reports/evaluate-<time>."
    ),
) -> None:
    """ROC-AUC, PR-AUC, precision/recall at capacity and lift, model against rule flags alone."""
    import mlflow
    from features.build import build_features
    from training.evaluation import cross_validate, evaluate_scorer
    from training.registry import connect, load_scorer
    from training.report import write_report

    started = time.perf_counter()
    settings, dataset = _read(directory)
    frame = read_labels(labels, dataset, directory)
    feature_set = build_features(dataset, settings.features, track)
    if model is None:
        evaluation = cross_validate(feature_set, frame, settings.models, settings.training, track)
        title = f"Cross-validated evaluation of {directory}"
    else:
        scorer = load_scorer(model, settings.training)
        how = f"{model} ({scorer.model_version}) scored on the labelled subjects of {directory}"
        evaluation = evaluate_scorer(feature_set, frame, scorer, settings.training, how)
        title = f"Evaluation of {scorer.model_version} on {directory}"
    out = out or settings.data_dir / "reports" / time.strftime("evaluate-%Y%m%d-%H%M%S")
    files = write_report(evaluation, out, title, plots=settings.training.plots)
    connect(settings.training)
    with mlflow.start_run(run_name=f"evaluate {directory}"):
        mlflow.set_tags({"stage": "evaluate", "source": str(directory), "model": model or "cv"})
        metrics = {}
        for r in evaluation.metrics.to_dict("records"):
            for key in (*SHOWN, "recall_at_1pct", "precision_at_1pct"):
                value = r.get(key, math.nan)
                if not math.isnan(value):
                    name = f"{r['ranker']}_{r['subject_type']}_{r['pattern']}_{key}"
                    metrics[name] = float(value)
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(out), artifact_path="evaluation")
    console.print(_metrics_table(evaluation.metrics, title))
    summary(
        "evaluate",
        {
            "how": evaluation.how,
            "report": str(out / "index.html"),
            "files": f"{len(files)}",
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
    )


def promote_command(
    version: str | None = typer.Argument(None, help="Version to promote; default: @challenger."),
    data: Path | None = typer.Option(
        None, "--data", help="Held-out dataset directory to compare both models on."
    ),
    labels: Path | None = typer.Option(None, "--labels", help="Labels for --data."),
) -> None:
    """Make a version @champion only if it beats the current champion held out."""
    from fundguard.cli import settings as load
    from training.train import promote

    settings = load()
    evaluation = None
    if data is not None:
        from features.build import build_features

        settings, dataset = _read(data)
        frame = read_labels(labels, dataset, data)
        evaluation = (build_features(dataset, settings.features, track), frame)
    outcome = promote(settings.training, version, evaluation)
    t = settings.training
    verdict = (
        f"version {outcome.version} is now @{t.champion_alias}"
        if outcome.promoted
        else f"version {outcome.version} stays @{t.challenger_alias}: it does not beat "
        f"@{t.champion_alias} (version {outcome.champion_version})"
    )
    summary(
        "promote",
        {
            "outcome": verdict,
            f"candidate {outcome.metric}": f"{outcome.candidate_score:.4f}",
            f"champion {outcome.metric}": "none"
            if outcome.champion_version is None
            else f"{outcome.champion_score:.4f}",
            "compared on": outcome.basis,
        },
    )
    if not outcome.promoted:
        raise typer.Exit(1)


def score_command(
    directory: Path = typer.Argument(..., help="Dataset directory (one file per contract table)."),
    out: Path = typer.Option(..., "--out", help="Leads file to write (.parquet or .csv)."),
    model: str | None = typer.Option(
        None, "--model", help="Model URI; default: models:/<registered model>@champion."
    ),
    top: int | None = typer.Option(
        None, "--top", min=1, help="Only the first N per subject type and pattern."
    ),
    order: str = typer.Option(
        "score", "--order", help="score, or expected_recovery (score × amount at risk)."
    ),
) -> None:
    """Write the leads table: every scored subject per pattern, highest risk first."""
    from features.build import build_features
    from models.scoring import score
    from training.registry import champion_uri, load_scorer

    if order not in ("score", "expected_recovery"):
        raise fail(f"--order {order!r}: use score or expected_recovery")
    started = time.perf_counter()
    settings, dataset = _read(directory)
    scorer = load_scorer(model or champion_uri(settings.training), settings.training)
    feature_set = build_features(dataset, scorer.feature_settings or settings.features, track)
    leads = score(feature_set, scorer, top=top, order=order)  # type: ignore[arg-type]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        leads.to_csv(out, index=False)
    else:
        leads.to_parquet(out, index=False)
    rows: dict[str, Any] = {
        f"{t} leads": f"{n:,}" for t, n in leads.groupby("subject_type").size().items()
    }
    rows["model"] = scorer.model_version
    rows["written to"] = str(out)
    rows["seconds"] = f"{time.perf_counter() - started:.1f}"
    summary("score", rows)


@models_app.command("show")
def show(version: str = typer.Argument(..., help="Registered version number.")) -> None:
    """A version's aliases, data fingerprint, held-out metrics and model card."""
    from fundguard.cli import settings as load
    from training.registry import connect, version_record

    t = load().training
    record = version_record(connect(t), t, version)
    rows = {
        "version": record["version"],
        "aliases": ", ".join(record["aliases"]) or "none",
        "created": record["created"],
        "run": record["run_id"],
        "data fingerprint": record["tags"].get("data_fingerprint", ""),
        "source": record["tags"].get("source", ""),
    }
    for item in record["inputs"]:
        rows[f"input {item['name']}"] = f"digest {item['digest']}"
    for key in ("holdout_pr_auc", "holdout_roc_auc", "holdout_recall_at_5pct"):
        if key in record["metrics"]:
            rows[key] = f"{record['metrics'][key]:.4f}"
    summary(f"{t.registered_model} version {version}", rows)
    console.print(record["card"], markup=False)


@models_app.command("list")
def list_models() -> None:
    """Every registered version with its aliases and held-out figure."""
    from fundguard.cli import settings as load
    from training.registry import connect, list_versions

    t = load().training
    versions = list_versions(connect(t), t)
    table = Table(title=f"{t.registered_model} versions", title_justify="left")
    for col in versions.columns:
        table.add_column(col)
    for r in versions.itertuples(index=False):
        table.add_row(*(str(v) for v in r))
    console.print(table)
