"""Settings section of the ``settlements`` stage, composed into ``fundguard.settings.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IntakeSettings(BaseModel):
    """Intake: reading, validation, quarantine and pseudonymisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line_total_abs_tolerance: float = Field(
        default=0.01,
        ge=0,
        description=(
            "Yuan a fee line's det_item_fee_sumamt may differ from cnt * pric before the line "
            "is quarantined (rounding to fen)."
        ),
    )
    line_total_rel_tolerance: float = Field(
        default=0.001,
        ge=0,
        description="Further allowed difference, as a share of |cnt * pric| (price rounding).",
    )
    fee_time_slack_days: int = Field(
        default=1,
        ge=0,
        description=(
            "Days a fee line's fee_ocur_time may fall before begndate or after enddate of its "
            "settlement (charges booked around midnight, discharge-day postings)."
        ),
    )
    blank_allowed: tuple[str, ...] = Field(
        default=(
            "dise_codg",
            "bilg_dr_codg",
            "insutype",
            "insuplc_admdvs",
            "fixmedins_name",
            "admdvs",
            "hilist_name",
        ),
        description=(
            "Required descriptive columns whose value may be blank without quarantining the row "
            "(keys, references, codes, dates and amounts must always have a value)."
        ),
    )
    max_quarantined_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "Largest share of a table's rows that may be quarantined for the dataset to count "
            "as usable; above it, `fundguard validate` exits 1."
        ),
    )
