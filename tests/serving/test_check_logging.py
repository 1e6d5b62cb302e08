"""The check path does not repeat build_features' skipped-signals warning on every call."""

from __future__ import annotations

import logging

import pytest

from features.build import SKIPPED_SIGNALS
from features.check import CheckSignals
from features.contract import Level

from .world import small_world


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_check_build_is_quiet_about_skipped_signals_and_a_batch_build_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from features import build_features  # type: ignore[attr-defined]

    # given a dataset of many settlements without a catalogue, so that the item-limit
    # signals are skipped (and the check builder hands it to build_features)
    dataset = small_world().with_tables(catalog=None)
    levels = (Level.VISIT, Level.PERSON)
    with caplog.at_level(logging.WARNING, logger="features.build"):
        # when its signals are built on the check path
        checked = CheckSignals().build(dataset)
        quiet = _warnings(caplog)
        # and then as a batch build
        build_features(dataset, check=False, levels=levels)
    # then only the batch build warned, though both skipped the same signals
    assert checked.skipped
    assert SKIPPED_SIGNALS not in quiet
    assert _warnings(caplog).count(SKIPPED_SIGNALS) == 1
