"""What every signal module shares: the ``Signals`` result, evidence lines, peer statistics."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
            "subject_id": pd.array(np.asarray(subject_ids, dtype=object), dtype="string"),
            "feature": pd.array([feature] * n, dtype="string"),
            "pattern": pd.array([pattern.value] * n, dtype="string"),
            "explanation": pd.array(np.asarray(explanation, dtype=object), dtype="string"),
            "evidence": pd.array(np.asarray(ids, dtype=object), dtype="string"),
        }
    )


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
    ordered = np.sort(np.asarray(values), kind="stable")
    if len(ordered) < 2:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def isin_ints(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each integer of ``values`` is among ``keys`` (``np.isin``, sort-based)."""
    values = np.asarray(values)
    ordered = np.sort(np.asarray(keys))
    if len(ordered) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(ordered, values).clip(max=len(ordered) - 1)
    return ordered[at] == values


def day_text(days: pd.Series) -> pd.Series:
    """Dates as ``yyyy-MM-dd`` text."""
    return pd.to_datetime(days).dt.strftime("%Y-%m-%d").astype("string")


def num_text(values: pd.Series, decimals: int = 0) -> pd.Series:
    """Numbers as text with a fixed number of decimals."""
    return (
        pd.Series(np.round(np.asarray(values, dtype="float64"), decimals), index=values.index)
        .map((f"{{:.{decimals}f}}").format)
        .astype("string")
    )


def first_rows(keys: np.ndarray, max_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are among the first ``max_items`` of their key (in order of appearance),
    and each row's count of rows with its key: ``listing`` of the kept rows with these
    counts as ``totals`` equals ``listing`` of all rows, so callers build the text of the
    listed rows only."""
    codes, _ = pd.factorize(np.asarray(keys))
    if len(codes) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    counts = np.bincount(codes)
    order = np.argsort(codes, kind="stable")
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
    were already cut with ``first_rows``). Vectorised over rows: the only loop is over the
    ``max_items`` ranks."""
    codes, uniques = pd.factorize(np.asarray(keys))
    if len(codes) == 0:
        return pd.Series(dtype="string")
    values = np.asarray(pd.Series(text).astype("string").fillna("").to_numpy(dtype=object))
    order = np.argsort(codes, kind="stable")
    grouped = codes[order]
    values = values[order]
    start = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
    counts = np.diff(np.r_[start, len(grouped)])
    rank = np.arange(len(grouped)) - np.repeat(start, counts)
    group = np.repeat(np.arange(len(start)), counts)
    joined = np.full(len(start), "", dtype=object)
    for r in range(min(max_items, int(counts.max()))):
        at = rank == r
        head = values[at] if r == 0 else sep + values[at]
        joined[group[at]] = joined[group[at]] + head
    if totals is not None:
        counts = np.asarray(totals)[order][start]
    more = counts - max_items
    tail = np.where(more > 0, np.char.add(" … and ", more.astype(str)).astype(object), "")
    joined = joined + np.where(more > 0, tail + " more", "")
    index = pd.Index(np.asarray(uniques)[grouped[start]])
    return pd.Series(joined, index=index, dtype="string")


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
