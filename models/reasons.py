"""Reasons and evidence of a lead: the top contributing signals in the inspector's words.

A supervised model's contributions are LightGBM ``pred_contrib`` log-odds per input
column; a cold-start scorer's are its fired flags and distance from the peer group. The
top positive ones become reasons: the column (which names the declared signal), its
value, its contribution, and the signal's plain-language explanation from the evidence
frame (or its description when it did not fire). Evidence lists the IDs behind them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import FeatureSet, FeatureSpec, Level
from models.design import Column, institution_map


def explain(
    feature_set: FeatureSet,
    level: Level,
    columns: list[Column],
    values: pd.DataFrame,
    contributions: np.ndarray,
    top: int,
    ids_per_reason: int,
    specs: dict[str, FeatureSpec],
    prefix: str = "",
    lookup: pd.DataFrame | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Reasons and evidence strings for the subjects of ``values`` (same row order)."""
    index = values.index
    reasons = pd.Series(prefix, index=index, dtype="string")
    evidence = pd.Series("", index=index, dtype="string")
    if not columns or contributions.size == 0:
        return reasons.str.rstrip("; "), evidence
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    rows = np.arange(len(index))
    names = np.array([c.name for c in columns], dtype=object)
    if lookup is None:
        lookup = evidence_lookup(feature_set, level, columns, ids_per_reason)
    descriptions = np.array([c.describe(specs.get(c.signal)) for c in columns], dtype=object)
    first = True
    for slot in range(order.shape[1]):
        col = order[:, slot]
        contrib = contributions[rows, col]
        keep = pd.Series(contrib > 0, index=index)
        if not keep.any():
            break
        name = pd.Series(names[col], index=index, dtype="string")
        value = _numbers(values.to_numpy()[rows, col], index)
        keyed = pd.MultiIndex.from_arrays([index.astype("string"), name.to_numpy()])
        said = lookup["explanation"].reindex(keyed).to_numpy()
        ids = lookup["evidence"].reindex(keyed).to_numpy()
        text = pd.Series(said, index=index, dtype="string").fillna(
            pd.Series(descriptions[col], index=index, dtype="string")
        )
        signed = pd.Series(np.char.mod("%+.2f", contrib), index=index, dtype="string")
        reason = name + " = " + value + " (" + signed + "): " + text
        sep = "" if first else " | "
        reasons = reasons.where(~keep, reasons + sep + reason)
        found = pd.Series(ids, index=index, dtype="string")
        has_ids = keep & found.notna() & (found != "")
        evidence_sep = np.where(evidence == "", "", " | ")
        evidence = evidence.where(~has_ids, evidence + evidence_sep + name + ": " + found)
        first = False
    return reasons, evidence


def _numbers(values: np.ndarray, index: pd.Index) -> pd.Series:
    text = pd.Series(np.char.mod("%.4g", np.nan_to_num(values)), index=index, dtype="string")
    return text.where(~np.isnan(values), "missing")


def evidence_lookup(
    feature_set: FeatureSet, level: Level, columns: list[Column], ids_per_reason: int
) -> pd.DataFrame:
    """Explanation and evidence per (subject_id, input column), own and aggregated signals."""
    ev = feature_set.evidence
    empty = pd.DataFrame(
        {"explanation": pd.Series(dtype="string"), "evidence": pd.Series(dtype="string")},
        index=pd.MultiIndex.from_arrays(
            [pd.Index([], dtype="string"), pd.Index([], dtype="string")]
        ),
    )
    if ev is None or ev.empty:
        return empty
    ev = ev.astype({"subject_type": "string", "subject_id": "string", "feature": "string"})
    parts = []
    own = ev[ev["subject_type"] == level.value]
    if len(own):
        parts.append(_collapse(own, "subject_id", "feature", ids_per_reason))
    for source in (Level.VISIT, Level.PERSON):
        derived = {c.signal: c.name for c in columns if c.source == source and c.how == "share"}
        if not derived:
            continue
        links = institution_map(feature_set, source)
        rows = ev[(ev["subject_type"] == source.value) & ev["feature"].isin(list(derived))]
        if rows.empty or links.empty:
            continue
        rows = rows.join(links.rename("institution"), on="subject_id", how="inner")
        rows = rows.assign(column=rows["feature"].map(derived).astype("string"))
        collapsed = _collapse(rows, "institution", "column", ids_per_reason)
        collapsed["explanation"] = pd.NA
        parts.append(collapsed)
    if not parts:
        return empty
    out = pd.concat(parts)
    return out[~out.index.duplicated()]


def _collapse(rows: pd.DataFrame, subject: str, column: str, limit: int) -> pd.DataFrame:
    """First explanation and up to ``limit`` evidence entries per (subject, column),
    joined without a Python call per group."""
    keys = [subject, column]
    head = rows.groupby(keys, sort=False).head(limit)
    position = head.groupby(keys, sort=False).cumcount().to_numpy()
    index = pd.MultiIndex.from_arrays(
        [head[subject].astype("string"), head[column].astype("string"), position]
    )
    wide = pd.Series(head["evidence"].astype("string").to_numpy(), index=index).unstack()
    joined = wide[0].fillna("")
    for k in range(1, wide.shape[1]):
        more = wide[k]
        joined = joined.where(more.isna(), joined + "; " + more)
    said = pd.Series(head["explanation"].astype("string").to_numpy(), index=index)
    first = said[position == 0].droplevel(2)
    return pd.DataFrame(
        {"explanation": first.reindex(joined.index), "evidence": joined.astype("string")}
    )


Lookup = dict[tuple[str, str], tuple[str | None, str | None]]
"""(subject_id, input column) -> (explanation, evidence), as ``evidence_lookup`` holds them."""


def evidence_pairs(
    feature_set: FeatureSet, level: Level, columns: list[Column], ids_per_reason: int
) -> Lookup:
    """``evidence_lookup`` as a dict, for the few subjects of a check.

    A level whose columns aggregate other levels' flags (``share``, at institutions) is
    collapsed by ``evidence_lookup`` itself; otherwise the subjects' own evidence rows are
    collapsed here in one pass: the first explanation and the first ``ids_per_reason``
    evidence entries (joined by ``"; "``) per (subject, signal), in evidence order.
    """
    if any(c.how == "share" for c in columns):
        frame = evidence_lookup(feature_set, level, columns, ids_per_reason)
        return {
            (str(s), str(c)): (_text(e), _text(v))
            for (s, c), e, v in zip(
                frame.index, frame["explanation"], frame["evidence"], strict=True
            )
        }
    ev = feature_set.evidence
    pairs: Lookup = {}
    if ev is None or ev.empty:
        return pairs
    counts: dict[tuple[str, str], int] = {}
    for subject_type, subject, feature, said, ids in zip(
        ev["subject_type"],
        ev["subject_id"],
        ev["feature"],
        ev["explanation"],
        ev["evidence"],
        strict=True,
    ):
        if _text(subject_type) != level.value or _text(subject) is None or _text(feature) is None:
            continue
        key = (str(subject), str(feature))
        seen = counts.get(key, 0)
        if seen >= ids_per_reason:
            continue
        counts[key] = seen + 1
        entry = _text(ids)
        if seen == 0:
            pairs[key] = (_text(said), entry or "")
        elif entry is not None:
            pairs[key] = (pairs[key][0], f"{pairs[key][1]}; {entry}")
    return pairs


def explain_rows(
    subjects: list[str],
    columns: list[Column],
    values: np.ndarray,
    contributions: np.ndarray,
    top: int,
    descriptions: list[str],
    lookup: Lookup,
    prefix: str = "",
) -> tuple[list[str], list[str]]:
    """``explain`` subject by subject, for a handful of rows: the same reasons and
    evidence text (``tests/models`` holds them equal) without a pandas operation per
    reason slot."""
    if not columns or contributions.size == 0:
        return [prefix.rstrip("; ")] * len(subjects), [""] * len(subjects)
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    shown = np.nan_to_num(values)
    reasons, evidence = [], []
    for row, subject in enumerate(subjects):
        reason, cited = prefix, ""
        for slot, col in enumerate(order[row]):
            contrib = contributions[row, col]
            if not contrib > 0:
                break
            name = columns[col].name
            value = "missing" if np.isnan(values[row, col]) else f"{shown[row, col]:.4g}"
            said, ids = lookup.get((subject, name), (None, None))
            text = descriptions[col] if said is None else said
            reason += ("" if slot == 0 else " | ") + f"{name} = {value} ({contrib:+.2f}): {text}"
            if ids:
                cited += ("" if cited == "" else " | ") + f"{name}: {ids}"
        reasons.append(reason)
        evidence.append(cited)
    return reasons, evidence


def _text(value: object) -> str | None:
    """A cell as text, ``None`` when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    return str(value)
