"""The vectorised helpers of ``features.common`` give exactly what the pandas idioms they
replace give (values, order, dtypes), edge cases included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.common import (
    day_text,
    distinct_rows,
    evidence,
    factorize_ints,
    first_occurrence,
    group_cumsum,
    group_sums,
    isin_ints,
    join_text,
    listing,
    lookup,
    num_text,
    pair_counts,
    positions,
    rank_ints,
    repeated_rows,
    sort_order,
    stable_argsort,
    unique_ints,
)
from features.contract import Level, Pattern

RNG = np.random.default_rng(11)


def test_positions_of_arrow_strings_are_those_of_get_indexer_with_missing_keys() -> None:
    index = pd.Index(["V3", "V1", None, "V2"], dtype="string")
    keys = pd.Series(["V1", "V9", None, "V2", "V1"], dtype="str")

    got = positions(index, keys)

    assert got.tolist() == index.get_indexer(pd.Index(keys)).tolist() == [1, -1, 2, 3, 1]
    assert positions(pd.Index([1, 2, 3]), pd.Index([3, 5])).tolist() == [2, -1]


@pytest.mark.parametrize(
    "categories",
    [["V1", "V2", "V3"], ["V2", "V9"]],
    ids=["categories-are-the-index", "other-categories"],
)
def test_positions_of_categorical_keys_are_those_of_their_strings(categories: list[str]) -> None:
    # given keys as a categorical, with a missing one
    index = pd.Index(["V1", "V2", "V3"], dtype="string")
    codes = [len(categories) - 1, 0, -1, 1]
    keys = pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype="string"))
    )
    # when they are looked up
    got = positions(index, keys)
    # then each has the position its string has
    assert got.tolist() == index.get_indexer(pd.Index(keys.astype("string"))).tolist()


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "str", "string", "float64", "bool"])
def test_lookup_equals_map_for_every_table_type(dtype: str) -> None:
    values = {
        "datetime64[ns]": pd.to_datetime(["2024-01-01", None, "2024-03-04"]),
        "str": ["x", None, "y"],
        "string": ["x", None, "y"],
        "float64": [1.5, np.nan, 3.0],
        "bool": [True, False, True],
    }[dtype]
    table = pd.Series(values, index=pd.Index(["a", "b", "c"], dtype="string"), dtype=dtype)
    keys = pd.Series(["c", None, "zz", "a", "b"], dtype="str", name="psn_no", index=[9, 8, 7, 6, 5])

    for k in (keys, keys.astype("string"), keys.astype(object)):
        pd.testing.assert_series_equal(lookup(k, table), k.map(table), check_exact=True)


def test_sort_order_is_the_order_of_sort_values_with_ties_missing_values_and_wide_keys() -> None:
    n = 3000
    times = pd.to_datetime(RNG.integers(0, 10, n), unit="D").to_numpy().copy()
    times[::7] = np.datetime64("NaT")
    frame = pd.DataFrame(
        {
            "person": RNG.integers(0, 50, n),
            "time": times,
            "supply": np.where(RNG.random(n) < 0.1, np.nan, RNG.integers(0, 3, n)),
            "wide": RNG.integers(-(2**62), 2**62, n),
            "flag": RNG.random(n) < 0.5,
        }
    )

    for keys in (
        ["person", "time"],
        ["time"],
        ["time", "person"],
        ["supply", "time", "person"],
        ["wide", "person", "wide"],
    ):
        expected = frame.sort_values(keys, kind="stable").index.to_numpy()
        assert (sort_order(*(frame[k].to_numpy() for k in keys)) == expected).all()
    assert (sort_order(frame["flag"].to_numpy(), frame["time"].to_numpy()) >= 0).all()


def test_integer_factorisation_and_first_occurrence_agree_with_pandas() -> None:
    for values in (RNG.integers(-(10**15), 10**15, 4000), RNG.integers(0, 30, 4000), np.array([])):
        values = values.astype(np.int64)
        codes, uniques = factorize_ints(values)
        expected_codes, expected_uniques = pd.factorize(values)

        assert np.array_equal(codes, expected_codes)
        assert np.array_equal(uniques, expected_uniques)
        assert np.array_equal(first_occurrence(values), ~pd.Series(values).duplicated().to_numpy())


def test_narrow_and_wide_integer_sets_agree_with_numpy() -> None:
    narrow = RNG.integers(100, 3000, 5000)
    keys = RNG.integers(0, 4000, 2000)

    assert np.array_equal(unique_ints(narrow), np.unique(narrow))
    assert unique_ints(narrow.astype(np.int32)).dtype == np.int32
    assert np.array_equal(isin_ints(narrow, keys), np.isin(narrow, keys))


def test_stable_argsort_is_numpys_stable_argsort_for_ties_negatives_and_wide_values() -> None:
    for values in (
        RNG.integers(0, 5, 3000),  # many ties: the row order decides
        RNG.integers(-(10**6), 10**6, 3000),
        RNG.integers(-(2**62), 2**62, 3000),  # too wide to pack with the row: numpy's sort
        RNG.integers(0, 2**63, 3000, dtype=np.uint64) + np.uint64(2**63),
        RNG.random(3000) < 0.3,
        np.array([7]),
        np.array([], dtype=np.int64),
    ):
        expected = np.argsort(values, kind="stable")

        assert np.array_equal(stable_argsort(values), expected)


def test_integer_ranks_are_numpys_unique_with_its_inverse() -> None:
    for values in (RNG.integers(-(10**15), 10**15, 4000), RNG.integers(0, 30, 4000), np.array([])):
        values = values.astype(np.int64)
        distinct, rank = rank_ints(values)
        expected_distinct, expected_rank = np.unique(values, return_inverse=True)

        assert np.array_equal(distinct, expected_distinct)
        assert np.array_equal(rank, expected_rank)
        assert np.array_equal(distinct[rank], values)


def test_distinct_and_repeated_rows_equal_drop_duplicates_and_duplicated() -> None:
    n = 800
    frame = pd.DataFrame(
        {
            "v": RNG.integers(-3, 40, n),
            "doctor": pd.Series(RNG.choice(["D1", "D2", None, "D3"], n), dtype="str"),
            "fee": RNG.choice([0.0, -0.0, np.nan, 2.5], n),
        },
        index=RNG.permutation(n),
    )

    for columns in (["v", "doctor"], ["doctor", "fee"], ["v", "doctor", "fee"]):
        pd.testing.assert_frame_equal(distinct_rows(frame, columns), frame.drop_duplicates(columns))
        expected = frame.duplicated(columns, keep=False).to_numpy()
        assert np.array_equal(repeated_rows(frame, columns), expected)
    unique = frame.drop_duplicates(["v", "doctor"])
    assert distinct_rows(unique, ["v", "doctor"]) is unique


def test_pair_counts_equal_a_self_merge_counted_by_pair() -> None:
    n = 600
    rows = pd.DataFrame(
        {
            "psn_no": pd.Series(RNG.choice([f"P{i}" for i in range(40)], n), dtype="string"),
            "inst": pd.Series(RNG.choice([f"H{i}" for i in range(9)], n), dtype="string"),
        }
    ).drop_duplicates()

    edges = rows.merge(rows, on="psn_no", suffixes=("", "_other"))
    edges = edges.loc[edges["inst"] != edges["inst_other"]]
    expected = edges.groupby(["inst", "inst_other"]).size().rename("persons").reset_index()

    got = pair_counts(rows["psn_no"], rows["inst"], ("inst", "inst_other", "persons"))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("ids", ["scattered", "sorted"])
def test_group_sums_are_pandas_sums_bit_for_bit(ids: str) -> None:
    for trial in range(60):
        n = int(RNG.integers(1, 2000))
        keys = RNG.integers(0, int(RNG.integers(1, 300)), n).astype(float)
        keys[RNG.random(n) < 0.05] = np.nan
        codes, uniques = pd.factorize(keys)  # group ids: numbered in order of appearance
        if ids == "sorted":
            codes = np.sort(codes)
        k = len(uniques)
        values = RNG.normal(0, 1e6, n) * RNG.choice([1, 1e-9, 1e9, 0.0, -0.0], n)
        if trial % 2:
            values[RNG.random(n) < 0.05] = np.nan
        if trial % 5 == 0:
            values[RNG.integers(0, n, 3)] = np.inf

        (got,) = group_sums(codes, [values], k)

        # grouped in order of appearance, pandas' ids are these codes (-1: dropped)
        sums = pd.Series(values).groupby(np.where(codes < 0, np.nan, codes), sort=False).sum()
        expected = np.zeros(k)
        expected[sums.index.to_numpy().astype(int)] = sums.to_numpy()
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_group_sums_of_big_groups_are_left_to_pandas() -> None:
    for codes in (np.repeat([0, 1, 0], [1, 700, 4]), np.repeat([0, 1], [5, 700])):
        values = RNG.normal(0, 1e9, 705)

        (got,) = group_sums(codes, [values], 2)

        expected = pd.Series(values).groupby(codes, sort=False).sum()
        assert np.array_equal(got, expected.to_numpy())


def test_group_cumsum_restarts_at_each_group() -> None:
    groups = np.sort(RNG.integers(0, 30, 500))
    values = RNG.integers(0, 3, 500)

    expected = pd.Series(values).groupby(groups).cumsum().to_numpy()
    assert np.array_equal(group_cumsum(groups, values), expected)
    assert len(group_cumsum(np.array([]), np.array([], dtype=np.int64))) == 0


def test_text_per_distinct_value_equals_text_per_row() -> None:
    numbers = pd.Series(
        [2.5, 3.5, -0.4, -0.0, np.nan, np.inf, 0.125, 1e20, 2.5], index=list("abcdefghi")
    )
    days = pd.Series(pd.to_datetime(["2024-02-29 13:00", None, "1969-12-31 23:59"]), name="day")

    for decimals in (0, 1, 2):
        expected = numbers.map(f"{{:.{decimals}f}}".format).astype("string")
        pd.testing.assert_series_equal(num_text(numbers, decimals), expected)
    expected_days = pd.to_datetime(days).dt.strftime("%Y-%m-%d").astype("string")
    pd.testing.assert_series_equal(day_text(days), expected_days)


def test_listing_joins_the_first_items_per_key_and_counts_the_rest() -> None:
    keys = pd.Series(["b", "a", "b", "b", "a", "c"], dtype="str")
    text = pd.Series(["1", "2", "3", "4", None, "6"], dtype="string")

    listed = listing(keys, text, 2, sep="; ")

    assert listed.to_dict() == {"b": "1; 3 … and 1 more", "a": "2; ", "c": "6"}
    assert str(listed.dtype) == "string"


def test_evidence_keeps_arrow_string_columns_as_string() -> None:
    ids = pd.Index(["V1", "V2"], dtype="str")
    text = pd.Series(["one", None], dtype="str")

    lines = evidence(Level.VISIT, "f", Pattern.OTHER, ids, text, pd.Series(["x", "y"]))

    assert lines["explanation"].tolist() == ["one", pd.NA]
    assert all(str(d) == "string" for d in lines.dtypes)


def test_join_text_concatenates_in_one_pass_as_plus_does() -> None:
    # given text columns on one index, one value missing, and a positional array
    ids = pd.Series(["V1", "V2", "V3"], index=[7, 8, 9], dtype="string")
    places = pd.Series(["H1", pd.NA, "H3"], index=[7, 8, 9], dtype="string")
    listed = np.array(["a; b", "c", "d"], dtype=object)
    # when they are joined with literal texts
    text = join_text("Visit ", ids, " at ", places, ": ", listed)
    # then each row is what + gives, missing where a part is missing, on the first index
    want = "Visit " + ids + " at " + places + ": " + listed
    pd.testing.assert_series_equal(text, want, check_dtype=False)
    assert text.index.tolist() == [7, 8, 9] and text.isna().tolist() == [False, True, False]
