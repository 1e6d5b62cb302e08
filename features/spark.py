"""The features stage on Apache Spark, for datasets larger than one machine.

The same feature functions as the local path run unchanged: a dataset's settlements and
fee lines are grouped by person (``groupBy(...).applyInPandas``) and each group is built
into signal frames by the local per-person function; the institution and doctor signals
are then computed over those outputs. PySpark is an optional extra
(``pip install 'fundguard[spark]'``) and is imported only inside the functions that need it.

The tables are read from Parquet on any store Spark reads (a local directory, ``hdfs://``,
``s3a://``), one ``<table>.parquet`` file or directory of part files per contract table,
as intake writes them (validated, identifiers already pseudonymised).
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.config import FeatureSettings
from features.contract import EVIDENCE_COLUMNS, FeatureSet, FeatureSpec, Level
from features.spark_config import SparkSettings
from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.frames import coerce_table
from settlements.schema import INPUT_TABLES, TABLES, Column, Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType, StructType

ROW_COLUMN = "_fg_row"
"""Position of a row in its table as read (increasing with the file order): groups are
put back in this order, so that functions that break ties by row order see the local
path's order."""
_ORDERED_TABLES = ("settlements", "fee_details", "persons")
ORDER_COLUMN = "_fg_order"
"""Position of a subject row or an evidence line in its ``FeatureSet``."""
GROUP_COLUMN = "_fg_group"
"""The grouping key of the per-person stage: a hash bucket of ``psn_no`` (or ``psn_no``)."""


def spark_unavailable() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or ``None`` when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'fundguard[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and not (
        shutil.which("java")
    ):
        return "no Java runtime found: install Java 17 or set JAVA_HOME"
    return None


def spark_session(settings: SparkSettings | None = None) -> SparkSession:
    """A Spark session with fundguard's settings: Arrow on, UI off, UTC time zone.

    Without a master (and outside ``spark-submit``, which gives one) it runs locally on
    every core. Locally, Python workers run the interpreter of this process (so they
    import the same fundguard) and the driver binds to the loopback address; on a cluster,
    ``PYSPARK_PYTHON`` names the executors' interpreter (see docs/spark.md).
    """
    reason = spark_unavailable()
    if reason:
        raise InputError(reason)
    s = settings or SparkSettings()
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    master = s.master or (None if submitted else "local[*]")
    if master is not None and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    quiet_pandas_version_warning()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(s.app_name)
    if master is not None:
        builder = builder.master(master)
    conf: dict[str, str] = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": s.driver_memory,
        "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(s.arrow_batch_rows),
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.maxResultSize": "0",
        # task results up to this size go straight to the driver instead of through the
        # block manager, where large ones were lost under memory pressure in local mode
        "spark.task.maxDirectResultSize": "64m",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        # pandas writes datetime64[ns] as Parquet TIMESTAMP(NANOS), which Spark reads only
        # as nanoseconds since the epoch; contract_frame turns those back into timestamps.
        "spark.sql.legacy.parquet.nanosAsLong": "true",
    }
    if s.executor_memory:
        conf["spark.executor.memory"] = s.executor_memory
    conf.update(s.conf)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def quiet_pandas_version_warning() -> None:
    """PySpark 4 warns on every conversion that pandas 3 is not fully supported; the
    conversions fundguard uses (Arrow, str/float64/datetime64) are tested here."""
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )


# -- the contract's tables as Spark frames ---------------------------------------------------


def spark_type(column: Column) -> DataType:
    """The Spark type of a contract column: codes stay strings, dates are midnight
    timestamps without time zone (as intake types them), amounts are doubles."""
    from pyspark.sql import types as st

    if column.kind == "str":
        return st.StringType()
    if column.kind in ("date", "datetime"):
        return st.TimestampNTZType()
    return st.DoubleType()


def spark_schema(table: Table, names: tuple[str, ...] | None = None) -> StructType:
    """The Spark schema of a contract table (of ``names`` only, when given)."""
    from pyspark.sql import types as st

    wanted = table.column_names if names is None else names
    return st.StructType(
        [st.StructField(c.name, spark_type(c), True) for c in table.columns if c.name in wanted]
    )


@dataclass(frozen=True)
class SparkTables:
    """The contract's tables of one dataset as Spark frames; optional ones may be ``None``."""

    settlements: SparkFrame
    fee_details: SparkFrame
    persons: SparkFrame
    institutions: SparkFrame
    catalog: SparkFrame | None = None
    labels: SparkFrame | None = None

    def tables(self) -> dict[str, SparkFrame]:
        """The present tables, by contract name."""
        out = {}
        for f in fields(self):
            frame = getattr(self, f.name)
            if frame is not None:
                out[f.name] = frame
        return out


def read_spark_tables(spark: SparkSession, location: str) -> SparkTables:
    """The contract's tables under ``location`` (``<location>/<table>.parquet``), typed.

    Each contract column is cast to its contract type; a code column stored as a number
    is refused (casting it would lose leading zeros), as is a missing required column or
    table. Direct identifiers are not read: no signal uses them. Extra columns are dropped.
    Settlements, fee lines and persons carry ``ROW_COLUMN``, their position as read.
    """
    from pyspark.sql import functions as sf

    frames: dict[str, SparkFrame | None] = {}
    for table in INPUT_TABLES:
        path = f"{location.rstrip('/')}/{table.name}.parquet"
        raw = _read_parquet(spark, path)
        if raw is None:
            if table.required:
                raise InputError(
                    f"{location}: required table {table.name} is missing "
                    f"(expected {table.name}.parquet)"
                )
            frames[table.name] = None
            continue
        frame = contract_frame(raw, table, path)
        if table.name in _ORDERED_TABLES:
            frame = frame.withColumn(ROW_COLUMN, sf.monotonically_increasing_id())
        frames[table.name] = frame
    return SparkTables(**frames)  # type: ignore[arg-type]


def _read_parquet(spark: SparkSession, path: str) -> SparkFrame | None:
    from pyspark.errors import AnalysisException

    try:
        return spark.read.parquet(path)
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return None
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: cannot be read as Parquet ({first})") from None


def contract_frame(raw: SparkFrame, table: Table, source: str = "") -> SparkFrame:
    """``raw`` reduced to the contract columns of ``table`` (identifiers left out), each
    cast to its contract type.

    Date and datetime columns stored as 64-bit integers are Parquet nanosecond
    timestamps (what pandas writes), read by Spark as nanoseconds since the epoch.
    """
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    where = source or table.name
    present = dict(zip(raw.columns, (f.dataType for f in raw.schema.fields), strict=True))
    missing = [c for c in table.required_columns if c not in present]
    if missing:
        raise InputError(
            f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} of table {table.name}"
        )
    columns = []
    for column in table.columns:
        if column.name not in present or column.identifier:
            continue
        stored = present[column.name]
        if column.kind == "str" and isinstance(
            stored, st.IntegralType | st.FractionalType | st.DecimalType
        ):
            raise InputError(
                f"{where}: column {column.name} is stored as {stored.simpleString()} but is a "
                "code (str); re-export it as text so that leading zeros are kept"
            )
        value = sf.col(column.name)
        if column.kind in ("date", "datetime") and isinstance(stored, st.LongType):
            value = sf.timestamp_micros(sf.floor(value / 1000)).cast(st.TimestampNTZType())
        if column.kind == "date":
            value = sf.date_trunc("day", value.cast(st.TimestampNTZType())).cast(
                st.TimestampNTZType()
            )
        columns.append(value.cast(spark_type(column)).alias(column.name))
    return raw.select(*columns)


def pandas_tables(
    frames: Mapping[str, pd.DataFrame | None],
) -> Dataset:
    """A ``Dataset`` of pandas frames received from Spark, typed exactly as intake types
    them (``str`` codes, ``datetime64[ns]`` dates, ``float64`` amounts)."""
    typed: dict[str, pd.DataFrame | None] = {}
    for name in ("settlements", "fee_details", "persons", "institutions", "catalog", "labels"):
        frame = frames.get(name)
        typed[name] = None if frame is None else pandas_table(TABLES[name], frame)
    return Dataset(**typed)  # type: ignore[arg-type]


def pandas_table(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """One table received from Spark (via Arrow) in the types of intake's output, its rows
    in the order they were read."""
    return coerce_table(table, _in_read_order(frame)).frame


def spark_frame_of(spark: SparkSession, frame: pd.DataFrame, table: Table) -> SparkFrame:
    """A pandas frame of a contract table as a Spark frame with the contract's schema."""
    names = tuple(c.name for c in table.columns if c.name in frame.columns and not c.identifier)
    return spark.createDataFrame(frame.loc[:, list(names)], schema=spark_schema(table, names))


# -- the per-person stage -------------------------------------------------------------------

_TABLE_TAG = "_fg_table"
_OUTPUT_TAG = "_fg_output"
_PERSON_PREFIX = "p__"

PersonBuild = Callable[[Dataset], Mapping[str, pd.DataFrame]]
"""What runs on each group of persons: their tables (institutions and catalog whole) in,
named frames out (e.g. visit signals, person signals, evidence)."""


def person_key(psn_no: Any, buckets: int) -> Any:
    """The grouping key of a person: a hash bucket of ``psn_no``, or ``psn_no`` itself."""
    from pyspark.sql import functions as sf

    if buckets <= 0:
        return psn_no
    return sf.pmod(sf.xxhash64(psn_no), sf.lit(buckets)).cast("string")


def map_persons(
    tables: SparkTables,
    build: PersonBuild,
    outputs: Mapping[str, StructType],
    settings: SparkSettings | None = None,
) -> PersonOutputs:
    """Run ``build`` on every group of persons and return its named outputs as Spark frames.

    Each group holds all settlements, fee lines and person rows of its persons (so any
    per-person function sees whole persons); institutions and the catalog are broadcast
    whole. ``outputs`` declares the Spark schema of each frame ``build`` returns (index
    reset into columns). The result frames share one persisted computation: call
    ``release()`` when done.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    s = settings or SparkSettings()
    spark = tables.settlements.sparkSession
    settlements = tables.settlements.withColumn(
        GROUP_COLUMN, person_key(sf.col("psn_no"), s.person_buckets)
    )
    owners = tables.settlements.select("setl_id", sf.col("psn_no").alias("_fg_psn"))
    lines = (
        tables.fee_details.join(owners, on="setl_id", how="inner")
        .withColumn(GROUP_COLUMN, person_key(sf.col("_fg_psn"), s.person_buckets))
        .drop("_fg_psn")
    )
    persons = tables.persons.join(
        settlements.select("psn_no").distinct(), on="psn_no", how="left_semi"
    )
    persons = persons.select(
        *[sf.col(c).alias(f"{_PERSON_PREFIX}{c}") for c in persons.columns],
        person_key(sf.col("psn_no"), s.person_buckets).alias(GROUP_COLUMN),
    )
    left = settlements.withColumn(_TABLE_TAG, sf.lit("settlements")).unionByName(
        persons.withColumn(_TABLE_TAG, sf.lit("persons")), allowMissingColumns=True
    )
    small = spark.sparkContext.broadcast(
        {
            name: frame.toPandas()
            for name, frame in (("institutions", tables.institutions), ("catalog", tables.catalog))
            if frame is not None
        }
    )

    fields = [st.StructField(_OUTPUT_TAG, st.StringType(), False)]
    for name, schema in outputs.items():
        fields += [st.StructField(f"{name}__{f.name}", f.dataType, True) for f in schema.fields]
    wide_schema = st.StructType(fields)
    names = [f.name for f in wide_schema.fields]

    def run(group: pd.DataFrame, fee_lines: pd.DataFrame) -> pd.DataFrame:
        quiet_pandas_version_warning()
        tagged = group[_TABLE_TAG]
        setl = group.loc[tagged.eq("settlements").to_numpy()]
        setl = setl.loc[:, [c for c in setl.columns if not c.startswith(_PERSON_PREFIX)]]
        person_rows = group.loc[tagged.eq("persons").to_numpy()]
        person_rows = person_rows.loc[
            :, [c for c in person_rows.columns if c.startswith(_PERSON_PREFIX)]
        ].rename(columns=lambda c: c[len(_PERSON_PREFIX) :])
        dataset = pandas_tables(
            {
                "settlements": setl.drop(columns=[_TABLE_TAG, GROUP_COLUMN]),
                "fee_details": fee_lines.drop(columns=[GROUP_COLUMN]),
                "persons": person_rows,
                **small.value,
            }
        )
        built = build(dataset)
        parts = []
        for name, schema in outputs.items():
            frame = built[name]
            frame = frame.reset_index() if _has_named_index(frame) else frame
            part = pd.DataFrame(
                {f"{name}__{f.name}": _column_for(frame, f) for f in schema.fields},
                index=pd.RangeIndex(len(frame)),
            )
            part.insert(0, _OUTPUT_TAG, name)
            parts.append(part)
        if not parts:
            return pd.DataFrame({n: [] for n in names})
        return arrow_ready(pd.concat(parts, ignore_index=True), wide_schema)

    wide = (
        left.groupBy(GROUP_COLUMN)
        .cogroup(lines.groupBy(GROUP_COLUMN))
        .applyInPandas(run, schema=wide_schema)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    frames = {
        name: wide.where(sf.col(_OUTPUT_TAG) == name).select(
            *[sf.col(f"{name}__{f.name}").alias(f.name) for f in schema.fields]
        )
        for name, schema in outputs.items()
    }
    return PersonOutputs(frames=frames, computation=wide, small=small)


@dataclass(frozen=True)
class PersonOutputs:
    """The named frames of ``map_persons``, computed once and persisted."""

    frames: dict[str, SparkFrame]
    computation: SparkFrame
    small: Any
    """The broadcast small tables."""

    def __getitem__(self, name: str) -> SparkFrame:
        return self.frames[name]

    def release(self) -> None:
        """Drop the persisted rows and the broadcast tables."""
        self.computation.unpersist()
        if self.small is not None:
            self.small.unpersist()


def arrow_ready(frame: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """``frame``'s columns of ``schema``, in its order, in dtypes PySpark converts to Arrow
    (text as Python objects with ``None`` for missing: PySpark cannot take pandas' Arrow-
    backed string arrays)."""
    from pyspark.sql import types as st

    out = {}
    for f in schema.fields:
        values = frame[f.name] if f.name in frame.columns else pd.Series(None, index=frame.index)
        if isinstance(f.dataType, st.StringType):
            text = values.astype(object)
            values = text.where(values.notna(), None)
        out[f.name] = values.reset_index(drop=True)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _in_read_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order they were read, without the position column, in writable arrays
    (Arrow hands pandas read-only ones)."""
    if ROW_COLUMN not in rows.columns:
        return rows.reset_index(drop=True).copy(deep=True)
    ordered = rows.sort_values(ROW_COLUMN, kind="stable")
    return ordered.drop(columns=[ROW_COLUMN]).reset_index(drop=True)


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(name is not None for name in frame.index.names)


def _column_for(frame: pd.DataFrame, field: Any) -> pd.Series:
    """The values of ``field`` from ``frame`` (missing when absent), ready for Arrow."""
    if field.name not in frame.columns:
        return pd.Series([None] * len(frame), dtype="object")
    values = frame[field.name].reset_index(drop=True)
    if pd.api.types.is_integer_dtype(values.dtype):
        # nullable, so that concatenating outputs (missing in each other's rows) keeps all
        # 64 bits instead of passing through float64
        values = values.astype("Int64")
    return values


# -- signal frames on Spark --------------------------------------------------------------------


@dataclass(frozen=True)
class SparkFeatureSet:
    """A ``FeatureSet`` held as Spark frames: one per level with the subject in column
    ``subject_id`` (then signals and ``ctx_`` columns), and the long evidence frame."""

    frames: dict[Level, SparkFrame]
    evidence: SparkFrame
    specs: tuple[FeatureSpec, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def spark_type_of(dtype: Any) -> DataType:
    """The Spark type that holds a pandas column of ``dtype`` without loss."""
    from pyspark.sql import types as st

    if pd.api.types.is_bool_dtype(dtype):
        return st.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return st.LongType()
    if pd.api.types.is_numeric_dtype(dtype):
        return st.DoubleType()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return st.TimestampNTZType()
    return st.StringType()


def frame_schema(frame: pd.DataFrame, index_name: str = "subject_id") -> StructType:
    """The Spark schema of a signal frame: its index as ``index_name``, then its columns."""
    from pyspark.sql import types as st

    fields = [st.StructField(index_name, st.StringType(), False)]
    fields += [st.StructField(str(c), spark_type_of(frame[c].dtype), True) for c in frame.columns]
    return st.StructType(fields)


def distribute_feature_set(spark: SparkSession, feature_set: FeatureSet) -> SparkFeatureSet:
    """A pandas ``FeatureSet`` as Spark frames (for tests and for sets built on a driver)."""
    frames = {}
    for level, frame in feature_set.frames.items():
        if frame is None:
            continue
        flat = frame.reset_index(names="subject_id").astype({"subject_id": "str"})
        flat[ORDER_COLUMN] = np.arange(len(flat), dtype="int64")
        frames[level] = spark.createDataFrame(
            flat, schema=frame_schema(flat.set_index("subject_id"))
        )
    evidence = feature_set.evidence.astype("str")
    evidence[ORDER_COLUMN] = np.arange(len(evidence), dtype="int64")
    schema = frame_schema(evidence.set_index("subject_type"), index_name="subject_type")
    return SparkFeatureSet(
        frames=frames,
        evidence=spark.createDataFrame(evidence, schema=schema),
        specs=feature_set.specs,
        skipped=feature_set.skipped,
    )


def local_frame(rows: pd.DataFrame, specs: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """A signal frame received from Spark as the local path types it: indexed by
    ``subject_id`` (string), flags ``bool``, numbers ``float64``, text ``string``; in the
    order of the ``FeatureSet`` it came from (``ORDER_COLUMN``), which breaks ties."""
    flags = {s.name for s in specs if s.kind == "flag"}
    if ORDER_COLUMN in rows.columns:
        rows = rows.sort_values(ORDER_COLUMN, kind="stable").drop(columns=[ORDER_COLUMN])
    frame = rows.set_index(rows["subject_id"].astype("string").rename("subject_id"))
    frame = frame.drop(columns=["subject_id"])
    out = {}
    for name in frame.columns:
        values = frame[name]
        if name in flags:
            values = values.astype("boolean").fillna(False).astype(bool)
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            values = values.astype("float64")
        elif values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            values = values.astype("string")
        out[name] = values
    return pd.DataFrame(out, index=frame.index)


def local_evidence(rows: pd.DataFrame) -> pd.DataFrame:
    """Evidence rows received from Spark, as the local path types them, in the order of
    the ``FeatureSet`` they came from (``ORDER_COLUMN``), else in a fixed order: Spark
    does not keep row order, and whichever rows come first are the examples a lead cites."""
    if ORDER_COLUMN in rows.columns:
        rows = rows.sort_values(ORDER_COLUMN, kind="stable")
    else:
        rows = rows.sort_values(["subject_type", "subject_id", "feature", "evidence"])
    return rows.loc[:, list(EVIDENCE_COLUMNS)].astype("string").reset_index(drop=True)


def group_frames(
    frames: Mapping[str, SparkFrame],
    key: str,
    run: Callable[[dict[str, pd.DataFrame]], pd.DataFrame],
    schema: StructType,
) -> SparkFrame:
    """Group several frames by a shared ``key`` column and run ``run`` on each group.

    ``run`` receives each frame's rows of the group by name (columns as in the frame,
    without ``key``) and returns rows of ``schema``. The frames travel as one tagged union,
    so one shuffle brings every frame's rows of a key together.
    """
    from pyspark.sql import functions as sf

    tagged = None
    columns: dict[str, list[str]] = {}
    for name, frame in frames.items():
        own = [c for c in frame.columns if c != key]
        columns[name] = own
        part = frame.select(
            sf.col(key),
            sf.lit(name).alias(_TABLE_TAG),
            *[sf.col(c).alias(f"{name}__{c}") for c in own],
        )
        tagged = part if tagged is None else tagged.unionByName(part, allowMissingColumns=True)
    if tagged is None:
        raise ValueError("group_frames needs at least one frame")

    def apply(group: pd.DataFrame) -> pd.DataFrame:
        quiet_pandas_version_warning()
        tag = group[_TABLE_TAG].to_numpy()
        parts = {}
        for name, own in columns.items():
            rows = group.loc[tag == name, [f"{name}__{c}" for c in own]]
            parts[name] = rows.set_axis(own, axis=1).reset_index(drop=True)
        return arrow_ready(run(parts), schema)

    return tagged.groupBy(key).applyInPandas(apply, schema=schema)


def map_groups(
    frames: Mapping[str, SparkFrame],
    key: str,
    run: Callable[[dict[str, pd.DataFrame]], Mapping[str, pd.DataFrame]],
    outputs: Mapping[str, StructType],
) -> PersonOutputs:
    """``group_frames`` whose ``run`` returns several named frames, declared by
    ``outputs`` (their Spark schemas): one shuffle and one Python call per group, the
    results persisted once and split by name (``release()`` drops them)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    fields = [st.StructField(_OUTPUT_TAG, st.StringType(), False)]
    for name, schema in outputs.items():
        fields += [st.StructField(f"{name}__{f.name}", f.dataType, True) for f in schema.fields]
    wide_schema = st.StructType(fields)

    def each(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
        built = run(parts)
        pieces = []
        for name, schema in outputs.items():
            frame = built[name]
            piece = pd.DataFrame(
                {f"{name}__{f.name}": _column_for(frame, f) for f in schema.fields},
                index=pd.RangeIndex(len(frame)),
            )
            piece.insert(0, _OUTPUT_TAG, name)
            pieces.append(piece)
        return pd.concat(pieces, ignore_index=True)

    wide = group_frames(frames, key, each, wide_schema).persist(StorageLevel.MEMORY_AND_DISK)
    split = {
        name: wide.where(sf.col(_OUTPUT_TAG) == name).select(
            *[sf.col(f"{name}__{f.name}").alias(f.name) for f in schema.fields]
        )
        for name, schema in outputs.items()
    }
    return PersonOutputs(frames=split, computation=wide, small=None)


# -- the features stage on Spark -------------------------------------------------------------

_PERSON_OUTPUTS = ("visits", "persons", "doctor_visits", "evidence")
_INDEX_NAMES = {"visits": "mdtrt_id", "persons": "psn_no"}


@dataclass(frozen=True)
class PersonOutputTypes:
    """The pandas dtypes of ``person_signals``' frames and their Spark schemas, the
    ``FeatureSet`` of the few persons they were learned from, and the small tables."""

    dtypes: dict[str, dict[str, Any]]
    schemas: dict[str, StructType]
    sample: FeatureSet
    small: Dataset
    """Institutions and catalog whole, the other tables empty."""


def person_output_types(tables: SparkTables, settings: FeatureSettings) -> PersonOutputTypes:
    """Learn the columns and dtypes of ``person_signals``' output (and of the whole
    ``FeatureSet``) from a few persons run on the driver, completed from the registry for
    signals that few persons do not build."""
    from features.build import assemble
    from features.person import person_signals
    from features.registry import registry

    few = tables.settlements.select("psn_no").distinct().limit(20)
    settlements = tables.settlements.join(few, on="psn_no", how="left_semi")
    fee_lines = tables.fee_details.join(
        settlements.select("setl_id"), on="setl_id", how="left_semi"
    )
    persons = tables.persons.join(few, on="psn_no", how="left_semi")
    sample = pandas_tables(
        {
            "settlements": settlements.toPandas(),
            "fee_details": fee_lines.toPandas(),
            "persons": persons.toPandas(),
            **{
                n: f.toPandas()
                for n, f in (("institutions", tables.institutions),)
                if f is not None
            },
            **({"catalog": tables.catalog.toPandas()} if tables.catalog is not None else {}),
        }
    )
    ps = person_signals(
        sample.settlements,
        sample.fee_details,
        sample.persons,
        sample.institutions,
        sample.catalog,
        settings,
    )
    frames = _person_frames(ps)
    dtypes: dict[str, dict[str, Any]] = {}
    for name, frame in frames.items():
        flat = frame.reset_index() if name in _INDEX_NAMES else frame
        dtypes[name] = {str(c): t for c, t in flat.dtypes.items()}
    for group in registry.groups:
        if group.stage != "person":
            continue
        for spec in group.specs:
            target = "visits" if spec.level == Level.VISIT else "persons"
            dtypes[target].setdefault(spec.name, "bool" if spec.kind == "flag" else "float64")
    schemas = {}
    for name, columns in dtypes.items():
        schemas[name] = _schema_of(columns)
    small = sample.with_tables(
        settlements=sample.settlements.iloc[:0],
        fee_details=sample.fee_details.iloc[:0],
        persons=sample.persons.iloc[:0],
    )
    return PersonOutputTypes(
        dtypes=dtypes, schemas=schemas, sample=assemble(ps, sample, settings), small=small
    )


def _schema_of(columns: Mapping[str, Any]) -> StructType:
    from pyspark.sql import types as st

    return st.StructType(
        [
            st.StructField(str(c), spark_type_of(pd.Series(dtype=t).dtype))
            for c, t in columns.items()
        ]
    )


def _person_frames(ps: Any) -> dict[str, pd.DataFrame]:
    """``PersonSignals`` as named frames: the evidence combined per (subject, feature) with
    its order (``features.spark_population.EVIDENCE_ORDER``), unsigned 64-bit keys viewed
    as signed (Spark has no unsigned type; the bits are kept and viewed back), categorical
    codes as strings."""
    from features.person import with_strings
    from features.spark_population import ordered_evidence

    frames = {
        "visits": ps.visits,
        "persons": ps.persons,
        "doctor_visits": ps.doctor_visits,
        "evidence": ordered_evidence(ps.evidence, population_stage=False),
    }
    out = {}
    for name, frame in frames.items():
        unsigned = [c for c in frame.columns if frame[c].dtype == "uint64"]
        if unsigned:
            frame = frame.assign(**{c: frame[c].to_numpy().view("int64") for c in unsigned})
        out[name] = with_strings(frame)
    return out


def restore_frame(
    rows: pd.DataFrame, dtypes: Mapping[str, Any], index_name: str | None
) -> pd.DataFrame:
    """Rows collected from Spark in the dtypes ``person_signals`` gives them locally."""
    out = {}
    for name, dtype in dtypes.items():
        values = rows[name]
        dtype = pd.Series(dtype=dtype).dtype
        if dtype == "uint64":
            values = pd.Series(values.to_numpy(dtype="int64").view("uint64"), index=rows.index)
        elif pd.api.types.is_bool_dtype(dtype):
            values = values.astype("boolean").fillna(False).astype(bool)
        else:
            values = values.astype(dtype)
        out[name] = values
    frame = pd.DataFrame(out, index=rows.index)
    if index_name is not None:
        frame = frame.set_index(index_name)
    return frame


def build_features_spark(
    tables: SparkTables,
    settings: FeatureSettings | None = None,
    spark_settings: SparkSettings | None = None,
) -> SparkFeatureSet:
    """``features.build_features`` on Spark, as Spark frames.

    The per-person stage (every fee line: the bulk of the data) runs per group of persons
    on the executors, ``features.person.person_signals`` unchanged; the population stage
    runs per group of institutions, persons and doctors with the same pieces as the local
    ``features.build.assemble`` (``features.spark_population``). The driver holds one row
    per institution and per doctor, and, for the dataset-stage institution signals
    (``features.provider_network``), the columns of settlements, persons and fee lines
    they read (``provider_network.DATASET_COLUMNS``)."""
    from features.person import person_signals
    from features.spark_population import population_spark, sample_types

    s = settings or FeatureSettings()
    ss = spark_settings or SparkSettings()
    types = person_output_types(tables, s)

    def build(dataset: Dataset) -> dict[str, pd.DataFrame]:
        ps = person_signals(
            dataset.settlements,
            dataset.fee_details,
            dataset.persons,
            dataset.institutions,
            dataset.catalog,
            s,
        )
        return _person_frames(ps)

    schemas = {name: types.schemas[name] for name in _PERSON_OUTPUTS}
    outputs = map_persons(tables, build, schemas, ss)
    return population_spark(
        tables, outputs.frames, sample_types(types.sample, types.dtypes), types.small, s, ss
    )


def collect_feature_set(features: SparkFeatureSet) -> FeatureSet:
    """A ``SparkFeatureSet`` brought to the driver as the local path types and orders it
    (for tests and small datasets)."""
    frames = {
        level: local_frame(frame.toPandas(), features.specs)
        for level, frame in features.frames.items()
    }
    return FeatureSet(
        frames=frames,
        evidence=local_evidence(features.evidence.toPandas()),
        specs=features.specs,
        skipped=features.skipped,
    )
