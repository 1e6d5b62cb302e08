"""Training and promotion: fit the scorer, log everything to MLflow, register, compare.

``train`` keeps a grouped, stratified share of the labelled subjects out of fitting, fits
a ``FraudScorer`` on the rest, evaluates it on the held-out share, and logs params
(model, feature and training settings), metrics, the signal catalogue, the training
report (which pattern is supervised, which cold start), plots, the data's fingerprint
(MLflow dataset inputs) and a model card; the model is registered as a new version with
the ``@challenger`` alias. ``promote`` moves ``@champion`` to it only if it beats the
current champion on a held-out evaluation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from pydantic import BaseModel

import mlflow
from features.contract import FeatureSet
from models.config import ModelSettings
from models.scorer import FraudScorer
from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.progress import Track, no_track
from training.config import TrainingSettings
from training.evaluation import Evaluation, evaluate_scorer, headline, split_labels
from training.registry import (
    aliases_of,
    connect,
    load_scorer,
    log_scorer,
    set_alias,
)
from training.report import write_report

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("subject_type", "subject_id", "pattern", "outcome")


@dataclass(frozen=True)
class TrainingData:
    """What a model is trained on: the signals, the labels, and where they came from."""

    feature_set: FeatureSet
    labels: pd.DataFrame
    source: str
    """Where the data came from (a dataset directory, ``synthetic world seed 7``)."""
    fingerprint: str
    tables: dict[str, pd.DataFrame]
    """Frames logged as MLflow dataset inputs (e.g. settlements and labels)."""
    feature_settings: BaseModel | None = None
    intake_settings: BaseModel | None = None
    """Intake settings the pyfunc model reads dataset directories with."""


@dataclass(frozen=True)
class TrainingResult:
    scorer: FraudScorer
    version: str
    uri: str
    run_id: str
    methods: pd.DataFrame
    holdout: Evaluation | None


def fingerprint(dataset: Dataset) -> str:
    """A SHA-256 over the content of every table: the same data always gives the same value."""
    digest = hashlib.sha256()
    for name, frame in dataset.tables():
        digest.update(name.encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def check_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """Labels in the contract's shape, codes as strings; a one-line error when they are not."""
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise InputError(
            f"labels lack column(s) {', '.join(missing)}: a labels file needs "
            "subject_type, subject_id, pattern, outcome"
        )
    typed = labels.astype({c: "string" for c in LABEL_COLUMNS})
    bad = ~typed["outcome"].isin(["confirmed", "rejected"])
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} label(s) have an outcome other than confirmed or rejected"
        )
    return typed


def train(
    data: TrainingData,
    model_settings: ModelSettings,
    settings: TrainingSettings,
    track: Track = no_track,
) -> TrainingResult:
    """Fit on the labels outside the held-out share, evaluate, log and register a version."""
    labels = check_labels(data.labels)
    client = connect(settings)
    holdout_mask = pd.Series(False, index=labels.index)
    if settings.holdout_fraction > 0 and len(labels):
        folds = max(2, round(1 / settings.holdout_fraction))
        fold = split_labels(data.feature_set, labels, folds, settings.split, model_settings.seed)
        holdout_mask = fold == (folds - 1 if settings.split == "time" else 0)
    train_labels, holdout_labels = labels[~holdout_mask], labels[holdout_mask]
    with mlflow.start_run(run_name=f"train {data.source}") as run:
        scorer = FraudScorer(model_settings, data.feature_settings).fit(  # type: ignore[arg-type]
            data.feature_set, train_labels, track
        )
        methods = scorer.report()
        _log_params(model_settings, data.feature_settings, settings)
        mlflow.set_tags(
            {"data_fingerprint": data.fingerprint, "source": data.source, "stage": "train"}
        )
        for name, frame in data.tables.items():
            mlflow.log_input(
                from_pandas(frame, source=data.source, name=name),
                context="training" if name != "labels" else "labels",
            )
        counts: dict[str, float] = {
            "labels_train": float(len(train_labels)),
            "labels_holdout": float(len(holdout_labels)),
        }
        for r in methods.to_dict("records"):
            counts[f"supervised_{r['subject_type']}_{r['pattern']}"] = float(
                r["method"] == "supervised"
            )
        mlflow.log_metrics(counts)
        holdout = None
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            if len(holdout_labels):
                holdout = evaluate_scorer(
                    data.feature_set,
                    holdout_labels,
                    scorer,
                    settings,
                    f"held-out {settings.holdout_fraction:.0%} of the labelled subjects "
                    f"({settings.split} split), never seen in fitting",
                )
                _log_evaluation(holdout, "holdout")
                write_report(
                    holdout, root / "holdout", "Held-out evaluation", methods, plots=settings.plots
                )
            _write_catalogue(data.feature_set, root / "catalogue")
            methods.to_csv(root / "training_report.csv", index=False)
            (root / "settings.json").write_text(
                json.dumps(
                    {
                        "models": model_settings.model_dump(mode="json"),
                        "features": data.feature_settings.model_dump(mode="json")
                        if data.feature_settings is not None
                        else None,
                        "training": settings.model_dump(mode="json"),
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
            card = model_card(data, labels, train_labels, methods, holdout, settings)
            (root / "model_card.md").write_text(card, encoding="utf-8")
            mlflow.log_artifacts(str(root))
        uri, version = log_scorer(scorer, settings, data.intake_settings)
        name = settings.registered_model
        client.update_model_version(name, version, description=card)
        tags = {"data_fingerprint": data.fingerprint, "source": data.source}
        if holdout is not None:
            for metric in ("pr_auc", "roc_auc", "recall_at_5pct"):
                figure = headline(holdout.metrics, metric)
                if not math.isnan(figure):
                    tags[f"holdout_{metric}"] = f"{figure:.6f}"
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
        set_alias(client, settings, settings.challenger_alias, version)
        log.info("registered model", extra={"version": version, "labels": len(labels)})
    return TrainingResult(
        scorer.with_version(f"{name}/{version}"), version, uri, run.info.run_id, methods, holdout
    )


def model_card(
    data: TrainingData,
    labels: pd.DataFrame,
    train_labels: pd.DataFrame,
    methods: pd.DataFrame,
    holdout: Evaluation | None,
    settings: TrainingSettings,
) -> str:
    """A short card: trained on what, evaluated how, known limits."""
    sizes = ", ".join(f"{len(f):,} {lv.value}s" for lv, f in data.feature_set.frames.items())
    lines = [
        "# fundguard scorer",
        "",
        "## Trained on",
        f"- data: {data.source} (fingerprint `{data.fingerprint[:16]}`): {sizes}",
        f"- labels: {len(train_labels):,} used for fitting, {len(labels) - len(train_labels):,} "
        "held out",
        f"- signals: {len(data.feature_set.specs)} declared"
        + (f", {len(data.feature_set.skipped)} skipped" if data.feature_set.skipped else ""),
        "",
        "## Scorer per pattern and subject level",
        "",
        "| subject | pattern | method | confirmed | rejected |",
        "|---|---|---|---|---|",
    ]
    for r in methods.itertuples():
        lines.append(
            f"| {r.subject_type} | {r.pattern} | {r.method} {r.calibration} | {r.confirmed} "
            f"| {r.rejected} |"
        )
    lines += ["", "## Evaluated how"]
    if holdout is None:
        lines.append("- no held-out evaluation (holdout_fraction = 0)")
    else:
        lines.append(f"- {holdout.how}")
        model = holdout.metrics[holdout.metrics["ranker"] == "model"]
        for r in model.itertuples():
            lines.append(
                f"- {r.subject_type} / {r.pattern}: ROC-AUC {r.roc_auc:.3f}, PR-AUC "
                f"{r.pr_auc:.3f}, recall at 5% {getattr(r, 'recall_at_5pct', float('nan')):.3f} "
                f"(n = {r.n:.0f})"
            )
    lines += [
        "",
        "## Known limits",
        "- Cold-start patterns (too few confirmed labels) are ranked by an unsupervised "
        "peer-group anomaly score blended with the rule flags: the score orders subjects, it is "
        "not a probability.",
        "- Labels come from inspected subjects only; subjects inspectors never chose are "
        "under-represented, so scores are calibrated to the inspected population.",
        "- Relative signals (peer groups) need a population-sized dataset; scoring a handful of "
        "settlements alone compares them with few peers.",
        f"- Promotion compares the mean held-out {settings.promotion_metric} over patterns.",
    ]
    return "\n".join(lines) + "\n"


def _log_params(
    model_settings: ModelSettings, feature_settings: BaseModel | None, settings: TrainingSettings
) -> None:
    params: dict[str, object] = {f"models.{k}": v for k, v in model_settings.model_dump().items()}
    if feature_settings is not None:
        params |= {f"features.{k}": v for k, v in feature_settings.model_dump().items()}
    params |= {
        f"training.{k}": v
        for k, v in settings.model_dump().items()
        if k not in ("tracking_uri", "artifact_root")
    }
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})


def _log_evaluation(evaluation: Evaluation, prefix: str) -> None:
    metrics = {}
    for r in evaluation.metrics.to_dict("records"):
        for key, value in r.items():
            if isinstance(value, float) and not math.isnan(value) and key not in ("n",):
                metrics[f"{prefix}_{r['ranker']}_{r['subject_type']}_{r['pattern']}_{key}"] = value
    for metric in ("pr_auc", "roc_auc", "recall_at_5pct"):
        value = headline(evaluation.metrics, metric)
        if not math.isnan(value):
            metrics[f"{prefix}_{metric}"] = value
    mlflow.log_metrics(metrics)


def _write_catalogue(feature_set: FeatureSet, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        [
            {
                "name": s.name,
                "pattern": s.pattern.value,
                "level": s.level.value,
                "kind": s.kind,
                "description": s.description,
                "rule": s.rule,
                "settings": ",".join(s.settings),
            }
            for s in feature_set.specs
        ]
    ).to_csv(directory / "signals.csv", index=False)
    pd.DataFrame(feature_set.skipped, columns=["signal", "reason"]).to_csv(
        directory / "skipped.csv", index=False
    )


@dataclass(frozen=True)
class Promotion:
    """The outcome of ``promote``: whether the candidate became champion, and on what figures."""

    version: str
    promoted: bool
    candidate_score: float
    champion_version: str | None
    champion_score: float
    metric: str
    basis: str


def promote(
    settings: TrainingSettings,
    version: str | None = None,
    evaluation: tuple[FeatureSet, pd.DataFrame] | None = None,
) -> Promotion:
    """Make ``version`` (default: ``@challenger``) the champion if it beats the champion.

    With ``evaluation`` (signals and labels neither model was trained on), both are scored
    on it; without, their recorded held-out figures are compared. A candidate that does not
    beat the champion by ``promotion_margin`` keeps (or gets) ``@challenger``.
    """
    client = connect(settings)
    aliases = aliases_of(client, settings)
    version = version or aliases.get(settings.challenger_alias)
    if version is None:
        raise InputError("no model to promote: run `fundguard train` first or name a VERSION")
    champion = aliases.get(settings.champion_alias)
    metric = settings.promotion_metric
    name = settings.registered_model

    def figure(v: str) -> float:
        if evaluation is not None:
            scorer = load_scorer(f"models:/{name}/{v}", settings)
            fs, labels = evaluation
            how = "the evaluation data given to promote"
            return headline(
                evaluate_scorer(fs, check_labels(labels), scorer, settings, how).metrics, metric
            )
        tag = client.get_model_version(name, v).tags.get(f"holdout_{metric}")
        return float(tag) if tag else float("nan")

    basis = "evaluation data" if evaluation is not None else "recorded held-out metrics"
    candidate = figure(version)
    if champion is None or champion == version:
        promoted = True
        best = float("nan")
    else:
        best = figure(champion)
        promoted = not math.isnan(candidate) and (
            math.isnan(best) or candidate > best + settings.promotion_margin
        )
    if promoted:
        set_alias(client, settings, settings.champion_alias, version)
        if aliases.get(settings.challenger_alias) == version:
            client.delete_registered_model_alias(name, settings.challenger_alias)
    else:
        set_alias(client, settings, settings.challenger_alias, version)
    return Promotion(version, promoted, candidate, champion, best, metric, basis)
