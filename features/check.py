"""The single-settlement fast path of ``POST /check``: a lone settlement's visit and person
signals without the per-person and population stages' pandas machinery.

``build_features(dataset, settings, check=False, levels=(Level.VISIT, Level.PERSON))`` on a
dataset of one settlement runs hundreds of small pandas operations, most of them fixed
overhead. For one visit of one person, every signal that compares visits (readmission,
overlapping stays, refills, travel, frequency jump, peer groups, card bursts) has a value
that follows from its rule, and the rest (empty bed days, exam share, split charging,
restricted items, death, supply limits, daily quantity) are a few Python loops over the
settlement's fee lines. ``CheckSignals`` computes them so, with the catalogue lookups built
once per service, and returns the ``FeatureSet`` that ``build_features`` returns: same
frames (columns, order, dtypes, values, index), evidence lines, specs and skipped signals.
Any input it does not cover (several settlements, untyped columns, missing required values,
an unknown signal in the registry, settings under which a lone visit could fire a
cross-visit flag) goes to ``build_features``, so the result is always the same.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.internals import create_dataframe_from_blocks

from features import bed_hanging, card_lending, over_prescription, split_billing
from features.build import ROLLUP_PATTERNS, VISIT_ELIGIBLE, build_features
from features.common import empty_evidence
from features.config import FeatureSettings
from features.contract import EVIDENCE_COLUMNS, FeatureSet, FeatureSpec, Level, Pattern
from features.frames import (
    CATALOG_LIMITS,
    FEE_COLUMNS,
    INSTITUTION_COLUMNS,
    PERSON_COLUMNS,
    SETTLEMENT_COLUMNS,
    diagnosis_chapter,
)
from features.person import buildable
from features.registry import LEVEL_WORD, PREFIX, SignalGroup, registry
from settlements.dataset import Dataset
from settlements.lone import LoneSettlement
from settlements.schema import (
    CHRONIC_MED_TYPES,
    DRUG_CHARGE_ITEMS,
    EMERGENCY_MED_TYPES,
    INPATIENT_MED_TYPES,
    OUTPATIENT_MED_TYPES,
    PHARMACY_MED_TYPES,
    SUBSTANTIVE_CHARGE_ITEMS,
)

CHECK_LEVELS = (Level.VISIT, Level.PERSON)
"""The levels a check builds (what ``build`` equals ``build_features(..., levels=)`` for)."""

DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_EXAM_ITEMS = frozenset({"03", "04"})
_DRUG_LISTS = frozenset({"101", "102"})
_SEXES = frozenset({"1", "2"})

_SIGNAL_GROUPS: tuple[tuple[Callable[..., Any], tuple[str, ...]], ...] = (
    (
        bed_hanging.stay_signals,
        (
            "bh_empty_days",
            "bh_longest_empty_run",
            "bh_empty_run_flag",
            "bh_exam_share",
            "bh_drug_share",
            "bh_exam_heavy_flag",
        ),
    ),
    (bed_hanging.elsewhere_signals, ("bh_settlements_elsewhere", "bh_elsewhere_flag")),
    (bed_hanging.daily_cost_signals, ("bh_daily_cost_peer_ratio", "bh_cheap_long_stay_flag")),
    (split_billing.readmission_signals, ("sb_readmission_gap_days", "sb_split_admission_flag")),
    (split_billing.quota_signals, ("sb_prev_stay_quota_share", "sb_quota_discharge_flag")),
    (
        split_billing.outpatient_signals,
        ("sb_same_day_outpatient_settlements", "sb_split_outpatient_flag"),
    ),
    (
        split_billing.charging_signals,
        (
            "sb_bundle_conflicts",
            "sb_duplicate_components",
            "sb_over_daily_limit",
            "sb_split_charging_flag",
        ),
    ),
    (
        card_lending.restricted_item_signals,
        ("cl_restricted_item_mismatches", "cl_restricted_item_flag"),
    ),
    (
        card_lending.presence_signals,
        ("cl_overlapping_stays", "cl_overlapping_stay_flag", "cl_history_break"),
    ),
    (card_lending.death_signals, ("cl_days_after_death", "cl_after_death_flag")),
    (card_lending.travel_signals, ("cl_travel_speed_kmh", "cl_impossible_travel_flag")),
    (card_lending.frequency_signals, ("cl_frequency_jump", "cl_frequency_jump_flag")),
    (
        card_lending.card_burst_visit_signals,
        ("cl_burst_window_persons", "cl_card_burst_visit_flag"),
    ),
    (
        over_prescription.supply_signals,
        ("op_supply_over_limit_lines", "op_supply_limit_ratio", "op_supply_over_limit_flag"),
    ),
    (
        over_prescription.daily_quantity_signals,
        ("op_daily_quantity_over_limit_lines", "op_daily_quantity_flag"),
    ),
    (over_prescription.refill_signals, ("op_early_refills", "op_early_refill_flag")),
    (over_prescription.stockpile_signals, ("op_stockpile_ratio", "op_stockpile_flag")),
)
"""The visit and person signal groups this module computes, in registry order."""


class _UncoveredError(Exception):
    """The input has a shape the fast path does not compute: build_features does."""


@dataclass(frozen=True)
class _Layout:
    """What one input shape (which optional tables, columns and settings exist) builds:
    the specs and skipped signals of the ``FeatureSet`` and each frame's columns."""

    specs: tuple[FeatureSpec, ...]
    skipped: tuple[tuple[str, str], ...]
    built: frozenset[str]
    visit: _FrameLayout
    person: _FrameLayout


@dataclass(frozen=True)
class _FrameLayout:
    """Columns of one level's frame by kind, with their positions (for its blocks)."""

    columns: pd.Index
    numbers: tuple[str, ...]
    flags: tuple[str, ...]
    dates: tuple[str, ...]
    texts: tuple[str, ...]
    placements: tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]

    @classmethod
    def of(cls, kinds: list[tuple[str, str]]) -> _FrameLayout:
        names = [n for n, _ in kinds]
        at = {n: i for i, n in enumerate(names)}

        def pick(kind: str) -> tuple[str, ...]:
            return tuple(n for n, k in kinds if k == kind)

        numbers, flags, dates, texts = pick("number"), pick("flag"), pick("date"), pick("text")
        return cls(
            columns=pd.Index(names),
            numbers=numbers,
            flags=flags,
            dates=dates,
            texts=texts,
            placements=(
                np.array([at[n] for n in numbers], dtype=np.intp),
                np.array([at[n] for n in flags], dtype=np.intp),
                np.array([at[n] for n in dates], dtype=np.intp),
                tuple(np.array([at[n]], dtype=np.intp) for n in texts),
            ),
        )

    def frame(self, values: dict[str, Any], subject_id: str) -> pd.DataFrame:
        """The one-row frame of ``values``, indexed by ``subject_id`` (as ``subject_id``)."""
        blocks: list[tuple[Any, np.ndarray]] = []
        pn, pf, pd_, pt = self.placements
        if self.numbers:
            nums = np.array([[values[n]] for n in self.numbers], dtype="float64")
            blocks.append((nums, pn))
        if self.flags:
            blocks.append((np.array([[values[n]] for n in self.flags], dtype=bool), pf))
        if self.dates:
            ns = np.array([[values[n]] for n in self.dates], dtype=np.int64)
            blocks.append((ns.view("datetime64[ns]"), pd_))
        for name, place in zip(self.texts, pt, strict=True):
            blocks.append((_strings([values[name]]), place))
        index = pd.Index(_strings([subject_id]), name="subject_id", copy=False)
        return create_dataframe_from_blocks(blocks, index=index, columns=self.columns)


class _Line(NamedTuple):
    """One fee line of the settlement's visit, typed as ``features.frames`` types it."""

    setl_id: str
    feedetl_sn: str
    day: int
    """Day of ``fee_ocur_time`` (nanoseconds since the epoch, at midnight)."""
    item: str
    chrg: str | None
    cnt: float
    amt: float
    doctor: str | None
    prd_days: float
    is_bed: bool
    is_care: bool
    is_exam: bool
    is_drug: bool
    limits: dict[str, Any]
    """The item's catalogue limits (``lmt_gend`` ... ``bundle_code``; ``None``/NaN when none)."""


@dataclass(frozen=True)
class _Visit:
    """The lone settlement as one visit, with its person's and institution's attributes."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    inst: str
    med_type: str
    begin: int
    end: int
    setl_time: int
    medfee: float
    fund: float
    is_refund: bool
    chapter: str
    gend: str | None
    brdy: int | None
    insuplc: str | None
    dead: int | None
    hosp_lv: str
    lines: tuple[_Line, ...]

    @property
    def is_stay(self) -> bool:
        return self.med_type in INPATIENT_MED_TYPES

    @property
    def stay_days(self) -> float:
        return max(_days(self.end, self.begin) + 1, 1.0)


class CheckSignals:
    """Visit and person signals of one settlement, built once per service.

    ``CheckSignals(settings, catalog)`` prepares the catalogue's item limits once;
    ``build(dataset)`` returns the ``FeatureSet`` of ``build_features(dataset, settings,
    check=False, levels=(Level.VISIT, Level.PERSON))``. The fast path covers a dataset of
    exactly one settlement with typed columns (as intake hands them over) whose catalogue
    is absent or the one given here (the same frame, or an equal one); every other input
    is delegated to ``build_features``, without its per-call "signals skipped" warning
    (the list is in ``FeatureSet.skipped``).
    """

    def __init__(
        self, settings: FeatureSettings | None = None, catalog: pd.DataFrame | None = None
    ) -> None:
        self.settings = settings or FeatureSettings()
        self.catalog = catalog
        self._limit_columns: tuple[str, ...] = ()
        self._limits: dict[str, dict[str, Any]] = {}
        self._no_limits: dict[str, Any] = {}
        if catalog is not None and len(catalog):
            self._limit_columns, self._limits = _catalog_limits(catalog)
            self._no_limits = {c: _missing_limit(c) for c in self._limit_columns}
        self._groups = _check_groups()
        self._needs = sorted(
            {n for g in self._groups or () for n in g.needs if not n.startswith("setting:")}
        )
        self.covered = self._groups is not None and _lone_rules_hold(self.settings)
        """Whether the fast path applies at all (the registry and settings are the ones
        this module knows); when not, ``build`` always delegates."""
        self._layouts: dict[tuple[bool, ...], _Layout] = {}

    def build(self, dataset: Dataset) -> FeatureSet:
        """The visit and person ``FeatureSet`` of ``dataset`` (see the class)."""
        lone = self.build_lone(dataset)
        if lone is not None:
            return lone
        return build_features(
            dataset, self.settings, check=False, levels=CHECK_LEVELS, warn_skipped=False
        )

    def build_lone(self, dataset: Dataset) -> FeatureSet | None:
        """The fast path alone: the ``FeatureSet`` of a covered lone settlement, ``None``
        for any other input (which ``build`` hands to ``build_features``)."""
        if not self.covered:
            return None
        try:
            return self._build(dataset)
        except _UncoveredError:
            return None

    # -- the fast path ------------------------------------------------------------------

    def build_settlement(self, lone: LoneSettlement) -> FeatureSet | None:
        """The fast path on Python values: the ``FeatureSet`` of ``build(dataset)`` for the
        dataset of ``lone``'s rows with this builder's catalogue (the service's checks,
        which never build frames of the request), ``None`` when the fast path does not
        cover it (then build the frames and call ``build``)."""
        if not self.covered or (self.catalog is not None and not len(self.catalog)):
            return None
        try:
            catalog = self.catalog
            with_catalog = catalog is not None

            def columns(table: str) -> Collection[str] | None:
                if table == "catalog":
                    return None if catalog is None else catalog.columns
                return lone.columns.get(table)

            layout = self._layout_of(columns)
            return self._assemble(self._visit_of(lone, with_catalog), layout, with_catalog)
        except _UncoveredError:
            return None

    def _build(self, dataset: Dataset) -> FeatureSet:
        with_catalog = self._catalog_known(dataset.catalog)
        layout = self._layout(dataset)
        visit = self._visit(dataset, with_catalog)
        return self._assemble(visit, layout, with_catalog)

    def _assemble(self, visit: _Visit, layout: _Layout, with_catalog: bool) -> FeatureSet:
        values, lines = self._signals(visit, layout, with_catalog)
        flags = {p: any(values[n] for n in _visit_flags(p) if n in layout.built) for p in Pattern}
        has_drug = _has_drug(visit)
        vctx: dict[str, Any] = {"ctx_fund_pay": visit.fund}
        eligible = {"is_stay": visit.is_stay, "aux_has_drug": not visit.is_stay and has_drug}
        for p in Pattern:
            column = VISIT_ELIGIBLE.get(p)
            vctx[f"ctx_amount_{p.value}"] = (
                visit.fund if column is None or eligible[column] else 0.0
            )
        day = _midnight(visit.setl_time)
        vctx["ctx_peer_group"] = visit.chapter + "|" + visit.hosp_lv
        vctx["ctx_first_date"] = day
        vctx["ctx_last_date"] = day
        vctx["ctx_person"] = visit.psn_no
        vctx["ctx_institution"] = visit.inst

        person: dict[str, Any] = dict(values)
        pctx: dict[str, Any] = {"ctx_fund_pay": 0.0 + visit.fund}
        for p in ROLLUP_PATTERNS:
            stem = f"{PREFIX[p]}_{LEVEL_WORD[Level.PERSON]}"
            amount = 0.0 + (visit.fund if flags[p] else 0.0)
            person[f"{stem}_flagged_visits"] = 1.0 if flags[p] else 0.0
            person[f"{stem}_flagged_share"] = 1.0 if flags[p] else 0.0
            person[f"{stem}_amount_at_risk"] = amount
            pctx[f"ctx_amount_{p.value}"] = amount
        pctx["ctx_amount_other"] = 0.0
        pctx["ctx_first_date"] = day
        pctx["ctx_last_date"] = day
        pctx["ctx_peer_group"] = visit.insuplc if visit.insuplc is not None else "?"
        return FeatureSet(
            frames={
                Level.VISIT: layout.visit.frame({**values, **vctx}, visit.mdtrt_id),
                Level.PERSON: layout.person.frame({**person, **pctx}, visit.psn_no),
            },
            evidence=_evidence_frame(lines),
            specs=layout.specs,
            skipped=layout.skipped,
        )

    def _catalog_known(self, catalog: pd.DataFrame | None) -> bool:
        """Whether the dataset's catalogue is absent (False) or this one's (True)."""
        if catalog is None:
            return False
        if self.catalog is None or not len(catalog):
            raise _UncoveredError
        if catalog is self.catalog:
            return True
        # an equal copy (e.g. the service's catalogue validated again with each call) is
        # the same catalogue; the row labels do not matter, the order of the rows does
        same = list(catalog.dtypes) == list(self.catalog.dtypes) and len(catalog) == len(
            self.catalog
        )
        if same and catalog.reset_index(drop=True).equals(self.catalog.reset_index(drop=True)):
            return True
        raise _UncoveredError

    def _layout(self, dataset: Dataset) -> _Layout:
        """Specs, skipped signals and frame columns for the dataset's optional data."""
        tables = {
            "catalog": dataset.catalog,
            "persons": dataset.persons,
            "institutions": dataset.institutions,
            "fee_details": dataset.fee_details,
            "settlements": dataset.settlements,
        }

        def columns(table: str) -> Collection[str] | None:
            frame = tables.get(table)
            return None if frame is None else frame.columns

        return self._layout_of(columns)

    def _layout_of(self, columns: Callable[[str], Collection[str] | None]) -> _Layout:
        """The layout of tables with these ``columns`` (``None``: no such table)."""

        def has(need: str) -> bool:
            table, _, column = need.partition(".")
            present = columns(table)
            if present is None:
                return False
            return not column or column in present

        assert self._groups is not None
        key = tuple(has(n) for n in self._needs)
        if key not in self._layouts:
            self._layouts[key] = _make_layout(self._groups, has, self.settings)
        return self._layouts[key]

    def _visit(self, dataset: Dataset, with_catalog: bool) -> _Visit:
        setl = dataset.settlements
        if len(setl) != 1:
            raise _UncoveredError
        _require(setl, SETTLEMENT_COLUMNS)
        _require(dataset.fee_details, FEE_COLUMNS)
        _require(dataset.persons, PERSON_COLUMNS)
        _require(dataset.institutions, INSTITUTION_COLUMNS)
        ids = {c: _codes(setl, c)[0] for c in ("setl_id", "mdtrt_id", "psn_no", "fixmedins_code")}
        person: dict[str, Any] = {}
        persons = dataset.persons
        at = _first(_codes(persons, "psn_no"), ids["psn_no"])
        if at is not None:
            person = {
                "gend": _codes(persons, "gend")[at],
                "brdy": _instants(persons, "brdy")[at],
                "insuplc": _codes(persons, "insuplc_admdvs")[at],
                "dead": _instants(persons, "dead_date")[at] if "dead_date" in persons else None,
            }
        inst = dataset.institutions
        at = _first(_codes(inst, "fixmedins_code"), ids["fixmedins_code"])
        hosp_lv = None
        if at is not None and "hosp_lv" in inst:
            hosp_lv = _codes(inst, "hosp_lv")[at]
        return _make_visit(
            ids,
            med_type=_codes(setl, "med_type")[0],
            dise=_codes(setl, "dise_codg")[0],
            instants=[_instants(setl, c)[0] for c in ("begndate", "enddate", "setl_time")],
            medfee=_numbers(setl, "medfee_sumamt")[0],
            fund=_numbers(setl, "fund_pay_sumamt")[0],
            refund="refd_setl_flag" in setl and _codes(setl, "refd_setl_flag")[0] == "1",
            person=person,
            hosp_lv=hosp_lv,
            lines=self._lines(dataset.fee_details, _required(ids["mdtrt_id"]), with_catalog),
        )

    def _visit_of(self, lone: LoneSettlement, with_catalog: bool) -> _Visit:
        """``_visit`` of the dataset of ``lone``'s rows, read from the values directly."""
        for table, needed in (
            ("settlements", SETTLEMENT_COLUMNS),
            ("fee_details", FEE_COLUMNS),
            ("persons", PERSON_COLUMNS),
            ("institutions", INSTITUTION_COLUMNS),
        ):
            if not set(needed) <= lone.columns.get(table, frozenset()):
                raise _UncoveredError
        setl, row, inst = lone.settlement, lone.person, lone.institution
        ids = {c: _text(setl.get(c)) for c in ("setl_id", "mdtrt_id", "psn_no", "fixmedins_code")}
        person: dict[str, Any] = {}
        if _text(row.get("psn_no")) == ids["psn_no"]:
            person = {
                "gend": _text(row.get("gend")),
                "brdy": _instant(row.get("brdy")),
                "insuplc": _text(row.get("insuplc_admdvs")),
                "dead": _instant(row.get("dead_date"))
                if "dead_date" in lone.columns["persons"]
                else None,
            }
        hosp_lv = None
        own = _text(inst.get("fixmedins_code")) == ids["fixmedins_code"]
        if own and "hosp_lv" in lone.columns["institutions"]:
            hosp_lv = _text(inst.get("hosp_lv"))
        return _make_visit(
            ids,
            med_type=_text(setl.get("med_type")),
            dise=_text(setl.get("dise_codg")),
            instants=[_instant(setl.get(c)) for c in ("begndate", "enddate", "setl_time")],
            medfee=_number(setl.get("medfee_sumamt")),
            fund=_number(setl.get("fund_pay_sumamt")),
            refund="refd_setl_flag" in lone.columns["settlements"]
            and _text(setl.get("refd_setl_flag")) == "1",
            person=person,
            hosp_lv=hosp_lv,
            lines=self._lines_of(lone, _required(ids["mdtrt_id"]), with_catalog),
        )

    def _lines_of(
        self, lone: LoneSettlement, mdtrt_id: str, with_catalog: bool
    ) -> tuple[_Line, ...]:
        """``_lines`` of the rows of ``lone.fee_lines``."""
        has_days = "prd_days" in lone.columns["fee_details"]
        return tuple(
            self._line(
                setl_id=_text(fee.get("setl_id")),
                sn=_text(fee.get("feedetl_sn")),
                when=_instant(fee.get("fee_ocur_time")),
                code=_text(fee.get("hilist_code")),
                list_type=_text(fee.get("list_type")),
                chrg=_text(fee.get("med_chrgitm_type")),
                cnt=_number(fee.get("cnt")),
                amt=_number(fee.get("det_item_fee_sumamt")),
                doctor=_text(fee.get("bilg_dr_codg")),
                prd=_number(fee.get("prd_days")) if has_days else math.nan,
                with_catalog=with_catalog,
            )
            for fee in lone.fee_lines
            if _text(fee.get("mdtrt_id")) == mdtrt_id
        )

    def _lines(self, fees: pd.DataFrame, mdtrt_id: str, with_catalog: bool) -> tuple[_Line, ...]:
        visit_of = _codes(fees, "mdtrt_id")
        keep = [i for i, m in enumerate(visit_of) if m == mdtrt_id]
        if not keep:
            return ()
        if len(keep) != len(visit_of):
            fees = fees.iloc[keep]
        columns = [
            _codes(fees, "setl_id"),
            _codes(fees, "feedetl_sn"),
            _instants(fees, "fee_ocur_time"),
            _codes(fees, "hilist_code"),
            _codes(fees, "list_type"),
            _codes(fees, "med_chrgitm_type"),
            _numbers(fees, "cnt"),
            _numbers(fees, "det_item_fee_sumamt"),
            _codes(fees, "bilg_dr_codg"),
            _numbers(fees, "prd_days") if "prd_days" in fees else [math.nan] * len(keep),
        ]
        return tuple(
            self._line(*values, with_catalog=with_catalog) for values in zip(*columns, strict=True)
        )

    def _line(
        self,
        setl_id: str | None,
        sn: str | None,
        when: int | None,
        code: str | None,
        list_type: str | None,
        chrg: str | None,
        cnt: float,
        amt: float,
        doctor: str | None,
        prd: float,
        *,
        with_catalog: bool,
    ) -> _Line:
        """One fee line of the visit, classified, with its catalogue limits."""
        if math.isnan(cnt) or math.isnan(amt):
            raise _UncoveredError
        item = _required(code)
        return _Line(
            setl_id=_required(setl_id),
            feedetl_sn=_required(sn),
            day=_midnight(_required(when)),
            item=item,
            chrg=chrg,
            cnt=cnt,
            amt=amt,
            doctor=doctor,
            prd_days=prd,
            is_bed=chrg == "01",
            is_care=chrg in SUBSTANTIVE_CHARGE_ITEMS,
            is_exam=chrg in _EXAM_ITEMS,
            is_drug=chrg in DRUG_CHARGE_ITEMS or list_type in _DRUG_LISTS,
            limits=self._limits.get(item, self._no_limits) if with_catalog else {},
        )

    def _signals(
        self, visit: _Visit, layout: _Layout, with_catalog: bool
    ) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
        """Every visit and person signal value of the lone visit, and its evidence lines
        (subject type, subject id, feature, pattern, explanation, evidence) in the order
        ``build_features`` writes them.

        A lone visit has no other visit of its person: no settlement elsewhere during a
        stay, no previous stay (gap and quota share NaN), no overlap, no earlier point to
        travel from (speed 0), fewer prior visits than ``history_min_prior_visits`` (no
        history break), one visit in its busiest month (frequency jump 1), no earlier fill
        of a drug (no early refill, no stockpile), one person in its card-burst window,
        and one settlement on its day (none for a refund, which counts -1). The flags of
        these stay down under the settings' bounds (``_lone_rules_hold``).
        """
        s = self.settings
        values: dict[str, Any] = {}
        lines: list[tuple[str, ...]] = []
        built = layout.built
        columns = self._limit_columns if with_catalog else ()
        _stay(visit, s, values, lines)
        values["bh_settlements_elsewhere"] = 0.0
        values["bh_elsewhere_flag"] = False
        values["sb_readmission_gap_days"] = math.nan
        values["sb_split_admission_flag"] = False
        values["sb_prev_stay_quota_share"] = math.nan
        values["sb_quota_discharge_flag"] = False
        outpatient = visit.med_type in OUTPATIENT_MED_TYPES - EMERGENCY_MED_TYPES
        values["sb_same_day_outpatient_settlements"] = (
            1.0 if outpatient and not visit.is_refund else 0.0
        )
        values["sb_split_outpatient_flag"] = False
        if "sb_split_charging_flag" in built:
            _charging(visit, s, columns, values, lines)
        if "cl_restricted_item_flag" in built:
            _restricted(visit, s, columns, values, lines)
        values["cl_overlapping_stays"] = 0.0
        values["cl_overlapping_stay_flag"] = False
        values["cl_history_break"] = 0.0
        if "cl_after_death_flag" in built:
            _death(visit, values, lines)
        values["cl_travel_speed_kmh"] = 0.0
        values["cl_impossible_travel_flag"] = False
        values["cl_frequency_jump"] = 1.0
        values["cl_frequency_jump_flag"] = False
        if "op_supply_over_limit_flag" in built:
            _supply(visit, s, columns, values, lines)
        if "op_daily_quantity_flag" in built:
            _daily_quantity(visit, s, values, lines)
        values["op_early_refills"] = 0.0
        values["op_early_refill_flag"] = False
        values["op_stockpile_ratio"] = 0.0
        values["op_stockpile_flag"] = False
        _daily_cost(visit, s, values, lines)
        values["cl_burst_window_persons"] = 1.0
        values["cl_card_burst_visit_flag"] = False
        return values, lines


# -- signals of the lone visit ---------------------------------------------------------------

Evidence = list[tuple[str, ...]]


def _visit_line(
    visit: _Visit, feature: str, pattern: Pattern, text: str, ids: str
) -> tuple[str, ...]:
    return (Level.VISIT.value, visit.mdtrt_id, feature, pattern.value, text, ids)


def _stay_text(visit: _Visit) -> str:
    return f"Stay {visit.mdtrt_id} at {visit.inst} ({_day(visit.begin)} to {_day(visit.end)})"


def _stay(visit: _Visit, s: FeatureSettings, values: dict[str, Any], ev: Evidence) -> None:
    """``bed_hanging.stay_signals``: empty bed days, their longest run, exam and drug shares."""
    n_empty = longest = 0.0
    exam_share = drug_share = math.nan
    empty: list[int] = []
    run_start = 0
    if visit.is_stay:
        bed: dict[int, bool] = {}
        care: dict[int, bool] = {}
        total = exam = drug = 0.0
        for line in visit.lines:
            if visit.begin <= line.day <= visit.end:
                bed[line.day] = bed.get(line.day, False) or line.is_bed
                care[line.day] = care.get(line.day, False) or line.is_care
            total += line.amt
            exam += line.amt * float(line.is_exam)
            drug += line.amt * float(line.is_drug)
        empty = sorted(d for d in bed if bed[d] and not care[d])
        n_empty = float(len(empty))
        start, prev = 0, None
        for i, d in enumerate(empty):
            if prev is None or d - prev != DAY_NS:
                start = i
            if i - start + 1 > longest:
                longest, run_start = float(i - start + 1), empty[start]
            prev = d
        if total > 0:
            exam_share, drug_share = _div(exam, total), _div(drug, total)
    values["bh_empty_days"] = n_empty
    values["bh_longest_empty_run"] = longest
    values["bh_empty_run_flag"] = longest >= s.empty_day_min_run
    values["bh_exam_share"] = exam_share
    values["bh_drug_share"] = drug_share
    heavy = (0.0 if math.isnan(exam_share) else exam_share) >= s.exam_share_threshold
    values["bh_exam_heavy_flag"] = heavy
    p = Pattern.BED_HANGING
    if empty and longest >= s.empty_day_min_run:
        dates = _listing([_day(d) for d in empty], s.evidence_max_items)
        run_end = run_start + (int(longest) - 1) * DAY_NS
        text = (
            f"{_stay_text(visit)}: {_num(n_empty)} day(s) with a bed fee and no treatment, "
            f"nursing, drug or exam item ({dates}); longest run {_num(longest)} days from "
            f"{_day(run_start)} to {_day(run_end)}"
        )
        ids = f"mdtrt_id={visit.mdtrt_id}; days={dates}"
        ev.append(_visit_line(visit, "bh_empty_run_flag", p, text, ids))
    if heavy:
        text = (
            f"{_stay_text(visit)}: examinations and lab tests are {_num(exam_share * 100)}% "
            f"of the bill (threshold {s.exam_share_threshold:.0%})"
        )
        ev.append(_visit_line(visit, "bh_exam_heavy_flag", p, text, f"mdtrt_id={visit.mdtrt_id}"))


def _charging(
    visit: _Visit,
    s: FeatureSettings,
    columns: tuple[str, ...],
    values: dict[str, Any],
    ev: Evidence,
) -> None:
    """``split_billing.charging_signals``: components with their bundle or twice a day,
    service items above their daily limit, within the visit."""
    conflicts = dups = over = 0.0
    found: list[tuple[str, str]] = []
    comps = [ln for ln in visit.lines if ln.limits.get("bundle_code") is not None]
    if "bundle_code" in columns and comps:
        present = {(ln.day, ln.item) for ln in visit.lines}
        both: dict[tuple[int, str], _Line] = {}
        times: dict[tuple[int, str], int] = {}
        first: dict[tuple[int, str], _Line] = {}
        for ln in comps:
            key = (ln.day, ln.item)
            if (ln.day, ln.limits["bundle_code"]) in present:
                both.setdefault(key, ln)
            times[key] = times.get(key, 0) + 1
            first.setdefault(key, ln)
        conflicts = float(len(both))
        if both:
            items = [
                f"component {ln.item} charged with its bundle {ln.limits['bundle_code']} "
                f"on {_day(ln.day)}"
                for ln in both.values()
            ]
            found.append(("sb_bundle_conflicts", _listing(items, s.evidence_max_items, "; ")))
        twice = [(key, ln) for key, ln in first.items() if times[key] > 1]
        dups = float(len(twice))
        if twice:
            items = [
                f"component {ln.item} charged {_num(float(times[key]))} times on {_day(ln.day)}"
                for key, ln in twice
            ]
            found.append(("sb_duplicate_components", _listing(items, s.evidence_max_items, "; ")))
    limited = [ln for ln in visit.lines if not math.isnan(ln.limits.get("max_daily_cnt", math.nan))]
    if "max_daily_cnt" in columns and limited:
        sums: dict[tuple[int, str], _Sum] = {}
        head: dict[tuple[int, str], _Line] = {}
        for ln in limited:
            if ln.is_drug:
                continue
            key = (ln.day, ln.item)
            sums.setdefault(key, _Sum()).add(ln.cnt)
            head.setdefault(key, ln)
        above = [
            (ln, sums[key].total)
            for key, ln in head.items()
            if sums[key].total > ln.limits["max_daily_cnt"]
        ]
        over = float(len(above))
        if above:
            items = [
                f"item {ln.item} charged {_num(cnt, 1)} units on {_day(ln.day)} "
                f"(daily limit {_num(ln.limits['max_daily_cnt'], 1)})"
                for ln, cnt in above
            ]
            found.append(("sb_over_daily_limit", _listing(items, s.evidence_max_items, "; ")))
    values["sb_bundle_conflicts"] = conflicts
    values["sb_duplicate_components"] = dups
    values["sb_over_daily_limit"] = over
    values["sb_split_charging_flag"] = (conflicts + dups + over) > 0
    for detail, listed in found:
        text = f"Visit {visit.mdtrt_id} at {visit.inst}: {listed}"
        ids = f"mdtrt_id={visit.mdtrt_id}; check={detail}"
        ev.append(_visit_line(visit, "sb_split_charging_flag", Pattern.SPLIT_BILLING, text, ids))


def _restricted(
    visit: _Visit,
    s: FeatureSettings,
    columns: tuple[str, ...],
    values: dict[str, Any],
    ev: Evidence,
) -> None:
    """``card_lending.restricted_item_signals``: sex- or age-restricted items billed to a
    person outside the restriction."""
    cols = [c for c in ("lmt_gend", "lmt_age_min", "lmt_age_max") if c in columns]
    hits: list[tuple[_Line, str]] = []
    for ln in visit.lines if cols else ():
        lim = ln.limits
        lg = lim.get("lmt_gend")
        lo = lim.get("lmt_age_min", math.nan)
        hi = lim.get("lmt_age_max", math.nan)
        if lg is None and math.isnan(lo) and math.isnan(hi):
            continue
        sex_bad = lg in _SEXES and visit.gend in _SEXES and lg != visit.gend
        age = math.nan
        if visit.brdy is not None:
            age = float(ln.day - visit.brdy) / DAY_NS / 365.25
        age_bad = age < lo or age >= hi + 1
        if sex_bad:
            word = {"1": "men", "2": "women"}[lg]  # type: ignore[index]
            who = {"1": "a man", "2": "a woman"}[visit.gend]  # type: ignore[index]
            hits.append((ln, f"only for {word}, billed to {who}"))
        elif age_bad:
            lo_text = _num(0.0 if math.isnan(lo) else lo)
            hi_text = _num(150.0 if math.isnan(hi) else hi)
            hits.append((ln, f"for ages {lo_text}–{hi_text}, billed to a person aged {_num(age)}"))
    values["cl_restricted_item_mismatches"] = float(len(hits))
    values["cl_restricted_item_flag"] = len(hits) > 0
    if hits:
        items = [f"item {ln.item} on {_day(ln.day)} ({why})" for ln, why in hits]
        listed = _listing(items, s.evidence_max_items, "; ")
        ids = _listing([f"{ln.setl_id}/{ln.feedetl_sn}" for ln, _ in hits], 50, ",")
        text = f"Visit {visit.mdtrt_id} at {visit.inst}: {listed}"
        idt = f"mdtrt_id={visit.mdtrt_id}; fee lines={ids}"
        ev.append(_visit_line(visit, "cl_restricted_item_flag", Pattern.CARD_LENDING, text, idt))


def _death(visit: _Visit, values: dict[str, Any], ev: Evidence) -> None:
    """``card_lending.death_signals``: a visit beginning after the person's death date."""
    after = 0.0
    if visit.dead is not None and visit.begin > visit.dead:
        after = _days(visit.begin, visit.dead)
    values["cl_days_after_death"] = after
    values["cl_after_death_flag"] = after > 0
    if after > 0:
        assert visit.dead is not None
        text = (
            f"Visit {visit.mdtrt_id} at {visit.inst} on {_day(visit.begin)} (settlement "
            f"{visit.setl_id}), {_num(after)} day(s) after the person's death on "
            f"{_day(visit.dead)}"
        )
        ids = f"mdtrt_id={visit.mdtrt_id}; setl_id={visit.setl_id}"
        ev.append(_visit_line(visit, "cl_after_death_flag", Pattern.CARD_LENDING, text, ids))


def _drug_lines(visit: _Visit) -> list[_Line]:
    """Drug lines stating a supply, of an outpatient or pharmacy visit."""
    if visit.is_stay:
        return []
    return [ln for ln in visit.lines if ln.is_drug and ln.prd_days > 0]


def _supply(
    visit: _Visit,
    s: FeatureSettings,
    columns: tuple[str, ...],
    values: dict[str, Any],
    ev: Evidence,
) -> None:
    """``over_prescription.supply_signals``: days supplied above the visit's limit (a lone
    chronic visit has no earlier chronic visit, so it is never the stable 12-week case)."""
    med = visit.med_type
    if med in EMERGENCY_MED_TYPES:
        limit, why = float(s.emergency_supply_days), "emergency prescription"
    elif med in CHRONIC_MED_TYPES:
        limit, why = float(s.chronic_supply_days), "chronic outpatient"
    elif med in PHARMACY_MED_TYPES:
        limit, why = float(s.pharmacy_supply_days), "pharmacy purchase"
    else:
        limit, why = float(s.ordinary_supply_days), "ordinary outpatient prescription"
    over: list[tuple[_Line, float, str]] = []
    worst = 0.0
    for ln in _drug_lines(visit):
        lim, reason = limit, why
        if "max_prd_days" in columns:
            item_max = ln.limits["max_prd_days"]
            if item_max < lim:
                lim, reason = item_max, "catalogue limit of the item"
        if ln.prd_days - lim > 0:
            ratio = _div(ln.prd_days, lim)
            worst = ratio if not over else max(worst, ratio)
            over.append((ln, lim, reason))
    values["op_supply_over_limit_lines"] = float(len(over))
    values["op_supply_limit_ratio"] = worst
    values["op_supply_over_limit_flag"] = len(over) > 0
    if over:
        items = [
            f"item {ln.item} {_num(ln.prd_days)} days supplied, limit {_num(lim)} ({reason})"
            for ln, lim, reason in over[: s.evidence_max_items]
        ]
        listed = _listing(items, s.evidence_max_items, "; ", total=len(over))
        ev.append(_drug_evidence(visit, "op_supply_over_limit_flag", listed))


def _daily_quantity(
    visit: _Visit, s: FeatureSettings, values: dict[str, Any], ev: Evidence
) -> None:
    """``over_prescription.daily_quantity_signals``: units per day above the item's limit."""
    over: list[tuple[_Line, float]] = []
    for ln in _drug_lines(visit):
        limit = ln.limits["max_daily_cnt"]
        if math.isnan(limit):
            continue
        per_day = ln.cnt / ln.prd_days
        if per_day > limit:
            over.append((ln, per_day))
    values["op_daily_quantity_over_limit_lines"] = float(len(over))
    values["op_daily_quantity_flag"] = len(over) > 0
    if over:
        items = [
            f"item {ln.item} {_num(per_day, 1)} units/day ({_num(ln.cnt, 1)} over "
            f"{_num(ln.prd_days)} days), limit {_num(ln.limits['max_daily_cnt'], 1)}"
            for ln, per_day in over
        ]
        listed = _listing(items, s.evidence_max_items, "; ")
        ev.append(_drug_evidence(visit, "op_daily_quantity_flag", listed))


def _drug_evidence(visit: _Visit, feature: str, listed: str) -> tuple[str, ...]:
    text = f"Visit {visit.mdtrt_id} at {visit.inst} on {_day(visit.begin)}: {listed}"
    ids = f"mdtrt_id={visit.mdtrt_id}; setl_id={visit.setl_id}"
    return _visit_line(visit, feature, Pattern.OVER_PRESCRIPTION, text, ids)


def _daily_cost(visit: _Visit, s: FeatureSettings, values: dict[str, Any], ev: Evidence) -> None:
    """``bed_hanging.daily_cost_signals``: a lone stay is its own peer median, so its ratio
    is 1 (missing when its daily cost is not positive)."""
    ratio = daily = math.nan
    cheap = False
    if visit.is_stay:
        daily = _div(visit.medfee, visit.stay_days)
        ratio = _div(daily, daily) if daily > 0 else math.nan
        cheap = ratio <= s.cheap_stay_cost_ratio and visit.stay_days >= s.long_stay_min_days
    values["bh_daily_cost_peer_ratio"] = ratio
    values["bh_cheap_long_stay_flag"] = cheap
    if cheap:
        text = (
            f"{_stay_text(visit)}: {_num(visit.stay_days)} days at {_num(daily, 2)} yuan/day, "
            f"{_num(ratio, 2)}× the median of peer stays (diagnosis chapter {visit.chapter}, "
            f"hospital level {visit.hosp_lv})"
        )
        ev.append(
            _visit_line(
                visit,
                "bh_cheap_long_stay_flag",
                Pattern.BED_HANGING,
                text,
                f"mdtrt_id={visit.mdtrt_id}",
            )
        )


def _has_drug(visit: _Visit) -> bool:
    """Whether a doctor's drug amount on the visit is not zero (``features.build.population``
    reads it from the doctor-visit rows: grouped sums per ordering doctor)."""
    sums: dict[str, _Sum] = {}
    for ln in visit.lines:
        if ln.doctor is not None:
            sums.setdefault(ln.doctor, _Sum()).add(ln.amt * float(ln.is_drug))
    return any(total.total != 0 for total in sums.values())


# -- the shape of the output -----------------------------------------------------------------


def _check_groups() -> tuple[SignalGroup, ...] | None:
    """The registry's visit and person groups in the order ``build_features`` runs them
    (the per-person stage, then the population stage), when they are the ones this module
    computes (same functions, same signals); ``None`` otherwise."""
    person = [g for g in registry.groups if g.compute is not None and g.stage == "person"]
    population = [
        g
        for g in registry.groups
        if g.compute is not None
        and g.stage in ("population", "dataset")
        and g.specs[0].level in CHECK_LEVELS
    ]
    groups = (*person, *population)
    found = tuple((g.compute, tuple(sp.name for sp in g.specs)) for g in groups)
    expected = tuple(k for k in _SIGNAL_GROUPS if k[0] not in _POPULATION) + tuple(
        k for k in _SIGNAL_GROUPS if k[0] in _POPULATION
    )
    if found != expected or any(g.needs for g in population):
        return None
    return groups


_POPULATION = (bed_hanging.daily_cost_signals, card_lending.card_burst_visit_signals)


def _lone_rules_hold(s: FeatureSettings) -> bool:
    """Whether, under these settings, no cross-visit flag can fire on a lone visit (the
    settings' own bounds guarantee it; a hand-built settings object might not)."""
    return (
        s.elsewhere_min_settlements >= 1
        and s.split_outpatient_min_settlements >= 2
        and s.history_min_prior_visits >= 1
        and s.max_travel_speed_kmh >= 0
        and (s.frequency_jump_ratio > 1 or s.frequency_jump_min_visits > 1)
        and (s.card_burst_min_persons > 1 or s.card_burst_ratio > 1)
        and s.stockpile_supply_ratio >= 0
    )


def _make_layout(
    groups: tuple[SignalGroup, ...], has: Callable[[str], bool], s: FeatureSettings
) -> _Layout:
    """Skipped signals and specs as ``features.person`` and ``features.build`` list them."""
    _, skipped = buildable(groups, has, s)
    gone = {n for n, _ in skipped}
    specs = tuple(sp for sp in registry.specs() if sp.level in CHECK_LEVELS and sp.name not in gone)
    built = frozenset(sp.name for sp in specs)
    visit: list[tuple[str, str]] = [(sp.name, sp.kind) for sp in specs if sp.level == Level.VISIT]
    visit += [("ctx_fund_pay", "number")]
    visit += [(f"ctx_amount_{p.value}", "number") for p in Pattern]
    visit += [("ctx_peer_group", "text"), ("ctx_first_date", "date"), ("ctx_last_date", "date")]
    visit += [("ctx_person", "text"), ("ctx_institution", "text")]
    person: list[tuple[str, str]] = [(sp.name, sp.kind) for sp in specs if sp.level == Level.PERSON]
    person += [("ctx_fund_pay", "number")]
    person += [(f"ctx_amount_{p.value}", "number") for p in ROLLUP_PATTERNS]
    person += [("ctx_amount_other", "number"), ("ctx_first_date", "date")]
    person += [("ctx_last_date", "date"), ("ctx_peer_group", "text")]
    return _Layout(
        specs=specs,
        skipped=tuple(skipped),
        built=built,
        visit=_FrameLayout.of(visit),
        person=_FrameLayout.of(person),
    )


@functools.cache
def _visit_flags(pattern: Pattern) -> tuple[str, ...]:
    return registry.visit_flags(pattern) if pattern in ROLLUP_PATTERNS else ()


def _evidence_frame(lines: list[tuple[str, ...]]) -> pd.DataFrame:
    """The evidence frame of ``features.build``: one line per (subject, feature), several
    findings of one flag joined with `` | `` and placed after the single ones."""
    if not lines:
        # most checks fire nothing; copy-on-write makes a shallow copy the caller's own
        return _no_evidence().copy(deep=False)
    keys = [ln[:4] for ln in lines]
    if len(set(keys)) != len(keys):
        counts: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for key, ln in zip(keys, lines, strict=True):
            counts.setdefault(key, []).append(ln)
        single = [ln for key, ln in zip(keys, lines, strict=True) if len(counts[key]) == 1]
        joined = [
            (*key, " | ".join(g[4] for g in group), " | ".join(g[5] for g in group))
            for key, group in counts.items()
            if len(group) > 1
        ]
        lines = single + joined
    blocks = [
        (_strings([ln[i] for ln in lines]), np.array([i], dtype=np.intp))
        for i in range(len(EVIDENCE_COLUMNS))
    ]
    return create_dataframe_from_blocks(
        blocks, index=pd.RangeIndex(len(lines)), columns=_EVIDENCE_INDEX
    )


_EVIDENCE_INDEX = pd.Index(list(EVIDENCE_COLUMNS))


@functools.cache
def _no_evidence() -> pd.DataFrame:
    """``build_features``' evidence frame without lines."""
    return empty_evidence().reset_index(drop=True)


# -- typed values of the input frames ---------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    if any(c not in frame.columns for c in columns):
        raise _UncoveredError  # build_features names the missing columns


def _column(frame: pd.DataFrame, column: str) -> Any:
    """The array of one column as the frame stores it.

    ``frame[column]`` builds a Series (index view, manager lookup) that costs tens of
    microseconds; a check reads about thirty columns, so the stored array is read directly
    when pandas offers it (``DataFrame._get_column_array``).
    """
    if column not in frame.columns:
        raise _UncoveredError
    at = frame.columns.get_loc(column)
    read = getattr(frame, "_get_column_array", None)
    if read is None or not isinstance(at, int):
        return frame[column].array
    return read(at)


def _codes(frame: pd.DataFrame, column: str) -> list[str | None]:
    """A code column's values (``None`` when missing); only string columns are covered."""
    values = _column(frame, column)
    if not isinstance(values.dtype, pd.StringDtype):
        raise _UncoveredError
    return [x if isinstance(x, str) else None for x in values.to_numpy(dtype=object).tolist()]


def _code(frame: pd.DataFrame, column: str) -> str:
    """The first value of a required code column."""
    code = _codes(frame, column)[0]
    if code is None:
        raise _UncoveredError
    return code


def _instants(frame: pd.DataFrame, column: str) -> list[int | None]:
    """A date(time) column as nanoseconds since the epoch (``None`` when missing)."""
    values = _column(frame, column)
    if values.dtype.kind != "M" or getattr(values.dtype, "tz", None) is not None:
        raise _UncoveredError
    ns = np.asarray(values).astype("datetime64[ns]").view(np.int64).tolist()
    return [None if x == _NAT else x for x in ns]


def _numbers(frame: pd.DataFrame, column: str) -> list[float]:
    """A number column as floats (NaN when missing); only numpy-typed columns are covered."""
    values = _column(frame, column)
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiu":
        raise _UncoveredError
    return values.astype("float64").tolist()


def _make_visit(
    ids: dict[str, str | None],
    *,
    med_type: str | None,
    dise: str | None,
    instants: list[int | None],
    medfee: float,
    fund: float,
    refund: bool,
    person: dict[str, Any],
    hosp_lv: str | None,
    lines: tuple[_Line, ...],
) -> _Visit:
    """The lone visit from the values either path read (``person`` empty when the
    settlement's person is not in the persons given)."""
    begin, end, setl_time = (_required(x) for x in instants)
    if math.isnan(medfee) or math.isnan(fund):
        raise _UncoveredError
    return _Visit(
        setl_id=_required(ids["setl_id"]),
        mdtrt_id=_required(ids["mdtrt_id"]),
        psn_no=_required(ids["psn_no"]),
        inst=_required(ids["fixmedins_code"]),
        med_type=_required(med_type),
        begin=_midnight(begin),
        end=_midnight(end),
        setl_time=setl_time,
        medfee=0.0 + medfee,
        fund=0.0 + fund,
        is_refund=refund,
        chapter=_chapter(dise),
        gend=person.get("gend"),
        brdy=person.get("brdy"),
        insuplc=person.get("insuplc"),
        dead=person.get("dead"),
        hosp_lv=hosp_lv if hosp_lv is not None else "?",
        lines=lines,
    )


def _required(value: Any) -> Any:
    """A value the fast path needs (``build_features`` reports its absence)."""
    if value is None:
        raise _UncoveredError
    return value


def _text(value: Any) -> str | None:
    """A code of a row (``None`` when missing); only text is covered."""
    if value is None or isinstance(value, str):
        return value
    raise _UncoveredError


def _instant(value: Any) -> int | None:
    """A date or naive date-time of a row as nanoseconds since the epoch (as
    ``datetime64[ns]`` holds it); ``None`` when missing."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise _UncoveredError
        since = value - _EPOCH_TIME
        return (since.days * 86_400 + since.seconds) * 10**9 + since.microseconds * 1_000
    if isinstance(value, dt.date):
        return (value - _EPOCH).days * DAY_NS
    raise _UncoveredError


def _number(value: Any) -> float:
    """A number of a row as a float (NaN when missing)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _UncoveredError
    return float(value)


def _first(codes: list[str | None], code: str | None) -> int | None:
    for i, c in enumerate(codes):
        if c == code:
            return i
    return None


def _catalog_limits(catalog: pd.DataFrame) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """Each catalogue item's limits, typed as ``features.frames`` types them (the first row
    of a duplicated code wins)."""
    cat = catalog.drop_duplicates("hilist_code")
    codes = [x if isinstance(x, str) else None for x in cat["hilist_code"].astype("string")]
    columns = tuple(c for c in CATALOG_LIMITS if c in cat)
    typed: dict[str, list[Any]] = {}
    for c in columns:
        if c in ("lmt_gend", "bundle_code"):
            typed[c] = [x if isinstance(x, str) else None for x in cat[c].astype("string")]
        else:
            typed[c] = pd.to_numeric(cat[c]).astype("float64").tolist()
    limits = {
        code: {c: typed[c][i] for c in columns} for i, code in enumerate(codes) if code is not None
    }
    return columns, limits


def _missing_limit(column: str) -> Any:
    return None if column in ("lmt_gend", "bundle_code") else math.nan


@functools.lru_cache(maxsize=4096)
def _chapter(code: str | None) -> str:
    """``features.frames.diagnosis_chapter`` of one code (cached: codes repeat)."""
    return str(diagnosis_chapter(pd.Series([code], dtype="string")).iloc[0])


def _strings(values: list[str]) -> Any:
    """A ``string`` array of ``values`` (pyarrow-backed when that is pandas' default)."""
    if _STRING.storage == "pyarrow":
        import pyarrow as pa

        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))
    return pd.array(values, dtype=_STRING)


_STRING = pd.StringDtype()


# -- text and numbers as the signal modules write them -----------------------------------------


class _Sum:
    """A grouped pandas sum (Kahan-compensated, as ``groupby().sum()`` adds)."""

    __slots__ = ("compensation", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.compensation = 0.0

    def add(self, value: float) -> None:
        if math.isnan(value):
            return
        y = value - self.compensation
        t = self.total + y
        self.compensation = t - self.total - y
        if math.isnan(self.compensation):
            self.compensation = 0.0
        self.total = t


def _div(a: float, b: float) -> float:
    """IEEE division, as numpy divides (inf or NaN for a zero divisor)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _days(later: int, earlier: int) -> float:
    """``features.frames.days_between`` of two instants in nanoseconds."""
    return float(later - earlier) / 1e9 / 86_400.0


def _midnight(ns: int) -> int:
    return ns - ns % DAY_NS


def _day(ns: int) -> str:
    return (_EPOCH + dt.timedelta(days=ns // DAY_NS)).isoformat()


_EPOCH = dt.date(1970, 1, 1)
_EPOCH_TIME = dt.datetime(1970, 1, 1)


def _num(value: float, decimals: int = 0) -> str:
    """``features.common.num_text`` of one number."""
    return f"{float(np.round(np.float64(value), decimals)):.{decimals}f}"


def _listing(texts: list[str], max_items: int, sep: str = ", ", total: int | None = None) -> str:
    """``features.common.listing`` of one key: the first ``max_items`` texts, then the count
    of the rest (of ``total`` when the texts were cut already)."""
    joined = sep.join(texts[:max_items])
    more = (len(texts) if total is None else total) - max_items
    return joined + (f" … and {more} more" if more > 0 else "")
