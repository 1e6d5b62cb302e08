"""Settings section of the ``models`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelSettings(BaseModel):
    """Estimators, calibration, cold start and reasons."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(
        default=7, description="Seed of every random step (boosting, folds, forests)."
    )
    n_estimators: int = Field(default=400, ge=1, description="LightGBM boosting rounds.")
    learning_rate: float = Field(default=0.02, gt=0, description="LightGBM learning rate.")
    num_leaves: int = Field(default=7, ge=2, description="LightGBM leaves per tree.")
    min_child_samples: int = Field(
        default=20,
        ge=1,
        description="LightGBM minimum subjects in a leaf (capped at 5% of the training subjects).",
    )
    subsample: float = Field(default=0.8, gt=0, le=1, description="Row share per bagging round.")
    colsample_bytree: float = Field(default=0.5, gt=0, le=1, description="Signal share per tree.")
    reg_lambda: float = Field(default=5.0, ge=0, description="LightGBM L2 regularisation.")
    balance_classes: bool = Field(
        default=False,
        description="Weigh confirmed and rejected subjects equally while boosting "
        "(calibration afterwards maps the scores back to probabilities).",
    )
    n_jobs: int = Field(default=1, ge=1, description="Threads per LightGBM fit.")
    calibration: Literal["auto", "isotonic", "sigmoid"] = Field(
        default="auto",
        description="How raw boosting scores become probabilities, fitted on held-out folds: "
        "isotonic, sigmoid (Platt), or auto (isotonic from isotonic_min_confirmed "
        "confirmed labels on, else sigmoid).",
    )
    isotonic_min_confirmed: int = Field(
        default=500, ge=1, description="Confirmed labels from which auto calibration is isotonic."
    )
    calibration_folds: int = Field(
        default=5, ge=2, description="Folds of the held-out predictions the calibrator fits on."
    )
    min_confirmed: int = Field(
        default=20,
        ge=1,
        description="Confirmed (and as many rejected) labels a pattern and subject level need "
        "for a supervised model; below that the cold-start scorer ranks instead.",
    )
    min_rejected: int = Field(
        default=20, ge=1, description="Rejected labels a supervised model needs at least."
    )
    population_anchor: float = Field(
        default=3.0,
        ge=0,
        description="Labels come from inspected subjects, a selected few: when they cover less "
        "than population_anchor_max_share of a level, this many uninspected subjects per label "
        "(drawn at random) join the training as rejected, so that the model also ranks the "
        "population it never saw inspected. 0 turns it off. The calibrator fits on the "
        "inspected subjects only.",
    )
    population_anchor_weight: float = Field(
        default=1.0, gt=0, description="Weight of each uninspected anchor subject."
    )
    population_anchor_max_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Labelled share of a level's subjects below which anchoring applies.",
    )
    cold_start_trees: int = Field(default=50, ge=1, description="IsolationForest trees.")
    cold_start_min_peers: int = Field(
        default=200,
        ge=2,
        description="Subjects a peer group needs for its own IsolationForest; smaller groups "
        "share one forest fitted on all subjects of the level.",
    )
    cold_start_max_groups: int = Field(
        default=4,
        ge=0,
        description="Most peer groups (the largest) that get a forest of their own, which "
        "bounds cold-start fitting time on populations with many peer groups.",
    )
    cold_start_flag_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Weight w of each of the pattern's fired rule flags in the cold-start "
        "score against 1 - w for the peer-group anomaly: score = (w × flags fired + (1 - w) × "
        "anomaly) / (w × flags + 1 - w).",
    )
    aggregate_to_institution: bool = Field(
        default=True,
        description="Add visit and person signals aggregated per institution (mean, share "
        "flagged, max) to the institution level, so institution labels alone can be learned.",
    )
    explain_top: int = Field(
        default=20_000,
        ge=0,
        description="Subjects per pattern and level (the first in the order) whose reasons come "
        "from the model's per-signal contributions (LightGBM pred_contrib, costly); the rest "
        "name the pattern's fired rule flags.",
    )
    top_reasons: int = Field(default=3, ge=1, description="Reasons a lead names.")
    evidence_ids_per_reason: int = Field(
        default=5, ge=1, description="Evidence entries a lead lists per reason."
    )
