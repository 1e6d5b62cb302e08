"""The per-person stage: every visit- and person-level signal from settlements and fee lines.

``person_signals`` is a pure function of a set of persons' settlements and fee lines plus
the broadcast small tables (persons, institutions, catalog). It is vectorised over all the
persons in its input, so the local path calls it once on everything and Spark calls it
unchanged per partition (``groupBy(...).applyInPandas``); what compares persons with each
other (peers, institutions, doctors) runs afterwards over its output (``features.build``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.common import (
    COMPILED_MIN_ROWS,
    Signals,
    concat_evidence,
    positions,
    stable_hash,
    unique_ints,
)
from features.config import FeatureSettings
from features.contract import Level
from features.frames import PersonFrames, items, prepare
from features.parallel import in_turn
from features.registry import SignalGroup, registry

log = logging.getLogger(__name__)

VISIT_WORKING_COLUMNS = (
    "psn_no",
    "fixmedins_code",
    "med_type",
    "begndate",
    "enddate",
    "first_setl_time",
    "last_setl_time",
    "medfee",
    "fund",
    "dise_codg",
    "chapter",
    "atddr_no",
    "first_setl_id",
    "stay_days",
    "is_stay",
    "is_emergency",
    "is_chronic",
    "is_pharmacy",
    "hosp_lv",
    "admdvs",
    "fixmedins_type",
    "insuplc_admdvs",
)
"""Visit attributes kept beside the signals for the population stage (not model inputs)."""


@dataclass(frozen=True)
class PersonSignals:
    """The per-person stage's output for a set of persons.

    ``visits``: one row per visit (index ``mdtrt_id``) with the visit-level signals, the
    ``VISIT_WORKING_COLUMNS`` and ``aux_`` columns (line totals, basket keys) that the
    population stage aggregates. ``persons``: one row per person with settlements (index
    ``psn_no``) with the person-level signals. ``doctor_visits``: one row per (visit,
    doctor code) with ``aux_`` fee amounts and drug basket; its codes (``mdtrt_id``,
    ``doctor``, ``psn_no``, ``fixmedins_code``) are categoricals with sorted categories.
    ``evidence``: the evidence lines of every flag that fired. ``skipped``: (feature,
    reason) of signals not built.
    """

    visits: pd.DataFrame
    persons: pd.DataFrame
    doctor_visits: pd.DataFrame
    evidence: pd.DataFrame
    skipped: tuple[tuple[str, str], ...]


def missing_needs(group: SignalGroup, has: object, settings: FeatureSettings) -> list[str]:
    """The needs of a group that the input (``has(need) -> bool``) or settings lack."""
    missing = []
    for need in group.needs:
        if need.startswith("setting:"):
            if getattr(settings, need.removeprefix("setting:")) is None:
                missing.append(need)
        elif not has(need):  # type: ignore[operator]
            missing.append(need)
    return missing


def skip_reason(missing: list[str]) -> str:
    words = []
    for need in missing:
        if need.startswith("setting:"):
            words.append(f"setting {need.removeprefix('setting:')} is not set")
        elif "." in need:
            words.append(f"column {need} is absent")
        else:
            words.append(f"table {need} is absent")
    return "; ".join(words)


def buildable(
    groups: Iterable[SignalGroup], has: object, settings: FeatureSettings
) -> tuple[list[SignalGroup], list[tuple[str, str]]]:
    """The groups whose needs the input (``has``) and settings meet, and the signals of
    the others with the reason each is skipped."""
    built: list[SignalGroup] = []
    skipped: list[tuple[str, str]] = []
    for group in groups:
        missing = missing_needs(group, has, settings)
        if missing:
            reason = skip_reason(missing)
            skipped += [(spec.name, reason) for spec in group.specs]
        else:
            built.append(group)
    return built, skipped


def person_signals(
    settlements: pd.DataFrame,
    fee_lines: pd.DataFrame,
    persons: pd.DataFrame,
    institutions: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    settings: FeatureSettings | None = None,
) -> PersonSignals:
    """Visit- and person-level signals of the persons in ``settlements``.

    Give it one person's, a partition of persons', or all settlements with their fee lines
    (every settlement of a person must be in the same call: stays, refills and travel are
    judged across a person's visits) and the whole small tables. Inputs are not modified.
    """
    s = settings or FeatureSettings()
    stage = PersonStage.of(prepare(settlements, fee_lines, persons, institutions, catalog), s)
    return stage.finish(in_turn(stage.tasks()))


@dataclass(frozen=True)
class PersonStage:
    """The per-person stage of prepared frames as independent tasks: the doctor-visit rows,
    the visit profile, and the signal groups (those of a module that share derived frames,
    such as the drug lines, in one task: ``SHARED_FRAMES``); ``finish`` assembles their
    results.
    ``person_signals`` runs the tasks in turn, ``build_features`` may run them side by side
    (``features.parallel``)."""

    pf: PersonFrames
    settings: FeatureSettings
    batches: tuple[tuple[SignalGroup, ...], ...]
    skipped: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pf: PersonFrames, s: FeatureSettings) -> PersonStage:
        batches: dict[tuple[str, int], list[SignalGroup]] = {}
        person_groups = [g for g in registry.groups if g.stage == "person" and g.compute]
        built, skipped = buildable(person_groups, pf.has, s)
        for position, group in enumerate(built):
            assert group.compute is not None
            module = group.compute.__module__
            key = (module, 0 if module in SHARED_FRAMES else position)
            batches.setdefault(key, []).append(group)
        ordered = sorted(batches.items(), key=lambda item: _heavy_rank(item[0][0]))
        return cls(pf, s, tuple(tuple(b) for _, b in ordered), tuple(skipped))

    def tasks(self) -> list[Callable[[], Any]]:
        """The signal groups (a task each, those of a ``SHARED_FRAMES`` module together; the
        heaviest modules first: ``HEAVIEST_FIRST``), the visit profile,
        and the doctor-visit rows (the largest result: last, where
        ``features.parallel.Forked`` computes it in this process, taking tasks from the
        back while the workers take them from the front)."""
        pf, s = self.pf, self.settings
        return [
            *(functools.partial(_compute_groups, batch, pf, s) for batch in self.batches),
            functools.partial(visit_profile, pf, s),
            functools.partial(doctor_visits, pf, s),
        ]

    def finish(self, results: list[Any]) -> PersonSignals:
        """The ``PersonSignals`` from the results of ``tasks`` (in their order)."""
        pf = self.pf
        *computed, profile, doctor_rows = results
        # in registry order, as one loop over the groups gives them
        position = {id(group): i for i, group in enumerate(registry.groups)}
        done = sorted(
            (
                (position[id(group)], group, result)
                for batch, signals in zip(self.batches, computed, strict=True)
                for group, result in zip(batch, signals, strict=True)
            ),
            key=lambda item: item[0],
        )
        visit_parts: list[pd.DataFrame] = []
        person_parts: list[pd.DataFrame] = []
        evidence: list[pd.DataFrame] = []
        for _, group, result in done:
            names = [spec.name for spec in group.specs]
            level = group.specs[0].level
            (visit_parts if level == Level.VISIT else person_parts).append(result.values[names])
            evidence.append(result.evidence)
        visits = side_by_side([pf.visits[list(VISIT_WORKING_COLUMNS)], profile, *visit_parts])
        person_index = pd.Index(pf.visits["psn_no"].unique(), dtype="string", name="psn_no")
        person_frame = (
            pd.concat([p.reindex(person_index) for p in person_parts], axis=1)
            if person_parts
            else pd.DataFrame(index=person_index)
        )
        return PersonSignals(
            visits=visits,
            persons=person_frame,
            doctor_visits=doctor_rows,
            evidence=concat_evidence(evidence),
            skipped=self.skipped,
        )


HEAVIEST_FIRST = (
    "features.over_prescription",
    "features.card_lending",
    "features.split_billing",
    "features.bed_hanging",
)
"""The per-person modules by the time their groups take (``bench.bench_features``: 1.2,
0.8, 0.6 and 0.4 s at 300,000 settlements), so that the workers start on the long ones
while this process does the doctor-visit rows and the short ones."""

SHARED_FRAMES = frozenset({"features.over_prescription"})
"""Modules whose groups share derived frames (the drug lines and fills), so run as one
task; the other modules' groups are a task each, so that the processes finish the stage
together rather than one waiting for the other's last module."""


def _heavy_rank(module: str) -> int:
    return HEAVIEST_FIRST.index(module) if module in HEAVIEST_FIRST else len(HEAVIEST_FIRST)


def _compute_groups(
    batch: tuple[SignalGroup, ...], pf: PersonFrames, s: FeatureSettings
) -> list[Signals]:
    return [group.compute(pf, s) for group in batch]  # type: ignore[misc]


def side_by_side(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(parts, axis=1)`` of frames on one index, without aligning each part's
    index (a comparison of every visit id per part); other frames are aligned as usual.
    The columns are not copied into consolidated blocks (``copy=False``; copy-on-write
    keeps the parts as they are): a copy of a hundred columns of a million visits."""
    index = parts[0].index
    columns = [c for part in parts for c in part.columns]
    aligned = all(part.index is index or part.index.equals(index) for part in parts)
    if not aligned or len(set(columns)) != len(columns):
        return pd.concat(parts, axis=1)
    return pd.DataFrame(
        {c: part[c].array for part in parts for c in part.columns}, index=index, copy=False
    )


def visit_profile(pf: PersonFrames, s: FeatureSettings) -> pd.DataFrame:
    """Per-visit line totals and the order-free key of the visit's basket of items."""
    lines = pf.lines
    nv = len(pf.visits)
    v = lines["v"].to_numpy()
    amt = lines["amt"].to_numpy()
    out = pd.DataFrame(index=pf.visits.index)
    out["aux_line_amt"] = np.bincount(v, weights=amt, minlength=nv)
    high = amt * (lines["pric"].to_numpy() >= s.high_cost_item_unit_price)
    out["aux_high_cost_amt"] = np.bincount(v, weights=high, minlength=nv)
    key, n_items = _visit_baskets(v, lines["item_i"].to_numpy(), item_hashes(pf), nv)
    out["aux_basket_key"] = key
    out["aux_basket_items"] = n_items
    return out


def item_hashes(pf: PersonFrames) -> np.ndarray:
    """The stable hash of each item code, by ``item_i``."""
    table = pf.derived("item_hash", lambda f: pd.DataFrame({"hash": stable_hash(items(f))}))
    return table["hash"].to_numpy()


def _visit_baskets(
    v: np.ndarray, item_i: np.ndarray, item_hash: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``_basket`` of the fee lines by visit: by a compiled pass over each visit's lines
    from ``COMPILED_MIN_ROWS`` lines (no sort of every line's key)."""
    if len(v) < COMPILED_MIN_ROWS:
        return _basket(v, item_i, item_hash, n)
    from features import kernels

    return kernels.visit_baskets(  # type: ignore[no-any-return]
        v.astype(np.int64, copy=False),
        item_i.astype(np.int64, copy=False),
        n,
        item_hash.astype(np.uint64, copy=False),
    )


def _basket(
    group: np.ndarray, item_i: np.ndarray, item_hash: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """For groups 0..n-1: the wrapping sum of hashes of their distinct items (``item_hash``
    by item code), and the count."""
    g = np.asarray(group).astype(np.int64, copy=False)
    i = np.asarray(item_i)
    ok = i >= 0
    if not ok.all():  # the usual case has an item on every line: no masked copies
        g, i = g[ok], i[ok]
    width = int(i.max()) + 1 if len(i) else 1
    key = g * width
    key += i
    pairs = unique_ints(key)  # sorted by group
    del key
    pg, pi = np.divmod(pairs, width)
    del pairs
    out_key = np.zeros(n, dtype=np.uint64)
    count = np.zeros(n)
    if len(pg):
        start = np.flatnonzero(np.r_[True, pg[1:] != pg[:-1]])
        first = pg[start]
        out_key[first] = np.add.reduceat(item_hash.astype(np.uint64, copy=False)[pi], start)
        count[first] = np.diff(np.r_[start, len(pg)])
    return out_key, count


def doctor_visits(pf: PersonFrames, s: FeatureSettings) -> pd.DataFrame:
    """One row per (visit, doctor code) from fee lines (bilg_dr_codg) and the attending
    physician (atddr_no): the doctor's fee, drug and high-value drug amounts on the visit
    and the key of the drug basket the doctor ordered."""
    from features import kernels

    lines = pf.lines
    visits = pf.visits
    doc_codes, doc_names = pd.factorize(lines["doctor"])
    names = pd.Index(doc_names)
    att = np.flatnonzero(visits["atddr_no"].notna().to_numpy())
    att_names = pd.Index(visits["atddr_no"].iloc[att])
    attending = np.full(len(visits), -1, dtype=np.int64)
    known = positions(names, att_names)
    attending[att] = np.where(known >= 0, known, -2)
    vv, dd, amt, drug_amt, hv_amt, key, n_items = kernels.doctor_pairs(
        lines["v"].to_numpy().astype(np.int64, copy=False),
        doc_codes.astype(np.int64, copy=False),
        len(visits),
        len(names),
        attending,
        lines["amt"].to_numpy(dtype=np.float64),
        lines["is_drug"].to_numpy(dtype=bool),
        lines["pric"].to_numpy(dtype=np.float64),
        float(s.high_value_drug_unit_price),
        lines["item_i"].to_numpy().astype(np.int64, copy=False),
        item_hashes(pf).astype(np.uint64, copy=False),
    )
    # attending doctors of no fee line: codes after the fee lines' doctors
    unknown = np.flatnonzero(dd < 0)
    extra = visits["atddr_no"].iloc[vv[unknown]]
    all_names = names.append(pd.Index(extra).unique().difference(names))
    dd[unknown] = all_names.get_indexer(extra)  # fewer than 2**31 doctors
    per = {"aux_amt": amt, "aux_drug_amt": drug_amt, "aux_hv_drug_amt": hv_amt}
    # the string columns as categoricals of the visits' (and doctors') codes
    psn_i = visits["psn_i"].to_numpy()  # codes in order of appearance, from prepare
    first = np.flatnonzero(psn_i > np.maximum.accumulate(np.r_[-1, psn_i[:-1]]))
    inst_i, inst = pd.factorize(visits["fixmedins_code"], sort=True)
    return pd.DataFrame(
        {
            "mdtrt_id": categorical_codes(vv, visits.index),
            **per,
            "aux_drug_basket_key": key,
            "aux_drug_items": n_items,
            "doctor": categorical_codes(dd, all_names),
            "psn_no": categorical_codes(psn_i[vv], pd.Index(visits["psn_no"].array.take(first))),
            "fixmedins_code": pd.Categorical.from_codes(
                inst_i.astype(np.int32)[vv], categories=pd.Index(inst, dtype="string")
            ),
        },
        copy=False,
    )


def categorical_codes(codes: np.ndarray, names: pd.Index) -> pd.Categorical:
    """``names.take(codes)`` as a categorical with the names in sorted order (so that its
    order, groups and ``factorize(sort=True)`` are those of the strings), without copying a
    string per row: the doctor-visit rows repeat a few hundred thousand codes millions of
    times."""
    names = pd.Index(names, dtype="string")
    if names.is_monotonic_increasing:  # the visits' ids are (prepare sorts settlements)
        return pd.Categorical.from_codes(codes, categories=names)
    order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    rank = np.empty(len(names) + 1, dtype=np.int32)  # code -1 (missing): the last
    rank[order] = np.arange(len(names))
    rank[-1] = -1
    return pd.Categorical.from_codes(rank[codes], categories=names[order])


def with_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its categorical columns (the doctor-visit rows' codes) as strings."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype(dict.fromkeys(cats, "string")) if cats else frame


def combine(parts: list[PersonSignals]) -> PersonSignals:
    """One ``PersonSignals`` from the outputs of disjoint sets of persons (partitions);
    categorical codes become strings (each partition has categories of its own)."""
    skipped = {name: why for p in parts for name, why in p.skipped}
    return PersonSignals(
        visits=pd.concat([p.visits for p in parts]),
        persons=pd.concat([p.persons for p in parts]),
        doctor_visits=pd.concat([with_strings(p.doctor_visits) for p in parts], ignore_index=True),
        evidence=concat_evidence([p.evidence for p in parts]),
        skipped=tuple(skipped.items()),
    )
