"""Settings section of the ``features`` stage, composed into ``fundguard.settings.Settings``.

Every rule parameter of ``shared/spec/fraud-patterns.md`` is a field here, with the rule
it comes from in its description. A region overrides any of them without code changes,
e.g. ``FUNDGUARD_FEATURES__READMISSION_WINDOW_DAYS=10`` or a ``[features]`` table in the
TOML file named by ``FUNDGUARD_CONFIG``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from features.provider_network import ProviderNetworkSettings


class FeatureSettings(BaseModel):
    """Signal thresholds: every rule parameter of fraud-patterns.md, overridable per region."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- bed-hanging 挂床住院 -------------------------------------------------------------
    empty_day_min_run: int = Field(
        default=2,
        ge=1,
        description=(
            "Consecutive in-stay days with a bed fee and no treatment, nursing, drug or exam "
            "item that flag a stay as bed-hanging. Rules: 2 or more days without substantive "
            "care; 72 h with no service item (set 3); 48 h without treatment (set 2)."
        ),
    )
    exam_share_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description=(
            "Share of a stay's bill in examinations and lab tests from which the stay counts "
            "as a check-up admission (fraud-patterns.md: examinations 80% or more)."
        ),
    )
    drug_share_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description=(
            "Share of a stay's bill in drugs from which the stay counts as an admission for "
            "drug purchase (fraud-patterns.md: admissions mainly for drug purchases)."
        ),
    )
    cheap_stay_cost_ratio: float = Field(
        default=0.4,
        gt=0,
        description=(
            "A stay whose daily cost is at most this multiple of the peer median (same "
            "diagnosis chapter and hospital level) and which is long is flagged: daily cost "
            "far below peers while the stay is long."
        ),
    )
    long_stay_min_days: int = Field(
        default=10,
        ge=1,
        description="Stay length (days, enddate - begndate + 1) from which a stay counts as long.",
    )
    elsewhere_min_settlements: int = Field(
        default=1,
        ge=1,
        description=(
            "Settlements of the same person at another institution strictly between admission "
            "and discharge that flag the stay (at work or at home during the stay)."
        ),
    )
    elsewhere_regular_medicine_exempt: bool = Field(
        default=True,
        description=(
            "A pharmacy purchase during the stay of only drugs the person had bought before "
            "the stay (the regular medicine a relative may fetch with the card) does not flag "
            "the stay; it still counts in bh_settlements_elsewhere."
        ),
    )
    beds_occupancy_limit: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Concurrent inpatients of an institution as a multiple of its approved beds "
            "(aprv_bed_cnt) above which the institution is flagged."
        ),
    )
    admission_cluster_min: int = Field(
        default=5,
        ge=2,
        description=(
            "Admissions on one day at one institution of persons insured in one region that "
            "can count as a cluster (admissions clustered by day from one place)."
        ),
    )
    admission_cluster_ratio: float = Field(
        default=4.0,
        gt=1,
        description=(
            "A day's same-region admissions must also be at least this multiple of the "
            "institution's median daily admissions to count as a cluster."
        ),
    )

    # --- split billing 分解住院 / 分解收费 ------------------------------------------------
    readmission_window_days: int = Field(
        default=15,
        ge=0,
        description=(
            "Readmission of the same person to the same institution within this many days of "
            "discharge, for a same-chapter non-emergency diagnosis, is a split admission "
            "(national rule: 15 days)."
        ),
    )
    emergency_diagnosis_prefixes: tuple[str, ...] = Field(
        default=("I21", "I22", "I60", "I61", "I62", "I63", "I64", "J96", "R57", "S", "T"),
        description=(
            "ICD-10 prefixes of emergency diagnoses (myocardial infarction, stroke, respiratory "
            "failure, shock, injury and poisoning): readmissions for them are not split."
        ),
    )
    emergency_admission_lookback_days: int = Field(
        default=1,
        ge=0,
        description=(
            "An admission preceded, within this many days, by an emergency visit (med_type 13) "
            "of the person at the same institution is an emergency readmission, not a split."
        ),
    )
    stay_cost_quota: float | None = Field(
        default=None,
        gt=0,
        description=(
            "The region's per-stay cost quota (yuan), if any. With it, a readmission whose "
            "previous stay ended near the quota is flagged (discharge when the stay hits a "
            "quota); without it that signal is skipped."
        ),
    )
    stay_cost_quota_near_share: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="A previous stay costing at least this share of stay_cost_quota ended near it.",
    )
    split_outpatient_min_settlements: int = Field(
        default=2,
        ge=2,
        description=(
            "Non-emergency outpatient settlements of one person at one institution on one day, "
            "each under outpatient_visit_cap, that flag split outpatient settlement."
        ),
    )
    outpatient_visit_cap: float = Field(
        default=200.0,
        gt=0,
        description=(
            "The region's per-visit outpatient cap (yuan): split settlements each stay under it."
        ),
    )

    # --- card lending 出借、冒用医保凭证 -------------------------------------------------
    max_travel_speed_kmh: float = Field(
        default=120.0,
        gt=0,
        description=(
            "Two settlements of one person at institutions further apart than a traveller at "
            "this speed could cover in the time between them are impossible presence."
        ),
    )
    min_travel_distance_km: float = Field(
        default=50.0,
        ge=0,
        description="Institutions closer than this are never impossible presence (same city).",
    )
    history_min_prior_visits: int = Field(
        default=5,
        ge=1,
        description=(
            "Prior visits a person needs before a new region or new kind of care counts as a "
            "break with the person's own history."
        ),
    )
    frequency_jump_ratio: float = Field(
        default=4.0,
        gt=1,
        description=(
            "A person's busiest calendar month as a multiple of the person's usual monthly "
            "visits (the other months' average, at least 1) that flags a sudden rise."
        ),
    )
    frequency_jump_min_visits: int = Field(
        default=6,
        ge=1,
        description="Visits in the busiest month needed before a rise in frequency is flagged.",
    )
    card_burst_window_minutes: int = Field(
        default=60,
        ge=1,
        description="Time window (minutes) in which many different persons' cards are settled.",
    )
    card_burst_min_persons: int = Field(
        default=10,
        ge=2,
        description=(
            "Different persons settled at one institution in one card_burst_window_minutes "
            "window that flag card collection."
        ),
    )
    card_burst_ratio: float = Field(
        default=4.0,
        gt=1,
        description=(
            "The burst must also be this multiple of the institution's usual (median non-empty) "
            "window, so that busy institutions are judged against themselves."
        ),
    )
    same_basket_min_items: int = Field(
        default=3,
        ge=1,
        description="Distinct items a purchase basket needs before identical baskets count.",
    )
    same_basket_min_persons: int = Field(
        default=5,
        ge=2,
        description=(
            "Different persons buying the identical basket at one pharmacy (or prescribed it "
            "by one doctor) that flag collected cards or resale."
        ),
    )

    # --- over-prescription 超量开药 ------------------------------------------------------
    ordinary_supply_days: int = Field(
        default=7,
        ge=1,
        description="Longest supply of one ordinary outpatient prescription (7 days).",
    )
    emergency_supply_days: int = Field(
        default=3,
        ge=1,
        description="Longest supply of one emergency prescription (3 days).",
    )
    chronic_supply_days: int = Field(
        default=28,
        ge=1,
        description=(
            "Longest supply for a chronic/special outpatient visit (med_type 14) of a person "
            "not yet known as a stable chronic patient (4 weeks)."
        ),
    )
    long_prescription_max_days: int = Field(
        default=84,
        ge=1,
        description=(
            "Longest supply of a long prescription for a stable chronic patient (at most 12 "
            "weeks): a chronic visit of a person with an earlier chronic visit."
        ),
    )
    pharmacy_supply_days: int = Field(
        default=30,
        ge=1,
        description=(
            "Longest supply of one retail-pharmacy purchase (med_type 41), unless the catalogue "
            "item's max_prd_days is lower."
        ),
    )
    refill_tolerance_share: float = Field(
        default=0.25,
        ge=0,
        lt=1,
        description=(
            "A refill of the same drug by the same person is early when it comes before "
            "(1 - this share) of the previous supply has elapsed."
        ),
    )
    stockpile_supply_ratio: float = Field(
        default=1.5,
        gt=1,
        description=(
            "Days supplied of one drug across institutions (all fills but the last) divided by "
            "the days elapsed between the first and last fill, above which a person stockpiles."
        ),
    )
    high_value_drug_unit_price: float = Field(
        default=100.0,
        gt=0,
        description="Unit price (yuan) from which a drug counts as high-value for doctor volumes.",
    )

    # --- peer groups (relative signals, the ``other`` pattern) -----------------------------
    high_cost_item_unit_price: float = Field(
        default=500.0,
        gt=0,
        description="Unit price (yuan) from which a fee line counts as a high-cost item.",
    )
    peer_robust_z: float = Field(
        default=3.5,
        gt=0,
        description=(
            "Robust z-score (median/MAD, on log scale) above which a subject is a peer outlier."
        ),
    )
    peer_percentile: float = Field(
        default=0.95,
        gt=0,
        lt=1,
        description="A peer outlier must also be above this percentile of its peer group.",
    )
    peer_min_group_size: int = Field(
        default=5,
        ge=2,
        description=(
            "Smallest peer group judged on its own; smaller groups are compared with the "
            "whole level instead."
        ),
    )
    evidence_max_items: int = Field(
        default=10,
        ge=1,
        description="Most dates, items or settlements one evidence line lists (the rest counted).",
    )
    workers: int = Field(
        default=0,
        ge=0,
        description=(
            "Processes that compute the signal groups of a build side by side (forked, "
            "sharing the frames; the same result as one process). 0: one per CPU core; "
            "1: in the building process only."
        ),
    )
    parallel_min_settlements: int = Field(
        default=50_000,
        ge=0,
        description=(
            "Smallest input (settlements) built with several workers: on smaller ones the "
            "forks cost more than they save, and a real-time check stays in its process."
        ),
    )
    provider_network: ProviderNetworkSettings = Field(
        default=ProviderNetworkSettings(),
        description=(
            "Institution network and peer signals of the other pattern "
            "(features.provider_network), e.g. FUNDGUARD_FEATURES__PROVIDER_NETWORK__"
            "REPEAT_WINDOW_DAYS."
        ),
    )
