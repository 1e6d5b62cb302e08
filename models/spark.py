"""Scoring on Apache Spark: the fitted ``FraudScorer`` runs per partition of subjects.

Every subject's score, reasons and evidence depend only on its own signal row and
evidence (and, at the institution level, on the visits and persons of that institution),
so subjects are hashed into buckets and each bucket is scored by the very same
``models.scoring.score`` as the local path, on a small ``FeatureSet`` of that bucket. The
scorer is broadcast once. Ranks are then assigned across all buckets in Spark, with the
local path's order: calibrated score (or expected recovery), raw margin, pattern, subject.
PySpark is imported only inside these functions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.config import FeatureSettings
from features.contract import FeatureSet, Level, Pattern
from features.spark import (
    ORDER_COLUMN,
    SparkFeatureSet,
    SparkSettings,
    group_frames,
    local_evidence,
    local_frame,
)
from models.scorer import FraudScorer
from models.scoring import LEAD_COLUMNS, Order, ordered, score

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

BUCKET = "_fg_bucket"
ORDER_COLUMNS = ("_key", "_margin", "_pos")


def lead_schema(with_order: bool = False) -> StructType:
    """The Spark schema of the leads table (and of the order keys while ranking)."""
    from pyspark.sql import types as st

    types = {
        "score": st.DoubleType(),
        "rank": st.LongType(),
        "amount_at_risk": st.DoubleType(),
    }
    fields = [st.StructField(c, types.get(c, st.StringType()), True) for c in LEAD_COLUMNS]
    if with_order:
        fields += [st.StructField(c, st.DoubleType(), True) for c in ORDER_COLUMNS]
    return st.StructType(fields)


def score_spark(
    features: SparkFeatureSet,
    scorer: FraudScorer,
    top: int | None = None,
    order: Order = "score",
    buckets: int = 64,
) -> SparkFrame:
    """The leads table of every subject level, scored per bucket and ranked across buckets.

    The same rows as ``models.scoring.score`` on the whole ``FeatureSet`` (with ``top``,
    the first ``top`` per subject type and pattern); exact ties of score and margin are
    broken by subject ID instead of frame order. Where a level has more subjects than
    ``explain_top``, a first pass (scores only) finds the first ``explain_top`` of each
    pattern across buckets, and each bucket explains those of its subjects
    (``explained_subjects``), so the reasons are the local path's too.
    """
    from pyspark.sql import functions as sf

    spark = features.evidence.sparkSession
    shared = spark.sparkContext.broadcast(scorer)
    explain = spark.sparkContext.broadcast(
        explained_subjects(features, scorer, shared, order, buckets)
    )
    parts = []
    for level in _scored_levels(features, scorer):
        work = _scoring(shared, explain, level, top, order)
        parts.append(_by_bucket(features, scorer, level, work, lead_schema(True), buckets))
    if not parts:
        return spark.createDataFrame([], schema=lead_schema())
    leads = parts[0]
    for part in parts[1:]:
        leads = leads.unionByName(part)
    if top is not None:
        leads = _first(leads, ["subject_type", "pattern"], top)
    ranked = leads.withColumn("rank", _rank_within("subject_type"))
    return ranked.select(*LEAD_COLUMNS).withColumn("rank", sf.col("rank").cast("long"))


def explained_subjects(
    features: SparkFeatureSet,
    scorer: FraudScorer,
    shared: Any,
    order: Order = "score",
    buckets: int = 64,
) -> dict[tuple[Level, Pattern], frozenset[str]]:
    """For each (level, pattern) of a level with more subjects than ``explain_top``: the
    first ``explain_top`` subjects in the local lead order, which ``score`` explains with
    per-signal contributions. Smaller levels are left out (every subject is explained)."""

    limit = scorer._settings.explain_top
    out: dict[tuple[Level, Pattern], frozenset[str]] = {}
    for level in _scored_levels(features, scorer):
        if features.frames[level].count() <= limit:
            continue

        def keys(feature_set: FeatureSet, positions: pd.Series | None, lv: Level = level) -> Any:
            return order_keys(feature_set, _scorer_of(shared.value, lv), lv, order, positions)

        rows = _by_bucket(features, scorer, level, keys, key_schema(), buckets)
        first = _first(rows, ["pattern"], limit).select("pattern", "subject_id").toPandas()
        for pattern, ids in first.groupby("pattern")["subject_id"]:
            out[(level, Pattern(str(pattern)))] = frozenset(ids.astype(str))
        for target in scorer.targets_.values():
            if target.level == level:
                out.setdefault((level, target.pattern), frozenset())
    return out


def key_schema() -> StructType:
    """The Spark schema of the order keys of ``order_keys``."""
    from pyspark.sql import types as st

    fields = [st.StructField(c, st.StringType(), True) for c in ("subject_id", "pattern")]
    fields += [st.StructField(c, st.DoubleType(), True) for c in ORDER_COLUMNS]
    return st.StructType(fields)


def _scored_levels(features: SparkFeatureSet, scorer: FraudScorer) -> list[Level]:
    levels = {target.level for target in scorer.targets_.values()}
    return [level for level in Level if level in levels and level in features.frames]


def _scoring(
    shared: Any, explain: Any, level: Level, top: int | None, order: Order
) -> Callable[[FeatureSet, pd.Series | None], pd.DataFrame]:
    def work(feature_set: FeatureSet, positions: pd.Series | None) -> pd.DataFrame:
        return score_bucket(feature_set, shared.value, level, top, order, positions, explain.value)

    return work


def _by_bucket(
    features: SparkFeatureSet,
    scorer: FraudScorer,
    level: Level,
    work: Callable[[FeatureSet, pd.Series | None], pd.DataFrame],
    schema: StructType,
    buckets: int,
) -> SparkFrame:
    """``work`` on each bucket of the level's subjects (with the visits and persons of
    each institution when the institution inputs aggregate them)."""
    if level == Level.INSTITUTION and _aggregates(scorer):
        return _institution_leads(features, work, schema, buckets)
    return _level_leads(features, level, work, schema, buckets)


def _aggregates(scorer: FraudScorer) -> bool:
    """Whether the scorer's institution inputs aggregate visit or person signals."""
    return any(c.how for c in scorer.columns_.get(Level.INSTITUTION, []))


def _rank_within(*keys: str) -> Any:
    """Row number within ``keys`` in the local path's lead order: key, margin, pattern,
    subject (``models.scoring.rank_leads``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    order = [
        sf.col("_key").desc(),
        sf.col("_margin").desc(),
        sf.col("pattern").asc(),
        sf.col("subject_id").asc(),
    ]
    return sf.row_number().over(Window.partitionBy(*keys).orderBy(*order))


def _first(leads: SparkFrame, keys: list[str], top: int) -> SparkFrame:
    """The first ``top`` leads within ``keys`` in the order ``models.scoring.ordered``
    gives one pattern's subjects: key, margin, then position in the level (stable sort)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    order = [sf.col("_key").desc(), sf.col("_margin").desc(), sf.col("_pos").asc()]
    n = sf.row_number().over(Window.partitionBy(*keys).orderBy(*order))
    return leads.withColumn("_n", n).where(sf.col("_n") <= top).drop("_n")


def _bucket(column: str, buckets: int) -> Any:
    from pyspark.sql import functions as sf

    return sf.pmod(sf.xxhash64(sf.col(column)), sf.lit(buckets))


def _level_leads(
    features: SparkFeatureSet,
    level: Level,
    work: Callable[[FeatureSet, pd.Series | None], pd.DataFrame],
    schema: StructType,
    buckets: int,
) -> SparkFrame:
    """``work`` per bucket of a level whose inputs are its own rows."""
    from pyspark.sql import functions as sf

    rows = features.frames[level].withColumn(BUCKET, _bucket("subject_id", buckets))
    evidence = features.evidence.where(sf.col("subject_type") == level.value).withColumn(
        BUCKET, _bucket("subject_id", buckets)
    )
    specs = features.specs

    def run(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
        feature_set = FeatureSet(
            frames={level: local_frame(parts["rows"], specs)},
            evidence=local_evidence(parts["evidence"]),
            specs=specs,
        )
        return work(feature_set, _positions(parts["rows"]))

    return group_frames({"rows": rows, "evidence": evidence}, BUCKET, run, schema)


def _institution_leads(
    features: SparkFeatureSet,
    work: Callable[[FeatureSet, pd.Series | None], pd.DataFrame],
    schema: StructType,
    buckets: int,
) -> SparkFrame:
    """Institution leads, whose inputs include the visits and persons of the institution:
    each bucket of institutions gets all their visits, their visitors and that evidence."""
    from pyspark.sql import functions as sf

    specs = features.specs
    institutions = features.frames[Level.INSTITUTION].withColumn(
        BUCKET, _bucket("subject_id", buckets)
    )
    frames: dict[str, SparkFrame] = {"institution": institutions}
    evidence = features.evidence
    ev_parts = [
        evidence.where(sf.col("subject_type") == Level.INSTITUTION.value).withColumn(
            BUCKET, _bucket("subject_id", buckets)
        )
    ]
    visits = features.frames.get(Level.VISIT)
    if visits is not None and "ctx_institution" in visits.columns:
        visits = visits.withColumn(BUCKET, _bucket("ctx_institution", buckets))
        frames["visit"] = visits
        visit_keys = visits.select(sf.col("subject_id"), sf.col(BUCKET))
        ev_parts.append(
            evidence.where(sf.col("subject_type") == Level.VISIT.value).join(
                visit_keys, on="subject_id", how="inner"
            )
        )
        persons = features.frames.get(Level.PERSON)
        if persons is not None and "ctx_person" in visits.columns:
            person_keys = visits.select(
                sf.col("ctx_person").alias("subject_id"), sf.col(BUCKET)
            ).distinct()
            frames["person"] = persons.join(person_keys, on="subject_id", how="inner")
            ev_parts.append(
                evidence.where(sf.col("subject_type") == Level.PERSON.value).join(
                    person_keys, on="subject_id", how="inner"
                )
            )
    ev = ev_parts[0]
    for part in ev_parts[1:]:
        ev = ev.unionByName(part)
    frames["evidence"] = ev

    def run(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
        level_frames = {Level.INSTITUTION: local_frame(parts["institution"], specs)}
        for name, level in (("visit", Level.VISIT), ("person", Level.PERSON)):
            if name in parts:
                rows = parts[name].drop_duplicates("subject_id")
                level_frames[level] = local_frame(rows, specs)
        feature_set = FeatureSet(
            frames=level_frames,
            evidence=local_evidence(parts["evidence"].drop_duplicates()),
            specs=specs,
        )
        return work(feature_set, _positions(parts["institution"]))

    return group_frames(frames, BUCKET, run, schema)


def score_bucket(
    feature_set: FeatureSet,
    scorer: FraudScorer,
    level: Level,
    top: int | None,
    order: Order,
    positions: pd.Series | None = None,
    explain: Mapping[tuple[Level, Pattern], Collection[str]] | None = None,
) -> pd.DataFrame:
    """Leads of one level for the subjects of ``feature_set``, with the order keys
    (``_key``, ``_margin`` and ``_pos``, the subject's position in the whole level, which
    breaks exact ties as the local path's stable sort does) that rank them against other
    buckets; ``explain`` as in ``models.scoring.score``."""
    own = _scorer_of(scorer, level)
    if not own.targets_ or feature_set.frames[level].empty:
        return pd.DataFrame({c: [] for c in (*LEAD_COLUMNS, *ORDER_COLUMNS)})
    leads = score(feature_set, own, top=top, order=order, explain_subjects=explain)
    order_keys_ = order_keys(feature_set, own, level, order, positions)
    out = leads.merge(order_keys_, on=["subject_id", "pattern"], how="left", validate="1:1")
    return out.astype({"rank": "int64"})


def order_keys(
    feature_set: FeatureSet,
    scorer: FraudScorer,
    level: Level,
    order: Order,
    positions: pd.Series | None = None,
) -> pd.DataFrame:
    """Every subject of ``feature_set`` and pattern with the keys of the lead order
    (``_key``, ``_margin``, ``_pos``): scores only, no reasons."""
    if not scorer.targets_ or feature_set.frames[level].empty:
        return pd.DataFrame({c: [] for c in ("subject_id", "pattern", *ORDER_COLUMNS)})
    keys = []
    for scores in scorer.predict(feature_set).values():
        frame = ordered(scores, feature_set, order)
        keys.append(
            pd.DataFrame(
                {
                    "subject_id": frame.index.astype("string"),
                    "pattern": scores.target.pattern.value,
                    "_key": frame["_key"].to_numpy(),
                    "_margin": frame["margin"].to_numpy(),
                }
            )
        )
    out = pd.concat(keys, ignore_index=True)
    if positions is None:
        positions = pd.Series(
            range(len(feature_set.frames[level])), index=feature_set.frames[level].index
        )
    at = positions.reindex(out["subject_id"].astype("string")).to_numpy()
    out["_pos"] = at.astype("float64")
    return out


def _positions(rows: pd.DataFrame) -> pd.Series | None:
    """Position of each subject in its whole level, when the rows carry it."""
    if ORDER_COLUMN not in rows.columns:
        return None
    return pd.Series(
        rows[ORDER_COLUMN].to_numpy(dtype="int64"),
        index=pd.Index(rows["subject_id"].astype("string")),
    )


def _scorer_of(scorer: FraudScorer, level: Level) -> FraudScorer:
    """The same fitted scorer, restricted to the targets of one subject level."""
    own = copy.copy(scorer)
    own.targets_ = {k: t for k, t in scorer.targets_.items() if k[0] == level}
    return own


def score_dataset_spark(
    spark: SparkSession,
    location: str,
    scorer: FraudScorer,
    spark_settings: SparkSettings | None = None,
    top: int | None = None,
    order: Order = "score",
    buckets: int | None = None,
    feature_settings: FeatureSettings | None = None,
) -> SparkFrame:
    """Leads from the contract's Parquet tables under ``location`` (any Spark store):
    signals with ``features.spark.build_features_spark`` (with the scorer's feature
    settings, else ``feature_settings``), scores per bucket of subjects."""
    from features.spark import build_features_spark, read_spark_tables

    s = spark_settings or SparkSettings()
    tables = read_spark_tables(spark, location)
    features = build_features_spark(tables, scorer.feature_settings or feature_settings, s)
    return score_spark(
        features, scorer, top=top, order=order, buckets=buckets or s.shuffle_partitions
    )


def write_leads(leads: SparkFrame, destination: str) -> None:
    """Write the leads table as Parquet (a directory of part files), ordered by subject
    type and rank, replacing what was there."""
    leads.orderBy("subject_type", "rank").write.mode("overwrite").parquet(destination)
