"""Scoring: a FeatureSet and a fitted ``FraudScorer`` become the contract's leads table.

One row per scored (subject, pattern), or the first ``top`` per subject type and pattern.
``rank`` is 1 for the most suspicious subject within its subject type, ordering by the
calibrated score or by the expected recovery (score × amount at risk), so inspectors
with a fixed capacity take the first rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.config import FeatureSettings
from features.contract import FeatureSet, Level, Pattern
from models.design import context
from models.reasons import evidence_lookup, explain
from models.scorer import COLD_START, FraudScorer, TargetScores
from settlements.dataset import Dataset

Order = Literal["score", "expected_recovery"]

LEAD_COLUMNS = (
    "subject_type",
    "subject_id",
    "pattern",
    "score",
    "rank",
    "amount_at_risk",
    "reasons",
    "evidence",
    "model_version",
)

LEADS_SCHEMA = pa.DataFrameSchema(
    {
        "subject_type": pa.Column("string", pa.Check.isin([lv.value for lv in Level])),
        "subject_id": pa.Column("string"),
        "pattern": pa.Column("string", pa.Check.isin([p.value for p in Pattern])),
        "score": pa.Column("float64", pa.Check.in_range(0.0, 1.0)),
        "rank": pa.Column("int64", pa.Check.ge(1)),
        "amount_at_risk": pa.Column("float64"),
        "reasons": pa.Column("string"),
        "evidence": pa.Column("string"),
        "model_version": pa.Column("string"),
    },
    unique=["subject_type", "subject_id", "pattern"],
    strict=True,
    ordered=True,
)
"""The ``leads`` table of shared/spec/settlement-data.md, checked once when scoring ends."""


def score(
    feature_set: FeatureSet,
    scorer: FraudScorer,
    top: int | None = None,
    order: Order = "score",
    top_reasons: int | None = None,
    ids_per_reason: int | None = None,
    explain_subjects: Mapping[tuple[Level, Pattern], Collection[str]] | None = None,
) -> pd.DataFrame:
    """The leads table for every scored subject and pattern (or the first ``top`` of each).

    Reasons cite per-signal contributions for the first ``explain_top`` subjects of each
    pattern and level in the lead order, and the fired rule flags for the rest.
    ``explain_subjects`` names, for some (level, pattern) targets, the subjects to explain
    with contributions instead: Spark scores a part of the subjects at a time and gives it
    those of the part that are among the first ``explain_top`` of everyone."""
    settings = scorer._settings
    top_reasons = top_reasons or settings.top_reasons
    ids_per_reason = ids_per_reason or settings.evidence_ids_per_reason
    specs = {s.name: s for s in scorer.specs_}
    parts = []
    lookups: dict[Level, pd.DataFrame] = {}
    for scores in scorer.predict(feature_set).values():
        chosen = ordered(scores, feature_set, order)
        if top is not None:
            chosen = chosen.head(top)
        target = scores.target
        prefix = ""
        if target.method == COLD_START:
            prefix = f"cold start ({target.why}): unsupervised ranking, not a probability; "
        if target.level not in lookups:
            lookups[target.level] = evidence_lookup(
                feature_set, target.level, scorer.columns_[target.level], ids_per_reason
            )
        key = (target.level, target.pattern)
        if explain_subjects is not None and key in explain_subjects:
            wanted = chosen.index.isin(list(explain_subjects[key]))
            explained, rest = chosen.index[wanted], chosen.index[~wanted]
        else:
            explained = chosen.index[: settings.explain_top]
            rest = chosen.index[settings.explain_top :]
        pieces = []
        if len(explained) or not len(rest):
            pieces.append((explained, scorer.contributions(feature_set, scores, explained), prefix))
        if len(rest):
            pieces.append(
                (
                    rest,
                    scorer.flag_contributions(scores, rest),
                    prefix + f"rule flags only (beyond the first {settings.explain_top:,} "
                    "explained); ",
                )
            )
        said = [
            explain(
                feature_set,
                target.level,
                scorer.columns_[target.level],
                scores.matrix.loc[index],
                contributions,
                top_reasons,
                ids_per_reason,
                specs,
                text,
                lookups[target.level],
            )
            for index, contributions, text in pieces
        ]
        reasons = pd.concat([r for r, _ in said]).reindex(chosen.index)
        evidence = pd.concat([e for _, e in said]).reindex(chosen.index)
        parts.append(
            pd.DataFrame(
                {
                    "subject_type": target.level.value,
                    "subject_id": chosen.index.astype("string"),
                    "pattern": target.pattern.value,
                    "score": chosen["score"].to_numpy(),
                    "_key": chosen["_key"].to_numpy(),
                    "_margin": chosen["margin"].to_numpy(),
                    "amount_at_risk": chosen["amount_at_risk"].to_numpy(),
                    "reasons": reasons.to_numpy(),
                    "evidence": evidence.to_numpy(),
                }
            )
        )
    leads = rank_leads(pd.concat(parts, ignore_index=True) if parts else _empty())
    leads["model_version"] = scorer.model_version
    leads = leads.astype(
        {
            "subject_type": "string",
            "subject_id": "string",
            "pattern": "string",
            "score": "float64",
            "rank": "int64",
            "amount_at_risk": "float64",
            "reasons": "string",
            "evidence": "string",
            "model_version": "string",
        }
    )
    return LEADS_SCHEMA.validate(leads[list(LEAD_COLUMNS)].reset_index(drop=True))


def score_dataset(
    dataset: Dataset,
    scorer: FraudScorer,
    top: int | None = None,
    order: Order = "score",
) -> pd.DataFrame:
    """Leads straight from a Dataset: build the signals with the scorer's feature settings.

    This is the end-to-end path of the pyfunc model and the service's single-settlement
    check (a Dataset of one settlement with its fee lines scores in under a second).
    """
    from features import build_features  # type: ignore[attr-defined]

    feature_set = build_features(dataset, scorer.feature_settings or FeatureSettings())
    return score(feature_set, scorer, top=top, order=order)


def ordered(scores: TargetScores, feature_set: FeatureSet, order: Order) -> pd.DataFrame:
    """Every subject of one pattern with score, amount at risk and the ordering key, best first."""
    target = scores.target
    index = scores.score.index
    amount = context(feature_set, target.level, index, f"amount_{target.pattern.value}")
    if amount.isna().all():
        amount = context(feature_set, target.level, index, "fund_pay")
    frame = pd.DataFrame(
        {
            "score": scores.score.clip(0.0, 1.0),
            "margin": scores.margin,
            "amount_at_risk": pd.to_numeric(amount, errors="coerce").fillna(0.0).astype("float64"),
        },
        index=index,
    )
    if order == "expected_recovery":
        frame["_key"] = frame["score"] * frame["amount_at_risk"].clip(lower=0)
    else:
        frame["_key"] = frame["score"]
    return frame.sort_values(["_key", "margin"], ascending=False, kind="stable")


def rank_leads(leads: pd.DataFrame) -> pd.DataFrame:
    """Rank 1 = most suspicious within the subject type; rows ordered by type, then rank."""
    leads = leads.sort_values(
        ["subject_type", "_key", "_margin", "pattern", "subject_id"],
        ascending=[True, False, False, True, True],
        kind="stable",
    )
    leads["rank"] = leads.groupby("subject_type").cumcount().astype("int64") + 1
    return leads.drop(columns=["_key", "_margin"]).reset_index(drop=True)


def capacity(
    leads: pd.DataFrame, share: float | None = None, count: int | None = None
) -> pd.DataFrame:
    """The leads an inspection team with a capacity takes: the first rows of each type."""
    sizes = leads.groupby("subject_type")["rank"].transform("size")
    limit = np.full(len(leads), np.inf)
    if share is not None:
        limit = np.minimum(limit, np.ceil(sizes.to_numpy() * share))
    if count is not None:
        limit = np.minimum(limit, count)
    return leads[leads["rank"].to_numpy() <= limit].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_type": pd.Series(dtype="string"),
            "subject_id": pd.Series(dtype="string"),
            "pattern": pd.Series(dtype="string"),
            "score": pd.Series(dtype="float64"),
            "_key": pd.Series(dtype="float64"),
            "_margin": pd.Series(dtype="float64"),
            "amount_at_risk": pd.Series(dtype="float64"),
            "reasons": pd.Series(dtype="string"),
            "evidence": pd.Series(dtype="string"),
        }
    )
