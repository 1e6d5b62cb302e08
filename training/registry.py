"""The MLflow side: tracking store, the scorer as one pyfunc model, versions and aliases.

The whole ``FraudScorer`` (feature settings, input columns, boosters, calibrators,
cold-start forests) is logged as one ``mlflow.pyfunc.PythonModel``, so one model URI
scores raw settlement data end to end. Its pyfunc input is a DataFrame with one column
``dataset_dir``: each row names a dataset directory of the settlement contract; the
output is the leads table of all of them. Parameter ``top`` (0 = every subject) keeps the
first N per subject type and pattern. Scoring loads an alias (``@champion``), never
"latest".
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc.model import PythonModel
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
from pydantic import BaseModel

import mlflow
from models.scorer import FraudScorer
from models.scoring import score_dataset
from settlements.errors import InputError
from training.config import TrainingSettings

INPUT_COLUMN = "dataset_dir"


class ScorerModel(PythonModel):
    """The pyfunc face of a fitted ``FraudScorer``: dataset directories in, leads out."""

    def __init__(self, scorer: FraudScorer, intake: BaseModel | None = None) -> None:
        self.scorer = scorer
        self.intake = intake

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        """Leads of every dataset directory in ``model_input`` (no type hints on purpose: MLflow
        would derive a conflicting input schema from them)."""
        from settlements.config import IntakeSettings
        from settlements.intake import read_dataset

        if not isinstance(model_input, pd.DataFrame) or INPUT_COLUMN not in model_input.columns:
            raise InputError(f"the fundguard model reads a DataFrame with a {INPUT_COLUMN} column")
        top = int((params or {}).get("top") or 0) or None
        key = os.environ.get("FUNDGUARD_PSEUDONYM_KEY")
        intake = self.intake if isinstance(self.intake, IntakeSettings) else IntakeSettings()
        leads = []
        for directory in model_input[INPUT_COLUMN].astype(str):
            result = read_dataset(Path(directory), intake, key.encode() if key else None)
            if not result.usable:
                raise InputError(f"{directory} is not usable: " + "; ".join(result.problems))
            leads.append(score_dataset(result.dataset, self.scorer, top=top))
        return pd.concat(leads, ignore_index=True)


SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", INPUT_COLUMN)]),
    params=ParamSchema([ParamSpec("top", "long", 0)]),
)


def connect(settings: TrainingSettings) -> MlflowClient:
    """Point MLflow at the configured store and make sure the experiment exists under it.

    Supervision systems run offline: MLflow's usage telemetry is off unless the
    environment sets ``MLFLOW_DISABLE_TELEMETRY=false``.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = settings.tracking_uri
    match = re.match(r"sqlite:///(.+)", uri)
    if match:
        Path(match.group(1)).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if client.get_experiment_by_name(settings.experiment) is None:
        root = Path(settings.artifact_root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        client.create_experiment(settings.experiment, artifact_location=root.as_uri())
    mlflow.set_experiment(settings.experiment)
    return client


def requirements() -> list[str]:
    """Pinned requirements of the logged model (without inferring them by loading it)."""
    names = ("pandas", "numpy", "scikit-learn", "lightgbm", "pyarrow", "pandera", "pydantic")
    return [f"{n}=={metadata.version(n)}" for n in names] + [f"mlflow=={mlflow.__version__}"]


def log_scorer(
    scorer: FraudScorer, settings: TrainingSettings, intake: BaseModel | None = None
) -> tuple[str, str]:
    """Log the scorer in the active run and register it; return (model URI, version)."""
    info = mlflow.pyfunc.log_model(
        name="scorer",
        python_model=ScorerModel(scorer, intake),
        signature=SIGNATURE,
        pip_requirements=requirements(),
        registered_model_name=settings.registered_model,
    )
    version = str(info.registered_model_version)
    return f"models:/{settings.registered_model}/{version}", version


@dataclass(frozen=True)
class Resolved:
    """A model URI resolved to its registered version (when it is one)."""

    uri: str
    version: str
    run_id: str | None


def resolve(client: MlflowClient, uri: str, settings: TrainingSettings) -> Resolved:
    """``models:/name@alias`` or ``models:/name/3`` to the version; other URIs as they are."""
    match = re.match(r"models:/([^/@]+)(?:@(.+)|/(\d+))$", uri)
    if not match:
        return Resolved(uri, uri, None)
    name, alias, number = match.groups()
    try:
        mv = (
            client.get_model_version_by_alias(name, alias)
            if alias
            else client.get_model_version(name, number)
        )
    except mlflow.exceptions.MlflowException:
        what = f"alias @{alias}" if alias else f"version {number}"
        raise InputError(
            f"no model {name} {what} in {settings.tracking_uri}: run `fundguard train` "
            "(and `fundguard promote`) first, or pass --model"
        ) from None
    return Resolved(f"models:/{name}/{mv.version}", str(mv.version), mv.run_id)


def load_scorer(uri: str, settings: TrainingSettings) -> FraudScorer:
    """The fitted scorer behind a model URI, stamped with its registered version."""
    client = connect(settings)
    resolved = resolve(client, uri, settings)
    model = mlflow.pyfunc.load_model(resolved.uri)
    scorer = model.unwrap_python_model().scorer
    return scorer.with_version(f"{settings.registered_model}/{resolved.version}")


def champion_uri(settings: TrainingSettings) -> str:
    return f"models:/{settings.registered_model}@{settings.champion_alias}"


def set_alias(client: MlflowClient, settings: TrainingSettings, alias: str, version: str) -> None:
    client.set_registered_model_alias(settings.registered_model, alias, version)


def aliases_of(client: MlflowClient, settings: TrainingSettings) -> dict[str, str]:
    """alias -> version of the registered model (empty when nothing is registered)."""
    try:
        model = client.get_registered_model(settings.registered_model)
    except mlflow.exceptions.MlflowException:
        return {}
    return {alias: str(version) for alias, version in model.aliases.items()}


def version_record(
    client: MlflowClient, settings: TrainingSettings, version: str
) -> dict[str, Any]:
    """What `fundguard models show` prints: version, aliases, tags, metrics, card."""
    try:
        mv = client.get_model_version(settings.registered_model, version)
    except mlflow.exceptions.MlflowException:
        raise InputError(
            f"model {settings.registered_model} has no version {version}: "
            "see `fundguard models list`"
        ) from None
    run = client.get_run(mv.run_id) if mv.run_id else None
    aliases = [a for a, v in aliases_of(client, settings).items() if v == str(mv.version)]
    inputs = []
    if run is not None and run.inputs is not None:
        for item in run.inputs.dataset_inputs:
            inputs.append(
                {
                    "name": item.dataset.name,
                    "digest": item.dataset.digest,
                    "source": json.loads(item.dataset.source or "{}")
                    if item.dataset.source
                    else {},
                }
            )
    return {
        "version": str(mv.version),
        "aliases": aliases,
        "created": pd.Timestamp(mv.creation_timestamp, unit="ms").isoformat(),
        "run_id": mv.run_id,
        "tags": dict(mv.tags),
        "metrics": dict(run.data.metrics) if run is not None else {},
        "inputs": inputs,
        "card": mv.description or "",
    }


def list_versions(client: MlflowClient, settings: TrainingSettings) -> pd.DataFrame:
    """Every registered version with its aliases and headline held-out metric."""
    versions = client.search_model_versions(f"name='{settings.registered_model}'")
    aliases = aliases_of(client, settings)
    rows = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        rows.append(
            {
                "version": str(mv.version),
                "aliases": ",".join(a for a, v in aliases.items() if v == str(mv.version)),
                "created": pd.Timestamp(mv.creation_timestamp, unit="ms").strftime(
                    "%Y-%m-%d %H:%M"
                ),
                "holdout": mv.tags.get(f"holdout_{settings.promotion_metric}", ""),
                "data": mv.tags.get("data_fingerprint", "")[:12],
            }
        )
    return pd.DataFrame(rows, columns=["version", "aliases", "created", "holdout", "data"])
