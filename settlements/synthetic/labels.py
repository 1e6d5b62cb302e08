"""Ground truth and the inspectors' labels drawn from it.

The *truth* lists every subject the generator made suspicious on purpose: each fraud
variant's subjects (``fraud = True``) and each honest look-alike (``fraud = False``),
plus the honest subjects sampled as inspectors' negatives. The *labels* (the contract's
``labels`` table) are what an inspectorate would have recorded:

* every fraud subject is ``confirmed`` for its pattern (a share
  ``confirmed_label_share`` of them, the rest stay undiscovered);
* every look-alike is ``rejected`` for the pattern a naive rule would suspect;
* a random sample of honest subjects is ``rejected`` for each pattern that applies to
  them (visits: stays for bed-hanging and split billing, outpatient visits for split
  billing, card lending and over-prescription, chronic visits for over-prescription,
  pharmacy purchases for card lending and over-prescription; persons for card lending
  and over-prescription; institutions and doctors for the patterns of their kind).

``decided_on`` is 20–150 days after the subject's last relevant day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from settlements.synthetic.config import WorldConfig

TRUTH_COLUMNS = (
    "subject_type",
    "subject_id",
    "pattern",
    "variant",
    "severity",
    "fraud",
    "labelled",
    "outcome",
    "decided_on",
    "person",
    "institution",
    "doctor",
)

VISIT_PATTERNS = {
    "stay": ("bed_hanging", "split_billing"),
    "outpatient": ("split_billing", "card_lending", "over_prescription"),
    "chronic": ("over_prescription",),
    "pharmacy": ("card_lending", "over_prescription"),
}
PERSON_PATTERNS = ("card_lending", "over_prescription")
INSTITUTION_PATTERNS = {
    "hospital": ("bed_hanging", "split_billing", "card_lending", "over_prescription"),
    "clinic": ("split_billing", "card_lending", "over_prescription"),
    "pharmacy": ("card_lending", "over_prescription"),
}
DOCTOR_PATTERNS = {
    "hospital": ("bed_hanging", "split_billing", "over_prescription"),
    "clinic": ("split_billing", "over_prescription"),
    "pharmacy": ("over_prescription",),
}


def member(values: pd.Series, allowed: set[str]) -> np.ndarray:
    """Whether each string is in ``allowed`` (Arrow's hash lookup; pandas' is slow here)."""
    found = pc.is_in(
        pa.array(values.to_numpy(dtype=object), pa.string()),
        value_set=pa.array(sorted(allowed), pa.string()),
    )
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def visit_kind(med_type: pd.Series) -> pd.Series:
    """stay, outpatient, chronic or pharmacy, from the settlement's med_type."""
    kind = np.select(
        [med_type.isin(["21", "22", "23", "24", "29"]), med_type == "14", med_type == "41"],
        ["stay", "chronic", "pharmacy"],
        "outpatient",
    )
    return pd.Series(kind, index=med_type.index)


def sample_honest(
    truth: pd.DataFrame,
    settlements: pd.DataFrame,
    institutions: pd.DataFrame,
    doctors: pd.DataFrame,
    injected: np.ndarray,
    config: WorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Honest subjects sampled as inspectors' negatives, one row per applicable pattern.

    ``injected`` marks the settlements whose visit fraud or a look-alike made or changed.
    """
    end_day = pd.Timestamp(config.start_date) + pd.Timedelta(days=config.days - 1)
    in_truth = set(zip(truth["subject_type"], truth["subject_id"], strict=True))
    persons_in_truth = set(truth["person"].dropna())
    frames = []

    visits = settlements[~injected].drop_duplicates("mdtrt_id")
    visits = visits[~member(visits["psn_no"], persons_in_truth)]
    kinds = visit_kind(visits["med_type"])
    share = np.where(
        kinds == "stay", config.honest_stay_label_share, config.honest_visit_label_share
    )
    chosen = rng.random(len(visits)) < share
    visits, kinds = visits[chosen], kinds[chosen]
    for kind, patterns in VISIT_PATTERNS.items():
        v = visits[kinds == kind]
        for pattern in patterns:
            frames.append(
                pd.DataFrame(
                    {
                        "subject_type": "visit",
                        "subject_id": v["mdtrt_id"].to_numpy(),
                        "pattern": pattern,
                        "day": v["enddate"].to_numpy(),
                        "person": v["psn_no"].to_numpy(),
                        "institution": v["fixmedins_code"].to_numpy(),
                        "doctor": v["atddr_no"].to_numpy(),
                    }
                )
            )

    people = pd.Series(settlements["psn_no"].unique())
    people = people[~member(people, persons_in_truth)]
    people = people[rng.random(len(people)) < config.honest_person_label_share]
    for pattern in PERSON_PATTERNS:
        frames.append(
            pd.DataFrame(
                {
                    "subject_type": "person",
                    "subject_id": people.to_numpy(),
                    "pattern": pattern,
                    "day": end_day,
                    "person": people.to_numpy(),
                }
            )
        )

    fraud_sites = truth.loc[truth["fraud"], ["institution", "doctor", "pattern"]]
    kind_of = institutions["fixmedins_type"].eq("2").map({True: "pharmacy", False: "hospital"})
    kind_of = kind_of.where(~institutions["hosp_lv"].isin(["08", "09", "10"]), "clinic")
    pick = rng.random(len(institutions)) < config.honest_provider_label_share
    for kind, patterns in INSTITUTION_PATTERNS.items():
        inst = institutions.loc[pick & (kind_of == kind).to_numpy(), "fixmedins_code"]
        for pattern in patterns:
            sites = set(fraud_sites.loc[fraud_sites["pattern"] == pattern, "institution"].dropna())
            ids = inst[~member(inst, sites)].to_numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "subject_type": "institution",
                        "subject_id": ids,
                        "pattern": pattern,
                        "day": end_day,
                        "institution": ids,
                    }
                )
            )
    doc_kind = kind_of.to_numpy()[doctors["inst"].to_numpy()]
    pick = rng.random(len(doctors)) < config.honest_provider_label_share
    inst_codes = institutions["fixmedins_code"].to_numpy()[doctors["inst"].to_numpy()]
    active = member(doctors["code"], set(settlements["atddr_no"].unique()))
    for kind, patterns in DOCTOR_PATTERNS.items():
        sel = pick & active & (doc_kind == kind)
        for pattern in patterns:
            bad = set(fraud_sites.loc[fraud_sites["pattern"] == pattern, "doctor"].dropna())
            ok = sel & ~member(doctors["code"], bad)
            frames.append(
                pd.DataFrame(
                    {
                        "subject_type": "doctor",
                        "subject_id": doctors["code"].to_numpy()[ok],
                        "pattern": pattern,
                        "day": end_day,
                        "doctor": doctors["code"].to_numpy()[ok],
                        "institution": inst_codes[ok],
                    }
                )
            )
    honest = pd.concat(frames, ignore_index=True)
    honest = honest[
        [
            (t, s) not in in_truth
            for t, s in zip(honest["subject_type"], honest["subject_id"], strict=True)
        ]
    ]
    return honest.assign(variant="honest_sample", severity="honest", fraud=False)


def finish_truth(
    truth: pd.DataFrame, honest: pd.DataFrame, config: WorldConfig, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The truth with its labelling decisions, and the contract's ``labels`` table."""
    full = pd.concat([truth, honest], ignore_index=True)
    full = full.drop_duplicates(["subject_type", "subject_id", "pattern"], keep="first")
    full = full.sort_values(
        ["subject_type", "pattern", "subject_id"], kind="stable", ignore_index=True
    )
    fraud = full["fraud"].astype(bool).to_numpy()
    labelled = ~fraud | (rng.random(len(full)) < config.confirmed_label_share)
    decided = pd.to_datetime(full["day"]).to_numpy().astype("datetime64[D]") + rng.integers(
        20, 151, len(full)
    ).astype("timedelta64[D]")
    full = full.assign(
        fraud=fraud,
        labelled=labelled,
        outcome=pd.Series(np.where(fraud, "confirmed", "rejected"), dtype="str").where(labelled),
        decided_on=pd.Series(decided.astype("datetime64[ns]")).where(labelled),
    )
    for col in (
        "subject_type",
        "subject_id",
        "pattern",
        "variant",
        "severity",
        "person",
        "institution",
        "doctor",
    ):
        full[col] = full[col].astype("str")
    truth_out = full[list(TRUTH_COLUMNS)].reset_index(drop=True)
    labels = truth_out.loc[
        labelled, ["subject_type", "subject_id", "pattern", "outcome", "decided_on"]
    ].reset_index(drop=True)
    return truth_out, labels
