"""Declared fraud signals over settlement data, one module per pattern.

Public API (imported lazily, so that ``features.config`` stays light for the settings):

* ``build_features`` (dataset -> ``FeatureSet``);
* ``features.registry`` (the declared ``FeatureSpec``s: ``specs()``, ``get(name)``);
* ``person_signals`` (the per-person stage, for Spark partitions) and ``assemble`` (the
  population stage over the per-person output);
* ``reason_line`` and ``worst_visits`` (explanations); ``FeatureSettings``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FeatureSettings": "features.config",
    "PersonSignals": "features.person",
    "assemble": "features.build",
    "build_features": "features.build",
    "person_signals": "features.person",
    "reason_line": "features.reasons",
    "worst_visits": "features.reasons",
}

__all__ = [
    "FeatureSettings",
    "PersonSignals",
    "assemble",
    "build_features",
    "person_signals",
    "reason_line",
    "worst_visits",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'features' has no attribute {name!r}")
