"""The whole population's per-person output, which institution, doctor and peer signals read.

These signals compare subjects with each other, so they run over the output of the
per-person function, never on fee lines: locally once over everyone; on Spark per group
of institutions or doctors, given the statistics over everyone that they compare with
(``features.spark_population``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.common import PeerMedians, first_occurrence


@dataclass(frozen=True)
class Population:
    """Visits (with their per-person signals and ``aux_`` columns), doctor-visit rows, and
    the small tables.

    ``doctor_visits`` has one row per (visit, doctor code) with the doctor's fee amounts on
    the visit, and ``v``, the position of the visit in ``visits``; ``institution_index`` and
    ``doctor_index`` list every subject of those levels. What several population functions
    derive from the doctor visits is worked out once (cached properties).
    """

    visits: pd.DataFrame
    doctor_visits: pd.DataFrame
    institutions: pd.DataFrame
    catalog: pd.DataFrame | None
    institution_peer_group: pd.Series
    """Peer group of each institution: its type, hospital level and region."""
    stay_cost_peers: PeerMedians | None = None
    """Daily-cost medians of peer stays over everyone, when ``visits`` is only a part of
    them (a Spark group of institutions); ``None``: computed from ``visits``."""
    _derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def derived(self, name: str, build: Callable[[], Any]) -> Any:
        """What several signal groups derive alike (``name`` says from which settings),
        built once; callers must not modify it. Groups sharing one run as one task
        (``features.build.SHARED_POPULATION_WORK``)."""
        if name not in self._derived:
            self._derived[name] = build()
        return self._derived[name]

    @property
    def institution_index(self) -> pd.Index:
        idx = pd.Index(self.visits["fixmedins_code"].unique(), dtype="string", name="subject_id")
        return idx.sort_values()

    @functools.cached_property
    def _doctor_codes(self) -> tuple[np.ndarray, pd.Index]:
        """Each doctor-visit row's position in ``doctor_index`` (-1: no doctor), and the index."""
        codes, doctors = pd.factorize(self.doctor_visits["doctor"], sort=True)
        return codes, pd.Index(doctors, dtype="string", name="subject_id")

    @functools.cached_property
    def _first_pairs(self) -> np.ndarray:
        """Whether each doctor-visit row is the first of its (visit, doctor)."""
        codes, doctors = self._doctor_codes
        v = self.doctor_visits["v"].to_numpy().astype(np.int64)
        return first_occurrence(v * (len(doctors) + 1) + codes + 1)

    @property
    def doctor_index(self) -> pd.Index:
        return self._doctor_codes[1]

    @property
    def doctor_codes(self) -> np.ndarray:
        """The position in ``doctor_index`` of each row's doctor in ``doctor_visits``."""
        return self._doctor_codes[0]

    @functools.cached_property
    def doctor_pairs(self) -> pd.DataFrame:
        """``doctor_visits`` without repeated (visit, doctor) rows (``drop_duplicates``):
        what doctors' visits are counted on."""
        first = self._first_pairs
        return self.doctor_visits if first.all() else self.doctor_visits.loc[first]

    @property
    def doctor_pair_codes(self) -> np.ndarray:
        """The position in ``doctor_index`` of each row's doctor in ``doctor_pairs``."""
        return self._doctor_codes[0][self._first_pairs]

    @functools.cached_property
    def doctor_peer_group(self) -> pd.Series:
        """Peer group of each doctor (specialty pattern): the diagnosis chapter most of the
        doctor's visits carry and the hospital level where most of them are (``K|3``)."""
        rows = self.doctor_pairs["v"].to_numpy()
        codes = self.doctor_pair_codes
        n_doctors = len(self.doctor_index)
        # doctors in order of their first visit row
        first = np.full(n_doctors, len(codes))
        np.minimum.at(first, codes, np.arange(len(codes)))
        present = np.flatnonzero(first < len(codes))
        appearance = present[np.argsort(first[present], kind="stable")]
        rank = np.empty(n_doctors, dtype=np.int64)
        rank[appearance] = np.arange(len(appearance))
        group, n = rank[codes], len(appearance)
        chapter = _mode(group, n, self.visits["chapter"], rows)
        level = _mode(group, n, self.visits["hosp_lv"], rows)
        doctors = self.doctor_index[appearance]
        groups = pd.Series(chapter + "|" + level, index=pd.Index(doctors, dtype="string"))
        groups.index.name = "subject_id"
        return groups.astype("string")

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


def _mode(group: np.ndarray, n: int, values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The most frequent of ``values`` at ``rows`` per group 0..n-1 (ties: the smallest);
    ``values`` are worked out once each, not once per row."""
    codes, uniques = pd.factorize(values, sort=True)
    pair = group.astype(np.int64) * len(uniques) + codes[rows]
    counts = np.bincount(pair, minlength=n * len(uniques)).reshape(n, len(uniques))
    return np.asarray(uniques, dtype=object)[counts.argmax(axis=1)]
