"""The synthetic world: deterministic, valid against the contract, every variant present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stdnum.cn import ric, uscc

from settlements import schema
from settlements.config import IntakeSettings
from settlements.errors import InputError
from settlements.intake import read_dataset, validate_dataset
from settlements.synthetic import World, WorldConfig, generate_world, write_world
from settlements.synthetic.fraud import LOOKALIKES, VARIANTS

PERSONS = 600
KEY = b"test-pseudonym-key"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(PERSONS, seed=11)


def test_same_seed_gives_identical_frames(world: World) -> None:
    again = generate_world(PERSONS, seed=11)
    for (name, frame), (_, other) in zip(
        world.dataset.tables(), again.dataset.tables(), strict=True
    ):
        pd.testing.assert_frame_equal(frame, other, obj=name)
    pd.testing.assert_frame_equal(world.truth, again.truth)


def test_different_seed_gives_a_different_world(world: World) -> None:
    other = generate_world(PERSONS, seed=12)
    assert not world.dataset.settlements["medfee_sumamt"].equals(
        other.dataset.settlements["medfee_sumamt"]
    )


def test_every_fraud_variant_is_in_the_truth_and_confirmed_in_labels(world: World) -> None:
    truth = world.truth
    fraud = truth[truth["fraud"]]
    assert set(fraud["variant"]) == set(VARIANTS)
    labels = world.dataset.labels
    assert labels is not None
    keyed = labels.set_index(["subject_type", "subject_id", "pattern"])["outcome"]
    for variant, (pattern, _, _) in VARIANTS.items():
        rows = fraud[fraud["variant"] == variant]
        assert (rows["pattern"] == pattern).all()
        outcomes = keyed.reindex(
            pd.MultiIndex.from_frame(rows[["subject_type", "subject_id", "pattern"]])
        )
        assert (outcomes == "confirmed").all(), variant


def test_lookalikes_exist_and_are_labelled_rejected(world: World) -> None:
    truth = world.truth
    look = truth[truth["severity"] == "lookalike"]
    assert set(look["variant"]) == set(LOOKALIKES)
    assert (look["outcome"] == "rejected").all()
    assert not look["fraud"].any()


def test_labels_cover_every_subject_type_pattern_and_outcome(world: World) -> None:
    labels = world.dataset.labels
    assert labels is not None
    assert set(labels["subject_type"]) == schema.SUBJECT_TYPES
    assert set(labels["pattern"]) == schema.PATTERNS - {"other"}
    assert set(labels["outcome"]) == schema.OUTCOMES
    for subject_type, group in labels.groupby("subject_type"):
        assert set(group["outcome"]) == {"confirmed", "rejected"}, subject_type
    assert not labels.duplicated(["subject_type", "subject_id", "pattern"]).any()
    assert labels["decided_on"].notna().all()


def test_labelled_subjects_exist_in_the_data(world: World) -> None:
    d = world.dataset
    labels = d.labels
    assert labels is not None
    known = {
        "visit": set(d.settlements["mdtrt_id"]),
        "person": set(d.persons["psn_no"]),
        "institution": set(d.institutions["fixmedins_code"]),
        "doctor": set(d.settlements["atddr_no"]) | set(d.fee_details["bilg_dr_codg"]),
    }
    for subject_type, group in labels.groupby("subject_type"):
        assert set(group["subject_id"]) <= known[str(subject_type)], subject_type


def test_world_obeys_the_contract_types_and_codes(world: World) -> None:
    for name, frame in world.dataset.tables():
        table = schema.TABLES[name]
        assert set(table.required_columns) <= set(frame.columns), name
        assert not frame.duplicated(list(table.key)).any(), name
        for column in table.columns:
            if column.name not in frame:
                continue
            values = frame[column.name]
            if column.kind == "str":
                assert values.dtype == "str", (name, column.name)
            elif column.kind in ("date", "datetime"):
                assert str(values.dtype).startswith("datetime64"), (name, column.name)
            else:
                assert values.dtype == np.float64 or values.dtype.kind in "if", (name, column.name)
            if column.codes is not None:
                assert set(values.dropna()) <= column.codes, (name, column.name)
    s = world.dataset.settlements
    assert s["med_type"].str.len().eq(2).all()
    assert {"11", "13", "14", "21", "41"} <= set(s["med_type"])


def test_money_is_consistent(world: World) -> None:
    s = world.dataset.settlements.set_index("setl_id")
    f = world.dataset.fee_details
    lines = f.groupby("setl_id")["det_item_fee_sumamt"].sum()
    assert np.allclose(s["medfee_sumamt"], lines.reindex(s.index), atol=0.005)
    parts = s["fund_pay_sumamt"] + s["acct_pay"] + s["psn_cash_pay"]
    assert np.allclose(s["medfee_sumamt"], parts, atol=0.005)
    assert (s["hifp_pay"] <= s["fund_pay_sumamt"] + 0.005).all()
    assert np.allclose(f["cnt"] * f["pric"], f["det_item_fee_sumamt"], atol=0.006)
    ordinary = s[s["refd_setl_flag"] == "0"]
    money = ["medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"]
    assert (ordinary[money] >= 0).all().all()


def test_refunds_negate_an_earlier_settlement_of_the_same_visit(world: World) -> None:
    s = world.dataset.settlements
    refunds = s[s["refd_setl_flag"] == "1"]
    assert len(refunds) > 0
    originals = s[s["refd_setl_flag"] == "0"].set_index("mdtrt_id")
    matched = originals.loc[refunds["mdtrt_id"]]
    assert np.allclose(matched["medfee_sumamt"].to_numpy(), -refunds["medfee_sumamt"].to_numpy())
    assert (matched["setl_time"].to_numpy() < refunds["setl_time"].to_numpy()).all()


def test_identifiers_carry_valid_check_digits(world: World) -> None:
    assert world.dataset.persons["certno"].map(ric.is_valid).all()
    assert world.dataset.institutions["uscc"].map(uscc.is_valid).all()


def test_certno_is_optional() -> None:
    world = generate_world(500, seed=3, config=WorldConfig(with_certno=False))
    assert "certno" not in world.dataset.persons


def test_world_passes_intake_with_nothing_quarantined(world: World) -> None:
    result = validate_dataset(world.dataset, IntakeSettings(), KEY)
    for name, rec in result.reconciliation.items():
        assert rec.quarantined == 0, (name, rec.reasons)
    assert result.usable


def test_malformed_rows_are_quarantined_and_only_they() -> None:
    world = generate_world(500, seed=5, config=WorldConfig(malformed_rows=4))
    result = validate_dataset(world.dataset, IntakeSettings(), KEY)
    assert result.reconciliation["settlements"].quarantined == 4
    assert result.reconciliation["fee_details"].quarantined == 4


def test_written_world_reads_back_through_intake(world: World, tmp_path: Path) -> None:
    write_world(world, tmp_path / "world", "csv")
    assert (tmp_path / "world" / "truth.csv").is_file()
    result = read_dataset(tmp_path / "world", IntakeSettings(), KEY)
    assert result.reconciliation["settlements"].accepted == len(world.dataset.settlements)
    assert result.reconciliation["fee_details"].quarantined == 0


def test_too_small_a_world_is_refused() -> None:
    with pytest.raises(InputError):
        generate_world(10, seed=1)


def test_a_world_generated_in_chunks_has_unique_keys_and_consistent_labels() -> None:
    world = generate_world(2_500, seed=9, config=WorldConfig(chunk_persons=1_000))
    d = world.dataset
    assert d.settlements["setl_id"].is_unique
    assert not d.fee_details.duplicated(["setl_id", "feedetl_sn"]).any()
    assert d.persons["psn_no"].is_unique and len(d.persons) == 2_500
    assert set(d.fee_details["setl_id"]) <= set(d.settlements["setl_id"])
    labels = d.labels
    assert labels is not None
    visits = labels.loc[labels["subject_type"] == "visit", "subject_id"]
    assert set(visits) <= set(d.settlements["mdtrt_id"])
    assert set(world.truth.loc[world.truth["fraud"], "variant"]) == set(VARIANTS)


def test_generate_command_writes_the_dataset_and_truth(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fundguard.cli import build_app

    out = tmp_path / "demo"
    result = CliRunner().invoke(
        build_app(), ["generate", "--out", str(out), "--persons", "300", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    for name in ("settlements", "fee_details", "persons", "institutions", "catalog", "labels"):
        assert (out / f"{name}.parquet").is_file(), name
    assert (out / "truth.parquet").is_file()
    assert (out / "world.json").is_file()
    bad = CliRunner().invoke(build_app(), ["generate", "--out", str(out), "--format", "xls"])
    assert bad.exit_code != 0
