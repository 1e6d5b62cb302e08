"""Scoring on Spark per bucket of subjects gives the local path's leads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.config import ModelSettings
from models.examples import example_feature_set
from models.scorer import FraudScorer
from models.scoring import score

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

FAST = ModelSettings(n_estimators=20, calibration_folds=3, cold_start_trees=20)
KEY = ["subject_type", "subject_id", "pattern"]


def by_subject(leads: pd.DataFrame) -> pd.DataFrame:
    return leads.astype({c: "str" for c in KEY}).sort_values(KEY).reset_index(drop=True)


@pytest.mark.parametrize("top", [None, 15])
def test_spark_buckets_score_the_same_leads_as_the_local_path(spark: Any, top: int | None) -> None:
    from features.spark import distribute_feature_set
    from models.spark import score_spark

    feature_set, labels = example_feature_set(600, seed=2)
    scorer = FraudScorer(FAST).fit(feature_set, labels).with_version("fundguard/3")
    local = by_subject(score(feature_set, scorer, top=top))

    leads = score_spark(distribute_feature_set(spark, feature_set), scorer, top=top, buckets=5)
    got = by_subject(leads.toPandas())

    assert set(got["subject_type"]) == {"visit", "person", "institution"}
    assert got[KEY].equals(local[KEY])
    np.testing.assert_allclose(got["score"], local["score"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["amount_at_risk"], local["amount_at_risk"])
    assert got["rank"].tolist() == local["rank"].tolist()
    assert got["reasons"].tolist() == local["reasons"].tolist()
    assert got["evidence"].tolist() == local["evidence"].tolist()
    assert set(got["model_version"]) == {"fundguard/3"}


@pytest.mark.parametrize("top", [None, 60])
def test_spark_explains_the_same_first_subjects_as_the_local_path_past_explain_top(
    spark: Any, top: int | None
) -> None:
    from features.spark import distribute_feature_set
    from models.spark import score_spark

    # given a scorer that explains only the first 25 subjects of each pattern and level
    feature_set, labels = example_feature_set(600, seed=2)
    settings = FAST.model_copy(update={"explain_top": 25})
    scorer = FraudScorer(settings).fit(feature_set, labels).with_version("fundguard/3")
    local = by_subject(score(feature_set, scorer, top=top))
    beyond = local["reasons"].str.contains("beyond the first 25 explained")
    assert 0 < beyond.sum() < len(local)

    # when Spark scores the same subjects in buckets
    leads = score_spark(distribute_feature_set(spark, feature_set), scorer, top=top, buckets=5)
    got = by_subject(leads.toPandas())

    # then the same subjects are explained with contributions: every reason is the same
    assert got[KEY].equals(local[KEY])
    assert got["reasons"].tolist() == local["reasons"].tolist()
    assert got["evidence"].tolist() == local["evidence"].tolist()
