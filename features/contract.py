"""What the features stage hands to the models: declared signals and the frames built from them.

A ``FeatureSet`` has one frame per subject level (visit, person, institution, doctor).
Each frame has one row per subject, indexed by ``subject_id`` (string), with

* one column per built ``FeatureSpec`` of that level — numbers as ``float64``, flags as
  ``bool`` — which are what models learn from, and
* context columns, all prefixed ``ctx_``, which models never learn from but use to
  split, group, weigh and explain:

  ``ctx_fund_pay``            fund amount paid for the subject's settlements (yuan)
  ``ctx_amount_<pattern>``    fund amount the pattern's suspicion concerns (amount at risk)
  ``ctx_peer_group``          the peer group key of relative signals (e.g. ``"J|3"``)
  ``ctx_first_date``          first settlement date of the subject (for time-aware splits)
  ``ctx_last_date``           last settlement date of the subject
  ``ctx_person``              visit level only: the person (``psn_no``)
  ``ctx_institution``         visit and doctor level: the institution (``fixmedins_code``)

``evidence`` is a long frame of what inspectors read: one row per (subject, feature) that
fired, with a plain-language explanation naming the IDs and dates, and the IDs alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import pandas as pd


class Level(StrEnum):
    """The subject a signal describes; the ``subject_type`` of labels and leads."""

    VISIT = "visit"
    PERSON = "person"
    INSTITUTION = "institution"
    DOCTOR = "doctor"


class Pattern(StrEnum):
    """The fraud patterns of ``shared/spec/fraud-patterns.md``."""

    BED_HANGING = "bed_hanging"
    SPLIT_BILLING = "split_billing"
    CARD_LENDING = "card_lending"
    OVER_PRESCRIPTION = "over_prescription"
    OTHER = "other"


CONTEXT_PREFIX = "ctx_"
EVIDENCE_COLUMNS = ("subject_type", "subject_id", "feature", "pattern", "explanation", "evidence")


@dataclass(frozen=True)
class FeatureSpec:
    """A declared signal: what it is, which pattern and subject it speaks of, and its rule."""

    name: str
    pattern: Pattern
    level: Level
    description: str
    rule: str
    """The rule it encodes, with its source and parameters (e.g. readmission within 15 days)."""
    kind: Literal["number", "flag"] = "number"
    settings: tuple[str, ...] = ()
    """Names of the ``FeatureSettings`` fields the signal reads."""
    needs: tuple[str, ...] = ()
    """Optional tables or columns the signal needs (e.g. ``"catalog"``); skipped without them."""
    reason: str = ""
    """Plain-language reason template for a value, with ``{value}`` (e.g. ``"{value:.0f} empty
    stay days"``); ``features.reasons.reason_line`` fills it."""
    compute: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    """The pure function that builds this signal (one function may build several signals)."""


@dataclass(frozen=True)
class FeatureSet:
    """Signals of every level, the evidence behind their flags, and what was skipped."""

    frames: Mapping[Level, pd.DataFrame]
    evidence: pd.DataFrame
    specs: tuple[FeatureSpec, ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())
    """(feature name, reason) for signals not built, e.g. no catalog table."""

    def feature_columns(self, level: Level) -> list[str]:
        """The model-facing columns of a level, in declaration order."""
        return [s.name for s in self.specs if s.level == level]

    def specs_by_name(self) -> dict[str, FeatureSpec]:
        return {s.name: s for s in self.specs}
