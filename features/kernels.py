"""Compiled loops (numba) for the per-line work that numpy can only do in many passes.

A vectorised pandas/numpy version of "per (visit, doctor) pair: sums and the distinct
drug items" sorts ten million keys, gathers every line column in that order and reduces
each: a dozen arrays of ten million values, each written once and read once, most of
the time in the kernel zeroing their fresh pages. One loop over the lines of each visit
does it in two passes and allocates only the outputs.

The functions compile on first use (``cache=True``: once per machine and argument
types, in ``__pycache__``; a big one takes seconds), release the GIL, and take plain
numpy arrays of fixed dtypes (the callers cast). Loading numba and the compiled code
costs a process about a second: callers import this module inside the functions that
use it, the doctor-visit rows always, the others only for inputs of
``features.common.COMPILED_MIN_ROWS`` rows or more, where numpy or pandas would do.
"""

from __future__ import annotations

import numba
import numpy as np

_compiled = numba.njit(cache=True, nogil=True)
_MAX = np.finfo(np.float64).max


@_compiled
def group_order(group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each group 0..n-1 together, in row order (a stable counting sort):
    group ``g``'s rows are ``order[offsets[g]:offsets[g + 1]]``; rows of group -1 are left
    out."""
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    for g in group:
        if g >= 0:
            offsets[g + 1] += 1
    for g in range(n_groups):
        offsets[g + 1] += offsets[g]
    fill = offsets[:-1].copy()
    order = np.empty(offsets[n_groups], dtype=np.int64)
    for row in range(len(group)):
        g = group[row]
        if g >= 0:
            order[fill[g]] = row
            fill[g] += 1
    return offsets, order


@_compiled
def _finite(x: float) -> float:
    """``np.nan_to_num``: missing adds nothing, infinities are the largest floats."""
    if x != x:
        return 0.0
    if x > _MAX:
        return _MAX
    if x < -_MAX:
        return -_MAX
    return x


@_compiled
def visit_rows(visit: np.ndarray, n_visits: int) -> tuple[np.ndarray, np.ndarray]:
    """``group_order`` of fee lines by visit; when the lines come visit by visit (as
    ``prepare`` and exports give them) the order is the rows themselves and is returned
    empty, so that no array of every line's position is written."""
    for row in range(1, len(visit)):
        if visit[row] < visit[row - 1]:
            return group_order(visit, n_visits)
    offsets = np.zeros(n_visits + 1, dtype=np.int64)
    for g in visit:
        offsets[g + 1] += 1
    for g in range(n_visits):
        offsets[g + 1] += offsets[g]
    return offsets, np.empty(0, dtype=np.int64)


@_compiled
def sort_small(values: np.ndarray) -> None:
    """Sort in place: insertion sort for the few values of one visit, numpy's beyond."""
    if len(values) > 32:
        values.sort()
        return
    for i in range(1, len(values)):
        x = values[i]
        j = i - 1
        while j >= 0 and values[j] > x:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = x


@_compiled
def _add_distinct_items(
    keys: np.ndarray,
    n_item_codes: int | np.int64,
    base: int,
    item_hash: np.ndarray,
    basket: np.ndarray,
    count: np.ndarray,
) -> None:
    """For keys ``offset * n_item_codes + item`` of one visit (sorted here, in place): each
    distinct item's hash added to the basket of row ``base + offset``, and counted."""
    if not len(keys):
        return
    sort_small(keys)
    previous = -1
    for key in keys:
        if key != previous:
            p = base + key // n_item_codes
            basket[p] += item_hash[key % n_item_codes]
            count[p] += 1.0
            previous = key


@_compiled
def doctor_pairs(
    visit: np.ndarray,
    doctor: np.ndarray,
    n_visits: int,
    n_doctors: int,
    attending: np.ndarray,
    amount: np.ndarray,
    is_drug: np.ndarray,
    price: np.ndarray,
    high_value_price: float,
    item: np.ndarray,
    item_hash: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One row per (visit, doctor) pair of the fee lines (``doctor`` -1: no doctor),
    numbered in the order of each pair's first line (as ``groupby(sort=False)``), then one
    per visit whose attending doctor (``attending``: a doctor code, -2 for a doctor of no
    fee line, -1 for none) has no pair, in visit order.

    Returns per row its visit and doctor (-1 for an attending doctor of no fee line); the
    sum of the line amounts, of the drug lines' amounts and of the drug lines' at
    ``high_value_price`` or more (in row order; zero on attending rows); the wrapping sum
    of ``item_hash`` over the distinct items of its drug lines and their count."""
    n_lines = len(visit)
    offsets, order = visit_rows(visit, n_visits)
    in_order = len(order) == 0
    capacity = n_lines + n_visits  # pages never written are never touched
    mark = np.full(n_doctors, -1, dtype=np.int64)  # the visit that last saw the doctor
    slot = np.empty(n_doctors, dtype=np.int64)  # ... and the doctor's pair on it
    # lines in visit order number the pairs in the order of their first line; others
    # are renumbered by their first lines at the end
    first_row = np.empty(0 if in_order else capacity, dtype=np.int64)
    pair_visit = np.empty(capacity, dtype=np.int32)
    pair_doctor = np.empty(capacity, dtype=np.int32)
    amt = np.zeros(capacity)
    drug_amt = np.zeros(capacity)
    hv_amt = np.zeros(capacity)
    basket = np.zeros(capacity, dtype=np.uint64)
    n_items = np.zeros(capacity)
    unpaired = np.zeros(n_visits, dtype=np.bool_)
    n_item_codes = np.int64(len(item_hash))
    keys = np.empty(max(1, max_group(offsets)), dtype=np.int64)
    n_pairs = 0
    for g in range(n_visits):
        begin = n_pairs
        n_keys = 0
        for k in range(offsets[g], offsets[g + 1]):
            row = k if in_order else order[k]
            d = doctor[row]
            if d < 0:
                continue
            if mark[d] != g:
                mark[d] = g
                slot[d] = n_pairs
                if not in_order:
                    first_row[n_pairs] = row
                pair_visit[n_pairs] = g
                pair_doctor[n_pairs] = d
                n_pairs += 1
            p = slot[d]
            x = _finite(amount[row])
            amt[p] += x
            if is_drug[row]:
                drug_amt[p] += x
                if price[row] >= high_value_price:
                    hv_amt[p] += x
                if item[row] >= 0:
                    keys[n_keys] = (p - begin) * n_item_codes + item[row]
                    n_keys += 1
        a = attending[g]
        unpaired[g] = a == -2 or (a >= 0 and mark[a] != g)
        _add_distinct_items(keys[:n_keys], n_item_codes, begin, item_hash, basket, n_items)
    if not in_order:
        _renumber_by_first_row(
            first_row,
            n_pairs,
            n_lines,
            (pair_visit, pair_doctor),
            (amt, drug_amt, hv_amt, n_items),
            basket,
        )
    k = n_pairs
    for g in range(n_visits):
        if unpaired[g]:
            pair_visit[k] = g
            pair_doctor[k] = max(attending[g], -1)
            k += 1
    return (
        pair_visit[:k],
        pair_doctor[:k],
        amt[:k],
        drug_amt[:k],
        hv_amt[:k],
        basket[:k],
        n_items[:k],
    )


@_compiled
def _renumber_by_first_row(
    first_row: np.ndarray,
    n_pairs: int,
    n_lines: int,
    ints: tuple[np.ndarray, ...],
    floats: tuple[np.ndarray, ...],
    hashes: np.ndarray,
) -> None:
    """Put the first ``n_pairs`` entries of each array in the order of ``first_row``."""
    pair_at_row = np.full(n_lines, -1, dtype=np.int64)
    for p in range(n_pairs):
        pair_at_row[first_row[p]] = p
    appearance = np.empty(n_pairs, dtype=np.int64)
    k = 0
    for row in range(n_lines):
        if pair_at_row[row] >= 0:
            appearance[k] = pair_at_row[row]
            k += 1
    for values in ints:
        values[:n_pairs] = values[appearance]
    for values in floats:
        values[:n_pairs] = values[appearance]
    hashes[:n_pairs] = hashes[appearance]


@_compiled
def max_group(offsets: np.ndarray) -> int:
    """The size of the largest group of ``group_order``'s offsets."""
    largest = 0
    for g in range(len(offsets) - 1):
        largest = max(largest, offsets[g + 1] - offsets[g])
    return largest


@_compiled
def first_appearance_codes(values: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values)`` of integers 0..n_values-1: codes in order of first
    appearance and the distinct values in that order, by one pass with a table of the
    values seen."""
    code = np.full(n_values, -1, dtype=np.int64)
    out = np.empty(len(values), dtype=np.int64)
    distinct = np.empty(min(len(values), n_values), dtype=np.int64)
    n_codes = 0
    for row in range(len(values)):
        value = values[row]
        if code[value] < 0:
            code[value] = n_codes
            distinct[n_codes] = value
            n_codes += 1
        out[row] = code[value]
    return out, distinct[:n_codes]


@_compiled
def order_within_runs(
    first: np.ndarray, second: np.ndarray, day: np.ndarray, visit: np.ndarray
) -> np.ndarray:
    """The stable order of rows by (``day``, ``visit``) within each run of equal
    (``first``, ``second``), runs kept in place: for rows already sorted by the run keys,
    the order a sort by all four keys gives, without sorting every row again (runs are
    a person's fills of one drug: a few rows each)."""
    n = len(first)
    order = np.arange(n)
    begin = 0
    while begin < n:
        end = begin + 1
        while end < n and first[end] == first[begin] and second[end] == second[begin]:
            end += 1
        if end - begin > 32:
            run = order[begin:end]
            by_visit = run[np.argsort(visit[run], kind="mergesort")]
            order[begin:end] = by_visit[np.argsort(day[by_visit], kind="mergesort")]
        else:
            for i in range(begin + 1, end):
                row = order[i]
                j = i - 1
                while j >= begin and (
                    day[order[j]] > day[row]
                    or (day[order[j]] == day[row] and visit[order[j]] > visit[row])
                ):
                    order[j + 1] = order[j]
                    j -= 1
                order[j + 1] = row
        begin = end
    return order


@_compiled
def group_span(
    group: np.ndarray, first: np.ndarray, last: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group 0..n-1 the smallest ``first`` and the largest ``last`` (datetimes as
    int64, NaT the smallest integer, skipped as pandas skips it); NaT where none."""
    nat = np.iinfo(np.int64).min
    low = np.full(n_groups, nat, dtype=np.int64)
    high = np.full(n_groups, nat, dtype=np.int64)
    for row in range(len(group)):
        g = group[row]
        x = first[row]
        if x != nat and (low[g] == nat or x < low[g]):
            low[g] = x
        y = last[row]
        if y != nat and y > high[g]:
            high[g] = y
    return low, high


@_compiled
def visit_baskets(
    visit: np.ndarray, item: np.ndarray, n_visits: int, item_hash: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per visit 0..n-1 the wrapping sum of ``item_hash`` over the distinct items of its
    lines (``item`` -1: none) and their count, from a small sort of each visit's items."""
    offsets, order = visit_rows(visit, n_visits)
    in_order = len(order) == 0
    key = np.zeros(n_visits, dtype=np.uint64)
    count = np.zeros(n_visits)
    buffer = np.empty(max(1, max_group(offsets)), dtype=np.int64)
    n_item_codes = np.int64(len(item_hash))
    for g in range(n_visits):
        m = 0
        for k in range(offsets[g], offsets[g + 1]):
            i = item[k if in_order else order[k]]
            if i >= 0:
                buffer[m] = i
                m += 1
        _add_distinct_items(buffer[:m], n_item_codes, g, item_hash, key, count)
    return key, count
