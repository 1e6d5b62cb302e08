"""Settings section of the ``training`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainingSettings(BaseModel):
    """Training, evaluation, the MLflow tracking store and the model registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str = Field(
        default="sqlite:///mlflow/mlflow.db",
        description="MLflow tracking and registry store.",
    )
    artifact_root: Path = Field(
        default=Path("mlflow/artifacts"),
        description="Where the experiment's artifacts go (never ./mlruns).",
    )
    experiment: str = Field(default="fundguard", description="MLflow experiment name.")
    registered_model: str = Field(default="fundguard", description="Registry model name.")
    champion_alias: str = Field(default="champion", description="Alias scoring loads.")
    challenger_alias: str = Field(
        default="challenger", description="Alias of a version that did not beat the champion."
    )
    holdout_fraction: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="Share of labelled subjects (grouped, stratified) kept out of training for "
        "the held-out evaluation that promotion compares on.",
    )
    cv_folds: int = Field(default=5, ge=2, description="Folds of `fundguard evaluate`.")
    split: Literal["grouped", "time"] = Field(
        default="grouped",
        description="grouped: no person (visits) or institution (doctors) in two folds; "
        "time: folds ordered by the subject's first settlement date.",
    )
    capacity_shares: tuple[float, ...] = Field(
        default=(0.01, 0.05),
        description="Inspection capacities as shares of the scored population.",
    )
    capacity_top_k: int = Field(
        default=100, ge=1, description="Inspection capacity as a number of subjects."
    )
    promotion_metric: Literal["pr_auc", "roc_auc", "recall_at_5pct"] = Field(
        default="pr_auc",
        description="Held-out metric (mean over pattern and level) a challenger must beat.",
    )
    promotion_margin: float = Field(
        default=0.0, ge=0, description="How much a challenger must beat the champion by."
    )
    plots: bool = Field(
        default=True, description="Draw PNG plots (PR, calibration, precision@k) in reports."
    )
