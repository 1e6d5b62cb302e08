"""Reading the contract's tables into Spark and back into pandas frames typed as intake's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from settlements.errors import InputError
from settlements.schema import SETTLEMENTS

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def small_dataset() -> dict[str, pd.DataFrame]:
    """Two persons, three settlements, four fee lines, typed as intake writes them."""

    def ts(values: list[str]) -> pd.Series:
        return pd.Series(pd.to_datetime(values)).astype("datetime64[ns]")

    settlements = pd.DataFrame(
        {
            "setl_id": ["S1", "S2", "S3"],
            "mdtrt_id": ["V1", "V2", "V3"],
            "psn_no": ["P01", "P01", "P02"],
            "fixmedins_code": ["H001", "H001", "H002"],
            "med_type": ["21", "11", "41"],
            "begndate": ts(["2024-01-01", "2024-01-20", "2024-02-01"]),
            "enddate": ts(["2024-01-05", "2024-01-20", "2024-02-01"]),
            "setl_time": ts(["2024-01-05 10:00:00", "2024-01-20 09:30:00", "2024-02-01 08:00:00"]),
            "medfee_sumamt": [1000.0, 80.0, 45.5],
            "hifp_pay": [700.0, 40.0, 0.0],
            "fund_pay_sumamt": [700.0, 40.0, 0.0],
            "acct_pay": [0.0, 20.0, 45.5],
            "psn_cash_pay": [300.0, 20.0, 0.0],
            "dise_codg": ["J18.9", "I10", "E11.9"],
            "atddr_no": ["D01", "D02", None],
            "refd_setl_flag": ["0", "0", "0"],
        }
    )
    fee_details = pd.DataFrame(
        {
            "feedetl_sn": ["1", "2", "1", "1"],
            "setl_id": ["S1", "S1", "S2", "S3"],
            "mdtrt_id": ["V1", "V1", "V2", "V3"],
            "fee_ocur_time": ts(
                ["2024-01-01 12:00", "2024-01-02 12:00", "2024-01-20 09:00", "2024-02-01 08:00"]
            ),
            "hilist_code": ["X001", "X002", "X003", "X004"],
            "list_type": ["201", "101", "201", "101"],
            "med_chrgitm_type": ["01", "09", "02", "11"],
            "cnt": [1.0, 2.0, 1.0, 3.0],
            "pric": [50.0, 10.0, 80.0, 15.17],
            "det_item_fee_sumamt": [50.0, 20.0, 80.0, 45.5],
            "bilg_dr_codg": ["D01", "D01", "D02", "D03"],
        }
    )
    persons = pd.DataFrame(
        {
            "psn_no": ["P01", "P02"],
            "gend": ["1", "2"],
            "brdy": ts(["1950-03-04", "1990-12-01"]),
            "insutype": ["310", "390"],
            "insuplc_admdvs": ["110101", "310101"],
            "certno": ["a" * 32, "b" * 32],
        }
    )
    institutions = pd.DataFrame(
        {
            "fixmedins_code": ["H001", "H002"],
            "fixmedins_name": ["First hospital", "Corner pharmacy"],
            "fixmedins_type": ["1", "2"],
            "admdvs": ["110101", "310101"],
            "aprv_bed_cnt": [120.0, None],
        }
    )
    return {
        "settlements": settlements,
        "fee_details": fee_details,
        "persons": persons,
        "institutions": institutions,
    }


def write(tables: dict[str, pd.DataFrame], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def test_codes_keep_their_leading_zeros_and_dates_stay_midnight(spark: Any, tmp_path: Path) -> None:
    from features.spark import read_spark_tables

    location = write(small_dataset(), tmp_path / "world")

    tables = read_spark_tables(spark, str(location))

    rows = tables.fee_details.orderBy("setl_id", "feedetl_sn").collect()
    assert [r.med_chrgitm_type for r in rows] == ["01", "09", "02", "11"]
    persons = tables.persons.orderBy("psn_no").collect()
    assert str(persons[0].brdy) == "1950-03-04 00:00:00"


def test_tables_come_back_to_pandas_typed_as_intake_types_them(spark: Any, tmp_path: Path) -> None:
    from features.spark import pandas_tables, read_spark_tables

    given = small_dataset()
    tables = read_spark_tables(spark, str(write(given, tmp_path / "world")))

    dataset = pandas_tables({name: f.toPandas() for name, f in tables.tables().items()})

    got = dataset.settlements.sort_values("setl_id").reset_index(drop=True)
    expected = given["settlements"].astype({"atddr_no": "str"})
    pd.testing.assert_frame_equal(got, expected, check_dtype=True)
    assert dataset.catalog is None


def test_identifiers_are_not_read(spark: Any, tmp_path: Path) -> None:
    from features.spark import read_spark_tables

    tables = read_spark_tables(spark, str(write(small_dataset(), tmp_path / "world")))

    assert "certno" not in tables.persons.columns


def test_code_column_stored_as_number_is_refused(spark: Any, tmp_path: Path) -> None:
    from features.spark import read_spark_tables

    given = small_dataset()
    given["settlements"] = given["settlements"].assign(med_type=[21, 11, 41])
    location = write(given, tmp_path / "world")

    with pytest.raises(InputError, match=r"med_type is stored as bigint.*leading zeros"):
        read_spark_tables(spark, str(location))


def test_missing_required_table_is_named(spark: Any, tmp_path: Path) -> None:
    from features.spark import read_spark_tables

    given = small_dataset()
    del given["persons"]
    location = write(given, tmp_path / "world")

    with pytest.raises(InputError, match="required table persons is missing"):
        read_spark_tables(spark, str(location))


def test_missing_required_column_is_named(spark: Any, tmp_path: Path) -> None:
    from features.spark import read_spark_tables

    given = small_dataset()
    given["settlements"] = given["settlements"].drop(columns=["dise_codg"])
    location = write(given, tmp_path / "world")

    with pytest.raises(InputError, match="missing required column dise_codg"):
        read_spark_tables(spark, str(location))


def test_spark_schema_declares_codes_as_strings() -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from features.spark import spark_schema

    schema = spark_schema(SETTLEMENTS)

    assert schema["med_type"].dataType.simpleString() == "string"
    assert schema["setl_time"].dataType.simpleString() == "timestamp_ntz"
    assert schema["hifp_pay"].dataType.simpleString() == "double"


def count_build(dataset: Any) -> dict[str, pd.DataFrame]:
    """A per-person function that shows what each group saw."""
    setl = dataset.settlements
    per_person = pd.DataFrame(
        {
            "settlements": setl.groupby("psn_no").size().astype("float64"),
            "fee_lines": dataset.fee_details.merge(setl[["setl_id", "psn_no"]], on="setl_id")
            .groupby("psn_no")
            .size()
            .astype("float64"),
            "born": dataset.persons.set_index("psn_no")["brdy"],
            "institutions_seen": float(len(dataset.institutions)),
        }
    )
    per_person.index.name = "subject_id"
    return {"person": per_person}


@pytest.mark.parametrize("buckets", [0, 3])
def test_each_group_holds_whole_persons_with_the_small_tables(
    spark: Any, tmp_path: Path, buckets: int
) -> None:
    from pyspark.sql import types as st

    from features.spark import SparkSettings, map_persons, read_spark_tables

    tables = read_spark_tables(spark, str(write(small_dataset(), tmp_path / "world")))
    schema = st.StructType(
        [
            st.StructField("subject_id", st.StringType()),
            st.StructField("settlements", st.DoubleType()),
            st.StructField("fee_lines", st.DoubleType()),
            st.StructField("born", st.TimestampNTZType()),
            st.StructField("institutions_seen", st.DoubleType()),
        ]
    )

    out = map_persons(
        tables, count_build, {"person": schema}, SparkSettings(person_buckets=buckets)
    )
    got = out["person"].toPandas().sort_values("subject_id").reset_index(drop=True)
    out.release()

    assert got["subject_id"].tolist() == ["P01", "P02"]
    assert got["settlements"].tolist() == [2.0, 1.0]
    assert got["fee_lines"].tolist() == [3.0, 1.0]
    assert str(got["born"][0]) == "1950-03-04 00:00:00"
    assert got["institutions_seen"].tolist() == [2.0, 2.0]
