"""Settings section of the ``supervision`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SupervisionSettings(BaseModel):
    """Cases, the credit ledger and the sampling planner: every number of shared/spec/ledger-rules.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)
