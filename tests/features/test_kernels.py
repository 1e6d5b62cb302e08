"""The compiled loops give what the pandas they replace gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import kernels
from features.person import _basket


def _lines(rng: np.random.Generator, n: int, n_visits: int, in_visit_order: bool) -> pd.DataFrame:
    visit = np.sort(rng.integers(0, n_visits, n))
    lines = pd.DataFrame(
        {
            "visit": visit,
            "doctor": rng.integers(-1, 4, n),  # -1: no doctor on the line
            "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 40, n).round(2)),
            "is_drug": rng.random(n) < 0.6,
            "price": rng.choice([1.0, 80.0, 500.0], n),
            "item": rng.integers(-1, 6, n),  # -1: no item code
        }
    )
    return lines if in_visit_order else lines.sample(frac=1, random_state=1)


def _expected(lines: pd.DataFrame, item_hash: np.ndarray, high: float) -> pd.DataFrame:
    """The same rows by pandas: pairs in order of their first line, sums in row order."""
    with_doctor = lines[lines["doctor"] >= 0].assign(amount=lambda f: f["amount"].fillna(0.0))
    drug = with_doctor["is_drug"]
    with_doctor = with_doctor.assign(
        drug_amt=with_doctor["amount"].where(drug, 0.0),
        hv_amt=with_doctor["amount"].where(drug & (with_doctor["price"] >= high), 0.0),
    )
    pairs = with_doctor.groupby(["visit", "doctor"], sort=False)
    out = pairs[["amount", "drug_amt", "hv_amt"]].sum().reset_index()
    distinct = with_doctor[drug & (with_doctor["item"] >= 0)].drop_duplicates(
        ["visit", "doctor", "item"]
    )
    key: dict[tuple[int, int], int] = {}
    items: dict[tuple[int, int], int] = {}
    for visit, doctor, item in distinct[["visit", "doctor", "item"]].itertuples(index=False):
        pair = (visit, doctor)
        key[pair] = (key.get(pair, 0) + int(item_hash[item])) % 2**64
        items[pair] = items.get(pair, 0) + 1
    pair_keys = list(zip(out["visit"], out["doctor"], strict=True))
    out["key"] = np.array([key.get(p, 0) for p in pair_keys], dtype=np.uint64)
    out["items"] = np.array([items.get(p, 0) for p in pair_keys], dtype=float)
    return out


@pytest.mark.parametrize("in_visit_order", [True, False])
def test_doctor_pairs_match_a_groupby_of_the_fee_lines(in_visit_order: bool) -> None:
    # given fee lines with missing doctors, items and amounts, in or out of visit order
    rng = np.random.default_rng(7)
    n_visits, high = 40, 100.0
    lines = _lines(rng, 400, n_visits, in_visit_order)
    item_hash = rng.integers(0, 2**63, 6, dtype=np.uint64) * np.uint64(2)  # wraps when summed
    attending = rng.integers(-2, 4, n_visits)  # -2: a doctor of no fee line, -1: none
    # when the kernel makes one row per (visit, doctor)
    visit, doctor, amt, drug_amt, hv_amt, key, items = kernels.doctor_pairs(
        lines["visit"].to_numpy(np.int64),
        lines["doctor"].to_numpy(np.int64),
        n_visits,
        4,
        attending,
        lines["amount"].to_numpy(np.float64),
        lines["is_drug"].to_numpy(bool),
        lines["price"].to_numpy(np.float64),
        high,
        lines["item"].to_numpy(np.int64),
        item_hash,
    )
    # then the pairs' rows are pandas' groupby, in the order of their first line
    want = _expected(lines, item_hash, high)
    n = len(want)
    np.testing.assert_array_equal(visit[:n], want["visit"])
    np.testing.assert_array_equal(doctor[:n], want["doctor"])
    np.testing.assert_allclose(amt[:n], want["amount"], rtol=1e-12)
    np.testing.assert_allclose(drug_amt[:n], want["drug_amt"], rtol=1e-12)
    np.testing.assert_allclose(hv_amt[:n], want["hv_amt"], rtol=1e-12)
    np.testing.assert_array_equal(key[:n], want["key"].to_numpy(np.uint64))
    np.testing.assert_array_equal(items[:n], want["items"])
    # and each attending doctor without a pair of the visit follows, in visit order, unbilled
    paired = set(zip(want["visit"], want["doctor"], strict=True))
    unpaired = [
        (g, max(a, -1))
        for g, a in enumerate(attending)
        if a == -2 or (a >= 0 and (g, a) not in paired)
    ]
    assert list(zip(visit[n:], doctor[n:], strict=True)) == unpaired
    assert not amt[n:].any() and not items[n:].any() and not key[n:].any()


def test_group_order_keeps_rows_in_order_within_each_group() -> None:
    # given rows of three groups, one row in none (-1)
    group = np.array([2, 0, 2, -1, 1, 0], dtype=np.int64)
    # when they are ordered by group
    offsets, order = kernels.group_order(group, 3)
    # then each group's rows are together and in row order, the ungrouped row left out
    assert offsets.tolist() == [0, 2, 3, 5]
    assert order.tolist() == [1, 5, 4, 0, 2]


def test_first_appearance_codes_number_values_as_factorize_does() -> None:
    # given integers with repeats, out of order
    values = np.array([5, 2, 5, 0, 2, 7, 0], dtype=np.int64)
    # when they are coded in order of first appearance
    codes, distinct = kernels.first_appearance_codes(values, 8)
    # then the codes and values are pandas' factorize
    assert codes.tolist() == pd.factorize(values)[0].tolist() == [0, 1, 0, 2, 1, 3, 2]
    assert distinct.tolist() == pd.factorize(values)[1].tolist() == [5, 2, 0, 7]


def test_order_within_runs_is_the_full_sort_for_rows_grouped_by_run() -> None:
    # given rows sorted by (person, drug), short and long runs, ties on the day
    rng = np.random.default_rng(3)
    person = np.sort(rng.integers(0, 30, 2_000))
    drug = np.concatenate([np.sort(rng.integers(0, 3, n)) for n in np.bincount(person)])
    day = rng.integers(0, 20, len(person))
    visit = rng.permutation(len(person))
    # when they are ordered within each run
    order = kernels.order_within_runs(person, drug, day, visit)
    # then the order is that of a stable sort by all four keys
    want = pd.DataFrame({"p": person, "d": drug, "day": day, "v": visit}).sort_values(
        ["p", "d", "day", "v"], kind="stable"
    )
    assert order.tolist() == want.index.tolist()
    assert (np.bincount(person * 3 + drug) > 32).any()  # the long-run branch ran too


def test_group_span_is_the_groupby_min_and_max_skipping_missing_times() -> None:
    # given times of four groups, missing ones among them, one group all missing
    rng = np.random.default_rng(5)
    group = rng.integers(0, 4, 200)
    first = pd.Series(
        pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, 200), "s")
    )
    last = first + pd.Timedelta(hours=5)
    first[rng.random(200) < 0.2] = pd.NaT
    last[rng.random(200) < 0.2] = pd.NaT
    first[group == 3] = pd.NaT
    # when the span of each group is taken in one pass
    low, high = kernels.group_span(
        group.astype(np.int64),
        first.to_numpy().view(np.int64),
        last.to_numpy().view(np.int64),
        5,
    )
    # then it is pandas' group-by min and max, NaT where a group has none (or no rows)
    frame = pd.DataFrame({"g": group, "first": first, "last": last})
    want = frame.groupby("g").agg(first=("first", "min"), last=("last", "max")).reindex(range(5))
    unit = first.to_numpy().dtype
    np.testing.assert_array_equal(low.view(unit), want["first"].to_numpy())
    np.testing.assert_array_equal(high.view(unit), want["last"].to_numpy())
    assert np.isnat(low.view(unit)[[3, 4]]).all()


@pytest.mark.parametrize("in_visit_order", [True, False])
def test_visit_baskets_are_the_sorted_basket_keys(in_visit_order: bool) -> None:
    # given fee lines with repeated and missing items, in or out of visit order
    rng = np.random.default_rng(11)
    visit = np.sort(rng.integers(0, 50, 600))
    if not in_visit_order:
        visit = rng.permutation(visit)
    item = rng.integers(-1, 40, 600)
    item_hash = rng.integers(0, 2**63, 40, dtype=np.uint64) * np.uint64(2)
    # when each visit's basket is keyed in one pass
    key, count = kernels.visit_baskets(visit, item, 52, item_hash)
    # then the keys and counts are those of the sort-based numpy version
    want_key, want_count = _basket(visit, item, item_hash, 52)
    np.testing.assert_array_equal(key, want_key)
    np.testing.assert_array_equal(count, want_count)
    assert count[50:].sum() == 0 and count.max() > 1
