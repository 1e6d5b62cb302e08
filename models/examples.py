"""A small hand-built FeatureSet with known fraud, for tests, examples and benchmarks.

Visits carry bed-hanging and split-billing signals, persons a card-lending signal and
institutions a billing outlier; a hidden propensity per subject drives both the signals
and the labels, so a model can learn and a test can check that it did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import FeatureSet, FeatureSpec, Level, Pattern

SPECS = (
    FeatureSpec(
        "empty_days",
        Pattern.BED_HANGING,
        Level.VISIT,
        "in-stay days with a bed fee and no substantive care",
        "72 h without service",
    ),
    FeatureSpec(
        "empty_day_flag",
        Pattern.BED_HANGING,
        Level.VISIT,
        "two or more empty days in the stay",
        "2 days without care",
        kind="flag",
    ),
    FeatureSpec(
        "daily_cost_ratio",
        Pattern.BED_HANGING,
        Level.VISIT,
        "daily cost relative to peer stays",
        "peer median",
    ),
    FeatureSpec(
        "readmit_15d",
        Pattern.SPLIT_BILLING,
        Level.VISIT,
        "readmitted within 15 days for the same diagnosis",
        "15 days",
        kind="flag",
    ),
    FeatureSpec(
        "same_day_settlements",
        Pattern.SPLIT_BILLING,
        Level.VISIT,
        "settlements of the person at the institution that day",
        "per-visit cap",
    ),
    FeatureSpec(
        "item_misfit",
        Pattern.CARD_LENDING,
        Level.PERSON,
        "items restricted to the other sex or another age",
        "lmt_gend",
        kind="flag",
    ),
    FeatureSpec(
        "visit_rise",
        Pattern.CARD_LENDING,
        Level.PERSON,
        "visits relative to the person's own history",
        "own history",
    ),
    FeatureSpec(
        "cost_per_visit_z",
        Pattern.OTHER,
        Level.INSTITUTION,
        "cost per visit against the peer group",
        "peer z-score",
    ),
)


def example_feature_set(n_visits: int = 600, seed: int = 0) -> tuple[FeatureSet, pd.DataFrame]:
    """A FeatureSet and labels (visit, person and institution subjects; every pattern)."""
    rng = np.random.default_rng(seed)
    n_persons = max(n_visits // 3, 4)
    n_inst = max(n_visits // 60, 4)
    inst_risk = rng.random(n_inst) < 0.3
    person_risk = rng.random(n_persons) < 0.15
    visit_ids = pd.Index([f"V{i:06d}" for i in range(n_visits)], dtype="string")
    person_of = rng.integers(0, n_persons, n_visits)
    inst_of = rng.integers(0, n_inst, n_visits)
    bed = (rng.random(n_visits) < 0.08) | (inst_risk[inst_of] & (rng.random(n_visits) < 0.2))
    split = rng.random(n_visits) < 0.1
    empty_days = np.where(bed, rng.poisson(4, n_visits), rng.poisson(0.3, n_visits)).astype(float)
    visits = pd.DataFrame(
        {
            "empty_days": empty_days,
            "empty_day_flag": empty_days >= 2,
            "daily_cost_ratio": np.where(bed, 0.4, 1.0) + rng.normal(0, 0.3, n_visits),
            "readmit_15d": split & (rng.random(n_visits) < 0.7) | (rng.random(n_visits) < 0.05),
            "same_day_settlements": np.where(split, 2, 1)
            + rng.poisson(0.2, n_visits).astype(float),
            "ctx_fund_pay": rng.gamma(2, 1500, n_visits).round(2),
            "ctx_amount_bed_hanging": rng.gamma(2, 800, n_visits).round(2),
            "ctx_amount_split_billing": rng.gamma(2, 500, n_visits).round(2),
            "ctx_peer_group": pd.array(rng.choice(["J|3", "K|2", "I|3"], n_visits), "string"),
            "ctx_first_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n_visits), unit="D"),
            "ctx_person": pd.array([f"P{i:05d}" for i in person_of], dtype="string"),
            "ctx_institution": pd.array([f"H{i:03d}" for i in inst_of], dtype="string"),
        },
        index=visit_ids.rename("subject_id"),
    )
    visits["ctx_last_date"] = visits["ctx_first_date"]
    person_ids = pd.Index(
        [f"P{i:05d}" for i in range(n_persons)], dtype="string", name="subject_id"
    )
    persons = pd.DataFrame(
        {
            "item_misfit": person_risk & (rng.random(n_persons) < 0.6)
            | (rng.random(n_persons) < 0.03),
            "visit_rise": np.where(person_risk, 3.0, 1.0) + rng.normal(0, 0.8, n_persons),
            "ctx_fund_pay": rng.gamma(2, 3000, n_persons).round(2),
            "ctx_peer_group": pd.array(["all"] * n_persons, dtype="string"),
        },
        index=person_ids,
    )
    inst_ids = pd.Index([f"H{i:03d}" for i in range(n_inst)], dtype="string", name="subject_id")
    institutions = pd.DataFrame(
        {
            "cost_per_visit_z": np.where(inst_risk, 1.5, 0.0) + rng.normal(0, 0.7, n_inst),
            "ctx_fund_pay": rng.gamma(2, 1e5, n_inst).round(2),
            "ctx_peer_group": pd.array(["3|110000"] * n_inst, dtype="string"),
        },
        index=inst_ids,
    )
    evidence = _evidence(visits, persons)
    labels = pd.concat(
        [
            _labels(Level.VISIT, Pattern.BED_HANGING, visit_ids, bed, rng),
            _labels(Level.VISIT, Pattern.SPLIT_BILLING, visit_ids, split, rng),
            _labels(Level.PERSON, Pattern.CARD_LENDING, person_ids, person_risk, rng),
            _labels(Level.INSTITUTION, Pattern.OTHER, inst_ids, inst_risk, rng),
        ],
        ignore_index=True,
    )
    frames = {Level.VISIT: visits, Level.PERSON: persons, Level.INSTITUTION: institutions}
    return FeatureSet(frames=frames, evidence=evidence, specs=SPECS), labels


def _evidence(visits: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for frame, level, feature, pattern, said in (
        (visits, Level.VISIT, "empty_day_flag", Pattern.BED_HANGING, "empty days in the stay"),
        (visits, Level.VISIT, "readmit_15d", Pattern.SPLIT_BILLING, "readmitted within 15 days"),
        (persons, Level.PERSON, "item_misfit", Pattern.CARD_LENDING, "item for the other sex"),
    ):
        fired = frame.index[frame[feature].to_numpy()]
        rows.append(
            pd.DataFrame(
                {
                    "subject_type": level.value,
                    "subject_id": fired,
                    "feature": feature,
                    "pattern": pattern.value,
                    "explanation": said + " (" + fired + ")",
                    "evidence": "S-" + fired,
                }
            )
        )
    return pd.concat(rows, ignore_index=True).astype("string")


def _labels(
    level: Level, pattern: Pattern, ids: pd.Index, truth: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Inspected subjects: all of the true cases (a few mislabelled) and a sample of others."""
    inspected = truth | (rng.random(len(ids)) < 0.5)
    noisy = truth ^ (rng.random(len(ids)) < 0.03)
    return pd.DataFrame(
        {
            "subject_type": level.value,
            "subject_id": ids[inspected],
            "pattern": pattern.value,
            "outcome": np.where(noisy[inspected], "confirmed", "rejected"),
        }
    ).astype("string")
