"""The ``fundguard features`` commands and the one-line errors of bad input."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from features.build import build_features
from fundguard.cli import build_app
from settlements.errors import InputError

if TYPE_CHECKING:
    from conftest import World


def test_features_list_prints_the_declared_signals() -> None:
    result = CliRunner().invoke(build_app(), ["features", "list", "--pattern", "split_billing"])
    assert result.exit_code == 0, result.output
    assert "sb_split_admission_flag" in result.output
    assert "bh_empty_days" not in result.output


def test_features_list_rejects_an_unknown_level() -> None:
    result = CliRunner().invoke(build_app(), ["features", "list", "--level", "ward"])
    assert result.exit_code == 2


def test_features_catalogue_writes_markdown(tmp_path: Path) -> None:
    out = tmp_path / "signals.md"
    result = CliRunner().invoke(build_app(), ["features", "catalogue", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Signal catalogue") and "`readmission_window_days`" in text


def test_missing_column_is_a_one_line_input_error(world: World) -> None:
    world.visit("V1")
    ds = world.dataset()
    ds = ds.with_tables(settlements=ds.settlements.drop(columns=["dise_codg"]))
    with pytest.raises(InputError, match="settlements lacks column\\(s\\) dise_codg"):
        build_features(ds, check=False)


def test_dataset_breaking_the_contract_is_a_one_line_input_error(world: World) -> None:
    world.visit("V1", med_type="77")
    with pytest.raises(InputError, match="column med_type"):
        build_features(world.dataset())
