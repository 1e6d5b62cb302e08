"""The population stage on Spark: peer, institution and doctor signals and the roll-ups,
without bringing visits to the driver.

The same pieces as the local ``features.build.assemble`` run per group, given the
statistics over everyone that a group cannot see:

1. statistics over everyone, small and broadcast: the daily-cost medians of peer stays
   (exact ``percentile`` aggregations in Spark over ``bed_hanging.stay_daily_costs``) and
   the institution peer groups (one row per institution);
2. per bucket of institutions (``groupBy(...).applyInPandas``): the visits and doctor
   visits of those institutions, ``population_parts`` (every population signal group but
   the two judged against all peers), ``visit_frame``, the institution roll-ups with
   ``level_frame`` and the institutions' billing sums; each visit leaves with its roll-up
   flags;
3. per bucket of persons: the per-person signals and the person roll-ups (``level_frame``);
4. per bucket of doctors: the doctor visits with their visits' roll-up flags, the drug
   basket signals, the drug volume and the doctor roll-ups;
5. on the driver, one row per institution and per doctor: the peer judgements
   (``other.judge_billing``, ``over_prescription.judge_drug_volume``) and the dataset-stage
   institution signals (``features.provider_network``, which still read the settlements:
   see docs/spark.md).

Visits, persons and evidence stay Spark frames; rows are ordered as the local path orders
them (``ORDER_COLUMN``), so that ties and the examples a lead cites come out the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features import other, over_prescription
from features.bed_hanging import stay_daily_costs
from features.build import (
    ROLLUP_PATTERNS,
    combine_evidence,
    finish_institutions,
    institution_peer_groups,
    level_frame,
    main_institution,
    person_peer_group,
    population,
    population_parts,
    rollup_flags,
    rollup_members,
    typed_signals,
    visit_frame,
)
from features.common import PeerMedians, concat_evidence, empty_evidence
from features.config import FeatureSettings
from features.contract import EVIDENCE_COLUMNS, FeatureSet, FeatureSpec, Level
from features.person import PersonSignals
from features.provider_network import DATASET_COLUMNS
from features.registry import SignalGroup, registry
from features.spark import (
    ORDER_COLUMN,
    ROW_COLUMN,
    SparkFeatureSet,
    arrow_ready,
    map_groups,
    pandas_tables,
    quiet_pandas_version_warning,
    restore_frame,
    spark_type_of,
)
from settlements.dataset import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql.types import StructType

    from features.spark import SparkSettings, SparkTables

POSITION = "_fg_pos"
"""A visit's position in the local order (increasing with ``mdtrt_id``, not dense)."""
KEY = "_fg_key"
FLAG = "_fg_flag_"
BILLING = "_fg_bill_"
VOLUME = "_fg_hv"
EVIDENCE_ORDER = "_fg_evidence_order"
"""The local order of an evidence line without its subject's position:
``joined << 62 | population stage << 61 | feature rank << 48``; the subject's position
(< 2**48) is added once known."""

DEFERRED = (other.peer_outlier_signals, over_prescription.doctor_signals)
"""Population groups judged against every institution or doctor: built per subject in
the groups, judged on the driver over one row per subject."""

ROLLUP_VISIT_COLUMNS = (
    "psn_no",
    "fixmedins_code",
    "fund",
    "first_setl_time",
    "last_setl_time",
    "chapter",
    "hosp_lv",
    "insuplc_admdvs",
    "is_stay",
)
"""What the person and doctor roll-ups and the doctor peer groups read of a visit."""


def evidence_order(lines: pd.DataFrame, joined: np.ndarray, population_stage: bool) -> np.ndarray:
    """``EVIDENCE_ORDER`` of evidence lines (``joined``: lines that combine findings)."""
    rank = {spec.name: i for i, spec in enumerate(registry.specs())}
    feature = lines["feature"].map(rank).fillna(len(rank)).to_numpy(dtype="int64")
    return (
        (joined.astype("int64") << 62) | (np.int64(population_stage) << 61) | (feature << 48)
    ).astype("int64")


def ordered_evidence(
    lines: pd.DataFrame,
    population_stage: bool,
    positions: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Evidence lines combined per (subject, feature), with their ``EVIDENCE_ORDER`` plus
    the subject's position where ``positions`` (by subject type, then ID) gives it."""
    combined, joined = combine_evidence(lines)
    order = evidence_order(combined, joined, population_stage)
    for subject_type, at in (positions or {}).items():
        mine = combined["subject_type"].eq(subject_type).to_numpy(dtype=bool)
        if mine.any():
            found = at.reindex(combined["subject_id"].astype("string")[mine]).fillna(0)
            order[mine] = order[mine] + found.to_numpy(dtype="int64")
    out = combined.loc[:, list(EVIDENCE_COLUMNS)].astype("string")
    out[EVIDENCE_ORDER] = order
    return out


@dataclass(frozen=True)
class SampleTypes:
    """The columns and dtypes of every output, learned from a few persons on the driver."""

    person: dict[str, dict[str, Any]]
    """Of ``person_signals``' frames (``visits``, ``persons``, ``doctor_visits`` ...)."""
    levels: dict[Level, dict[str, Any]]
    """Of each level's frame of the ``FeatureSet``."""
    specs: tuple[FeatureSpec, ...]
    skipped: tuple[tuple[str, str], ...]


def _schema(columns: Mapping[str, Any]) -> StructType:
    from pyspark.sql import types as st

    return st.StructType(
        [
            st.StructField(str(c), spark_type_of(pd.Series(dtype=t).dtype))
            for c, t in columns.items()
        ]
    )


def _level_columns(types: SampleTypes, level: Level, **extra: Any) -> dict[str, Any]:
    return {"subject_id": "string", **types.levels[level], **extra}


def population_spark(
    tables: SparkTables,
    outputs: Mapping[str, SparkFrame],
    types: SampleTypes,
    small: Dataset,
    s: FeatureSettings,
    spark_settings: SparkSettings,
) -> SparkFeatureSet:
    """The ``FeatureSet`` as Spark frames from the per-person stage's outputs (see the
    module docstring for what runs where)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    spark = tables.settlements.sparkSession
    buckets = spark_settings.population_buckets or spark_settings.shuffle_partitions
    keep = StorageLevel.MEMORY_AND_DISK
    visit_types = {**types.person["visits"]}
    visits = (
        outputs["visits"]
        .orderBy("mdtrt_id")
        .withColumn(POSITION, sf.monotonically_increasing_id())
        .persist(keep)
    )
    specs = types.specs
    built = {sp.name for sp in specs}
    skipped = types.skipped

    # 1. statistics over everyone
    peers = _stay_cost_peers(visits, visit_types)
    institution_rows = restore_frame(
        visits.select("fixmedins_code", "fixmedins_type", "hosp_lv", "admdvs")
        .dropDuplicates(["fixmedins_code"])
        .toPandas(),
        {c: visit_types[c] for c in ("fixmedins_code", "fixmedins_type", "hosp_lv", "admdvs")},
        None,
    )
    institution_groups = institution_peer_groups(institution_rows, s)
    shared = spark.sparkContext.broadcast(_Shared(small, peers, institution_groups))

    # 2. per bucket of institutions
    rollup_types = {
        "mdtrt_id": "string",
        **{c: visit_types[c] for c in ROLLUP_VISIT_COLUMNS},
        POSITION: "int64",
        **{f"{FLAG}{p.value}": "bool" for p in ROLLUP_PATTERNS},
    }
    billing = {f"{BILLING}{c}": "float64" for c in other.BILLING_COLUMNS}
    evidence_types = {c: "string" for c in EVIDENCE_COLUMNS} | {EVIDENCE_ORDER: "int64"}
    institution_outputs = {
        "visits": _level_columns(types, Level.VISIT, **{ORDER_COLUMN: "int64"}),
        "rollup": rollup_types,
        "institutions": _level_columns(types, Level.INSTITUTION, **billing),
        "evidence": evidence_types,
    }
    dv_types = types.person["doctor_visits"]
    wanted = frozenset({Level.VISIT, Level.INSTITUTION})

    def by_institution(parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        got = shared.value
        rows = restore_frame(parts["visits"], {**visit_types, POSITION: "int64"}, "mdtrt_id")
        rows = rows.sort_values(POSITION, kind="stable")
        position = rows.pop(POSITION)
        dv = restore_frame(parts["doctor_visits"], dv_types, None)
        dv = dv.sort_values("mdtrt_id", kind="stable").reset_index(drop=True)
        ps = PersonSignals(rows, pd.DataFrame(), dv, empty_evidence(), skipped)
        pop = population(ps, got.small, s, wanted, got.groups, got.peers)
        made = population_parts(pop, got.small, s, wanted, skipped, _in_groups)
        vis = made.visits
        flags = rollup_flags(vis, built)
        frame = visit_frame(vis, specs).reset_index()
        frame[ORDER_COLUMN] = position.to_numpy(dtype="int64")
        rollup = vis.loc[:, list(ROLLUP_VISIT_COLUMNS)].reset_index(names="mdtrt_id")
        rollup[POSITION] = position.to_numpy(dtype="int64")
        for p, f in flags.items():
            rollup[f"{FLAG}{p.value}"] = f
        index, codes, at = rollup_members(Level.INSTITUTION, vis, pop)
        inst = level_frame(
            Level.INSTITUTION,
            vis,
            flags,
            index,
            codes,
            at,
            made.level_parts[Level.INSTITUTION],
            pop.institution_peer_group,
            specs,
        )
        if _built(other.peer_outlier_signals, built):
            sums = other.institution_billing(pop).reindex(index)
            for c in other.BILLING_COLUMNS:
                inst[f"{BILLING}{c}"] = sums[c].to_numpy(dtype="float64")
        visit_position = pd.Series(position.to_numpy(), index=position.index.astype("string"))
        lines = concat_evidence(made.evidence)
        return {
            "visits": frame,
            "rollup": rollup,
            "institutions": inst.reset_index(),
            "evidence": ordered_evidence(lines, True, {"visit": visit_position}),
        }

    institution_key = _bucket("fixmedins_code", buckets)
    per_institution = map_groups(
        {
            "visits": visits.withColumn(KEY, institution_key),
            "doctor_visits": outputs["doctor_visits"].withColumn(KEY, institution_key),
        },
        KEY,
        by_institution,
        {name: _schema(columns) for name, columns in institution_outputs.items()},
    )
    rollup = per_institution["rollup"]

    # 3. per bucket of persons
    person_types = types.person["persons"]
    person_columns = _level_columns(types, Level.PERSON, **{ORDER_COLUMN: "int64"})

    def by_person(parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        own = restore_frame(parts["persons"], person_types, "psn_no")
        own = own.set_axis(own.index.astype("string"))
        vis = _rollup_visits(parts["visits"], rollup_types)
        index, codes, at = rollup_members(Level.PERSON, vis)
        frame = level_frame(
            Level.PERSON,
            vis,
            _rollup_flags(vis),
            index,
            codes,
            at,
            [own],
            person_peer_group(vis, index),
            specs,
        )
        first = vis.groupby(vis["psn_no"].to_numpy())[POSITION].min()
        frame[ORDER_COLUMN] = first.reindex(index).to_numpy(dtype="int64")
        return {"persons": frame.reset_index()}

    person_key = _bucket("psn_no", buckets)
    per_person = map_groups(
        {
            "persons": outputs["persons"].withColumn(KEY, person_key),
            "visits": rollup.withColumn(KEY, person_key),
        },
        KEY,
        by_person,
        {"persons": _schema(person_columns)},
    )

    # 4. per bucket of doctors
    doctor_columns = _level_columns(types, Level.DOCTOR, **{VOLUME: "float64"})

    def by_doctor(parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        got = shared.value
        vis = _rollup_visits(parts["visits"], rollup_types).drop_duplicates(POSITION)
        dv = restore_frame(parts["doctor_visits"], dv_types, None)
        dv = dv.sort_values("mdtrt_id", kind="stable").reset_index(drop=True)
        ps = PersonSignals(vis, pd.DataFrame(), dv, empty_evidence(), skipped)
        pop = population(ps, got.small, s, {Level.DOCTOR}, pd.Series(dtype="string"))
        index, codes, at = rollup_members(Level.DOCTOR, vis, pop)
        own, lines = [], []
        if _built(over_prescription.doctor_signals, built):
            basket = over_prescription.doctor_basket_signals(pop, s)
            own.append(basket.values)
            lines.append(basket.evidence)
        frame = level_frame(
            Level.DOCTOR,
            vis,
            _rollup_flags(vis),
            index,
            codes,
            at,
            own,
            pop.doctor_peer_group,
            specs,
        )
        dedup = pop.doctor_visits.drop_duplicates(["v", "doctor"])
        frame["ctx_institution"] = main_institution(dedup, index)
        frame[VOLUME] = over_prescription.doctor_drug_volume(pop).reindex(index).to_numpy()
        return {
            "doctors": frame.reset_index(),
            "evidence": ordered_evidence(concat_evidence(lines), True),
        }

    doctor_key = _bucket("doctor", buckets)
    doctor_visits = outputs["doctor_visits"].withColumn(KEY, doctor_key)
    per_doctor = map_groups(
        {
            "doctor_visits": doctor_visits,
            "visits": rollup.join(
                doctor_visits.select("mdtrt_id", KEY).distinct(), on="mdtrt_id", how="inner"
            ),
        },
        KEY,
        by_doctor,
        {"doctors": _schema(doctor_columns), "evidence": _schema(evidence_types)},
    )

    # 5. on the driver: one row per institution and per doctor
    institutions, inst_lines = _finish_institutions(
        restore_frame(
            per_institution["institutions"].toPandas(),
            institution_outputs["institutions"],
            "subject_id",
        ),
        tables,
        small,
        s,
        built,
        specs,
    )
    doctors, doc_lines = _finish_doctors(
        restore_frame(per_doctor["doctors"].toPandas(), doctor_columns, "subject_id"),
        s,
        built,
        specs,
    )
    frames: dict[Level, SparkFrame] = {
        Level.VISIT: per_institution["visits"],
        Level.PERSON: per_person["persons"],
    }
    for level, frame in ((Level.INSTITUTION, institutions), (Level.DOCTOR, doctors)):
        flat = frame.reset_index()
        flat[ORDER_COLUMN] = np.arange(len(flat), dtype="int64")
        columns = _level_columns(types, level, **{ORDER_COLUMN: "int64"})
        frames[level] = _to_spark(spark, flat, columns)

    person_ev = _person_evidence(outputs["evidence"], visits, per_person["persons"])
    driver_lines = pd.concat([inst_lines, doc_lines], ignore_index=True)
    driver_ev = _to_spark(spark, driver_lines, evidence_types)
    evidence = person_ev
    for part in (per_institution["evidence"], per_doctor["evidence"], driver_ev):
        evidence = evidence.unionByName(part)
    evidence = evidence.withColumnRenamed(EVIDENCE_ORDER, ORDER_COLUMN)
    return SparkFeatureSet(frames=frames, evidence=evidence, specs=specs, skipped=skipped)


@dataclass(frozen=True)
class _Shared:
    """What every group receives (broadcast): the small tables and the statistics."""

    small: Dataset
    peers: PeerMedians
    groups: pd.Series


def _in_groups(group: SignalGroup) -> bool:
    """The groups a bucket of institutions builds: the population groups but those judged
    against all peers; the dataset-stage groups run on the driver."""
    return group.stage == "population" and group.compute not in DEFERRED


def _built(compute: Callable[..., Any], built: set[str]) -> bool:
    return any(
        g.compute is compute and all(sp.name in built for sp in g.specs) for g in registry.groups
    )


def _rollup_flags(visits: pd.DataFrame) -> dict[Any, np.ndarray]:
    return {p: visits[f"{FLAG}{p.value}"].to_numpy(bool) for p in ROLLUP_PATTERNS}


def _rollup_visits(rows: pd.DataFrame, dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """Roll-up rows of visits as the local roll-ups read them: by ``mdtrt_id``, in order."""
    vis = restore_frame(rows, dtypes, "mdtrt_id")
    return vis.sort_values(POSITION, kind="stable")


def _bucket(column: str, buckets: int) -> Any:
    from pyspark.sql import functions as sf

    return sf.pmod(sf.xxhash64(sf.col(column)), sf.lit(buckets)).cast("string")


def _stay_cost_peers(visits: SparkFrame, dtypes: Mapping[str, Any]) -> PeerMedians:
    """The daily-cost medians of peer stays over everyone: ``stay_daily_costs`` per
    partition, then exact medians (``percentile``) and sizes per peer group in Spark."""
    from pyspark.sql import functions as sf

    columns = ["mdtrt_id", "is_stay", "medfee", "stay_days", "chapter", "hosp_lv"]
    own = {c: dtypes[c] for c in columns}

    def costs(batches: Any) -> Any:
        quiet_pandas_version_warning()
        for rows in batches:
            daily, group = stay_daily_costs(restore_frame(rows, own, "mdtrt_id"))
            yield pd.DataFrame(
                {
                    "g": np.asarray(group, dtype=object),
                    "x": daily.to_numpy(dtype="float64"),
                }
            )

    stays = visits.select(*columns).mapInPandas(costs, schema="g string, x double")
    stays = stays.withColumn(
        "x", sf.when(sf.isnan("x"), sf.lit(None).cast("double")).otherwise(sf.col("x"))
    ).persist()
    per = stays.groupBy("g").agg(
        sf.percentile("x", sf.lit(0.5)).alias("median"), sf.count(sf.lit(1)).alias("size")
    )
    table = per.toPandas()
    overall = stays.agg(sf.percentile("x", sf.lit(0.5)).alias("m")).first()
    stays.unpersist()
    index = pd.Index(table["g"].astype(object))
    value = overall["m"] if overall is not None else None
    return PeerMedians(
        median=pd.Series(table["median"].to_numpy(dtype="float64"), index=index),
        size=pd.Series(table["size"].to_numpy(dtype="int64"), index=index),
        overall=float("nan") if value is None else float(value),
    )


def _finish_institutions(
    frame: pd.DataFrame,
    tables: SparkTables,
    small: Dataset,
    s: FeatureSettings,
    built: set[str],
    specs: tuple[FeatureSpec, ...],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The institution level: the peer judgement of billing and the dataset-stage signals
    put into the rows built per bucket; their evidence."""
    frame = frame.sort_index()
    sums = frame.loc[:, [f"{BILLING}{c}" for c in other.BILLING_COLUMNS]]
    frame = frame.drop(columns=list(sums.columns))
    lines = []
    if _built(other.peer_outlier_signals, built):
        billing = sums.set_axis(list(other.BILLING_COLUMNS), axis=1)
        judged = other.judge_billing(billing, frame["ctx_peer_group"], s)
        frame = _put(frame, judged.values, specs, Level.INSTITUTION)
        lines.append(judged.evidence)
    dataset_groups = [
        g for g in registry.groups if g.stage == "dataset" and g.specs[0].name in built
    ]
    if dataset_groups:
        dataset = dataset_stage_tables(tables, small)
        for group in dataset_groups:
            result = group.compute(dataset, s)  # type: ignore[misc]
            frame = _put(frame, result.values, specs, Level.INSTITUTION)
            lines.append(result.evidence)
    frame = finish_institutions(frame)
    positions = pd.Series(np.arange(len(frame)), index=frame.index.astype("string"))
    return frame, ordered_evidence(concat_evidence(lines), True, {"institution": positions})


def _finish_doctors(
    frame: pd.DataFrame, s: FeatureSettings, built: set[str], specs: tuple[FeatureSpec, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The doctor level: the peer judgement of high-value drug volume; its evidence."""
    frame = frame.sort_index()
    volume = frame.pop(VOLUME)
    lines = []
    if _built(over_prescription.doctor_signals, built):
        judged = over_prescription.judge_drug_volume(volume, frame["ctx_peer_group"], s)
        frame = _put(frame, judged.values, specs, Level.DOCTOR)
        lines.append(judged.evidence)
    positions = pd.Series(np.arange(len(frame)), index=frame.index.astype("string"))
    return frame, ordered_evidence(concat_evidence(lines), True, {"doctor": positions})


def _put(
    frame: pd.DataFrame, values: pd.DataFrame, specs: tuple[FeatureSpec, ...], level: Level
) -> pd.DataFrame:
    """``frame`` with the signal columns of ``values`` (for its subjects), typed as
    ``features.build`` types a level's signals."""
    names = set(values.columns)
    own = tuple(sp for sp in specs if sp.name in names and sp.level == level)
    typed = typed_signals(values.reindex(frame.index), own, level)
    out = frame.copy()
    for c in typed.columns:
        out[c] = typed[c].to_numpy()
    return out


def dataset_stage_tables(tables: SparkTables, small: Dataset) -> Dataset:
    """The tables the dataset-stage signals read, brought to the driver: the columns of
    settlements and persons that ``provider_network.DATASET_COLUMNS`` names, and fee
    lines reduced in Spark to what those signals read of them (``dataset_stage_fee_lines``)."""

    return pandas_tables(
        {
            "settlements": _columns(tables.settlements, DATASET_COLUMNS["settlements"]),
            "fee_details": _collect(dataset_stage_fee_lines(tables)),
            "persons": _columns(tables.persons, DATASET_COLUMNS["persons"]),
            "institutions": small.institutions,
            "catalog": small.catalog,
        }
    )


def _columns(frame: SparkFrame, names: tuple[str, ...]) -> pd.DataFrame:
    return _collect(frame.select(*[c for c in (*names, ROW_COLUMN) if c in frame.columns]))


def _collect(frame: SparkFrame, rows_per_task: int = 200_000) -> pd.DataFrame:
    """``frame`` on the driver, in tasks of at most ``rows_per_task`` rows, so that each
    task's result stays small (row order: ``ROW_COLUMN`` restores it)."""
    parts = max(1, -(-frame.count() // rows_per_task))
    if parts > frame.rdd.getNumPartitions():
        frame = frame.repartition(parts)
    return frame.toPandas()


def dataset_stage_fee_lines(tables: SparkTables) -> SparkFrame:
    """The fee lines of ``provider_network``'s signals, reduced: its signals read the
    surgery lines (charge type 06: every one is kept, in read order) and the distinct
    (ordering physician, institution) links of all the others, so each other link comes
    as one line of one settlement of that institution (without item or charge type).
    The signals are the same as over every line; the driver holds a few rows per
    physician instead of billions of lines."""
    from pyspark.sql import functions as sf

    fees = tables.fee_details
    names = [c for c in (*DATASET_COLUMNS["fee_details"], ROW_COLUMN) if c in fees.columns]
    surgery = fees.where(sf.col("med_chrgitm_type") == "06").select(*names)
    owners = tables.settlements.select("setl_id", "fixmedins_code")
    links = (
        fees.where(sf.col("bilg_dr_codg").isNotNull())
        .select("setl_id", "bilg_dr_codg")
        .join(owners, on="setl_id", how="inner")
        .groupBy("bilg_dr_codg", "fixmedins_code")
        .agg(sf.min("setl_id").alias("setl_id"))
    )
    others = links.select(
        *[sf.col(c) if c in ("setl_id", "bilg_dr_codg") else sf.lit(None).alias(c) for c in names]
    )
    # typed as the lines; no position, so they come after every surgery line in read order
    others = others.select(*[sf.col(f.name).cast(f.dataType) for f in surgery.schema.fields])
    return surgery.unionByName(others)


def _person_evidence(lines: SparkFrame, visits: SparkFrame, persons: SparkFrame) -> SparkFrame:
    """The per-person stage's evidence (combined per person bucket) with its order: the
    subject's position (a visit's, or a person's first visit's) added to its order."""
    from pyspark.sql import functions as sf

    at = visits.select(
        sf.lit("visit").alias("subject_type"),
        sf.col("mdtrt_id").alias("subject_id"),
        sf.col(POSITION).alias("_fg_at"),
    ).unionByName(
        persons.select(
            sf.lit("person").alias("subject_type"),
            sf.col("subject_id"),
            sf.col(ORDER_COLUMN).alias("_fg_at"),
        )
    )
    joined = lines.join(at, on=["subject_type", "subject_id"], how="left")
    order = sf.col(EVIDENCE_ORDER) + sf.coalesce(sf.col("_fg_at"), sf.lit(0))
    return joined.select(*EVIDENCE_COLUMNS, order.alias(EVIDENCE_ORDER))


def _to_spark(spark: Any, frame: pd.DataFrame, columns: Mapping[str, Any]) -> SparkFrame:

    schema = _schema(columns)
    return spark.createDataFrame(arrow_ready(frame, schema), schema=schema)


def sample_types(sample: FeatureSet, person: dict[str, dict[str, Any]]) -> SampleTypes:
    """``SampleTypes`` from the ``FeatureSet`` of a few persons built locally."""
    levels = {
        level: {str(c): t for c, t in frame.dtypes.items()}
        for level, frame in sample.frames.items()
    }
    return SampleTypes(person=person, levels=levels, specs=sample.specs, skipped=sample.skipped)
