"""Intake: typing, validation rules, quarantine with reasons and reconciliation, files, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.frames import check_dataset
from settlements.intake import RULES, IntakeResult, read_dataset, validate_dataset

if TYPE_CHECKING:
    from settlements.synthetic import World

KEY = b"test-key-0123456789abcdef"
SETTINGS = IntakeSettings()
VALID_CERTNO = "11010519491231002X"


def tiny_world() -> Dataset:
    """Two persons, one hospital and one pharmacy, three settlements, five fee lines; all
    valid. Values are text, as a CSV gives them."""
    persons = pd.DataFrame(
        {
            "psn_no": ["P01", "P02"],
            "gend": ["1", "2"],
            "brdy": ["1949-12-31", "1980-05-02"],
            "insutype": ["310", "390"],
            "insuplc_admdvs": ["110105", "110105"],
            "certno": [VALID_CERTNO, "110105198005020027"],
        }
    )
    institutions = pd.DataFrame(
        {
            "fixmedins_code": ["H0001", "Y0002"],
            "fixmedins_name": ["某医院", "某药店"],
            "fixmedins_type": ["1", "2"],
            "admdvs": ["110105", "110105"],
        }
    )
    settlements = pd.DataFrame(
        {
            "setl_id": ["S1", "S2", "S3"],
            "mdtrt_id": ["V1", "V2", "V3"],
            "psn_no": ["P01", "P01", "P02"],
            "fixmedins_code": ["H0001", "H0001", "Y0002"],
            "med_type": ["21", "11", "41"],
            "begndate": ["2024-03-01", "2024-03-10", "2024-03-11"],
            "enddate": ["2024-03-05", "2024-03-10", "2024-03-11"],
            "setl_time": ["2024-03-05 16:00:00", "2024-03-10 09:30:00", "2024-03-11 11:00:00"],
            "medfee_sumamt": ["1200.00", "80.00", "36.50"],
            "hifp_pay": ["900.00", "40.00", "0.00"],
            "fund_pay_sumamt": ["900.00", "40.00", "0.00"],
            "acct_pay": ["0.00", "20.00", "36.50"],
            "psn_cash_pay": ["300.00", "20.00", "0.00"],
            "dise_codg": ["J18.9", "I10", "E11.9"],
        }
    )
    fee_details = pd.DataFrame(
        {
            "feedetl_sn": ["1", "2", "3", "1", "1"],
            "setl_id": ["S1", "S1", "S1", "S2", "S3"],
            "mdtrt_id": ["V1", "V1", "V1", "V2", "V3"],
            "fee_ocur_time": [
                "2024-03-01 10:00:00",
                "2024-03-02 10:00:00",
                "2024-03-05 08:00:00",
                "2024-03-10 09:00:00",
                "2024-03-11 10:50:00",
            ],
            "hilist_code": ["001", "002", "003", "004", "005"],
            "list_type": ["201", "101", "201", "201", "101"],
            "med_chrgitm_type": ["01", "09", "04", "02", "11"],
            "cnt": ["5", "10", "1", "1", "1"],
            "pric": ["60", "50", "100", "80", "36.5"],
            "det_item_fee_sumamt": ["300.00", "500.00", "100.00", "80.00", "36.50"],
            "bilg_dr_codg": ["D1", "D1", "D2", "D3", "D4"],
        }
    )
    return Dataset(
        settlements=settlements,
        fee_details=fee_details,
        persons=persons,
        institutions=institutions,
    )


def with_row(world: Dataset, table: str, **changes: object) -> Dataset:
    """The world with the first row of ``table`` changed."""
    frame = getattr(world, table).copy()
    for column, value in changes.items():
        frame[column] = frame[column].astype(object)
        frame.loc[0, column] = value
    return world.with_tables(**{table: frame})


def assert_reconciles(result: IntakeResult) -> None:
    for r in result.reconciliation.values():
        assert r.read == r.accepted + r.quarantined
        assert len(result.quarantine[r.table]) == r.quarantined
        assert len(getattr(result.dataset, r.table)) == r.accepted


def quarantined_rules(result: IntakeResult, table: str) -> list[str]:
    return result.quarantine[table]["rule"].tolist()


def test_a_valid_world_is_accepted_whole_and_typed() -> None:
    result = validate_dataset(tiny_world(), SETTINGS, KEY)

    assert_reconciles(result)
    assert result.usable and result.problems == ()
    assert all(r.quarantined == 0 for r in result.reconciliation.values())
    settlements = result.dataset.settlements
    assert settlements.begndate.dtype == "datetime64[ns]"
    assert settlements.medfee_sumamt.dtype == "float64"
    assert result.dataset.fee_details.hilist_code.tolist()[0] == "001"
    check_dataset(result.dataset)


@pytest.mark.parametrize(
    ("table", "changes", "rule"),
    [
        ("settlements", {"begndate": "2024-02-30"}, "unparseable_date"),
        ("settlements", {"setl_time": "yesterday"}, "unparseable_date"),
        ("fee_details", {"cnt": "five"}, "unparseable_number"),
        ("settlements", {"setl_id": None}, "missing_key"),
        ("persons", {"psn_no": ""}, "missing_key"),
        ("settlements", {"med_type": None}, "missing_value"),
        ("settlements", {"medfee_sumamt": None}, "missing_value"),
        ("settlements", {"med_type": "31"}, "unknown_code"),
        ("fee_details", {"med_chrgitm_type": "1"}, "unknown_code"),
        ("persons", {"gend": "M"}, "unknown_code"),
        ("persons", {"dead_date": "1940-01-01"}, "death_before_birth"),
        ("institutions", {"lat": "95"}, "coordinates_out_of_range"),
        ("settlements", {"psn_no": "P99"}, "unknown_person"),
        ("settlements", {"fixmedins_code": "H9999"}, "unknown_institution"),
        ("settlements", {"enddate": "2024-02-28"}, "end_before_start"),
        ("settlements", {"setl_time": "2024-02-28 10:00:00"}, "settled_before_start"),
        ("settlements", {"psn_cash_pay": "-1.00"}, "negative_amount"),
        ("fee_details", {"setl_id": "S404"}, "unknown_settlement"),
        ("fee_details", {"mdtrt_id": "V9"}, "visit_mismatch"),
        ("fee_details", {"cnt": "-5", "det_item_fee_sumamt": "-300"}, "non_positive_quantity"),
        ("fee_details", {"pric": "-60", "det_item_fee_sumamt": "-300"}, "negative_price"),
        ("fee_details", {"det_item_fee_sumamt": "300.50"}, "line_total_mismatch"),
        ("fee_details", {"fee_ocur_time": "2024-03-08 10:00:00"}, "fee_outside_stay"),
    ],
)
def test_a_row_breaking_a_rule_is_quarantined_with_its_reason(
    table: str, changes: dict[str, object], rule: str
) -> None:
    world = tiny_world()
    if "dead_date" in changes:
        world = world.with_tables(persons=world.persons.assign(dead_date=[None, None]))
    if "lat" in changes:
        world = world.with_tables(institutions=world.institutions.assign(lat=["39.9", "39.9"]))

    result = validate_dataset(with_row(world, table, **changes), SETTINGS, KEY)

    assert_reconciles(result)
    assert quarantined_rules(result, table) == [rule]
    assert result.quarantine[table]["reason"].str.len().iloc[0] > 0
    assert rule in {r.code for r in RULES}


def test_a_quarantined_settlement_takes_its_fee_lines_along() -> None:
    result = validate_dataset(
        with_row(tiny_world(), "settlements", enddate="2024-02-01"), SETTINGS, KEY
    )

    assert_reconciles(result)
    assert quarantined_rules(result, "settlements") == ["end_before_start"]
    assert quarantined_rules(result, "fee_details") == ["settlement_quarantined"] * 3
    assert set(result.quarantine["fee_details"]["reason"]) == {"settlement quarantined"}


def test_a_quarantined_person_takes_their_settlements_and_fee_lines_along() -> None:
    result = validate_dataset(with_row(tiny_world(), "persons", brdy="1949-13-01"), SETTINGS, KEY)

    assert_reconciles(result)
    assert quarantined_rules(result, "persons") == ["unparseable_date"]
    assert quarantined_rules(result, "settlements") == ["person_quarantined"] * 2
    assert quarantined_rules(result, "fee_details") == ["settlement_quarantined"] * 4


def test_refund_lines_may_carry_negative_quantities_and_amounts() -> None:
    world = tiny_world()
    settlements = world.settlements.assign(refd_setl_flag=["0", "1", "0"])
    settlements.loc[1, ["medfee_sumamt", "fund_pay_sumamt", "hifp_pay"]] = ["-80", "-40", "-40"]
    fees = world.fee_details.copy()
    fees.loc[3, ["cnt", "det_item_fee_sumamt"]] = ["-1", "-80.00"]

    result = validate_dataset(
        world.with_tables(settlements=settlements, fee_details=fees), SETTINGS, KEY
    )

    assert_reconciles(result)
    assert result.reconciliation["settlements"].quarantined == 0
    assert result.reconciliation["fee_details"].quarantined == 0


def test_exact_copies_keep_the_first_and_conflicting_keys_quarantine_all() -> None:
    world = tiny_world()
    fees = pd.concat([world.fee_details, world.fee_details.iloc[[0]]], ignore_index=True)
    institutions = pd.concat(
        [world.institutions, world.institutions.iloc[[1]].assign(fixmedins_name="另一家")],
        ignore_index=True,
    )
    world = world.with_tables(fee_details=fees, institutions=institutions)

    result = validate_dataset(world, SETTINGS, KEY)

    assert_reconciles(result)
    assert quarantined_rules(result, "institutions") == ["duplicate_key", "duplicate_key"]
    # the pharmacy's settlement and its fee line follow the quarantined institution
    assert quarantined_rules(result, "settlements") == ["institution_quarantined"]
    assert quarantined_rules(result, "fee_details") == ["settlement_quarantined", "duplicate_row"]
    assert len(result.dataset.fee_details) == 4


def test_the_quarantine_keeps_the_cell_as_given() -> None:
    result = validate_dataset(
        with_row(tiny_world(), "settlements", begndate="2024-02-30"), SETTINGS, KEY
    )

    row = result.quarantine["settlements"].iloc[0]
    assert row["begndate"] == "2024-02-30"
    assert row["reason"] == "begndate is not a date (yyyy-MM-dd)"


def test_a_blank_descriptive_value_is_kept_but_a_blank_code_is_not() -> None:
    world = with_row(tiny_world(), "settlements", dise_codg=None)

    assert validate_dataset(world, SETTINGS, KEY).reconciliation["settlements"].quarantined == 0
    strict = IntakeSettings(blank_allowed=())
    assert quarantined_rules(validate_dataset(world, strict, KEY), "settlements") == [
        "missing_value"
    ]


def test_too_many_quarantined_rows_make_the_data_unusable() -> None:
    world = with_row(tiny_world(), "settlements", med_type="00")

    result = validate_dataset(world, SETTINGS, KEY)

    assert not result.usable
    assert any(p.startswith("settlements: 33.3% of rows quarantined") for p in result.problems)
    assert validate_dataset(world, IntakeSettings(max_quarantined_share=0.8), KEY).usable


def test_a_required_table_with_no_accepted_row_makes_the_data_unusable() -> None:
    world = tiny_world()
    world = world.with_tables(institutions=world.institutions.iloc[0:0])

    result = validate_dataset(world, IntakeSettings(max_quarantined_share=1.0), KEY)

    assert_reconciles(result)
    assert "institutions: no row accepted (read 0)" in result.problems


def test_already_typed_frames_validate_like_text() -> None:
    typed = validate_dataset(tiny_world(), SETTINGS, KEY).dataset

    again = validate_dataset(typed, SETTINGS, KEY)

    assert all(r.quarantined == 0 for r in again.reconciliation.values())
    pd.testing.assert_frame_equal(again.dataset.settlements, typed.settlements)


def test_a_frame_missing_a_required_column_is_an_input_error() -> None:
    world = tiny_world()
    world = world.with_tables(fee_details=world.fee_details.drop(columns="pric"))

    with pytest.raises(InputError, match="fee_details lacks required column"):
        validate_dataset(world, SETTINGS, KEY)


# --- files -------------------------------------------------------------------------------


def write_world(directory: Path, fmt: str = "csv", world: Dataset | None = None) -> Path:
    (world or tiny_world()).write(directory, fmt)
    return directory


def test_csv_codes_keep_their_leading_zeros(tmp_path: Path) -> None:
    result = read_dataset(write_world(tmp_path / "w"), SETTINGS, KEY)

    assert result.dataset.fee_details.hilist_code.tolist() == ["001", "002", "003", "004", "005"]
    assert result.dataset.fee_details.med_chrgitm_type.tolist()[0] == "01"
    assert_reconciles(result)
    check_dataset(result.dataset)


def test_parquet_with_typed_columns_reads_like_csv(tmp_path: Path) -> None:
    typed = validate_dataset(tiny_world(), SETTINGS, KEY).dataset
    directory = write_world(tmp_path / "w", "parquet", typed)

    result = read_dataset(directory, SETTINGS, KEY)

    assert all(r.quarantined == 0 for r in result.reconciliation.values())
    pd.testing.assert_frame_equal(result.dataset.fee_details, typed.fee_details)


def test_parquet_decimal_money_and_date32_are_typed(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w", "parquet")
    arrow = pq.read_table(directory / "persons.parquet")
    arrow = arrow.set_column(
        arrow.schema.get_field_index("brdy"),
        "brdy",
        pa.array([pd.Timestamp("1949-12-31").date(), pd.Timestamp("1980-05-02").date()]),
    )
    pq.write_table(arrow, directory / "persons.parquet")
    fees = pq.read_table(directory / "fee_details.parquet")
    i = fees.schema.get_field_index("det_item_fee_sumamt")
    fees = fees.set_column(i, "det_item_fee_sumamt", pc_decimal(fees.column(i).to_pylist()))
    pq.write_table(fees, directory / "fee_details.parquet")

    result = read_dataset(directory, SETTINGS, KEY)

    assert result.dataset.persons.brdy.dtype == "datetime64[ns]"
    assert result.dataset.fee_details.det_item_fee_sumamt.tolist()[1] == 500.0
    assert result.reconciliation["fee_details"].quarantined == 0


def pc_decimal(texts: list[str]) -> pa.Array:
    from decimal import Decimal

    return pa.array([Decimal(t).quantize(Decimal("0.01")) for t in texts], pa.decimal128(12, 2))


def test_optional_tables_and_columns_may_be_absent(tmp_path: Path) -> None:
    world = tiny_world()
    world = world.with_tables(persons=world.persons.drop(columns="certno"))

    result = read_dataset(write_world(tmp_path / "w", world=world), SETTINGS)

    assert result.usable
    assert result.dataset.catalog is None and result.dataset.labels is None
    assert "refd_setl_flag" not in result.dataset.settlements.columns


def test_a_missing_required_table_names_the_table(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w")
    (directory / "persons.csv").unlink()

    with pytest.raises(InputError, match="required table persons is missing"):
        read_dataset(directory, SETTINGS, KEY)


def test_a_missing_required_column_names_the_file_and_column(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w")
    path = directory / "settlements.csv"
    pd.read_csv(path, dtype=str).drop(columns=["enddate"]).to_csv(path, index=False)

    with pytest.raises(InputError, match=r"settlements.csv: missing required column enddate"):
        read_dataset(directory, SETTINGS, KEY)


def test_an_unreadable_parquet_file_names_the_file(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w", "parquet")
    (directory / "fee_details.parquet").write_bytes(b"setl_id,feedetl_sn\nS1,1\n")

    with pytest.raises(InputError, match=r"fee_details.parquet: not a readable Parquet file"):
        read_dataset(directory, SETTINGS, KEY)


def test_quarantine_files_hold_the_rows_with_rule_and_reason(tmp_path: Path) -> None:
    world = with_row(tiny_world(), "fee_details", cnt="-5", det_item_fee_sumamt="-300")
    result = read_dataset(write_world(tmp_path / "w", world=world), SETTINGS, KEY)

    written = result.write_quarantine(tmp_path / "q")

    assert {p.name for p in written} == {"fee_details.csv", "reconciliation.json"}
    frame = pd.read_csv(tmp_path / "q" / "fee_details.csv", dtype=str)
    assert frame.columns[:2].tolist() == ["rule", "reason"]
    assert frame["rule"].tolist() == ["non_positive_quantity"]
    assert frame["hilist_code"].tolist() == ["001"]


# --- command line --------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script in a fresh interpreter: exit code, stdout and stderr as a user
    sees them."""
    import os

    return subprocess.run(
        [sys.executable, "-c", "from fundguard.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """``fundguard.cli.main`` in this process (faster than a subprocess): exit code, out, err."""
    from fundguard import cli

    cli.settings.cache_clear()
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", ["fundguard", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    cli.settings.cache_clear()
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def test_validate_prints_the_reconciliation_and_exits_0_on_usable_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_world(tmp_path / "w")
    monkeypatch.setenv("FUNDGUARD_PSEUDONYM_KEY", "k" * 32)

    code, out, err = run_main(
        capsys, monkeypatch, "validate", str(directory), "--quarantine", str(tmp_path / "q")
    )

    assert code == 0, err
    assert "fee_details" in out and "usable" in out
    assert (tmp_path / "q" / "reconciliation.json").is_file()


def test_validate_puts_quarantine_files_under_the_data_dir_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = with_row(tiny_world(), "fee_details", det_item_fee_sumamt="1.00")
    directory = write_world(tmp_path / "w", world=world)
    monkeypatch.setenv("FUNDGUARD_PSEUDONYM_KEY", "k" * 32)
    monkeypatch.setenv("FUNDGUARD_INTAKE__MAX_QUARANTINED_SHARE", "0.5")

    code, _, err = run_main(capsys, monkeypatch, "validate", str(directory))

    assert code == 0, err
    quarantine = tmp_path / "data" / "quarantine" / "w" / "fee_details.csv"
    assert pd.read_csv(quarantine, dtype=str)["rule"].tolist() == ["line_total_mismatch"]


def test_validate_exits_1_with_one_line_when_too_much_is_quarantined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_world(
        tmp_path / "w", world=with_row(tiny_world(), "settlements", med_type="7")
    )
    monkeypatch.setenv("FUNDGUARD_PSEUDONYM_KEY", "k" * 32)

    code, _, err = run_main(capsys, monkeypatch, "validate", str(directory))

    assert code == 1
    assert err.strip().count("\n") == 0
    assert "settlements: 33.3% of rows quarantined" in err


def test_validate_a_malformed_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w", "parquet")
    (directory / "settlements.parquet").write_text("not parquet", encoding="utf-8")

    done = run_cli("validate", str(directory), env={"FUNDGUARD_PSEUDONYM_KEY": "k" * 32})

    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "settlements.parquet: not a readable Parquet file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def synthetic_world() -> World:
    """The smallest world the generator makes, generated once for this module."""
    from settlements.synthetic import generate_world

    return generate_world(500, seed=11)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_synthetic_world_passes_intake_with_nothing_quarantined(
    tmp_path: Path, fmt: str, synthetic_world: World
) -> None:
    from settlements.synthetic import write_world

    world = synthetic_world
    write_world(world, tmp_path / "w", fmt)

    result = read_dataset(tmp_path / "w", SETTINGS, KEY)

    assert_reconciles(result)
    assert {name: r.quarantined for name, r in result.reconciliation.items()} == {
        name: 0 for name, _ in world.dataset.tables()
    }
    assert result.invalid_certno == 0
    check_dataset(result.dataset)


def test_validate_without_a_key_for_present_identifiers_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_main(capsys, monkeypatch, "validate", str(write_world(tmp_path / "w")))

    assert code == 2
    assert err.strip().count("\n") == 0
    assert "FUNDGUARD_PSEUDONYM_KEY" in err


def test_every_rule_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "intake.md").read_text(encoding="utf-8")

    assert [r.code for r in RULES if f"`{r.code}`" not in docs] == []


def test_the_boundary_schema_rejects_raw_identifiers_and_unknown_codes() -> None:
    from pandera.errors import SchemaErrors

    accepted = validate_dataset(tiny_world(), SETTINGS, KEY).dataset
    leaked = accepted.persons.assign(certno=[VALID_CERTNO, None])
    uncoded = accepted.settlements.assign(med_type=["21", "11", "7"])

    with pytest.raises(SchemaErrors, match="str_matches"):
        check_dataset(accepted.with_tables(persons=leaked))
    with pytest.raises(SchemaErrors, match="isin"):
        check_dataset(accepted.with_tables(settlements=uncoded))


def test_gzipped_csv_is_read_and_a_table_given_twice_is_an_input_error(tmp_path: Path) -> None:
    import gzip

    directory = write_world(tmp_path / "w")
    plain = directory / "fee_details.csv"
    (directory / "fee_details.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))

    with pytest.raises(InputError, match="fee_details is given twice"):
        read_dataset(directory, SETTINGS, KEY)
    plain.unlink()
    result = read_dataset(directory, SETTINGS, KEY)
    assert result.dataset.fee_details.hilist_code.tolist()[0] == "001"


def test_a_gbk_encoded_csv_is_an_input_error_that_says_to_save_as_utf8(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w")
    path = directory / "institutions.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))

    with pytest.raises(InputError, match=r"institutions.csv: not UTF-8 text .* save it as UTF-8"):
        read_dataset(directory, SETTINGS, KEY)


def test_a_directory_of_parquet_parts_is_read_as_one_table(tmp_path: Path) -> None:
    directory = write_world(tmp_path / "w", "parquet")
    fees = pq.read_table(directory / "fee_details.parquet")
    (directory / "fee_details.parquet").unlink()
    parts = directory / "fee_details.parquet"
    parts.mkdir()
    pq.write_table(fees.slice(0, 2), parts / "part-00000.parquet")
    pq.write_table(fees.slice(2), parts / "part-00001.parquet")

    result = read_dataset(directory, SETTINGS, KEY)

    assert result.reconciliation["fee_details"].accepted == 5
    assert sorted(result.dataset.fee_details.hilist_code) == ["001", "002", "003", "004", "005"]


def test_duplicate_keys_are_found_when_the_key_has_too_many_values_to_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import settlements.validation as validation

    world = tiny_world()
    labels = pd.DataFrame(
        {
            "subject_type": ["visit", "visit", "person"],
            "subject_id": ["V1", "V1", "P01"],
            "pattern": ["bed_hanging", "bed_hanging", "card_lending"],
            "outcome": ["confirmed", "rejected", "rejected"],
        }
    )
    monkeypatch.setattr(validation, "_COUNTING_SLACK", -(10**9))  # never count: hash

    result = validate_dataset(
        world.with_tables(labels=labels), IntakeSettings(max_quarantined_share=1.0), KEY
    )

    assert quarantined_rules(result, "labels") == ["duplicate_key", "duplicate_key"]


NASTY = ["", None, "x", "-1", "0", "1e400", "2024-13-01", "2024-02-30 25:00:00", " 01 ", "NaN"]


@given(
    cells=st.lists(
        st.tuples(
            st.sampled_from(["settlements", "fee_details", "persons", "institutions"]),
            st.integers(min_value=0, max_value=4),
            st.integers(min_value=0, max_value=16),
            st.sampled_from(NASTY),
        ),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_corrupted_cell_is_quarantined_or_kept_never_a_crash_and_counts_reconcile(
    cells: list[tuple[str, int, int, object]],
) -> None:
    world = tiny_world()
    frames = {name: getattr(world, name).astype(object) for name in world_tables()}
    for table, row, column, value in cells:
        frame = frames[table]
        frame.iloc[row % len(frame), column % frame.shape[1]] = value

    result = validate_dataset(world.with_tables(**frames), SETTINGS, KEY)

    assert_reconciles(result)
    check_dataset(result.dataset)


def world_tables() -> tuple[str, ...]:
    return ("settlements", "fee_details", "persons", "institutions")
