"""``fundguard score-spark``: the leads of a dataset too large for one machine, on Spark.

Also a ``spark-submit`` entry point: ``spark-submit [options] <this file> LOCATION --out
DEST [--model URI ...]`` runs the same command under the master and resources that
spark-submit gives (see docs/spark.md).
"""

from __future__ import annotations

import time
from typing import Any

import typer

from features.spark_config import SparkSettings
from fundguard.console import fail, summary


def register(app: typer.Typer) -> None:
    """Add ``score-spark`` to the app."""
    app.command("score-spark")(score_spark_command)


def score_spark_command(
    location: str = typer.Argument(
        ...,
        help="Dataset location Spark reads (directory, hdfs://, s3a://...) holding "
        "<table>.parquet for each contract table.",
    ),
    out: str = typer.Option(
        ..., "--out", help="Where to write the leads table (a Parquet directory)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model URI; default: models:/<registered model>@champion."
    ),
    top: int | None = typer.Option(
        None, "--top", min=1, help="Only the first N per subject type and pattern."
    ),
    order: str = typer.Option(
        "score", "--order", help="score, or expected_recovery (score × amount at risk)."
    ),
    master: str | None = typer.Option(
        None,
        "--master",
        help="Spark master (local[2], yarn, k8s://...); default: spark-submit's, else local[*].",
    ),
    driver_memory: str | None = typer.Option(
        None, "--driver-memory", help="spark.driver.memory; default: the spark settings (2g)."
    ),
    executor_memory: str | None = typer.Option(
        None, "--executor-memory", help="spark.executor.memory (cluster)."
    ),
    shuffle_partitions: int | None = typer.Option(
        None,
        "--shuffle-partitions",
        min=1,
        help="spark.sql.shuffle.partitions; default: the spark settings (8).",
    ),
    person_buckets: int | None = typer.Option(
        None,
        "--person-buckets",
        min=0,
        help="Hash buckets of persons for the per-person stage; 0 (default): one group per person.",
    ),
    population_buckets: int | None = typer.Option(
        None,
        "--population-buckets",
        min=0,
        help="Hash buckets of institutions, persons and doctors for the population stage; "
        "0 (default): --shuffle-partitions.",
    ),
    conf: list[str] = typer.Option(
        [], "--conf", help="Further Spark configuration, key=value (repeatable)."
    ),
) -> None:
    """Score a dataset on Spark and write the leads table, as `fundguard score` does locally."""
    from features.spark import spark_session, spark_unavailable
    from fundguard.cli import settings as load
    from models.spark import score_dataset_spark, write_leads
    from training.registry import champion_uri, load_scorer

    if order not in ("score", "expected_recovery"):
        raise fail(f"--order {order!r}: use score or expected_recovery")
    extra = _parse_conf(conf)
    reason = spark_unavailable()
    if reason:
        raise fail(reason)
    started = time.perf_counter()
    settings = load()
    scorer = load_scorer(model or champion_uri(settings.training), settings.training)
    spark_settings = with_options(
        settings.spark,
        master=master,
        driver_memory=driver_memory,
        executor_memory=executor_memory,
        shuffle_partitions=shuffle_partitions,
        person_buckets=person_buckets,
        population_buckets=population_buckets,
        conf=extra,
    )
    spark = spark_session(spark_settings)
    leads = score_dataset_spark(
        spark,
        location,
        scorer,
        spark_settings,
        top=top,
        order=order,  # type: ignore[arg-type]
        feature_settings=settings.features,
    ).cache()
    write_leads(leads, out)
    counts = {
        row["subject_type"]: row["count"] for row in leads.groupBy("subject_type").count().collect()
    }
    leads.unpersist()
    rows: dict[str, Any] = {f"{t} leads": f"{n:,}" for t, n in sorted(counts.items())}
    rows["model"] = scorer.model_version
    rows["spark master"] = spark.sparkContext.master
    rows["written to"] = out
    rows["seconds"] = f"{time.perf_counter() - started:.1f}"
    summary("score-spark", rows)


def with_options(section: SparkSettings, **given: Any) -> SparkSettings:
    """The ``spark`` section of the settings (``FUNDGUARD_SPARK__*``) with the options given
    on the command line in its place; ``conf`` entries are added to the section's."""
    update = {name: value for name, value in given.items() if value is not None}
    update["conf"] = {**section.conf, **given.get("conf", {})}
    return SparkSettings(**{**section.model_dump(), **update})


def _parse_conf(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise fail(f"--conf {pair!r}: give key=value, e.g. spark.executor.cores=4")
        out[key.strip()] = value.strip()
    return out


def main() -> None:
    """The ``spark-submit`` entry point: ``fundguard score-spark`` with this file's arguments."""
    import sys

    from fundguard.cli import main as cli_main

    sys.argv = ["fundguard", "score-spark", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
