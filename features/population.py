"""The whole population's per-person output, which institution, doctor and peer signals read.

These signals compare subjects with each other, so they run over the output of the
per-person function, never on fee lines: locally once over everyone; on Spark per group
of institutions or doctors, given the statistics over everyone that they compare with
(``features.spark_population``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.common import PeerMedians


@dataclass(frozen=True)
class Population:
    """Visits (with their per-person signals and ``aux_`` columns), doctor-visit rows, and
    the small tables.

    ``doctor_visits`` has one row per (visit, doctor code) with the doctor's fee amounts on
    the visit; ``institution_index`` and ``doctor_index`` list every subject of those levels.
    """

    visits: pd.DataFrame
    doctor_visits: pd.DataFrame
    institutions: pd.DataFrame
    catalog: pd.DataFrame | None
    doctor_peer_group: pd.Series
    """Peer group of each doctor: the doctor's main diagnosis chapter and hospital level."""
    institution_peer_group: pd.Series
    """Peer group of each institution: its type, hospital level and region."""
    stay_cost_peers: PeerMedians | None = None
    """Daily-cost medians of peer stays over everyone, when ``visits`` is only a part of
    them (a Spark group of institutions); ``None``: computed from ``visits``."""

    @property
    def institution_index(self) -> pd.Index:
        idx = pd.Index(self.visits["fixmedins_code"].unique(), dtype="string", name="subject_id")
        return idx.sort_values()

    @property
    def doctor_index(self) -> pd.Index:
        idx = pd.Index(self.doctor_visits["doctor"].unique(), dtype="string", name="subject_id")
        return idx.dropna().sort_values()

    def has(self, need: str) -> bool:
        """Whether an optional table or column is present (values may be missing)."""
        return has_column(self.institutions, self.catalog, need)


def has_column(institutions: pd.DataFrame, catalog: pd.DataFrame | None, need: str) -> bool:
    """Whether the small tables hold an optional table or column (``catalog``,
    ``institutions.lat`` ...): what ``Population.has`` and the dataset-stage groups ask."""
    table, _, column = need.partition(".")
    frame = {"catalog": catalog, "institutions": institutions}.get(table)
    if frame is None:
        return False
    if not column:
        return True
    return column in frame.columns
