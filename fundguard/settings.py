"""The one typed configuration of fundguard.

Loaded once, in an entry point (the CLI, the service), from environment variables with
the prefix ``FUNDGUARD_`` (nested sections with ``__``, e.g.
``FUNDGUARD_FEATURES__READMISSION_WINDOW_DAYS=10``) and, optionally, a TOML file named
by ``FUNDGUARD_CONFIG`` (a region's overrides). Each stage receives only its section.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from features.config import FeatureSettings
from features.spark_config import SparkSettings
from models.config import ModelSettings
from serving.config import ServingSettings
from settlements.config import IntakeSettings
from supervision.config import SupervisionSettings
from training.config import TrainingSettings


class Settings(BaseSettings):
    """Everything a region can set, with the defaults of the shared specs."""

    model_config = SettingsConfigDict(
        env_prefix="FUNDGUARD_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(
        default=Path("fundguard-data"),
        description="Where the store, generated worlds, leads and reports go.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the supervision store; default: SQLite under data_dir.",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Secret for the keyed HMAC that replaces direct identifiers at intake.",
    )
    intake: IntakeSettings = IntakeSettings()
    features: FeatureSettings = FeatureSettings()
    models: ModelSettings = ModelSettings()
    training: TrainingSettings = TrainingSettings()
    supervision: SupervisionSettings = SupervisionSettings()
    serving: ServingSettings = ServingSettings()
    spark: SparkSettings = SparkSettings()

    @property
    def store_url(self) -> str:
        """The supervision store's URL: the configured one, else SQLite under data_dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'fundguard.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("FUNDGUARD_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Load the settings; raise ``ConfigError`` with one readable line when they are invalid."""
    from pydantic import ValidationError

    config_file = os.environ.get("FUNDGUARD_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"FUNDGUARD_CONFIG names {config_file}, which is not a file")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""
