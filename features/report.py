"""How well each rule flag alone catches labelled subjects: the ``features report``.

For each pattern and subject level that the labels speak of, and each flag of that
pattern at that level (plus "any rule", which also counts subjects with a flagged
visit), the report counts the confirmed subjects the flag catches and the honest subjects
(labelled ``rejected`` for the pattern: honest samples and look-alikes) it flags. With the
synthetic world's ``truth`` table, ``variant_report`` shows which fraud variants (blatant,
subtle) and look-alikes the rules catch: rules alone miss the subtle ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import FeatureSet, Level, Pattern
from features.registry import LEVEL_WORD, PREFIX

REPORT_COLUMNS = (
    "pattern",
    "level",
    "rule",
    "confirmed",
    "caught",
    "recall",
    "honest",
    "honest_flagged",
    "honest_flag_rate",
    "precision",
)


def rule_flags(features: FeatureSet, level: Level, pattern: Pattern) -> dict[str, np.ndarray]:
    """The flags of a pattern at a level, and ``any rule`` (including flagged visits)."""
    frame = features.frames[level]
    flags = {
        s.name: frame[s.name].to_numpy(bool)
        for s in features.specs
        if s.level == level and s.pattern == pattern and s.kind == "flag"
    }
    any_rule = np.zeros(len(frame), dtype=bool)
    for flag in flags.values():
        any_rule |= flag
    if level != Level.VISIT and pattern != Pattern.OTHER:
        col = f"{PREFIX[pattern]}_{LEVEL_WORD[level]}_flagged_visits"
        if col in frame:
            any_rule |= frame[col].to_numpy() > 0
    flags["any rule"] = any_rule
    return flags


def rule_report(features: FeatureSet, labels: pd.DataFrame) -> pd.DataFrame:
    """One row per (pattern, level, rule flag): confirmed subjects caught and honest
    (rejected) subjects flagged."""
    rows = []
    lab = labels.assign(
        subject_id=labels["subject_id"].astype("string"),
        outcome=labels["outcome"].astype("string"),
    )
    for (pattern_s, level_s), group in lab.groupby(["pattern", "subject_type"], sort=True):
        level, pattern = Level(str(level_s)), Pattern(str(pattern_s))
        frame = features.frames.get(level)
        if frame is None:
            continue
        positive = frame.index.isin(group.loc[group["outcome"] == "confirmed", "subject_id"])
        honest = frame.index.isin(group.loc[group["outcome"] == "rejected", "subject_id"])
        if not positive.any():
            continue
        for name, flag in rule_flags(features, level, pattern).items():
            caught = int((flag & positive).sum())
            flagged = int((flag & honest).sum())
            n_pos, n_neg = int(positive.sum()), int(honest.sum())
            rows.append(
                {
                    "pattern": pattern.value,
                    "level": level.value,
                    "rule": name,
                    "confirmed": n_pos,
                    "caught": caught,
                    "recall": caught / n_pos,
                    "honest": n_neg,
                    "honest_flagged": flagged,
                    "honest_flag_rate": flagged / n_neg if n_neg else float("nan"),
                    "precision": caught / (caught + flagged) if caught + flagged else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))


def variant_report(features: FeatureSet, truth: pd.DataFrame) -> pd.DataFrame:
    """Share of each variant's subjects (blatant, subtle, look-alike, honest sample) that any
    rule of its pattern flags at its level."""
    rows = []
    for (pattern_s, level_s), group in truth.groupby(["pattern", "subject_type"], sort=True):
        level, pattern = Level(str(level_s)), Pattern(str(pattern_s))
        frame = features.frames.get(level)
        if frame is None:
            continue
        any_rule = pd.Series(rule_flags(features, level, pattern)["any rule"], index=frame.index)
        flagged = any_rule.reindex(group["subject_id"].astype("string")).fillna(False)
        g = group.assign(flagged=flagged.to_numpy(bool))
        for (variant, severity), sub in g.groupby(["variant", "severity"], sort=True):
            rows.append(
                {
                    "pattern": pattern.value,
                    "level": level.value,
                    "variant": variant,
                    "severity": severity,
                    "subjects": len(sub),
                    "flagged": int(sub["flagged"].sum()),
                    "flagged_share": float(sub["flagged"].mean()),
                }
            )
    return pd.DataFrame(rows)


def report_markdown(report: pd.DataFrame, variants: pd.DataFrame | None = None) -> str:
    """The report (and the variant table, if given) as markdown."""
    lines = [
        "| pattern | level | rule | confirmed | caught | recall | honest | honest flagged "
        "| honest flag rate | precision |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.itertuples(index=False):
        lines.append(
            f"| {r.pattern} | {r.level} | `{r.rule}` | {r.confirmed:,} | {r.caught:,} | "
            f"{r.recall:.1%} | {r.honest:,} | {r.honest_flagged:,} | "
            f"{r.honest_flag_rate:.1%} | {r.precision:.1%} |"
        )
    if variants is not None and len(variants):
        lines += [
            "",
            "| pattern | level | variant | severity | subjects | flagged by any rule | share |",
            "|---|---|---|---|---:|---:|---:|",
        ]
        for v in variants.itertuples(index=False):
            lines.append(
                f"| {v.pattern} | {v.level} | {v.variant} | {v.severity} | {v.subjects:,} | "
                f"{v.flagged:,} | {v.flagged_share:.0%} |"
            )
    return "\n".join(lines) + "\n"
