"""What every signal module shares: the ``Signals`` result, evidence lines, peer statistics."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.contract import EVIDENCE_COLUMNS, Level, Pattern


@dataclass(frozen=True)
class Signals:
    """What one signal function returns: values indexed by subject, and evidence lines."""

    values: pd.DataFrame
    evidence: pd.DataFrame


def empty_evidence() -> pd.DataFrame:
    """An evidence frame without lines (a copy: callers own what they get)."""
    return _empty_evidence_template().copy()


@functools.cache
def _empty_evidence_template() -> pd.DataFrame:
    # Built once: constructing six typed empty columns costs milliseconds, and every signal
    # group without a finding asks for one (dozens per call on a one-settlement check).
    return pd.DataFrame({c: pd.Series(dtype="string") for c in EVIDENCE_COLUMNS})


def evidence(
    level: Level,
    feature: str,
    pattern: Pattern,
    subject_ids: pd.Series | pd.Index,
    explanation: pd.Series,
    ids: pd.Series,
) -> pd.DataFrame:
    """Evidence lines of one feature: one per subject, explanation and the IDs alone."""
    n = len(subject_ids)
    return pd.DataFrame(
        {
            "subject_type": pd.array([level.value] * n, dtype="string"),
            "subject_id": _string_array(subject_ids),
            "feature": pd.array([feature] * n, dtype="string"),
            "pattern": pd.array([pattern.value] * n, dtype="string"),
            "explanation": _string_array(explanation),
            "evidence": _string_array(ids),
        }
    )


def _string_array(values: pd.Series | pd.Index) -> pd.api.extensions.ExtensionArray:
    """Values as a ``string`` array, positionally; Arrow strings without a detour through
    Python objects."""
    if isinstance(values, (pd.Series, pd.Index)) and _arrow_strings(values):
        return pd.array(values.array, dtype="string")
    return pd.array(np.asarray(values, dtype=object), dtype="string")


def concat_evidence(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_evidence()
    return pd.concat(frames, ignore_index=True)


def unique_ints(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array, as ``np.unique`` gives them.

    Sort-based: numpy 2's hash-based ``np.unique`` (also inside ``np.isin``) is about a
    hundred times slower than a sort on millions of wide integer keys.
    """
    values = np.asarray(values)
    low, span = _dense_range(values)
    if span:  # keys in a narrow range: mark them instead of sorting
        present = np.zeros(span, dtype=bool)
        present[values - low] = True
        return (np.flatnonzero(present) + low).astype(values.dtype)
    ordered = np.sort(values)  # equal values are alike: no need of a stable sort
    if len(ordered) < 2:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def rank_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of an integer array (as ``unique_ints``) and each
    value's position among them: ``np.unique(values, return_inverse=True)`` in one sort,
    where a binary search of every value in the distinct ones would cost more."""
    values = np.asarray(values)
    order = np.argsort(values)  # equal values get one rank whatever their order
    ordered = values[order]
    new = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    return ordered[new], rank


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` of integers: when each value's offset from
    the smallest and its row number fit in 64 bits together, one plain sort of (value,
    row), which is several times faster than the stable sort on unordered values and
    gives the same order (no two keys are equal)."""
    values = np.asarray(values)
    if values.dtype.kind not in "biu" or len(values) < 2:
        return np.argsort(values, kind="stable")
    low, high = int(values.min()), int(values.max())
    bits = (len(values) - 1).bit_length()
    if high - low + 1 > (np.iinfo(np.int64).max >> bits) or high > np.iinfo(np.int64).max:
        return np.argsort(values, kind="stable")
    keyed = values.astype(np.int64)
    if low:
        keyed -= low
    keyed <<= bits
    keyed |= np.arange(len(values), dtype=np.int64)
    keyed.sort()
    keyed &= (1 << bits) - 1
    return keyed.astype(np.intp, copy=False)


def _dense_range(values: np.ndarray) -> tuple[int, int]:
    """(minimum, width) of integer values that span at most a few times their count (a
    presence mask of that width is cheaper than a sort); width 0 otherwise."""
    if values.dtype.kind not in "iu" or len(values) < 1024:
        return 0, 0
    low, high = int(values.min()), int(values.max())
    width = high - low + 1
    return (low, width) if width <= 4 * len(values) else (0, 0)


def factorize_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of an integer array (codes numbered in order of first appearance,
    and the distinct values in that order), sort-based: pandas' hash table is slow on
    millions of distinct wide keys, which a stable sort of mostly ordered rows is not."""
    values = np.asarray(values)
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp), values.copy()
    order = stable_argsort(values)
    ordered = values[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]]
    first = order[new]  # each distinct value's first row (the sort is stable)
    by_appearance = stable_argsort(first)
    code_of = np.empty(len(first), dtype=np.intp)
    code_of[by_appearance] = np.arange(len(first))
    codes = np.empty(len(values), dtype=np.intp)
    codes[order] = code_of[np.cumsum(new) - 1]
    return codes, ordered[new][by_appearance]


def first_occurrence(values: np.ndarray) -> np.ndarray:
    """Whether each integer is the first of its value (``~Series(values).duplicated()``)."""
    values = np.asarray(values)
    out = np.zeros(len(values), dtype=bool)
    if len(values):
        order = stable_argsort(values)
        ordered = values[order]
        out[order[np.r_[True, ordered[1:] != ordered[:-1]]]] = True
    return out


def group_sums(codes: np.ndarray, columns: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Sums of each float column per group, bit for bit as pandas 3 sums a group-by whose
    group ids are ``codes`` (0..n-1 in the group-by's order, -1: dropped).

    pandas adds each group's values with ``np.add.reduceat`` when the ids are sorted and
    the column has no NaN, and otherwise in row order from 0.0 with Kahan compensation,
    skipping NaN. Both are repeated here without hashing the ids again: a Kahan sum of one
    or two values is plain addition, larger groups take one vectorised step per rank.
    """
    codes = np.asarray(codes)
    monotonic = len(codes) < 2 or bool((codes[1:] >= codes[:-1]).all())
    rows = np.flatnonzero(codes >= 0)
    order = rows if monotonic else rows[stable_argsort(codes[rows])]
    counts = np.bincount(codes[rows], minlength=n)
    if len(counts) and counts.max() > _MAX_RANKS:  # pandas itself, on the same ids
        return [_pandas_sums(codes, column, n) for column in columns]
    start = np.r_[0, np.cumsum(counts)[:-1]].astype(np.intp)
    some = counts > 0
    first = order[start[some]]  # each group's first row
    two = counts == 2
    second = order[start[two] + 1]
    sums = []
    for column in columns:
        values = np.asarray(column, dtype="float64")
        nan = np.isnan(values)
        total = np.zeros(n)
        if monotonic and not nan.any():
            if some.any():
                with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in pandas
                    total[some] = np.add.reduceat(values[order], start[some])
            sums.append(total)
            continue
        plain = counts <= 2
        if nan.any():
            plain &= np.bincount(codes[nan & (codes >= 0)], minlength=n) == 0
        with np.errstate(invalid="ignore"):
            total[some] = 0.0 + values[first]
            total[two] = total[two] + values[second]
        rest = ~plain & some
        if rest.any():
            sub = order[rest[codes[order]]]  # rows of the other groups, in group order
            group = codes[sub]
            begin = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            rank = np.arange(len(sub)) - np.repeat(begin, np.diff(np.r_[begin, len(sub)]))
            total[rest] = _kahan_sums(group, rank, values[sub], n)[rest]
        sums.append(total)
    return sums


_MAX_RANKS = 256
"""Groups with more rows than this are summed by pandas (one numpy step per rank)."""


def _pandas_sums(codes: np.ndarray, column: np.ndarray, n: int) -> np.ndarray:
    sums = pd.Series(np.asarray(column, dtype="float64")).groupby(codes).sum()
    sums = sums[sums.index >= 0]
    total = np.zeros(n)
    total[sums.index.to_numpy()] = sums.to_numpy()
    return total


def _kahan_sums(group: np.ndarray, rank: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """pandas' compensated group sum, one vectorised step per rank (rows in group order)."""
    total = np.zeros(n)
    compensation = np.zeros(n)
    by_rank = stable_argsort(rank)
    bounds = np.r_[0, np.cumsum(np.bincount(rank))]
    with np.errstate(invalid="ignore"):
        for r in range(len(bounds) - 1):
            at = by_rank[bounds[r] : bounds[r + 1]]
            at = at[~np.isnan(values[at])]
            g, x = group[at], values[at]
            y = x - compensation[g]
            t = total[g] + y
            c = (t - total[g]) - y
            compensation[g] = np.where(np.isnan(c), 0.0, c)
            total[g] = t
    return total


def isin_ints(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each integer of ``values`` is among ``keys`` (``np.isin``, sort-based)."""
    values = np.asarray(values)
    keys = np.asarray(keys)
    low, span = _dense_range(np.r_[keys, values] if len(keys) else keys)
    if span:
        present = np.zeros(span, dtype=bool)
        present[keys - low] = True
        return present[values - low]
    ordered = np.sort(keys)
    if len(ordered) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(ordered, values).clip(max=len(ordered) - 1)
    return ordered[at] == values


def positions(index: pd.Index | pd.Series, keys: pd.Index | pd.Series) -> np.ndarray:
    """Position of each key among the distinct values of ``index``, -1 when absent: what
    ``index.get_indexer(keys)`` gives, missing keys matching a missing value.

    Arrow strings are looked up with Arrow's hash table (``index_in``), several times
    faster than pandas' engine, which first turns both sides into Python objects; the keys
    of a categorical once per category.
    """
    if isinstance(keys.dtype, pd.CategoricalDtype):  # each category once, then its codes
        categories = keys.array.categories
        codes = np.asarray(keys.array.codes)
        values = pd.Index(index)
        if categories.equals(values) and not values.hasnans:  # the codes are the positions
            return codes.astype(np.intp)
        found = positions(index, categories.append(pd.Index([None], dtype=categories.dtype)))
        return found[codes]  # code -1 (missing): the last
    if _arrow_strings(index) and _arrow_strings(keys):
        value_set = pa.array(pd.Index(index).array).cast(pa.large_string())
        found = pc.index_in(pa.array(pd.Index(keys).array).cast(pa.large_string()), value_set)
        return found.fill_null(-1).to_numpy().astype(np.intp)
    return pd.Index(index).get_indexer(pd.Index(keys))


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``keys.map(table)`` (missing where a key is not in ``table``'s unique index), with
    Arrow string keys looked up by ``positions``, for a table of Arrow strings or numpy
    datetimes (other tables: ``map`` itself, whose result type varies with the keys')."""
    arrow = _arrow_strings(keys) and _arrow_strings(table.index) and table.index.is_unique
    if arrow and _arrow_strings(table):
        taken = table.array.take(positions(table.index, keys), allow_fill=True)
    elif arrow and table.dtype.kind == "M" and isinstance(table.dtype, np.dtype):
        at = positions(table.index, keys)
        taken = pd.api.extensions.take(table.to_numpy(), at, allow_fill=True)
    else:
        return keys.map(table)
    return pd.Series(taken, index=keys.index, name=keys.name)


def _arrow_strings(values: pd.Index | pd.Series) -> bool:
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def pair_counts(group: pd.Series, member: pd.Series, names: tuple[str, str, str]) -> pd.DataFrame:
    """For each ordered pair of different members of a group, the number of groups they
    share, sorted by the two members: what a self-merge of the (group, member) rows on
    the group, without rows pairing a member with itself, counted by member pair gives,
    on integer codes (rows missing either are left out)."""
    g, _ = pd.factorize(group)
    m, member_names = pd.factorize(member, sort=True)
    ok = (g >= 0) & (m >= 0)
    order = stable_argsort(g[ok])
    g, m = g[ok][order], m[ok][order]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, np.intp)
    size = np.repeat(np.diff(np.r_[start, len(g)]), np.diff(np.r_[start, len(g)]))
    row = np.repeat(np.arange(len(g)), size)  # each row once per row of its group
    offset = np.arange(len(row)) - np.repeat(np.cumsum(size) - size, size)
    other = np.repeat(np.repeat(start, np.diff(np.r_[start, len(g)])), size) + offset
    differ = m[row] != m[other]
    width = max(len(member_names), 1)
    key = np.sort(m[row][differ].astype(np.int64) * width + m[other][differ])
    new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    keys, counts = key[new], np.diff(np.r_[np.flatnonzero(new), len(key)])
    return pd.DataFrame(
        {
            names[0]: member_names.take(keys // width),
            names[1]: member_names.take(keys % width),
            names[2]: counts.astype(np.int64),
        },
        copy=False,
    )


def distinct_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame.drop_duplicates(columns)`` through integer codes of each column (one hash per
    value rather than per row of tuples); ``frame`` itself when no row repeats (callers
    must not modify the result)."""
    repeated = ~first_occurrence(row_key(frame, columns))
    return frame.loc[~repeated] if repeated.any() else frame


def repeated_rows(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Which rows share their values of ``columns`` with another row:
    ``frame.duplicated(columns, keep=False)`` through integer codes of each column."""
    codes, _ = factorize_ints(row_key(frame, columns))
    return np.bincount(codes)[codes] > 1 if len(codes) else np.zeros(0, dtype=bool)


def row_key(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One integer per row, equal for rows with equal values of ``columns`` (missing values
    alike, as in ``duplicated``)."""
    key = np.zeros(len(frame), dtype=np.int64)
    span = 1  # key < span
    for c in columns:
        values = frame[c].to_numpy() if frame[c].dtype.kind in "iu" else None
        if values is not None and len(values):
            codes = values.astype(np.int64) - int(values.min())
            width = int(codes.max()) + 2
        else:
            codes, uniques = pd.factorize(frame[c])  # missing values: -1, all alike
            width = len(uniques) + 1
        if span > np.iinfo(np.int64).max // width:
            key, distinct = factorize_ints(key)
            span = len(distinct)
        key = key * width + codes + 1
        span *= width
    return key


def sort_order(*keys: np.ndarray) -> np.ndarray:
    """The row order ``DataFrame.sort_values`` gives for several numeric, boolean or
    datetime64 columns (ascending, missing last, stable).

    The columns are packed into one integer key (each as its offset from its minimum, or
    its rank among its distinct values) and argsorted once: several times faster than
    ``np.lexsort``, and than pandas' detour through a categorical of each datetime column.
    """
    if not keys:
        raise ValueError("sort_order needs at least one key")
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    span = 1  # packed < span
    for key in keys:
        codes, width = _order_codes(np.asarray(key))
        if span > np.iinfo(np.int64).max // width:
            packed, distinct = factorize_ints(packed)  # keep the order: rank the key so far
            ranks = np.argsort(np.argsort(distinct, kind="stable"), kind="stable")
            packed, span = ranks[packed], len(distinct)
        packed = packed * width + codes
        span *= width
    return stable_argsort(packed)


def _order_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Order-preserving codes 0..width-1 of a column (missing values last) and the width."""
    if values.dtype.kind in "biu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low < 2**40:
            return values.astype(np.int64) - low, high - low + 1
    if values.dtype.kind == "M" and len(values):  # ranks of the instants, NaT last
        distinct, rank = rank_ints(values.view(np.int64))
        if np.isnat(values).any():  # NaT is the smallest integer: first of the distinct
            rank -= 1
            rank[rank < 0] = len(distinct) - 1
            return rank, len(distinct)
        return rank, len(distinct) + 1
    codes, distinct = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(distinct), codes).astype(np.int64), len(distinct) + 1


def group_cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of integer ``values`` within runs of equal ``groups`` (rows sorted by
    group): ``Series(values).groupby(groups).cumsum()`` for sorted groups."""
    values = np.asarray(values)
    total = np.cumsum(values)
    if len(values) == 0:
        return total
    groups = np.asarray(groups)
    start = np.r_[True, groups[1:] != groups[:-1]]
    before = (total - values)[start]  # the running total where each group starts
    return total - np.repeat(before, np.diff(np.r_[np.flatnonzero(start), len(values)]))


def join_text(*parts: str | pd.Series | pd.Index | np.ndarray) -> pd.Series:
    """``part + part + ...`` of texts and text columns in one pass (Arrow's element-wise
    join): a chain of ``+`` writes every intermediate column of an evidence line.
    Missing in any column is missing in the result, as with ``+``; the index is that of
    the first Series among ``parts`` (the others are taken by position)."""
    index = next((p.index for p in parts if isinstance(p, pd.Series)), None)
    columns = [
        pa.scalar(p, pa.large_string())
        if isinstance(p, str)
        else pa.array(
            pd.array(
                np.asarray(p, dtype=object) if isinstance(p, np.ndarray) else p.array,
                dtype="string",
            )
        ).cast(pa.large_string())
        for p in parts
    ]
    joined = pc.binary_join_element_wise(*columns, pa.scalar("", pa.large_string()))
    return pd.Series(pd.array(joined, dtype="string"), index=index)


def day_text(days: pd.Series) -> pd.Series:
    """Dates as ``yyyy-MM-dd`` text."""
    stamps = pd.to_datetime(days)
    # formatted once per distinct date (a few hundred among millions of rows)
    codes, distinct = pd.factorize(stamps)
    text = pd.Series(distinct).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    table = pd.array([*text, None], dtype="string")  # position -1 (NaT): missing
    return pd.Series(table.take(codes), index=stamps.index, name=stamps.name, dtype="string")


def num_text(values: pd.Series, decimals: int = 0) -> pd.Series:
    """Numbers as text with a fixed number of decimals."""
    rounded = np.round(np.asarray(values, dtype="float64"), decimals)
    # formatted once per distinct value (by bit pattern, so -0.0 keeps its sign)
    codes, distinct = pd.factorize(rounded.view(np.int64))
    form = f"{{:.{decimals}f}}".format
    text = pd.array([form(x) for x in distinct.view(np.float64)], dtype="string")
    return pd.Series(text.take(codes), index=values.index, dtype="string")


def first_rows(keys: np.ndarray, max_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are among the first ``max_items`` of their key (in order of appearance),
    and each row's count of rows with its key: ``listing`` of the kept rows with these
    counts as ``totals`` equals ``listing`` of all rows, so callers build the text of the
    listed rows only."""
    codes, _ = factorize_positions(np.asarray(keys))
    if len(codes) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    counts = np.bincount(codes)
    order = stable_argsort(codes)
    start = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - np.repeat(start, counts)
    return rank < max_items, counts[codes]


def listing(
    keys: pd.Series,
    text: pd.Series,
    max_items: int,
    sep: str = ", ",
    totals: np.ndarray | None = None,
) -> pd.Series:
    """Join ``text`` per key (in order of appearance), keeping the first ``max_items`` and
    counting the rest (``totals``: each row's count of rows with its key, when the rows
    were already cut with ``first_rows``). Vectorised: Arrow joins each key's texts."""
    codes, uniques = factorize_positions(np.asarray(keys))
    if len(codes) == 0:
        return pd.Series(dtype="string")
    values = pa.array(pd.Series(text).astype("string").fillna("").array)
    if isinstance(values, pa.ChunkedArray):  # one take from one buffer, not per chunk
        values = values.combine_chunks()
    order = stable_argsort(codes)
    grouped = codes[order]
    start = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
    counts = np.diff(np.r_[start, len(grouped)])
    rank = np.arange(len(grouped)) - np.repeat(start, counts)
    # each key's first max_items texts as one Arrow list, joined by Arrow
    shown = values.take(pa.array(order[rank < max_items]))
    offsets = np.r_[0, np.cumsum(np.minimum(counts, max(max_items, 0)))]
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), shown.cast(pa.large_string()))
    joined = pc.binary_join(lists, pa.scalar(sep, pa.large_string()))
    if totals is not None:
        counts = np.asarray(totals)[order][start]
    more = counts - max_items
    if (more > 0).any():
        tail = np.full(len(start), "", dtype=object)
        tail[more > 0] = [f" … and {n} more" for n in more[more > 0]]
        joined = pc.binary_join_element_wise(
            joined, pa.array(tail, pa.large_string()), pa.scalar("", pa.large_string())
        )
    index = pd.Index(np.asarray(uniques)[grouped[start]])
    return pd.Series(pd.array(joined, dtype="string"), index=index)


COMPILED_MIN_ROWS = 100_000
"""Inputs from this many rows go through the compiled loops of ``features.kernels`` where
numpy or pandas does the same: below it a process is better off without numba's start-up
(about a second: its import and its first call load the compiled code)."""


def factorize_positions(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(keys)``; of many positions (small non-negative integers: of visits,
    of persons' rows) by one compiled pass instead of a hash table."""
    if (
        keys.dtype.kind in "iu"
        and len(keys) >= COMPILED_MIN_ROWS
        and keys.min() >= 0
        and keys.max() < 4 * len(keys) + 1024
    ):
        from features import kernels

        codes, distinct = kernels.first_appearance_codes(
            keys.astype(np.int64, copy=False), int(keys.max()) + 1
        )
        return codes.astype(np.intp), distinct.astype(keys.dtype, copy=False)
    return pd.factorize(keys)


def robust_z(
    values: pd.Series, groups: pd.Series, min_group_size: int, log: bool = True
) -> tuple[pd.Series, pd.Series]:
    """Robust z-score and percentile of each value within its peer group.

    z = (x - median) / (1.4826 * MAD), on ``log1p`` scale for amounts, so one outlier does
    not move its peers' centre. Groups smaller than ``min_group_size`` are judged against
    the whole level. A zero MAD falls back to a tenth of the median's magnitude (at least
    0.01) so that identical peers do not make every difference infinite.
    """
    x = pd.Series(np.asarray(values, dtype="float64"), index=values.index)
    if log:
        x = pd.Series(np.log1p(x.clip(lower=0).to_numpy()), index=x.index)
    g = pd.Series(np.asarray(groups, dtype=object), index=values.index)
    size = g.map(g.value_counts())
    g = g.where(size >= min_group_size, "__all__")
    med = x.groupby(g).transform("median")
    mad = (x - med).abs().groupby(g).transform("median")
    all_med = x.median()
    all_mad = (x - all_med).abs().median()
    small = g.eq("__all__")
    med = med.where(~small, all_med)
    mad = mad.where(~small, all_mad)
    scale = (1.4826 * mad).where(mad > 0, np.maximum(0.1 * med.abs(), 0.01))
    z = (x - med) / scale
    pct = x.groupby(g).rank(pct=True)
    return z.astype("float64"), pct.astype("float64")


@dataclass(frozen=True)
class PeerMedians:
    """The median of each peer group, its size (rows, missing values included), and the
    median of the whole level (what small groups are judged against)."""

    median: pd.Series
    size: pd.Series
    overall: float


def peer_medians(values: pd.Series, groups: pd.Series) -> PeerMedians:
    """The ``PeerMedians`` of ``values`` in their ``groups``."""
    x = pd.Series(np.asarray(values, dtype="float64"), index=values.index)
    g = pd.Series(np.asarray(groups, dtype=object), index=values.index)
    return PeerMedians(median=x.groupby(g).median(), size=g.value_counts(), overall=x.median())


def peer_ratio(
    values: pd.Series,
    groups: pd.Series,
    min_group_size: int,
    peers: PeerMedians | None = None,
) -> pd.Series:
    """Value divided by its peer group's median (whole level for small groups); ``peers``
    (default: those of ``values``) when ``values`` are only some of the peers."""
    x = pd.Series(np.asarray(values, dtype="float64"), index=values.index)
    g = pd.Series(np.asarray(groups, dtype=object), index=values.index)
    p = peers or peer_medians(x, g)
    size = g.map(p.size)
    med = g.map(p.median).where(size >= min_group_size, p.overall)
    return (x / med.where(med > 0)).astype("float64")


def stable_hash(values: pd.Series) -> np.ndarray:
    """A stable 64-bit hash of each value (for order-free basket keys)."""
    return pd.util.hash_array(np.asarray(values.astype("string").fillna(""), dtype=object))


def peer_groups(primary: pd.Series, fallback: pd.Series, min_group_size: int) -> pd.Series:
    """Peer group keys: ``primary`` where that group is big enough, else ``fallback``."""
    p = pd.Series(np.asarray(primary, dtype=object), index=primary.index)
    f = pd.Series(np.asarray(fallback, dtype=object), index=primary.index)
    size = p.map(p.value_counts())
    return p.where(size >= min_group_size, f).astype("string")
