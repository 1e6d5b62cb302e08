"""How well each rule flag alone catches labelled subjects: the ``features report``.

For each pattern and subject level that the labels speak of, and each flag of that
pattern at that level (plus "any rule", which also counts subjects with a flagged
visit), the report counts the confirmed subjects the flag catches and the other subjects
(not confirmed for the pattern) it flags. Rules alone should miss the subtle variants.
"""

from __future__ import annotations

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


def rule_report(features: FeatureSet, labels: pd.DataFrame) -> pd.DataFrame:
    """One row per (pattern, level, rule flag) with catches among confirmed subjects and
    flags among honest ones (every subject of the level not confirmed for the pattern)."""
    confirmed = labels.loc[labels["outcome"].astype("string") == "confirmed"]
    rows = []
    for (pattern_s, level_s), lab in confirmed.groupby(["pattern", "subject_type"], sort=True):
        level, pattern = Level(str(level_s)), Pattern(str(pattern_s))
        frame = features.frames.get(level)
        if frame is None:
            continue
        positive = frame.index.isin(lab["subject_id"].astype("string"))
        flags = {
            s.name: frame[s.name].to_numpy(bool)
            for s in features.specs
            if s.level == level and s.pattern == pattern and s.kind == "flag"
        }
        any_rule = pd.DataFrame(flags, index=frame.index).any(axis=1).to_numpy(bool)
        if level != Level.VISIT and pattern != Pattern.OTHER:
            col = f"{PREFIX[pattern]}_{LEVEL_WORD[level]}_flagged_visits"
            if col in frame:
                any_rule |= frame[col].to_numpy() > 0
        for name, flag in [*flags.items(), ("any rule", any_rule)]:
            caught = int((flag & positive).sum())
            honest_flagged = int((flag & ~positive).sum())
            n_pos, n_neg = int(positive.sum()), int((~positive).sum())
            rows.append(
                {
                    "pattern": pattern.value,
                    "level": level.value,
                    "rule": name,
                    "confirmed": n_pos,
                    "caught": caught,
                    "recall": caught / n_pos if n_pos else float("nan"),
                    "honest": n_neg,
                    "honest_flagged": honest_flagged,
                    "honest_flag_rate": honest_flagged / n_neg if n_neg else float("nan"),
                    "precision": caught / (caught + honest_flagged)
                    if caught + honest_flagged
                    else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))


def report_markdown(report: pd.DataFrame) -> str:
    """The report as a markdown table."""
    lines = [
        "| pattern | level | rule | confirmed | caught | recall | honest | honest flagged "
        "| honest flag rate | precision |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.itertuples(index=False):
        lines.append(
            f"| {r.pattern} | {r.level} | `{r.rule}` | {r.confirmed:,} | {r.caught:,} | "
            f"{r.recall:.1%} | {r.honest:,} | {r.honest_flagged:,} | "
            f"{r.honest_flag_rate:.2%} | {r.precision:.1%} |"
        )
    return "\n".join(lines) + "\n"
