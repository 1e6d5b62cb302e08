"""Settings section of the ``features`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FeatureSettings(BaseModel):
    """Signal thresholds: every rule parameter of shared/spec/fraud-patterns.md, overridable per region."""

    model_config = ConfigDict(extra="forbid", frozen=True)
