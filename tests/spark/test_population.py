"""The population stage on Spark builds the local path's signals at every level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.contract import Level
from features.registry import registry
from settlements.config import IntakeSettings
from settlements.intake import read_dataset
from settlements.synthetic import generate_world

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

PSEUDONYM_KEY = b"spark-test-key-0123456789abcdef"
EVIDENCE_KEY = ["subject_type", "subject_id", "feature"]
STAGE = {spec.name: group.stage for group in registry.groups for spec in group.specs}


def test_spark_features_equal_the_local_features_at_every_level(spark: Any, tmp_path: Path) -> None:
    from features.spark import (
        SparkSettings,
        build_features_spark,
        collect_feature_set,
        read_spark_tables,
    )

    world = generate_world(300, seed=5)
    location = tmp_path / "world"
    world.dataset.write(location)
    local = build_features(read_dataset(location, IntakeSettings(), PSEUDONYM_KEY).dataset)

    tables = read_spark_tables(spark, str(location))
    settings = SparkSettings(person_buckets=3, population_buckets=3)
    got = collect_feature_set(build_features_spark(tables, spark_settings=settings))

    assert got.specs == local.specs
    assert got.skipped == local.skipped
    for level in Level:
        want, have = local.frames[level], got.frames[level]
        assert list(have.index) == list(want.index), level  # the local order
        assert list(have.columns) == list(want.columns), level
        for column in want.columns:
            a, b = want[column], have[column]
            if pd.api.types.is_float_dtype(a.dtype):
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=column)
            elif pd.api.types.is_datetime64_any_dtype(a.dtype):
                assert (pd.to_datetime(b).to_numpy() == a.to_numpy()).all(), column
            else:
                assert b.astype(str).tolist() == a.astype(str).tolist(), column
    a = local.evidence.sort_values(EVIDENCE_KEY).reset_index(drop=True)
    b = got.evidence.sort_values(EVIDENCE_KEY).reset_index(drop=True)
    assert a[EVIDENCE_KEY].equals(b[EVIDENCE_KEY])
    # the population stage's lines word for word; a per-person function may list equally
    # good items of one finding in its input's order (docs/spark.md)
    population = a["feature"].map(STAGE).ne("person").to_numpy(dtype=bool)
    assert population.sum() > 10
    assert a.loc[population].equals(b.loc[population])
