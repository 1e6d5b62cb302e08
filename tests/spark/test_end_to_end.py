"""The Spark path scores a generated world into the same leads as the local path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from models.config import ModelSettings
from models.scorer import FraudScorer
from models.scoring import score
from settlements.config import IntakeSettings
from settlements.intake import read_dataset
from settlements.synthetic import generate_world

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

FAST = ModelSettings(n_estimators=30, calibration_folds=3, cold_start_trees=30)
KEY = ["subject_type", "subject_id", "pattern"]
PSEUDONYM_KEY = b"spark-test-key-0123456789abcdef"


def by_subject(leads: pd.DataFrame) -> pd.DataFrame:
    return leads.astype({c: "str" for c in KEY}).sort_values(KEY).reset_index(drop=True)


def test_spark_path_gives_the_local_leads_on_a_generated_world(spark: Any, tmp_path: Path) -> None:
    from features.spark import SparkSettings
    from models.spark import score_dataset_spark, write_leads

    world = generate_world(300, seed=5)
    location = tmp_path / "world"
    world.dataset.write(location)
    dataset = read_dataset(location, IntakeSettings(), PSEUDONYM_KEY).dataset
    feature_set = build_features(dataset)
    scorer = FraudScorer(FAST).fit(feature_set, dataset.labels).with_version("fundguard/1")
    local = by_subject(score(feature_set, scorer))

    leads = score_dataset_spark(
        spark, str(location), scorer, SparkSettings(person_buckets=3), buckets=3
    )
    write_leads(leads, str(tmp_path / "leads"))
    got = by_subject(pd.read_parquet(tmp_path / "leads"))

    assert set(got["subject_type"]) == {"visit", "person", "institution", "doctor"}
    assert got[KEY].equals(local[KEY])
    np.testing.assert_allclose(got["score"], local["score"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["amount_at_risk"], local["amount_at_risk"])
    assert got["rank"].tolist() == local["rank"].tolist()
    assert (got["reasons"] == local["reasons"]).mean() > 0.98
    assert cited(got["evidence"]) == cited(local["evidence"])


def cited(evidence: pd.Series) -> list[list[str]]:
    """The signals each lead's evidence cites (the IDs may differ where several are
    equally good examples: the per-person function lists them in its input's order)."""
    return [[part.split(":")[0].strip() for part in e.split(" | ")] for e in evidence]
