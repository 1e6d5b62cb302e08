"""Settings section of the ``serving`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ServingSettings(BaseModel):
    """The BentoML service and the inspectors' console."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(
        default="127.0.0.1",
        description="Address `fundguard serve` listens on; loopback unless a bureau opens it.",
    )
    port: int = Field(default=3000, ge=1, le=65535, description="Port of `fundguard serve`.")
    review_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A settlement whose score for any pattern reaches this is recommended "
        "for review (事中审核) rather than passed.",
    )
    max_request_bytes: int = Field(
        default=2_000_000,
        ge=1_000,
        description="Largest request body accepted; larger ones get 413.",
    )
    evidence_dir: Path | None = Field(
        default=None,
        description="Dataset directory (the contract's files) whose settlements the console "
        "shows as a case's evidence timeline; normally the directory that was scored.",
    )
    workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Worker processes of `fundguard serve`, each with its own champion and "
        "evidence in memory: one per core (the 2-core machine /check's latency target is "
        "measured on) lets checks run side by side.",
    )
    page_size: int = Field(default=50, ge=1, le=1000, description="Leads per console page.")
    users_file: str = Field(
        default="serving/users.json",
        description="Where the service's users and their hashed tokens are kept, relative to "
        "data_dir unless absolute.",
    )
    identifier_roles: tuple[str, ...] = Field(
        default=("planner",),
        description="Roles that see the direct identifiers (name, ID number) of a credit "
        "archive; every other role sees pseudonyms only.",
    )
