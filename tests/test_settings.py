"""The one typed configuration: defaults, environment overrides, a region's TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fundguard.settings import ConfigError, load_settings


def test_data_dir_comes_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.store_url == f"sqlite:///{(tmp_path / 'data' / 'fundguard.db').as_posix()}"


def test_database_url_overrides_the_embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDGUARD_DATABASE_URL", "postgresql+psycopg://127.0.0.1/test")
    assert load_settings().store_url == "postgresql+psycopg://127.0.0.1/test"


def test_missing_region_file_is_a_one_line_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FUNDGUARD_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_region_file_sets_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FUNDGUARD_DATA_DIR")
    region = tmp_path / "region.toml"
    region.write_text('data_dir = "/srv/fundguard"\n', encoding="utf-8")
    monkeypatch.setenv("FUNDGUARD_CONFIG", str(region))
    assert load_settings().data_dir == Path("/srv/fundguard")
