"""``SparkSettings``: how fundguard runs on Spark (the ``spark`` section of the settings,
``FUNDGUARD_SPARK__*``). Light on purpose: the settings import it, PySpark is not needed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SparkSettings"]


class SparkSettings(BaseModel):
    """How fundguard runs on Spark: the session it creates and how it groups persons."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    master: str | None = Field(
        default=None,
        description="Spark master URL (e.g. local[2], yarn, k8s://...); None: the one "
        "spark-submit gives, else local[*].",
    )
    app_name: str = Field(default="fundguard", description="Spark application name.")
    driver_memory: str = Field(
        default="2g", description="spark.driver.memory (only effective before the JVM starts)."
    )
    executor_memory: str | None = Field(
        default=None, description="spark.executor.memory on a cluster; None: Spark's default."
    )
    shuffle_partitions: int = Field(
        default=8,
        ge=1,
        description="spark.sql.shuffle.partitions: a few per core locally, ~2-4 per "
        "executor core on a cluster.",
    )
    person_buckets: int = Field(
        default=0,
        ge=0,
        description="Persons are grouped into this many hash buckets of psn_no for the "
        "per-person stage, so one Python call builds many persons at once; 0: one group "
        "per person (groupBy psn_no), slow but the smallest unit of memory.",
    )
    population_buckets: int = Field(
        default=0,
        ge=0,
        description="Hash buckets of institutions, persons and doctors for the population "
        "stage (one Python call per bucket); 0: shuffle_partitions.",
    )
    arrow_batch_rows: int = Field(
        default=10_000,
        ge=100,
        description="spark.sql.execution.arrow.maxRecordsPerBatch: rows per Arrow batch "
        "between the JVM and Python.",
    )
    conf: dict[str, str] = Field(
        default_factory=dict, description="Any further Spark configuration, key -> value."
    )
