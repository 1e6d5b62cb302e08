"""Training, the registry, aliases and promotion, against a tracking store under tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.contract import FeatureSet
from models.config import ModelSettings
from models.examples import example_feature_set
from models.scoring import score
from training.config import TrainingSettings
from training.evaluation import cross_validate, ranking_metrics, split_labels
from training.registry import aliases_of, connect, list_versions, load_scorer, version_record
from training.train import TrainingData, TrainingResult, promote, train

FAST = ModelSettings(n_estimators=15, calibration_folds=3, cold_start_trees=15)


@pytest.fixture(scope="module")
def world() -> tuple[FeatureSet, pd.DataFrame]:
    return example_feature_set(500, seed=3)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised MLflow database to copy: creating the tables takes seconds."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


def _store(root: Path, empty_store: Path) -> TrainingSettings:
    (root / "mlflow").mkdir()
    shutil.copy(empty_store, root / "mlflow" / "mlflow.db")
    return TrainingSettings(
        tracking_uri=f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
        artifact_root=root / "mlflow" / "artifacts",
        cv_folds=3,
        plots=False,
    )


@pytest.fixture
def settings(tmp_path: Path, empty_store: Path) -> TrainingSettings:
    return _store(tmp_path, empty_store)


@pytest.fixture(scope="module")
def trained(
    world: tuple[FeatureSet, pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
    empty_store: Path,
) -> tuple[TrainingSettings, TrainingResult]:
    """One version trained and registered in a store of its own, shared by the tests below."""
    settings = _store(tmp_path_factory.mktemp("trained"), empty_store)
    return settings, train(_data(world), FAST, settings)


def _data(
    world: tuple[FeatureSet, pd.DataFrame], labels: pd.DataFrame | None = None
) -> TrainingData:
    feature_set, default = world
    labels = default if labels is None else labels
    return TrainingData(feature_set, labels, "example world", "f" * 64, {"labels": labels})


def test_ranking_metrics_of_a_perfect_ranking() -> None:
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    figures = ranking_metrics(y, np.linspace(1, 0, 10), None, (0.1, 0.2), 3)
    assert figures["roc_auc"] == 1.0 and figures["pr_auc"] == 1.0
    assert figures["recall_at_10pct"] == 0.5 and figures["recall_at_20pct"] == 1.0
    assert figures["precision_at_top3"] == pytest.approx(2 / 3)
    assert figures["lift_top_decile"] == pytest.approx(5.0)


def test_grouped_split_keeps_each_person_in_one_fold(
    world: tuple[FeatureSet, pd.DataFrame],
) -> None:
    feature_set, labels = world
    folds = split_labels(feature_set, labels, 3, "grouped", seed=0)
    visits = labels["subject_type"] == "visit"
    person = feature_set.frames["visit"]["ctx_person"].reindex(labels.loc[visits, "subject_id"])  # type: ignore[index]
    per_person = pd.Series(folds[visits].to_numpy()).groupby(person.to_numpy()).nunique()
    assert (per_person == 1).all()
    assert set(folds[visits]) == {0, 1, 2}


def test_cross_validation_beats_the_rules_on_the_example(
    world: tuple[FeatureSet, pd.DataFrame],
) -> None:
    feature_set, labels = world
    evaluation = cross_validate(feature_set, labels, FAST, TrainingSettings(cv_folds=3))
    table = evaluation.metrics.set_index(["subject_type", "pattern", "ranker"])
    for pattern in ("bed_hanging", "split_billing"):
        assert (
            table.loc[("visit", pattern, "model"), "pr_auc"]
            > table.loc[("visit", pattern, "rules"), "pr_auc"]
        )


def test_registered_pyfunc_reproduces_the_in_memory_scores(
    world: tuple[FeatureSet, pd.DataFrame], trained: tuple[TrainingSettings, TrainingResult]
) -> None:
    settings, result = trained
    root = Path(settings.artifact_root).parent
    loaded = load_scorer(f"models:/fundguard/{result.version}", settings)
    in_memory = score(world[0], result.scorer)
    from_registry = score(world[0], loaded)
    pd.testing.assert_frame_equal(in_memory, from_registry)
    assert (from_registry["model_version"] == f"fundguard/{result.version}").all()
    # the store and artifacts are where the settings say, never ./mlruns
    assert (root / "mlflow.db").is_file()
    assert any((root / "artifacts").rglob("MLmodel"))
    assert not Path("mlruns").exists()


def test_a_version_records_data_fingerprint_catalogue_and_card(
    trained: tuple[TrainingSettings, TrainingResult],
) -> None:
    settings, result = trained
    record = version_record(connect(settings), settings, result.version)
    assert record["tags"]["data_fingerprint"] == "f" * 64
    assert "## Trained on" in record["card"] and "## Known limits" in record["card"]
    assert record["inputs"] and record["inputs"][0]["name"] == "labels"
    assert "holdout_pr_auc" in record["metrics"]
    assert record["aliases"] == ["challenger"]
    artifacts = {p.name for p in Path(settings.artifact_root).rglob("*")}
    assert {"signals.csv", "model_card.md", "training_report.csv", "index.html"} <= artifacts


@pytest.mark.slow
def test_promotion_refuses_a_worse_model(
    world: tuple[FeatureSet, pd.DataFrame], settings: TrainingSettings
) -> None:
    # given a champion trained on the real labels
    feature_set, labels = world
    good = train(_data(world), FAST, settings)
    assert promote(settings).promoted
    # and a challenger trained on shuffled outcomes
    shuffled = labels.assign(outcome=labels["outcome"].sample(frac=1.0, random_state=0).to_numpy())
    worse = train(_data(world, shuffled), FAST, settings)
    # when promoting it on held-out evaluation data
    outcome = promote(settings, evaluation=(feature_set, labels))
    # then it is refused and stays challenger; the champion is unchanged
    assert not outcome.promoted
    assert outcome.candidate_score < outcome.champion_score
    aliases = aliases_of(connect(settings), settings)
    assert aliases == {"champion": good.version, "challenger": worse.version}
    assert len(list_versions(connect(settings), settings)) == 2


def test_time_split_orders_folds_by_first_settlement_date(
    world: tuple[FeatureSet, pd.DataFrame],
) -> None:
    feature_set, labels = world
    folds = split_labels(feature_set, labels, 3, "time", seed=0)
    visits = labels["subject_type"] == "visit"
    first = pd.to_datetime(
        feature_set.frames["visit"]["ctx_first_date"]  # type: ignore[index]
        .reindex(labels.loc[visits, "subject_id"])
        .to_numpy()
    )
    by_fold = pd.Series(first).groupby(folds[visits].to_numpy())
    assert (by_fold.max().iloc[:-1].to_numpy() <= by_fold.min().iloc[1:].to_numpy()).all()


def test_time_validation_scores_only_later_periods(world: tuple[FeatureSet, pd.DataFrame]) -> None:
    feature_set, labels = world
    settings = TrainingSettings(cv_folds=3, split="time")
    evaluation = cross_validate(feature_set, labels, FAST, settings)
    assert set(evaluation.scores["fold"]) == {1, 2}
    assert "forward-in-time" in evaluation.how
