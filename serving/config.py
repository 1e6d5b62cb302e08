"""Settings section of the ``serving`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ServingSettings(BaseModel):
    """The BentoML service and the inspectors' console."""

    model_config = ConfigDict(extra="forbid", frozen=True)
