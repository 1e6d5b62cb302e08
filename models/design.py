"""Model inputs: the signal matrix of a subject level, its labels, groups and flags.

A level's matrix holds its own signals (flags as 0/1, numbers as float64) and, at the
institution level, the visit and person signals aggregated per institution (mean, share
of subjects flagged, maximum, counts), so that institution labels alone can be learned.
Every column maps back to the declared signal it comes from (``Column``), which is how
reasons name real signals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.contract import CONTEXT_PREFIX, FeatureSet, FeatureSpec, Level, Pattern


@dataclass(frozen=True)
class Column:
    """A model input column and the declared signal behind it."""

    name: str
    signal: str
    """The ``FeatureSpec.name`` it derives from (``""`` for a count of subjects)."""
    source: Level
    """The level of that signal (the institution level aggregates visits and persons)."""
    how: str = ""
    """``""`` for the signal itself; ``mean``, ``share``, ``max`` or ``count`` when aggregated."""
    pattern: Pattern | None = None
    kind: str = "number"

    def describe(self, spec: FeatureSpec | None) -> str:
        """Plain-language meaning of the column, from the signal's description."""
        what = spec.description if spec is not None else f"{self.source.value}s"
        if self.how == "":
            return what
        if self.how == "count":
            return f"number of {self.source.value}s at the institution"
        if self.how == "share":
            return f"share of the institution's {self.source.value}s with: {what}"
        return f"{self.how} over the institution's {self.source.value}s of: {what}"


def level_columns(feature_set: FeatureSet, level: Level, aggregate: bool) -> list[Column]:
    """The model input columns of a level, in a stable order."""
    columns = [
        Column(s.name, s.name, level, "", s.pattern, s.kind)
        for s in feature_set.specs
        if s.level == level and s.name in _frame(feature_set, level).columns
    ]
    if aggregate and level == Level.INSTITUTION:
        for source in (Level.VISIT, Level.PERSON):
            frame = _frame(feature_set, source)
            if frame.empty or not institution_map(feature_set, source).size:
                continue
            columns.append(Column(f"{source.value}s_count", "", source, "count"))
            for s in feature_set.specs:
                if s.level != source or s.name not in frame.columns:
                    continue
                if s.kind == "flag":
                    columns.append(
                        Column(
                            f"{source.value}s_share__{s.name}",
                            s.name,
                            source,
                            "share",
                            s.pattern,
                            "number",
                        )
                    )
                else:
                    for how in ("mean", "max"):
                        columns.append(
                            Column(
                                f"{source.value}s_{how}__{s.name}",
                                s.name,
                                source,
                                how,
                                s.pattern,
                                "number",
                            )
                        )
    return columns


def level_matrix(feature_set: FeatureSet, level: Level, columns: list[Column]) -> pd.DataFrame:
    """The float64 matrix of ``columns`` for every subject of the level (absent signals: NaN)."""
    frame = _frame(feature_set, level)
    own = [c.name for c in columns if c.how == ""]
    matrix = frame.reindex(columns=own).astype("float64")
    derived = [c for c in columns if c.how != ""]
    if derived:
        parts = [matrix]
        for source in (Level.VISIT, Level.PERSON):
            wanted = [c for c in derived if c.source == source]
            if wanted:
                parts.append(_aggregate(feature_set, source, wanted).reindex(frame.index))
        matrix = pd.concat(parts, axis=1)
    matrix = matrix.reindex(columns=[c.name for c in columns])
    matrix.index = matrix.index.astype("string")
    matrix.index.name = "subject_id"
    return matrix


def _aggregate(feature_set: FeatureSet, source: Level, wanted: list[Column]) -> pd.DataFrame:
    """Per institution: count of subjects, and mean / share / max of their signals."""
    frame = _frame(feature_set, source)
    links = institution_map(feature_set, source)
    signals = sorted({c.signal for c in wanted if c.signal})
    values = frame.reindex(columns=signals).astype("float64")
    joined = links.to_frame("institution").join(values, on="subject")
    grouped = joined.groupby("institution", sort=False)
    out: dict[str, pd.Series] = {}
    for c in wanted:
        if c.how == "count":
            out[c.name] = grouped.size().astype("float64")
        elif c.how == "share":
            out[c.name] = (joined[c.signal] > 0).groupby(joined["institution"], sort=False).mean()
        elif c.how == "mean":
            out[c.name] = grouped[c.signal].mean()
        else:
            out[c.name] = grouped[c.signal].max()
    result = pd.DataFrame(out)
    result.index = result.index.astype("string")
    return result


def institution_map(feature_set: FeatureSet, source: Level) -> pd.Series:
    """The institution of each visit (or each person, once per institution they visited)."""
    visits = _frame(feature_set, Level.VISIT)
    if "ctx_institution" not in visits.columns:
        return pd.Series([], dtype="string")
    if source == Level.VISIT:
        links = visits["ctx_institution"].astype("string")
        links.index = links.index.astype("string").rename("subject")
        return links.dropna()
    if "ctx_person" not in visits.columns:
        return pd.Series([], dtype="string")
    pairs = visits[["ctx_person", "ctx_institution"]].astype("string").drop_duplicates().dropna()
    return pd.Series(
        pairs["ctx_institution"].to_numpy(),
        index=pd.Index(pairs["ctx_person"].to_numpy(), dtype="string", name="subject"),
        dtype="string",
    )


def _frame(feature_set: FeatureSet, level: Level) -> pd.DataFrame:
    frame = feature_set.frames.get(level)
    return frame if frame is not None else pd.DataFrame(index=pd.Index([], dtype="string"))


def member(values: pd.Index, within: pd.Index) -> np.ndarray:
    """Which of ``values`` are in ``within`` (a hash lookup; arrow-string ``isin`` is slow)."""
    lookup = pd.Index(np.asarray(within, dtype=object)).unique()
    return np.asarray(lookup.get_indexer(np.asarray(values, dtype=object)) >= 0)


def subject_groups(feature_set: FeatureSet, level: Level, index: pd.Index) -> np.ndarray:
    """Who must stay on one side of a split: visits by person, doctors by institution."""
    frame = _frame(feature_set, level)
    column = {Level.VISIT: "ctx_person", Level.DOCTOR: "ctx_institution"}.get(level)
    if column is not None and column in frame.columns:
        groups = frame[column].astype("string").reindex(index)
        return groups.fillna(pd.Series(index, index=index)).to_numpy(dtype=object)
    return np.asarray(index, dtype=object)


def peer_groups(feature_set: FeatureSet, level: Level, index: pd.Index) -> np.ndarray | None:
    """The peer-group key of each subject, for the cold-start forests."""
    frame = _frame(feature_set, level)
    if "ctx_peer_group" not in frame.columns:
        return None
    return frame["ctx_peer_group"].astype("string").reindex(index).fillna("").to_numpy(object)


def context(feature_set: FeatureSet, level: Level, index: pd.Index, name: str) -> pd.Series:
    """A ``ctx_`` column of a level aligned to ``index`` (NaN where absent)."""
    frame = _frame(feature_set, level)
    column = CONTEXT_PREFIX + name
    if column not in frame.columns:
        return pd.Series(np.nan, index=index)
    return frame[column].reindex(index)


def target_labels(labels: pd.DataFrame | None, level: Level, pattern: Pattern) -> pd.Series:
    """1 confirmed / 0 rejected per subject of a level and pattern (confirmed wins)."""
    if labels is None or labels.empty:
        return pd.Series([], dtype="float64", index=pd.Index([], dtype="string"))
    chosen = labels[
        (labels["subject_type"].astype("string") == level.value)
        & (labels["pattern"].astype("string") == pattern.value)
    ]
    outcome = (chosen["outcome"].astype("string") == "confirmed").astype("float64")
    per_subject = outcome.groupby(chosen["subject_id"].astype("string").to_numpy()).max()
    per_subject.index = per_subject.index.astype("string")
    return per_subject
