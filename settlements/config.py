"""Settings section of the ``settlements`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class IntakeSettings(BaseModel):
    """Intake: reading, validation, quarantine and pseudonymisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)
