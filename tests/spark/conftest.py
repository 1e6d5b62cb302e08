"""Spark tests share one local[2] session per worker and skip, saying why, without Spark."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from features.spark import SparkSettings, spark_session, spark_unavailable

    reason = spark_unavailable()
    if reason:
        pytest.skip(f"Spark tests need pyspark and Java: {reason}")
    session = spark_session(
        SparkSettings(master="local[2]", driver_memory="1g", shuffle_partitions=4)
    )
    yield session
    session.stop()
