"""Pseudonyms of direct identifiers: stable per key, different across keys, never in clear."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.intake import validate_dataset
from settlements.pseudonym import (
    count_invalid_certno,
    normalise_certno,
    pseudonymise,
    valid_certno,
)

CERTNOS = ["11010519491231002X", "110105198005020027"]


def world(certnos: list[str | None], names: list[str | None] | None = None) -> Dataset:
    persons = pd.DataFrame(
        {
            "psn_no": ["P01", "P02"],
            "gend": ["1", "2"],
            "brdy": ["1949-12-31", "1980-05-02"],
            "insutype": ["310", "310"],
            "insuplc_admdvs": ["110105", "110105"],
            "certno": certnos,
        }
    )
    if names is not None:
        persons["psn_name"] = names
    institutions = pd.DataFrame(
        {
            "fixmedins_code": ["H1"],
            "fixmedins_name": ["某医院"],
            "fixmedins_type": ["1"],
            "admdvs": ["110105"],
        }
    )
    settlements = pd.DataFrame(
        {
            "setl_id": ["S1"],
            "mdtrt_id": ["V1"],
            "psn_no": ["P01"],
            "fixmedins_code": ["H1"],
            "med_type": ["11"],
            "begndate": ["2024-03-01"],
            "enddate": ["2024-03-01"],
            "setl_time": ["2024-03-01 10:00:00"],
            "medfee_sumamt": [10.0],
            "hifp_pay": [5.0],
            "fund_pay_sumamt": [5.0],
            "acct_pay": [0.0],
            "psn_cash_pay": [5.0],
            "dise_codg": ["I10"],
        }
    )
    fees = pd.DataFrame(
        {
            "feedetl_sn": ["1"],
            "setl_id": ["S1"],
            "mdtrt_id": ["V1"],
            "fee_ocur_time": ["2024-03-01 09:00:00"],
            "hilist_code": ["001"],
            "list_type": ["201"],
            "med_chrgitm_type": ["02"],
            "cnt": [1.0],
            "pric": [10.0],
            "det_item_fee_sumamt": [10.0],
            "bilg_dr_codg": ["D1"],
        }
    )
    return Dataset(
        settlements=settlements, fee_details=fees, persons=persons, institutions=institutions
    )


def test_pseudonyms_are_stable_for_a_key_and_differ_across_keys() -> None:
    values = pd.Series(CERTNOS)

    first = pseudonymise(values, b"key-one")
    again = pseudonymise(values, b"key-one")
    other = pseudonymise(values, b"key-two")

    assert first.tolist() == again.tolist()
    assert first.iloc[0] != first.iloc[1]
    assert not set(first) & set(other)
    assert all(len(p) == 32 for p in first)


def test_formatting_does_not_change_the_pseudonym() -> None:
    values = normalise_certno(pd.Series(["11010519491231002x", "110105 19491231 002X"]))

    assert pseudonymise(values, b"k").nunique() == 1


def test_raw_identifiers_appear_nowhere_in_the_accepted_or_quarantined_frames(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = world(CERTNOS, names=["张三", "李四"])
    persons = data.persons.copy()
    persons.loc[1, "gend"] = "X"  # quarantined: the quarantine must not hold the ID either
    caplog.set_level(logging.DEBUG)

    result = validate_dataset(data.with_tables(persons=persons), IntakeSettings(), b"secret")

    frames = [f for _, f in result.dataset.tables()] + list(result.quarantine.values())
    text = "\n".join(f.to_csv() for f in frames) + caplog.text
    for raw in [*CERTNOS, "张三", "李四"]:
        assert raw not in text
    assert result.quarantine["persons"]["certno"].str.fullmatch("[0-9a-f]{32}").all()


def test_a_missing_key_with_identifiers_present_is_a_clear_error() -> None:
    with pytest.raises(InputError, match=r"persons.certno .* set FUNDGUARD_PSEUDONYM_KEY"):
        validate_dataset(world(CERTNOS), IntakeSettings(), None)


def test_no_key_is_needed_when_the_identifier_column_is_empty() -> None:
    result = validate_dataset(world([None, None]), IntakeSettings(), None)

    assert result.usable
    assert result.dataset.persons.certno.isna().all()


def test_invalid_resident_ids_are_counted_but_the_person_is_kept() -> None:
    result = validate_dataset(world([CERTNOS[0], "110105198005020021"]), IntakeSettings(), b"k")

    assert result.invalid_certno == 1
    assert result.reconciliation["persons"].quarantined == 0


def test_invalid_ids_are_counted_as_stdnum_judges_them() -> None:
    values = pd.Series(["11010519491231002X", "11010519491231002Y", "123", None, ""])

    assert count_invalid_certno(values) == 2


def test_bulk_certno_validation_agrees_with_stdnum() -> None:
    from stdnum.cn import ric

    rng = np.random.default_rng(3)
    bodies = [
        f"{region}{year:04d}{month:02d}{day:02d}{serial:03d}"
        for region, year, month, day, serial in zip(
            rng.choice(["110105", "110101", "440305", "999999", "370202"], 3000),
            rng.integers(1890, 2030, 3000),
            rng.integers(0, 14, 3000),
            rng.integers(0, 32, 3000),
            rng.integers(0, 1000, 3000),
            strict=True,
        )
    ]
    numbers = [b + ric.calc_check_digit(b + "0") for b in bodies]
    numbers += [b + "7" for b in bodies[:500]] + ["123", "11010519491231002x", "A" * 18]
    values = pd.Series(numbers)

    assert valid_certno(values).tolist() == [ric.is_valid(n) for n in numbers]


def test_identifiers_in_extra_columns_of_other_tables_are_pseudonymised_too() -> None:
    data = world(CERTNOS)
    settlements = data.settlements.assign(certno=[CERTNOS[0]], psn_name=["张三"])

    result = validate_dataset(data.with_tables(settlements=settlements), IntakeSettings(), b"k")

    accepted = result.dataset.settlements
    assert accepted.certno.iloc[0] == result.dataset.persons.certno.iloc[0]
    assert "张三" not in accepted.to_csv()
    assert result.invalid_certno == 0


def test_the_ledger_can_compute_the_pseudonym_intake_gave_a_resident_id() -> None:
    from settlements.pseudonym import certno_pseudonym

    result = validate_dataset(world(CERTNOS), IntakeSettings(), b"k")

    assert certno_pseudonym("110105 19491231 002x", b"k") == result.dataset.persons.certno.iloc[0]
