"""Verified outcomes flow back into training: `fundguard train --labels-from-store`."""

from __future__ import annotations

import pandas as pd
import pytest

from fundguard.commands.models import verified_labels
from fundguard.settings import load_settings
from settlements.dataset import Dataset
from supervision import cases
from supervision.config import SupervisionSettings
from supervision.store import open_store
from tests.supervision.helpers import confirm, investigated_case


def _dataset(labels: pd.DataFrame | None) -> Dataset:
    empty = pd.DataFrame()
    return Dataset(empty, empty, empty, empty, labels=labels)


def test_store_verdicts_join_and_override_the_dataset_labels() -> None:
    # given: the dataset says P1 was rejected for bed-hanging and P9 confirmed for card lending
    settings = load_settings()
    settings.data_dir.mkdir(parents=True)
    old = pd.DataFrame(
        {
            "subject_type": ["person", "person"],
            "subject_id": ["P1", "P9"],
            "pattern": ["bed_hanging", "card_lending"],
            "outcome": ["rejected", "confirmed"],
        }
    )
    # and: inspectors since confirmed P1 and rejected P2 in the store
    store = open_store(settings.store_url)
    confirm(store, SupervisionSettings(), "P1")
    rejected = investigated_case(store, "P2")
    cases.decide_case(
        store, rejected, "rejected", actor="INS1", reason="stay was real",
        settings=SupervisionSettings(),
    )  # fmt: skip
    store.close()
    # when
    labels = verified_labels(settings, None, _dataset(old))
    # then: the store's newer verdict wins, the rest is kept
    outcome = labels.set_index("subject_id")["outcome"].to_dict()
    assert outcome == {"P1": "confirmed", "P2": "rejected", "P9": "confirmed"}


def test_an_empty_store_without_other_labels_says_what_to_do() -> None:
    import typer

    settings = load_settings()
    settings.data_dir.mkdir(parents=True)
    with pytest.raises(typer.Exit):
        verified_labels(settings, None, _dataset(None))
