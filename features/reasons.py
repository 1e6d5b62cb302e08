"""Plain-language reason lines: a feature name and its value as an inspector reads them.

The models stage turns LightGBM ``pred_contrib`` contributions into reasons with
``reason_line(name, value, contribution)``, and points at the evidence of the subject with
``worst_visits``.
"""

from __future__ import annotations

import math

import pandas as pd

from features.contract import FeatureSet, FeatureSpec, Level, Pattern
from features.registry import registry


def reason_line(
    name: str,
    value: float | bool | None,
    contribution: float | None = None,
    spec: FeatureSpec | None = None,
) -> str:
    """One reason line, e.g. ``"3 stay day(s) with a bed fee and no care (+0.21)"``.

    ``spec`` defaults to the registry's spec of ``name``; an unknown name (or a spec without
    a reason template) reads ``"name = value"``.
    """
    if spec is None and name in registry:
        spec = registry.get(name)
    text = _describe(name, value, spec)
    if contribution is not None and not math.isnan(contribution):
        text += f" ({contribution:+.2f})"
    return text


def _describe(name: str, value: float | bool | None, spec: FeatureSpec | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{spec.reason.split('{')[0].strip() if spec and spec.reason else name}: no value"
    if spec is None or not spec.reason:
        return f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"
    if spec.kind == "flag":
        return spec.reason if bool(value) else f"not flagged: {spec.reason}"
    try:
        return spec.reason.format(value=float(value))
    except (ValueError, KeyError, IndexError):
        return f"{name} = {value}"


def worst_visits(
    features: FeatureSet, level: Level, subject_id: str, pattern: Pattern, n: int = 5
) -> pd.DataFrame:
    """The visit evidence behind a person, institution or doctor for one pattern: its
    flagged visits with the highest fund paid first (what explains an aggregate score)."""
    visits = features.frames[Level.VISIT]
    if level == Level.VISIT:
        mine = visits.index == subject_id
    elif level == Level.PERSON:
        mine = (visits["ctx_person"] == subject_id).to_numpy(bool)
    elif level == Level.INSTITUTION:
        mine = (visits["ctx_institution"] == subject_id).to_numpy(bool)
    else:
        ev = features.evidence
        mine_ids = ev.loc[
            ev["evidence"].str.contains(f"doctor={subject_id}", regex=False).fillna(False),
            "subject_id",
        ]
        mine = visits.index.isin(mine_ids)
    ids = visits.index[mine]
    ev = features.evidence
    rows = ev.loc[
        (ev["subject_type"] == Level.VISIT.value)
        & (ev["pattern"] == pattern.value)
        & ev["subject_id"].isin(ids)
    ].copy()
    rows["fund_pay"] = visits["ctx_fund_pay"].reindex(rows["subject_id"]).to_numpy()
    return rows.sort_values("fund_pay", ascending=False).head(n).reset_index(drop=True)
