"""Assembling the world: region, chunks of persons with their care and fraud, labels."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.progress import Track, no_track
from settlements.synthetic.assemble import add_refunds, settle, to_contract
from settlements.synthetic.care import STAY, expand_lines, honest_visits, usual_institutions
from settlements.synthetic.catalog import build_catalog
from settlements.synthetic.config import WorldConfig
from settlements.synthetic.fraud import actor_truth, choose_actors, inject, plan_deaths
from settlements.synthetic.labels import finish_truth, sample_honest
from settlements.synthetic.world import (
    TIER_SECONDARY,
    TIER_TERTIARY,
    Region,
    build_persons,
    build_region,
)

log = logging.getLogger(__name__)

MIN_PERSONS = 200
PERSON_COLUMNS = ("psn_no", "gend", "brdy", "insutype", "insuplc_admdvs", "certno", "dead_date")
INSTITUTION_COLUMNS = (
    "fixmedins_code",
    "fixmedins_name",
    "fixmedins_type",
    "hosp_lv",
    "admdvs",
    "uscc",
    "lat",
    "lon",
    "aprv_bed_cnt",
)


@dataclass(frozen=True)
class World:
    """A generated region: the dataset (with labels) and the full ground truth."""

    dataset: Dataset
    truth: pd.DataFrame
    """One row per (subject, pattern) made suspicious on purpose or sampled as a negative:
    ``subject_type, subject_id, pattern, variant, severity (blatant, subtle, lookalike,
    honest), fraud, labelled, outcome, decided_on, person, institution, doctor``."""
    seed: int
    config: WorldConfig


@dataclass
class _Chunk:
    settlements: pd.DataFrame
    fee_details: pd.DataFrame
    persons: pd.DataFrame
    truth: pd.DataFrame
    stays: pd.DataFrame
    injected: np.ndarray
    """Per settlement: whether fraud or a look-alike made or changed its visit."""


def generate_world(
    persons: int, seed: int, config: WorldConfig | None = None, track: Track = no_track
) -> World:
    """Generate a region of ``persons`` insured persons over ``config.days`` days.

    The same ``persons``, ``seed`` and ``config`` give identical frames. Persons are
    generated in chunks of ``config.chunk_persons`` so memory stays bounded by the chunk
    plus the output.
    """
    config = config or WorldConfig()
    if persons < MIN_PERSONS:
        raise InputError(f"--persons {persons} is too small: use at least {MIN_PERSONS}")
    root = np.random.SeedSequence(seed)
    region_seed, actor_seed, label_seed, chunk_root = root.spawn(4)
    region = build_region(persons, config, np.random.default_rng(region_seed))
    actors = choose_actors(region, config, np.random.default_rng(actor_seed))
    starts = list(range(0, persons, config.chunk_persons))
    seeds = chunk_root.spawn(len(starts))
    chunks: list[_Chunk] = []
    visit_offset = setl_offset = 0
    for first, child in track(list(zip(starts, seeds, strict=True)), "generating persons"):
        count = min(config.chunk_persons, persons - first)
        chunk = _generate_chunk(
            first,
            count,
            region,
            actors,
            config,
            np.random.default_rng(child),
            visit_offset,
            setl_offset,
        )
        visit_offset += chunk.stays.attrs["visits"]
        setl_offset += len(chunk.settlements)
        chunks.append(chunk)

    settlements = pd.concat([c.settlements for c in chunks], ignore_index=True)
    fee_details = pd.concat([c.fee_details for c in chunks], ignore_index=True)
    person_frame = pd.concat([c.persons for c in chunks], ignore_index=True)
    institutions = _with_beds(region, actors, pd.concat([c.stays for c in chunks]), config)
    truth = pd.concat([c.truth for c in chunks], ignore_index=True)
    truth = pd.concat([truth, _actor_rows(actors, region, config)], ignore_index=True)
    label_rng = np.random.default_rng(label_seed)
    injected = np.concatenate([c.injected for c in chunks])
    doctors = region.doctors
    honest = sample_honest(truth, settlements, institutions, doctors, injected, config, label_rng)
    truth, labels = finish_truth(truth, honest, config, label_rng)
    if config.malformed_rows:
        settlements, fee_details = _malformed(
            settlements, fee_details, config.malformed_rows, label_rng
        )
    dataset = Dataset(
        settlements=settlements,
        fee_details=fee_details,
        persons=person_frame,
        institutions=institutions,
        catalog=build_catalog(),
        labels=labels,
    )
    log.info(
        "world generated",
        extra={
            "persons": persons,
            "settlements": len(settlements),
            "fee_lines": len(fee_details),
            "labels": len(labels),
        },
    )
    return World(dataset=dataset, truth=truth, seed=seed, config=config)


def _generate_chunk(
    first: int,
    count: int,
    region: Region,
    actors: object,
    config: WorldConfig,
    rng: np.random.Generator,
    visit_offset: int,
    setl_offset: int,
) -> _Chunk:
    persons = build_persons(first, count, config, rng)
    persons, victims, dying = plan_deaths(persons, config, rng)
    usual = usual_institutions(persons, region, rng)
    visits = honest_visits(persons, usual, region, config, rng)
    visits, truth = inject(
        visits,
        persons,
        usual,
        region,
        actors,  # type: ignore[arg-type]
        victims,
        dying,
        config,
        rng,
    )
    lines = expand_lines(visits, region, rng)
    insutype = persons["insutype"].to_numpy()[visits["person"].to_numpy()]
    settlements, priced = settle(visits, lines, insutype, region, config, rng)
    settlements, priced = add_refunds(
        settlements, priced, visits, ~visits["injected"].to_numpy(), config, rng
    )
    psn_no = persons["psn_no"]
    s_frame, f_frame = to_contract(
        visits, settlements, priced, psn_no, region, config, visit_offset, setl_offset
    )
    truth = _truth_ids(truth, visits, persons, region, visit_offset)
    stays = visits.loc[visits["cat"] == STAY, ["inst", "begin", "los", "injected"]]
    stays.attrs["visits"] = len(visits)
    injected = visits["injected"].to_numpy()[settlements["visit"].to_numpy()]
    return _Chunk(
        s_frame,
        f_frame,
        persons[[c for c in PERSON_COLUMNS if c in persons]].copy(),
        truth,
        stays,
        injected,
    )


def _mdtrt(numbers: np.ndarray) -> np.ndarray:
    return np.array([f"M{n:011d}" for n in numbers], dtype=object)


def _truth_ids(
    truth: pd.DataFrame,
    visits: pd.DataFrame,
    persons: pd.DataFrame,
    region: Region,
    visit_offset: int,
) -> pd.DataFrame:
    """Internal row numbers of the chunk's truth as the contract's IDs, with context."""
    psn = persons["psn_no"].to_numpy()
    inst_codes = region.institutions["fixmedins_code"].to_numpy()
    doc_codes = region.doctors["code"].to_numpy()
    subject = truth["subject"].to_numpy()
    is_visit = (truth["subject_type"] == "visit").to_numpy()
    rows = np.where(is_visit, subject, 0)
    out = truth.assign(
        subject_id=np.where(
            is_visit, _mdtrt(rows + visit_offset), psn[np.where(is_visit, 0, subject)]
        ),
        person=psn[np.where(is_visit, visits["person"].to_numpy()[rows], subject)],
        institution=pd.Series(inst_codes[visits["inst"].to_numpy()[rows]]).where(is_visit),
        doctor=pd.Series(doc_codes[visits["doctor"].to_numpy()[rows]]).where(is_visit),
    )
    return out.drop(columns=["subject"])


def _actor_rows(actors: object, region: Region, config: WorldConfig) -> pd.DataFrame:
    rows = actor_truth(actors, config.days)  # type: ignore[arg-type]
    inst_codes = region.institutions["fixmedins_code"].to_numpy()
    doc_codes = region.doctors["code"].to_numpy()
    doc_inst = region.doctors["inst"].to_numpy()
    is_inst = (rows["subject_type"] == "institution").to_numpy()
    s = rows["subject"].to_numpy()
    as_inst = np.where(is_inst, s, 0)
    as_doc = np.where(is_inst, 0, s)
    return rows.assign(
        subject_id=np.where(is_inst, inst_codes[as_inst], doc_codes[as_doc]),
        institution=np.where(is_inst, inst_codes[as_inst], inst_codes[doc_inst[as_doc]]),
        doctor=pd.Series(doc_codes[as_doc]).where(~is_inst),
        person=None,
    ).drop(columns=["subject"])


def _with_truth_days(truth: pd.DataFrame, config: WorldConfig) -> pd.DataFrame:
    start = np.datetime64(config.start_date, "D")
    return truth.assign(day=(start + truth["day"].to_numpy().astype("timedelta64[D]")))


def census(stays: pd.DataFrame, n_inst: int, days: int) -> np.ndarray:
    """Inpatients present each day, per institution: shape (institutions, days)."""
    diff = np.zeros((n_inst, days + 1), dtype=np.int64)
    inst = stays["inst"].to_numpy()
    begin = stays["begin"].to_numpy()
    end = np.minimum(begin + stays["los"].to_numpy(), days)
    np.add.at(diff, (inst, begin), 1)
    np.add.at(diff, (inst, end), -1)
    return np.cumsum(diff, axis=1)[:, :days]


def _with_beds(
    region: Region, actors: object, stays: pd.DataFrame, config: WorldConfig
) -> pd.DataFrame:
    """Approved beds: comfortably above the peak census, except for the over-bed hospital
    (below its usual census) and the busy honest hospital (exactly its peak)."""
    inst = region.institutions
    n = len(inst)
    all_census = census(stays, n, config.days)
    peak = all_census.max(axis=1)
    beds = np.ceil(peak * 1.3).astype(float) + 2
    over = actors.over_beds  # type: ignore[attr-defined]
    beds[over] = max(1.0, float(np.percentile(all_census[over], 70)))
    if peak[over] <= beds[over]:
        beds[over] = max(1.0, peak[over] - 1.0)
    busy = actors.busy  # type: ignore[attr-defined]
    if busy >= 0:
        beds[busy] = max(1.0, float(peak[busy]))
    hospital = np.isin(inst["tier"].to_numpy(), [TIER_SECONDARY, TIER_TERTIARY])
    frame = inst.assign(aprv_bed_cnt=np.where(hospital, beds, np.nan))
    return frame[list(INSTITUTION_COLUMNS)].copy()


def _malformed(
    settlements: pd.DataFrame, fee_details: pd.DataFrame, count: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Append ``count`` deliberately bad rows of each table, for demoing quarantine: an
    unknown med_type, an end before the start, a negative quantity on a non-refund line,
    a fee line of an absent settlement."""
    s = settlements.sample(n=min(count, len(settlements)), random_state=int(rng.integers(2**31)))
    bad_s = s.copy()
    kind = np.arange(len(bad_s)) % 2
    bad_s["setl_id"] = bad_s["setl_id"] + "X"
    bad_s["med_type"] = np.where(kind == 0, "XX", bad_s["med_type"])
    bad_s["enddate"] = np.where(
        kind == 1, bad_s["begndate"] - pd.Timedelta(days=3), bad_s["enddate"]
    )
    f = fee_details[fee_details["cnt"] > 0].sample(
        n=min(count, len(fee_details)), random_state=int(rng.integers(2**31))
    )
    bad_f = f.copy()
    kind = np.arange(len(bad_f)) % 2
    bad_f["feedetl_sn"] = bad_f["feedetl_sn"] + "X"
    bad_f["cnt"] = np.where(kind == 0, -bad_f["cnt"], bad_f["cnt"])
    bad_f["setl_id"] = np.where(kind == 1, "S_MISSING_" + bad_f["setl_id"], bad_f["setl_id"])
    for col in ("setl_id", "med_type"):
        bad_s[col] = bad_s[col].astype("str")
    bad_f["setl_id"] = bad_f["setl_id"].astype("str")
    bad_f["feedetl_sn"] = bad_f["feedetl_sn"].astype("str")
    return (
        pd.concat([settlements, bad_s], ignore_index=True),
        pd.concat([fee_details, bad_f], ignore_index=True),
    )


def write_world(world: World, directory: Path, fmt: str = "parquet") -> None:
    """Write the dataset directory, ``truth.<fmt>`` beside it and ``world.json``."""
    if fmt not in ("parquet", "csv"):
        raise InputError(f"unknown format {fmt!r}: use parquet or csv")
    directory = Path(directory)
    world.dataset.write(directory, fmt)
    if fmt == "parquet":
        world.truth.to_parquet(directory / "truth.parquet", index=False)
    else:
        world.truth.to_csv(directory / "truth.csv", index=False)
    meta = {
        "seed": world.seed,
        "config": json.loads(world.config.model_dump_json()),
        "rows": {name: len(frame) for name, frame in world.dataset.tables()},
        "truth": len(world.truth),
    }
    (directory / "world.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
