"""Intake: a dataset directory in, the accepted typed dataset and its quarantine out.

This is the one door through which settlement data enters fundguard:
``read_dataset`` for a directory of files, ``validate_dataset`` for frames already in
memory (importers, the synthetic world, the scoring service's single-settlement check).
"""

from __future__ import annotations

from pathlib import Path

from settlements.config import IntakeSettings
from settlements.progress import Track, no_track
from settlements.readers import read_raw_dataset
from settlements.validation import (
    RULES,
    IntakeResult,
    Rule,
    TableReconciliation,
    validate_dataset,
)


def read_dataset(
    directory: Path,
    settings: IntakeSettings,
    pseudonym_key: bytes | None = None,
    track: Track = no_track,
) -> IntakeResult:
    """Read, pseudonymise, type and validate the dataset directory ``directory``.

    Raises ``InputError`` (one line, naming the file) when a required table or column is
    missing or a file cannot be read, and when identifiers are present without a key.
    Rows that break a rule are quarantined, never dropped: see ``IntakeResult``.
    """
    raw = read_raw_dataset(directory, track)
    return validate_dataset(raw, settings, pseudonym_key, track)


__all__ = [
    "RULES",
    "IntakeResult",
    "Rule",
    "TableReconciliation",
    "read_dataset",
    "validate_dataset",
]
