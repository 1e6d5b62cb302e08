"""The registry of declared signals: every signal of fraud-patterns.md as a ``FeatureSpec``.

Signals are grouped by the pure function that builds them (``SignalGroup``): a *person*
group reads ``PersonFrames`` (one person's, a partition's, or all settlements and fee
lines) and returns visit- or person-level values; a *population* group reads the
``Population`` (the per-person output of everyone) and returns values that compare
subjects with each other (peer groups, institutions, doctors). Roll-ups of visit flags to
persons, institutions and doctors are declared here too and computed by ``features.rollup``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from features import (
    bed_hanging,
    card_lending,
    other,
    over_prescription,
    provider_network,
    split_billing,
)
from features.contract import FeatureSpec, Level, Pattern
from settlements.dataset import Dataset

Stage = Literal["person", "population", "dataset", "rollup"]
"""person: reads ``PersonFrames``; population: reads ``Population``; dataset: reads the
whole ``Dataset`` (the provider-network signals); rollup: built from visit flags."""

V, PS, IN, D = Level.VISIT, Level.PERSON, Level.INSTITUTION, Level.DOCTOR
BH, SB, CL, OP, OT = (
    Pattern.BED_HANGING,
    Pattern.SPLIT_BILLING,
    Pattern.CARD_LENDING,
    Pattern.OVER_PRESCRIPTION,
    Pattern.OTHER,
)
PREFIX = {BH: "bh", SB: "sb", CL: "cl", OP: "op", OT: "ot"}
LEVEL_WORD = {PS: "person", IN: "inst", D: "doc"}


@dataclass(frozen=True)
class SignalGroup:
    """Signals built together by one pure function."""

    compute: Callable[..., Any] | None
    stage: Stage
    specs: tuple[FeatureSpec, ...]
    needs: tuple[str, ...] = ()
    """Optional tables/columns (``catalog.bundle_code``, ``persons.dead_date`` ...) or
    settings (``setting:stay_cost_quota``) without which the whole group is skipped."""


def _s(
    name: str,
    pattern: Pattern,
    level: Level,
    description: str,
    rule: str,
    reason: str,
    kind: Literal["number", "flag"] = "number",
    settings: tuple[str, ...] = (),
) -> FeatureSpec:
    return FeatureSpec(
        name=name,
        pattern=pattern,
        level=level,
        description=description,
        rule=rule,
        kind=kind,
        settings=settings,
        reason=reason,
    )


_GROUPS: tuple[SignalGroup, ...] = (
    # -- bed-hanging ------------------------------------------------------------------------
    SignalGroup(
        bed_hanging.stay_signals,
        "person",
        (
            _s(
                "bh_empty_days",
                BH,
                V,
                "In-stay days with a bed fee but no treatment, nursing, drug or exam item.",
                "Empty day: bed fee (01) and none of 03-07, 09-11 that day (fraud-patterns.md).",
                "{value:.0f} stay day(s) with a bed fee and no care",
            ),
            _s(
                "bh_longest_empty_run",
                BH,
                V,
                "Longest run of consecutive empty days in the stay.",
                "72 h with no service item; 2+ days without substantive care.",
                "longest run of {value:.0f} empty stay day(s)",
                settings=("empty_day_min_run",),
            ),
            _s(
                "bh_empty_run_flag",
                BH,
                V,
                "The stay has a run of empty days of at least empty_day_min_run.",
                "Regional rules: 2 or more days without substantive care (48 h / 72 h).",
                "run of empty stay days",
                "flag",
                ("empty_day_min_run",),
            ),
            _s(
                "bh_exam_share",
                BH,
                V,
                "Share of the stay's charged amount in examinations and lab tests (03, 04).",
                "Examinations making up most of the bill.",
                "examinations {value:.0%} of the stay's bill",
            ),
            _s(
                "bh_drug_share",
                BH,
                V,
                "Share of the stay's charged amount in drugs (charge types 09-11, list 101/102).",
                "Admissions mainly for drug purchases.",
                "drugs {value:.0%} of the stay's bill",
            ),
            _s(
                "bh_exam_heavy_flag",
                BH,
                V,
                "Examinations and lab tests are at least exam_share_threshold of the stay's bill.",
                "Examinations 80% or more of the bill (check-up admission).",
                "stay billed mainly for examinations",
                "flag",
                ("exam_share_threshold",),
            ),
        ),
    ),
    SignalGroup(
        bed_hanging.elsewhere_signals,
        "person",
        (
            _s(
                "bh_settlements_elsewhere",
                BH,
                V,
                "Other settlements of the person at another institution strictly between "
                "admission and discharge.",
                "At work or at home during the stay: an outpatient visit or pharmacy purchase "
                "elsewhere between admission and discharge.",
                "{value:.0f} settlement(s) elsewhere during the stay",
            ),
            _s(
                "bh_elsewhere_flag",
                BH,
                V,
                "At least elsewhere_min_settlements settlements elsewhere during the stay.",
                "Settlements of the same person elsewhere during the stay.",
                "settled at another institution during the stay",
                "flag",
                ("elsewhere_min_settlements",),
            ),
        ),
    ),
    SignalGroup(
        bed_hanging.daily_cost_signals,
        "population",
        (
            _s(
                "bh_daily_cost_peer_ratio",
                BH,
                V,
                "Daily cost of the stay divided by the median of peer stays (same diagnosis "
                "chapter and hospital level).",
                "Daily cost far below peer stays of the same diagnosis and level.",
                "daily cost {value:.2f}× the peer median",
                settings=("peer_min_group_size",),
            ),
            _s(
                "bh_cheap_long_stay_flag",
                BH,
                V,
                "Daily cost at most cheap_stay_cost_ratio of peers and the stay at least "
                "long_stay_min_days long.",
                "Daily cost far below peers while the stay is long.",
                "long stay at a fraction of the peers' daily cost",
                "flag",
                ("cheap_stay_cost_ratio", "long_stay_min_days", "peer_min_group_size"),
            ),
        ),
    ),
    SignalGroup(
        bed_hanging.institution_signals,
        "population",
        (
            _s(
                "bh_inst_empty_day_stay_share",
                BH,
                IN,
                "Share of the institution's stays with a run of empty days.",
                "Institution level: share of stays with empty days.",
                "{value:.0%} of stays with empty days",
                settings=("empty_day_min_run",),
            ),
            _s(
                "bh_inst_checkup_stay_share",
                BH,
                IN,
                "Share of stays billed mainly for examinations or drugs.",
                "Institution level: admissions mainly for check-ups or drug purchases.",
                "{value:.0%} of stays mainly check-ups or drugs",
                settings=("exam_share_threshold", "drug_share_threshold"),
            ),
            _s(
                "bh_inst_admission_cluster",
                BH,
                IN,
                "Most admissions on one day of persons insured in one region, as a multiple of "
                "the institution's median daily admissions.",
                "Institution level: admissions clustered by day from one place.",
                "{value:.1f}× the usual admissions on one day from one region",
            ),
            _s(
                "bh_inst_admission_cluster_flag",
                BH,
                IN,
                "A day with at least admission_cluster_min same-region admissions, "
                "admission_cluster_ratio× the usual.",
                "Institution level: admissions clustered by day from one place.",
                "admissions clustered on one day from one region",
                "flag",
                ("admission_cluster_min", "admission_cluster_ratio"),
            ),
        ),
    ),
    SignalGroup(
        bed_hanging.bed_occupancy_signals,
        "population",
        (
            _s(
                "bh_inst_peak_bed_occupancy",
                BH,
                IN,
                "Peak concurrent inpatients divided by approved beds (aprv_bed_cnt).",
                "Institution level: concurrent inpatients above approved beds.",
                "peak occupancy {value:.0%} of approved beds",
            ),
            _s(
                "bh_inst_over_beds_flag",
                BH,
                IN,
                "Concurrent inpatients above beds_occupancy_limit× approved beds on some day.",
                "Institution level: concurrent inpatients above approved beds.",
                "more inpatients than approved beds",
                "flag",
                ("beds_occupancy_limit",),
            ),
        ),
        needs=("institutions.aprv_bed_cnt",),
    ),
    # -- split billing ----------------------------------------------------------------------
    SignalGroup(
        split_billing.readmission_signals,
        "person",
        (
            _s(
                "sb_readmission_gap_days",
                SB,
                V,
                "Days from the previous discharge of the person at the same institution to "
                "this admission (missing for a first stay).",
                "Readmission within 15 days of discharge.",
                "readmitted {value:.0f} day(s) after the previous discharge",
            ),
            _s(
                "sb_split_admission_flag",
                SB,
                V,
                "Readmission to the same institution within readmission_window_days, same "
                "diagnosis chapter, not an emergency.",
                "National rule: readmission of the same person to the same institution within "
                "15 days for the same (or same-chapter) non-emergency diagnosis.",
                "split admission (readmitted within the window)",
                "flag",
                (
                    "readmission_window_days",
                    "emergency_diagnosis_prefixes",
                    "emergency_admission_lookback_days",
                ),
            ),
        ),
    ),
    SignalGroup(
        split_billing.quota_signals,
        "person",
        (
            _s(
                "sb_prev_stay_quota_share",
                SB,
                V,
                "Cost of the previous stay at the same institution as a share of the region's "
                "per-stay quota.",
                "Discharge when the stay hits a cost quota.",
                "previous stay cost {value:.0%} of the quota",
                settings=("stay_cost_quota",),
            ),
            _s(
                "sb_quota_discharge_flag",
                SB,
                V,
                "Readmission within the window after a stay that ended just under the quota.",
                "Discharge when the stay hits a cost quota, then readmission.",
                "discharged at the cost quota and readmitted",
                "flag",
                ("stay_cost_quota", "stay_cost_quota_near_share", "readmission_window_days"),
            ),
        ),
        needs=("setting:stay_cost_quota",),
    ),
    SignalGroup(
        split_billing.outpatient_signals,
        "person",
        (
            _s(
                "sb_same_day_outpatient_settlements",
                SB,
                V,
                "Non-emergency outpatient settlements (net of refunds) of the person at the "
                "same institution on the visit's day.",
                "Several settlements of one person at one institution on one day.",
                "{value:.0f} outpatient settlements at one institution on one day",
            ),
            _s(
                "sb_split_outpatient_flag",
                SB,
                V,
                "At least split_outpatient_min_settlements same-day settlements, each under "
                "outpatient_visit_cap.",
                "Split outpatient settlements: several on one day, each under a per-visit cap.",
                "outpatient visit split into several settlements",
                "flag",
                ("split_outpatient_min_settlements", "outpatient_visit_cap"),
            ),
        ),
    ),
    SignalGroup(
        split_billing.charging_signals,
        "person",
        (
            _s(
                "sb_bundle_conflicts",
                SB,
                V,
                "Component items charged on the same day as their bundle (catalog bundle_code).",
                "Split charging: a component item and its bundle both charged.",
                "{value:.0f} component(s) charged with their bundle",
            ),
            _s(
                "sb_duplicate_components",
                SB,
                V,
                "Component items charged more than once for the person on one day.",
                "Split charging: the same component charged more than once the same day.",
                "{value:.0f} component(s) charged twice on a day",
            ),
            _s(
                "sb_over_daily_limit",
                SB,
                V,
                "Service items charged above their daily limit (catalog max_daily_cnt) for the "
                "person on one day, e.g. two bed fees, nursing above 24 h.",
                "Split charging: the same item charged above its daily limit.",
                "{value:.0f} item(s) above their daily limit",
            ),
            _s(
                "sb_split_charging_flag",
                SB,
                V,
                "Any bundle conflict, duplicate component or item above its daily limit.",
                "Split charging (分解收费) per the catalogue's bundles and daily limits.",
                "item billed as its parts or above its daily limit",
                "flag",
            ),
        ),
        needs=("catalog",),
    ),
    # -- card lending -----------------------------------------------------------------------
    SignalGroup(
        card_lending.restricted_item_signals,
        "person",
        (
            _s(
                "cl_restricted_item_mismatches",
                CL,
                V,
                "Fee lines of sex- or age-restricted items that do not fit the person "
                "(catalog lmt_gend, lmt_age_min, lmt_age_max).",
                "Items that do not fit the person (e.g. an abortion billed to a 75-year-old).",
                "{value:.0f} item(s) that do not fit the person's sex or age",
            ),
            _s(
                "cl_restricted_item_flag",
                CL,
                V,
                "At least one restricted item that does not fit the person.",
                "Sex-restricted items for the other sex; age-restricted items outside the range.",
                "item that does not fit the person's sex or age",
                "flag",
            ),
        ),
        needs=("catalog",),
    ),
    SignalGroup(
        card_lending.presence_signals,
        "person",
        (
            _s(
                "cl_overlapping_stays",
                CL,
                V,
                "Stays of the same person at other institutions that overlap this stay "
                "(a same-day transfer is not an overlap).",
                "Impossible presence: overlapping inpatient stays at two institutions.",
                "{value:.0f} overlapping stay(s) elsewhere",
            ),
            _s(
                "cl_overlapping_stay_flag",
                CL,
                V,
                "The stay overlaps a stay of the same person at another institution.",
                "Impossible presence: overlapping inpatient stays at two institutions.",
                "in hospital at two institutions at once",
                "flag",
            ),
            _s(
                "cl_history_break",
                CL,
                V,
                "New city and/or new kind of care for a person with at least "
                "history_min_prior_visits earlier visits (0, 1 or 2).",
                "A break with the person's own history: new region, new kind of care.",
                "break with the person's history ({value:.0f} novelties)",
                settings=("history_min_prior_visits",),
            ),
        ),
    ),
    SignalGroup(
        card_lending.death_signals,
        "person",
        (
            _s(
                "cl_days_after_death",
                CL,
                V,
                "Days from the person's registered death date to the visit (0 when alive).",
                "Settlements after the person's death date.",
                "settled {value:.0f} day(s) after the person's death",
            ),
            _s(
                "cl_after_death_flag",
                CL,
                V,
                "The visit begins after the person's death date.",
                "Settlements after the person's death date.",
                "settlement after death",
                "flag",
            ),
        ),
        needs=("persons.dead_date",),
    ),
    SignalGroup(
        card_lending.travel_signals,
        "person",
        (
            _s(
                "cl_travel_speed_kmh",
                CL,
                V,
                "Highest speed (km/h) the person would need to travel between this "
                "settlement and the adjacent one at another institution.",
                "Impossible presence: institutions so far apart, so close in time, that no "
                "one could travel between them.",
                "would need to travel at {value:.0f} km/h",
                settings=("min_travel_distance_km",),
            ),
            _s(
                "cl_impossible_travel_flag",
                CL,
                V,
                "Travel speed above max_travel_speed_kmh between institutions at least "
                "min_travel_distance_km apart.",
                "Impossible presence between settlements.",
                "at two distant institutions too close in time",
                "flag",
                ("max_travel_speed_kmh", "min_travel_distance_km"),
            ),
        ),
        needs=("institutions.lat", "institutions.lon"),
    ),
    SignalGroup(
        card_lending.frequency_signals,
        "person",
        (
            _s(
                "cl_frequency_jump",
                CL,
                PS,
                "Visits in the person's busiest month divided by the person's usual month "
                "(the other months' average, at least 1).",
                "A break with the person's own history: sudden rise in frequency.",
                "busiest month {value:.1f}× the person's usual",
            ),
            _s(
                "cl_frequency_jump_flag",
                CL,
                PS,
                "Busiest month at least frequency_jump_ratio× usual and at least "
                "frequency_jump_min_visits visits.",
                "Sudden rise in frequency.",
                "sudden rise in visits",
                "flag",
                ("frequency_jump_ratio", "frequency_jump_min_visits"),
            ),
        ),
    ),
    SignalGroup(
        card_lending.card_burst_signals,
        "population",
        (
            _s(
                "cl_inst_card_burst_persons",
                CL,
                IN,
                "Most different persons settled at the institution in one "
                "card_burst_window_minutes window.",
                "Institution level: many persons' cards settled in a burst (card collection).",
                "{value:.0f} persons' cards settled within minutes",
                settings=("card_burst_window_minutes",),
            ),
            _s(
                "cl_inst_card_burst_flag",
                CL,
                IN,
                "A burst of at least card_burst_min_persons persons, card_burst_ratio× usual.",
                "Card collection at one institution.",
                "many persons' cards settled in a burst",
                "flag",
                ("card_burst_window_minutes", "card_burst_min_persons", "card_burst_ratio"),
            ),
        ),
    ),
    SignalGroup(
        card_lending.card_burst_visit_signals,
        "population",
        (
            _s(
                "cl_burst_window_persons",
                CL,
                V,
                "Different persons settled at the visit's institution in the visit's "
                "card_burst_window_minutes window.",
                "Many persons' cards settled in a burst (card collection).",
                "{value:.0f} persons' cards settled in the same window",
                settings=("card_burst_window_minutes",),
            ),
            _s(
                "cl_card_burst_visit_flag",
                CL,
                V,
                "The visit was settled inside a card burst at its institution.",
                "Card collection: the card was settled in a burst of many persons' cards.",
                "settled in a burst of many persons' cards",
                "flag",
                ("card_burst_window_minutes", "card_burst_min_persons", "card_burst_ratio"),
            ),
        ),
    ),
    SignalGroup(
        card_lending.same_basket_signals,
        "population",
        (
            _s(
                "cl_inst_same_basket_persons",
                CL,
                IN,
                "Most different persons buying one identical basket (of at least "
                "same_basket_min_items items) at the pharmacy.",
                "Institution level: many persons with the same purchase basket at one pharmacy.",
                "{value:.0f} persons bought the identical basket",
                settings=("same_basket_min_items",),
            ),
            _s(
                "cl_inst_same_basket_flag",
                CL,
                IN,
                "At least same_basket_min_persons persons with one identical basket.",
                "Many persons with the same purchase basket at one pharmacy.",
                "identical baskets bought on many persons' cards",
                "flag",
                ("same_basket_min_items", "same_basket_min_persons"),
            ),
        ),
    ),
    # -- over-prescription ------------------------------------------------------------------
    SignalGroup(
        over_prescription.supply_signals,
        "person",
        (
            _s(
                "op_supply_over_limit_lines",
                OP,
                V,
                "Drug lines supplying more days (prd_days) than the visit's limit or the "
                "item's max_prd_days.",
                "Days supplied above the limit: 7 ordinary, 3 emergency, 4 weeks (at most 12 "
                "for stable chronic patients), catalogue max_prd_days (narcotics 3/7/15).",
                "{value:.0f} drug line(s) above the supply limit",
                settings=(
                    "ordinary_supply_days",
                    "emergency_supply_days",
                    "chronic_supply_days",
                    "long_prescription_max_days",
                    "pharmacy_supply_days",
                ),
            ),
            _s(
                "op_supply_limit_ratio",
                OP,
                V,
                "Largest days supplied divided by its limit among the visit's drug lines.",
                "Days supplied above the limit.",
                "supply {value:.1f}× the limit",
            ),
            _s(
                "op_supply_over_limit_flag",
                OP,
                V,
                "At least one drug line above its supply limit.",
                "Days supplied above the limit on one prescription.",
                "prescription above the supply limit",
                "flag",
                (
                    "ordinary_supply_days",
                    "emergency_supply_days",
                    "chronic_supply_days",
                    "long_prescription_max_days",
                    "pharmacy_supply_days",
                ),
            ),
        ),
        needs=("fee_details.prd_days",),
    ),
    SignalGroup(
        over_prescription.daily_quantity_signals,
        "person",
        (
            _s(
                "op_daily_quantity_over_limit_lines",
                OP,
                V,
                "Drug lines whose units per day (cnt / prd_days) exceed the item's max_daily_cnt.",
                "Quantity per day above the item's limit.",
                "{value:.0f} drug line(s) above the daily quantity",
            ),
            _s(
                "op_daily_quantity_flag",
                OP,
                V,
                "At least one drug line above its daily quantity.",
                "Quantity per day above the item's limit (max_daily_cnt).",
                "dose per day above the item's limit",
                "flag",
            ),
        ),
        needs=("catalog.max_daily_cnt", "fee_details.prd_days"),
    ),
    SignalGroup(
        over_prescription.refill_signals,
        "person",
        (
            _s(
                "op_early_refills",
                OP,
                V,
                "Drugs of the visit refilled before (1 - refill_tolerance_share) of the "
                "previous supply of the same drug had elapsed (any institution).",
                "Refills long before the last supply runs out.",
                "{value:.0f} early refill(s)",
                settings=("refill_tolerance_share",),
            ),
            _s(
                "op_early_refill_flag",
                OP,
                V,
                "At least one early refill.",
                "Refills long before the last supply runs out.",
                "refilled long before the last supply ran out",
                "flag",
                ("refill_tolerance_share",),
            ),
        ),
        needs=("fee_details.prd_days",),
    ),
    SignalGroup(
        over_prescription.stockpile_signals,
        "person",
        (
            _s(
                "op_stockpile_ratio",
                OP,
                PS,
                "Largest, over drugs, of days supplied before the last fill divided by the days "
                "elapsed between first and last fill (across institutions).",
                "Cumulative supply of the same drug across institutions exceeding the days "
                "elapsed (stockpiling, doctor shopping).",
                "supplied {value:.1f}× the days elapsed",
            ),
            _s(
                "op_stockpile_flag",
                OP,
                PS,
                "Stockpile ratio above stockpile_supply_ratio.",
                "Cumulative supply exceeding the days elapsed.",
                "stockpiling one drug",
                "flag",
                ("stockpile_supply_ratio",),
            ),
        ),
        needs=("fee_details.prd_days",),
    ),
    SignalGroup(
        over_prescription.doctor_signals,
        "population",
        (
            _s(
                "op_doc_high_value_drug_peer_z",
                OP,
                D,
                "Robust z (median/MAD, log scale) of the doctor's high-value drug amount "
                "against doctors of the same specialty pattern (main diagnosis chapter, "
                "hospital level).",
                "Doctor level: prescribing volumes of high-value drugs far above peers.",
                "high-value drug volume z = {value:.1f} against peers",
                settings=("high_value_drug_unit_price", "peer_min_group_size"),
            ),
            _s(
                "op_doc_high_value_drug_flag",
                OP,
                D,
                "High-value drug volume above peer_robust_z and the peer_percentile.",
                "Prescribing volumes of high-value drugs far above peers.",
                "high-value drug volume far above peers",
                "flag",
                ("high_value_drug_unit_price", "peer_robust_z", "peer_percentile"),
            ),
            _s(
                "op_doc_same_basket_persons",
                OP,
                D,
                "Most different persons given one identical drug basket by the doctor.",
                "Doctor level: many persons bought for in the same pattern (resale).",
                "{value:.0f} persons given the identical drug basket",
                settings=("same_basket_min_items",),
            ),
            _s(
                "op_doc_same_basket_flag",
                OP,
                D,
                "At least same_basket_min_persons persons with one identical drug basket.",
                "Many persons bought for in the same pattern (resale).",
                "identical drug baskets for many persons",
                "flag",
                ("same_basket_min_items", "same_basket_min_persons"),
            ),
        ),
    ),
    # -- other ------------------------------------------------------------------------------
    SignalGroup(
        other.peer_outlier_signals,
        "population",
        (
            _s(
                "ot_cost_per_visit_peer_z",
                OT,
                IN,
                "Robust z of cost per visit against institutions of the same type, level and "
                "region.",
                "Peer-group outliers in cost per visit.",
                "cost per visit z = {value:.1f} against peers",
                settings=("peer_min_group_size",),
            ),
            _s(
                "ot_visits_per_person_peer_z",
                OT,
                IN,
                "Robust z of visits per person against peers.",
                "Peer-group outliers in visits per person.",
                "visits per person z = {value:.1f} against peers",
                settings=("peer_min_group_size",),
            ),
            _s(
                "ot_high_cost_item_share_peer_z",
                OT,
                IN,
                "Robust z of the share of the bill in items priced at least "
                "high_cost_item_unit_price.",
                "Peer-group outliers in the share of high-cost items.",
                "high-cost item share z = {value:.1f} against peers",
                settings=("high_cost_item_unit_price", "peer_min_group_size"),
            ),
            _s(
                "ot_fund_share_peer_z",
                OT,
                IN,
                "Robust z of the fund's share of the bill against peers.",
                "Peer-group outliers in the fund share of the bill.",
                "fund share z = {value:.1f} against peers",
                settings=("peer_min_group_size",),
            ),
            _s(
                "ot_peer_outlier_flag",
                OT,
                IN,
                "Any of the four measures above peer_robust_z and the peer_percentile.",
                "Institution-level billing anomalies against peers (same level and region).",
                "billing far from its peers",
                "flag",
                ("peer_robust_z", "peer_percentile", "peer_min_group_size"),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class NetworkSignal:
    """A dataset-stage compute: one ``features.provider_network`` function, called with the
    ``provider_network`` section of the settings (picklable, unlike a closure)."""

    function: str

    @property
    def __name__(self) -> str:
        return self.function

    def __call__(self, dataset: Dataset, s: Any) -> Any:
        from features.common import Signals, empty_evidence

        fn = getattr(provider_network, self.function)
        return Signals(fn(dataset, s.provider_network), empty_evidence())


def _network_groups() -> tuple[SignalGroup, ...]:
    groups = []
    for fn in provider_network.SIGNAL_FUNCTIONS:
        doc = inspect.getdoc(fn) or fn.__name__
        summary, _, rest = doc.partition("\n\n")
        rule = " ".join(rest.removeprefix("Rule:").split()) or summary
        specs = tuple(
            _s(
                column,
                OT,
                IN,
                f"{column.removeprefix('inst_').replace('_', ' ')} — {summary}",
                rule,
                f"{column.removeprefix('inst_').replace('_', ' ')} = {{value:,.2f}}",
            )
            for column in provider_network.SIGNAL_COLUMNS[fn.__name__]
        )
        groups.append(SignalGroup(NetworkSignal(fn.__name__), "dataset", specs))
    return tuple(groups)


def _rollup_specs() -> tuple[FeatureSpec, ...]:
    specs = []
    for level in (PS, IN, D):
        for pattern in (BH, SB, CL, OP):
            stem = f"{PREFIX[pattern]}_{LEVEL_WORD[level]}"
            word = pattern.value.replace("_", "-")
            specs += [
                _s(
                    f"{stem}_flagged_visits",
                    pattern,
                    level,
                    f"Visits of the {level.value} flagged by any visit rule of {word}.",
                    "Roll-up of visit flags (counts).",
                    f"{{value:.0f}} visit(s) flagged for {word}",
                ),
                _s(
                    f"{stem}_flagged_share",
                    pattern,
                    level,
                    f"Share of the {level.value}'s visits flagged for {word}.",
                    "Roll-up of visit flags (shares).",
                    f"{{value:.0%}} of visits flagged for {word}",
                ),
                _s(
                    f"{stem}_amount_at_risk",
                    pattern,
                    level,
                    f"Fund paid (yuan) for the {level.value}'s visits flagged for {word}.",
                    "Roll-up of visit flags (amounts at risk).",
                    f"{{value:,.0f}} yuan of fund paid for visits flagged for {word}",
                ),
            ]
    return tuple(specs)


GROUPS: tuple[SignalGroup, ...] = (
    *_GROUPS,
    *_network_groups(),
    SignalGroup(None, "rollup", _rollup_specs()),
)
"""Every signal group, in declaration order."""


class Registry:
    """The declared signals: list them, look one up by name, walk their groups."""

    def __init__(self, groups: tuple[SignalGroup, ...]) -> None:
        self.groups = tuple(
            replace(g, specs=tuple(replace(s, compute=g.compute, needs=g.needs) for s in g.specs))
            for g in groups
        )
        self._by_name = {s.name: s for g in self.groups for s in g.specs}
        if len(self._by_name) != sum(len(g.specs) for g in self.groups):
            raise ValueError("duplicate feature names in the registry")

    def specs(
        self, level: Level | None = None, pattern: Pattern | None = None
    ) -> tuple[FeatureSpec, ...]:
        """The declared specs, optionally of one level and/or pattern."""
        return tuple(
            s
            for g in self.groups
            for s in g.specs
            if (level is None or s.level == level) and (pattern is None or s.pattern == pattern)
        )

    def get(self, name: str) -> FeatureSpec:
        """The spec named ``name``; ``KeyError`` naming it when unknown."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no feature named {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[FeatureSpec]:
        return iter(self.specs())

    def __len__(self) -> int:
        return len(self._by_name)

    def visit_flags(self, pattern: Pattern) -> tuple[str, ...]:
        """Names of the visit-level flags of a pattern (what roll-ups count)."""
        return tuple(s.name for s in self.specs(Level.VISIT, pattern) if s.kind == "flag")


registry = Registry(GROUPS)
"""The registry of every declared signal."""


def specs(level: Level | None = None, pattern: Pattern | None = None) -> tuple[FeatureSpec, ...]:
    """The declared specs (``features.registry.specs()``), optionally of a level/pattern."""
    return registry.specs(level, pattern)


def get(name: str) -> FeatureSpec:
    """The spec named ``name`` (``features.registry.get("bh_empty_days")``)."""
    return registry.get(name)
