"""Parameters of the synthetic world: its size, period, care intensity and fraud rates.

Every rate is a field so that a test, a benchmark or a demo can ask for a world with more
(or less) of one pattern without touching code. Rates of fraud variants are shares of the
eligible subjects (stays, visits, persons, institutions); ``min_per_variant`` guarantees
that even a small world carries every variant, so that tests can check each one.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class WorldConfig(BaseModel):
    """How the synthetic region is built. The defaults give the demo world."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_date: dt.date = Field(
        default=dt.date(2025, 1, 1), description="First day of the settlement period."
    )
    days: int = Field(default=365, ge=60, le=1100, description="Length of the period in days.")
    chunk_persons: int = Field(
        default=25_000,
        ge=1_000,
        description="Persons generated at once; bounds memory for large worlds.",
    )
    with_certno: bool = Field(
        default=True,
        description="Give persons a synthetic resident ID (certno) so intake pseudonymises it.",
    )
    malformed_rows: int = Field(
        default=0,
        ge=0,
        description="Deliberately malformed settlement/fee rows to demo quarantine (0 = none).",
    )

    # -- the region -------------------------------------------------------------------
    persons_per_clinic: int = Field(default=300, ge=50, description="Persons per clinic.")
    persons_per_secondary: int = Field(default=900, ge=100, description="Per secondary hospital.")
    persons_per_tertiary: int = Field(default=2_000, ge=200, description="Per tertiary hospital.")
    persons_per_pharmacy: int = Field(default=300, ge=50, description="Persons per pharmacy.")
    chronic_share_elderly: float = Field(
        default=0.45, ge=0, le=1, description="Share of persons aged 60+ with a chronic condition."
    )
    stable_long_prescription_share: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="Share of chronic patients who are stable and get 56–84-day prescriptions.",
    )
    death_rate: float = Field(
        default=0.012, ge=0, le=0.2, description="Yearly death probability (age-weighted)."
    )

    # -- honest care intensity (per person per year) --------------------------------------
    outpatient_rate: float = Field(default=3.5, ge=0, description="Outpatient visits (11).")
    emergency_rate: float = Field(default=0.3, ge=0, description="Emergency visits (13).")
    pharmacy_rate: float = Field(default=2.0, ge=0, description="Pharmacy purchases (41).")
    inpatient_rate: float = Field(
        default=0.14, ge=0, description="Inpatient stays (21), scaled by age."
    )
    refund_rate: float = Field(
        default=0.004, ge=0, le=0.1, description="Share of settlements later refunded."
    )
    outpatient_fund_cap: float = Field(
        default=150.0, gt=0, description="Pooled-fund cap per outpatient settlement (yuan)."
    )

    # -- who commits fraud ------------------------------------------------------------------
    fraud_hospital_share: float = Field(
        default=0.25, ge=0, le=1, description="Share of hospitals that commit inpatient fraud."
    )
    fraud_pharmacy_share: float = Field(
        default=0.15, ge=0, le=1, description="Share of pharmacies that collect cards / resell."
    )
    min_per_variant: int = Field(
        default=5, ge=1, description="Fewest subjects of every fraud variant and look-alike."
    )
    bed_hanging_rate: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Share of a fraud hospital's stays that are hung (three times that at "
        "the hospital that overflows its beds).",
    )
    split_billing_rate: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Share of a splitting hospital's stays split (a 25th of that share of "
        "its outpatient visits is split into same-day settlements).",
    )
    card_lending_rate: float = Field(
        default=0.004, ge=0, le=1, description="Share of persons whose card is lent or misused."
    )
    over_prescription_rate: float = Field(
        default=0.006, ge=0, le=1, description="Share of persons who stockpile drugs."
    )
    lookalike_rate: float = Field(
        default=0.004, ge=0, le=1, description="Share of persons given an honest look-alike."
    )

    # -- labels -----------------------------------------------------------------------------
    confirmed_label_share: float = Field(
        default=1.0, ge=0, le=1, description="Share of fraud subjects that inspectors confirmed."
    )
    honest_visit_label_share: float = Field(
        default=0.01, ge=0, le=1, description="Share of honest visits labelled rejected."
    )
    honest_stay_label_share: float = Field(
        default=0.1, ge=0, le=1, description="Share of honest inpatient stays labelled rejected."
    )
    honest_person_label_share: float = Field(
        default=0.03, ge=0, le=1, description="Share of honest persons labelled rejected."
    )
    honest_provider_label_share: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="Share of honest institutions and doctors labelled rejected.",
    )
