"""Settings section of the ``training`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TrainingSettings(BaseModel):
    """Training, evaluation, the MLflow tracking store and the model registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)
