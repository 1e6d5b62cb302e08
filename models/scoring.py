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
from features.contract import CONTEXT_PREFIX, FeatureSet, Level, Pattern
from models.design import Column, context, level_matrix
from models.reasons import evidence_lookup, evidence_pairs, explain, explain_rows
from models.scorer import COLD_START, FraudScorer, Target, TargetScores
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

FEW_SUBJECTS = 64
"""Subjects per level up to which ``score`` goes subject by subject (a check's one visit
and one person): numpy rows into each target, reasons formatted per subject, the table
built typed at the end. Above it, per-target pandas operations pay off."""


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
    those of the part that are among the first ``explain_top`` of everyone (such a call
    takes the general path, not the subject-by-subject one of a few subjects)."""
    settings = scorer._settings
    top_reasons = top_reasons or settings.top_reasons
    ids_per_reason = ids_per_reason or settings.evidence_ids_per_reason
    if explain_subjects is None and _few(feature_set, scorer):
        few = _score_few(feature_set, scorer, top, order, top_reasons, ids_per_reason)
        if few is not None:
            return few
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


def _few(feature_set: FeatureSet, scorer: FraudScorer) -> bool:
    """Whether every scored level has at most ``FEW_SUBJECTS`` subjects."""
    frames = [feature_set.frames.get(level) for level in scorer.columns_]
    return all(frame is None or len(frame) <= FEW_SUBJECTS for frame in frames)


class _LevelRows:
    """One level's subjects for ``_score_few``: matrix, peer groups, amounts, evidence.

    The level's frame is read once as an object matrix (``cells``): a handful of rows
    cost less so than a pandas column access per signal.
    """

    def __init__(
        self,
        feature_set: FeatureSet,
        scorer: FraudScorer,
        level: Level,
        ids_per_reason: int,
    ) -> None:
        self.feature_set = feature_set
        self.level = level
        self.columns: list[Column] = scorer.columns_[level]
        self.frame: pd.DataFrame = feature_set.frames[level]
        self.cells = self.frame.to_numpy(dtype=object)
        self.position = {name: i for i, name in enumerate(self.frame.columns)}
        self.dtypes = self.frame.dtypes.to_numpy()
        self.subjects = [str(s) for s in self.frame.index.tolist()]
        self.values = self._values()
        self.ids_per_reason = ids_per_reason
        self._groups: np.ndarray | None = None
        self._grouped = False
        self._amounts: dict[str, np.ndarray] = {}
        self._lookup: dict[tuple[str, str], tuple[str | None, str | None]] | None = None
        specs = {s.name: s for s in scorer.specs_}
        self.descriptions = [c.describe(specs.get(c.signal)) for c in self.columns]

    def _values(self) -> np.ndarray:
        """``level_matrix`` as a float64 array (bool and numbers converted as ``astype``
        does; aggregates of other levels built by ``level_matrix`` itself)."""
        if any(c.how for c in self.columns):
            return level_matrix(self.feature_set, self.level, self.columns).to_numpy()
        values = np.full((len(self.subjects), len(self.columns)), np.nan)
        plain: list[int] = []
        for j, column in enumerate(self.columns):
            if column.name not in self.position:
                continue
            if isinstance(self.dtypes[self.position[column.name]], np.dtype):
                plain.append(j)
            else:  # an extension dtype: its own missing values become NaN
                values[:, j] = self.frame[column.name].astype(np.float64).to_numpy()
        if plain:
            at = [self.position[self.columns[j].name] for j in plain]
            values[:, plain] = self.cells[:, at].astype(np.float64)
        return values

    def groups(self) -> np.ndarray | None:
        """``peer_groups`` of the level's subjects."""
        if not self._grouped:
            at = self.position.get("ctx_peer_group")
            if at is not None and isinstance(self.dtypes[at], pd.StringDtype):
                self._groups = np.array(
                    ["" if v is pd.NA or v is None else v for v in self.cells[:, at]], dtype=object
                )
            elif at is not None:
                groups = self.frame["ctx_peer_group"].astype("string").fillna("")
                self._groups = groups.to_numpy(dtype=object)
            self._grouped = True
        return self._groups

    def amount(self, pattern: str) -> np.ndarray:
        """``ordered``'s amount at risk: the pattern's, else the fund payment, else 0."""
        if pattern not in self._amounts:
            amount = self._context(f"amount_{pattern}")
            if amount is None or bool(pd.isna(amount).all()):
                amount = self._context("fund_pay")
            if amount is None:
                values = np.zeros(len(self.subjects))
            elif amount.dtype == np.float64:
                values = np.where(np.isnan(amount), 0.0, amount)
            else:
                numbers = pd.to_numeric(pd.Series(amount), errors="coerce").fillna(0.0)
                values = numbers.to_numpy(np.float64)
            self._amounts[pattern] = values
        return self._amounts[pattern]

    def _context(self, name: str) -> np.ndarray | None:
        """A ``ctx_`` column's values (float64 when the column is), ``None`` when absent."""
        at = self.position.get(CONTEXT_PREFIX + name)
        if at is None:
            return None
        if self.dtypes[at] == np.float64:
            return self.cells[:, at].astype(np.float64)
        return self.frame[CONTEXT_PREFIX + name].to_numpy()

    def lookup(self) -> dict[tuple[str, str], tuple[str | None, str | None]]:
        if self._lookup is None:
            self._lookup = evidence_pairs(
                self.feature_set, self.level, self.columns, self.ids_per_reason
            )
        return self._lookup


def _score_few(
    feature_set: FeatureSet,
    scorer: FraudScorer,
    top: int | None,
    order: Order,
    top_reasons: int,
    ids_per_reason: int,
) -> pd.DataFrame | None:
    """``score`` for a few subjects per level, subject by subject; ``None`` when there is
    nothing to score (the general path writes the empty table)."""
    settings = scorer._settings
    levels: dict[Level, _LevelRows] = {}
    rows: list[tuple[str, str, str, float, float, float, float, str, str]] = []
    for target in scorer.targets_.values():
        level = target.level
        if feature_set.frames.get(level) is None or level not in scorer.columns_:
            continue
        if level not in levels:
            levels[level] = _LevelRows(feature_set, scorer, level, ids_per_reason)
        at = levels[level]
        if not len(at.subjects) or not at.columns:
            continue
        rows.extend(_target_rows(scorer, target, at, top, order, top_reasons, settings.explain_top))
    if not rows:
        return None
    return _typed_leads(rows, scorer.model_version)


def _target_rows(
    scorer: FraudScorer,
    target: Target,
    at: _LevelRows,
    top: int | None,
    order: Order,
    top_reasons: int,
    explain_top: int,
) -> list[tuple[str, str, str, float, float, float, float, str, str]]:
    """One target's leads (before ranking), as ``score`` writes them."""
    groups = at.groups() if target.method == COLD_START else None
    score, margin = scorer.target_scores(target, at.values, groups)
    score = np.clip(score, 0.0, 1.0)
    amount = at.amount(target.pattern.value)
    key = score * np.clip(amount, 0.0, None) if order == "expected_recovery" else score
    chosen = np.array(_descending(key, margin), dtype=np.int64)
    if top is not None:
        chosen = chosen[:top]
    prefix = ""
    if target.method == COLD_START:
        prefix = f"cold start ({target.why}): unsupervised ranking, not a probability; "
    reasons: list[str] = []
    evidence: list[str] = []
    for part, flags_only in ((chosen[:explain_top], False), (chosen[explain_top:], True)):
        if not len(part):
            continue
        values = at.values[part]
        if flags_only:
            contributions = scorer.target_flag_contributions(target, values)
            text = prefix + (f"rule flags only (beyond the first {explain_top:,} explained); ")
        else:
            contributions = scorer.target_contributions(
                target, values, None if groups is None else groups[part]
            )
            text = prefix
        said, cited = explain_rows(
            [at.subjects[i] for i in part],
            at.columns,
            values,
            contributions,
            top_reasons,
            at.descriptions,
            at.lookup(),
            text,
        )
        reasons.extend(said)
        evidence.extend(cited)
    return [
        (
            target.level.value,
            at.subjects[i],
            target.pattern.value,
            float(score[i]),
            float(key[i]),
            float(margin[i]),
            float(amount[i]),
            reasons[n],
            evidence[n],
        )
        for n, i in enumerate(chosen)
    ]


def _descending(*keys: np.ndarray) -> list[int]:
    """Row order of ``sort_values(keys, ascending=False, kind="stable")``: larger first,
    missing values last, ties in row order."""
    columns = [np.asarray(k, dtype=np.float64) for k in keys]

    def key(i: int) -> tuple[float, ...]:
        out: list[float] = []
        for column in columns:
            missing = bool(np.isnan(column[i]))
            out.extend((float(missing), 0.0 if missing else -float(column[i])))
        return tuple(out)

    return sorted(range(len(columns[0])), key=key)


def _typed_leads(
    rows: list[tuple[str, str, str, float, float, float, float, str, str]], version: str
) -> pd.DataFrame:
    """The leads table from unranked rows, ranked as ``rank_leads`` does, with the
    contract's dtypes (built typed here, so ``LEADS_SCHEMA`` holds by construction)."""

    def key(row: tuple[str, str, str, float, float, float, float, str, str]) -> tuple[object, ...]:
        subject_type, subject, pattern, _, k, m, *_ = row
        return (
            subject_type,
            np.isnan(k),
            0.0 if np.isnan(k) else -k,
            np.isnan(m),
            0.0 if np.isnan(m) else -m,
            pattern,
            subject,
        )

    ranked = sorted(rows, key=key)
    ranks: list[int] = []
    seen: dict[str, int] = {}
    for row in ranked:
        seen[row[0]] = seen.get(row[0], 0) + 1
        ranks.append(seen[row[0]])
    columns = list(zip(*ranked, strict=True))
    return pd.DataFrame(
        {
            "subject_type": pd.array(columns[0], dtype="string"),
            "subject_id": pd.array(columns[1], dtype="string"),
            "pattern": pd.array(columns[2], dtype="string"),
            "score": np.array(columns[3], dtype="float64"),
            "rank": np.array(ranks, dtype="int64"),
            "amount_at_risk": np.array(columns[6], dtype="float64"),
            "reasons": pd.array(columns[7], dtype="string"),
            "evidence": pd.array(columns[8], dtype="string"),
            "model_version": pd.array([version] * len(ranked), dtype="string"),
        }
    )


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
