"""A small synthetic world, trained and registered in a temporary MLflow as @champion.

Built once per test process (session fixture ``registry_world``): intake, signals, the
real ``training.train`` and ``promote``, so the service loads its model as in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from settlements.dataset import Dataset
from training.config import TrainingSettings

KEY = b"serving-tests-pseudonym-key"


@dataclass(frozen=True)
class RegistryWorld:
    dataset: Dataset
    """The intake-accepted world (identifiers pseudonymised)."""
    training: TrainingSettings
    version: str
    evidence: pd.DataFrame
    """The signals' evidence over the whole world (what fired where)."""


def build_registry_world(root: Path, persons: int = 500, seed: int = 11) -> RegistryWorld:
    from features import build_features  # type: ignore[attr-defined]
    from models.config import ModelSettings
    from settlements.config import IntakeSettings
    from settlements.intake import validate_dataset
    from settlements.synthetic.generate import generate_world
    from training.train import TrainingData, fingerprint, promote, train

    world = generate_world(persons, seed)
    dataset = validate_dataset(world.dataset, IntakeSettings(), KEY).dataset
    feature_set = build_features(dataset)
    training = TrainingSettings(
        tracking_uri=f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        artifact_root=root / "artifacts",
        holdout_fraction=0.25,
    )
    assert dataset.labels is not None
    data = TrainingData(
        feature_set=feature_set,
        labels=dataset.labels,
        source=f"synthetic world seed {seed}",
        fingerprint=fingerprint(dataset),
        tables={"labels": dataset.labels},
    )
    models = ModelSettings(
        n_estimators=15,
        min_confirmed=5,
        min_rejected=5,
        cold_start_trees=10,
        calibration_folds=2,
    )
    result = train(data, models, training)
    promote(training, result.version)
    return RegistryWorld(dataset, training, result.version, feature_set.evidence)


def payload(dataset: Dataset, setl_ids: list[str]) -> list[dict[str, Any]]:
    """Request items (settlement, fee lines, person, institution) as JSON-ready dicts."""
    s = dataset.settlements[dataset.settlements["setl_id"].isin(setl_ids)]
    lines = dataset.fee_details[dataset.fee_details["setl_id"].isin(setl_ids)]
    persons = dataset.persons.set_index("psn_no", drop=False)
    institutions = dataset.institutions.set_index("fixmedins_code", drop=False)
    items = []
    for row in s.to_dict("records"):
        items.append(
            {
                "settlement": _json(row),
                "fee_details": [
                    _json(r) for r in lines[lines["setl_id"] == row["setl_id"]].to_dict("records")
                ],
                "person": _json(persons.loc[row["psn_no"]].to_dict()),
                "institution": _json(institutions.loc[row["fixmedins_code"]].to_dict()),
            }
        )
    return items


def subset(dataset: Dataset, setl_ids: list[str]) -> Dataset:
    """The settlements named, with their fee lines, persons and institutions."""
    s = dataset.settlements[dataset.settlements["setl_id"].isin(setl_ids)]
    return Dataset(
        settlements=s.reset_index(drop=True),
        fee_details=dataset.fee_details[dataset.fee_details["setl_id"].isin(setl_ids)].reset_index(
            drop=True
        ),
        persons=dataset.persons[dataset.persons["psn_no"].isin(s["psn_no"])]
        .drop(columns=["certno", "psn_name"], errors="ignore")
        .reset_index(drop=True),
        institutions=dataset.institutions[
            dataset.institutions["fixmedins_code"].isin(s["fixmedins_code"])
        ].reset_index(drop=True),
        catalog=dataset.catalog,
    )


def _json(row: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            continue
        if isinstance(value, pd.Timestamp):
            is_date = value == value.normalize() and str(key) in {
                "begndate",
                "enddate",
                "brdy",
                "dead_date",
            }
            out[str(key)] = value.strftime("%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S")
        elif hasattr(value, "item"):
            out[str(key)] = value.item()
        else:
            out[str(key)] = value
    return out
