"""Settings section of the ``models`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ModelSettings(BaseModel):
    """Estimators, calibration, cold start and reasons."""

    model_config = ConfigDict(extra="forbid", frozen=True)
