"""The model owner's console work over the MLflow registry: versions with their evaluation,
champion and challenger side by side, plots, and promotion."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from settlements.errors import InputError
from training.config import TrainingSettings

PLOT_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.png$")


def versions(training: TrainingSettings) -> list[dict[str, Any]]:
    """Every registered version with its aliases and held-out headline metric."""
    from training.registry import connect, list_versions

    client = connect(training)
    return [
        {str(k): v for k, v in r.items()}
        for r in list_versions(client, training).to_dict("records")
    ]


def version(training: TrainingSettings, number: str) -> dict[str, Any]:
    """One version: aliases, tags, metrics, model card, and the names of its plots."""
    from training.registry import connect, version_record

    client = connect(training)
    record = version_record(client, training, number)
    record["metrics"] = {k: _finite(float(v)) for k, v in record["metrics"].items()}
    record["plots"] = _plot_paths(client, record.get("run_id"))
    return record


def side_by_side(training: TrainingSettings) -> dict[str, Any]:
    """Champion and challenger records, and every held-out metric of either as rows."""
    from training.registry import aliases_of, connect

    client = connect(training)
    aliases = aliases_of(client, training)
    sides: dict[str, dict[str, Any] | None] = {}
    for role, alias in (
        ("champion", training.champion_alias),
        ("challenger", training.challenger_alias),
    ):
        number = aliases.get(alias)
        sides[role] = version(training, number) if number else None
    names = sorted(
        {
            name
            for side in sides.values()
            if side is not None
            for name in side["metrics"]
            if name.startswith("holdout")
        }
    )
    rows = [
        {
            "metric": name,
            **{
                role: (side["metrics"].get(name) if side is not None else None)
                for role, side in sides.items()
            },
        }
        for name in names
    ]
    return {**sides, "metrics": rows, "promotion_metric": training.promotion_metric}


def _finite(value: float) -> float | None:
    """NaN (no figure recorded) as ``None``, which JSON can carry."""
    return None if math.isnan(value) else value


def _plot_paths(client: Any, run_id: str | None) -> list[str]:
    if not run_id:
        return []
    found = []
    for folder in ("holdout", ""):
        for item in client.list_artifacts(run_id, folder or None):
            if not item.is_dir and item.path.endswith(".png"):
                found.append(item.path)
    return sorted(found)


def plot_file(training: TrainingSettings, number: str, name: str, cache: Path) -> Path:
    """A local copy of plot ``name`` (as listed by ``version``) of version ``number``."""
    from training.registry import connect, version_record

    if not all(PLOT_NAME.match(part) or part == "holdout" for part in name.split("/")):
        raise InputError(f"{name!r} is not a plot name")
    client = connect(training)
    record = version_record(client, training, number)
    if name not in _plot_paths(client, record.get("run_id")):
        from supervision.errors import NotFoundError

        raise NotFoundError(f"version {number} has no plot {name}")
    target = cache / str(number)
    target.mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(record["run_id"], name, str(target)))


def promote(training: TrainingSettings, number: str, actor: str) -> dict[str, Any]:
    """Promote ``number`` to champion if it beats the champion; tag who asked and the outcome."""
    from datetime import UTC, datetime

    from training.registry import connect
    from training.train import promote as promote_version

    outcome = promote_version(training, number)
    client = connect(training)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    client.set_model_version_tag(
        training.registered_model,
        number,
        "promotion_requested_by",
        f"{actor} at {when}: {'promoted' if outcome.promoted else 'kept as challenger'}",
    )
    return {
        "version": outcome.version,
        "promoted": outcome.promoted,
        "candidate_score": _finite(outcome.candidate_score),
        "champion_version": outcome.champion_version,
        "champion_score": _finite(outcome.champion_score),
        "metric": outcome.metric,
        "basis": outcome.basis,
    }
