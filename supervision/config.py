"""Settings section of the ``supervision`` stage, composed into ``fundguard.settings.Settings``.

Every number of ``shared/spec/ledger-rules.md`` is a field here, so that a region overrides it
(``FUNDGUARD_SUPERVISION__RECORD_VALIDITY_YEARS=3`` or a TOML ``[supervision]`` table).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

SEVERITIES = ("general", "serious", "severe")
GRADES = ("excellent", "good", "medium", "poor", "bad")


class SupervisionSettings(BaseModel):
    """Cases, the credit ledger and the sampling planner: every number of ledger-rules.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- §2 severity of a dishonest act -------------------------------------------------
    pattern_severity: dict[str, str] = Field(
        default={
            "bed_hanging": "serious",
            "over_prescription": "serious",
            "split_billing": "severe",
            "card_lending": "severe",
            "other": "severe",
        },
        description="Default severity (general/serious/severe) of a confirmed case per pattern "
        "(§2; 'other' stands for forged records and fictitious visits or purchases).",
    )
    blacklist_severity: str = Field(
        default="severe",
        description="A confirmed act of this severity puts its subject on the blacklist (§2).",
    )

    # --- §3 and §4 measures for an insured person ---------------------------------------
    count_measure_categories: tuple[str, ...] = Field(
        default=("insured", "other_individual"),
        description="Individual categories to which the count-based measures of §3 apply.",
    )
    warning_at_records: int = Field(
        default=1, ge=1, description="Records in force that bring a written warning (§3)."
    )
    cash_settlement_at_records: int = Field(
        default=2, ge=1, description="Records in force that change settlement to cash (§3)."
    )
    time_limited_at_records: int = Field(
        default=3, ge=1, description="Records in force that bring time-limited reimbursement (§3)."
    )
    measure_duration_days: int = Field(
        default=365,
        ge=1,
        description="Duration of the cash-settlement and time-limited measures, from the latest "
        "record's entry (§3: one year).",
    )
    record_validity_years: int = Field(
        default=5, ge=1, description="Years a dishonesty record stays in force after entry (§4)."
    )

    # --- §5 score, grade and lists ------------------------------------------------------
    score_base: float = Field(default=100.0, description="Credit score of a clean archive (§5).")
    severity_weights: dict[str, float] = Field(
        default={"general": 5.0, "serious": 15.0, "severe": 40.0},
        description="Points a bad record in force takes off the score, by severity (§5).",
    )
    recency_half_life_years: float = Field(
        default=2.0,
        gt=0,
        description="A bad record's weight halves every this many years since entry (§5).",
    )
    trustworthy_points: float = Field(
        default=5.0, ge=0, description="Points each trustworthy record in force adds (§5)."
    )
    trustworthy_cap: float = Field(
        default=10.0, ge=0, description="Most points trustworthy records can add in total (§5)."
    )
    grade_floors: dict[str, float] = Field(
        default={"excellent": 95.0, "good": 85.0, "medium": 70.0, "poor": 55.0},
        description="Lowest score of each grade; below the 'poor' floor the grade is 'bad' (§5).",
    )
    score_model_version: str = Field(
        default="credit-score-1",
        description="Name of the scoring rule, published with each grade together with a "
        "digest of the mapping (§5).",
    )
    redlist_consecutive_years: int = Field(
        default=3,
        ge=1,
        description="Consecutive excellent years that put a subject on the red list.",
    )
    monitored_grades: tuple[str, ...] = Field(
        default=("poor", "bad"),
        description="Grades that make a subject a key monitoring target, called to a warning "
        "interview with a rectification deadline (§5).",
    )
    inspection_factors: dict[str, float] = Field(
        default={"excellent": 0.3, "good": 0.5, "medium": 1.0, "poor": 1.2},
        description="Share of the base spot-check ratio per grade (§5); 'bad' is always covered.",
    )
    bad_grade_full_coverage: bool = Field(
        default=True, description="Every subject graded 'bad' is inspected (§5 全覆盖)."
    )
    ungraded_grade: str = Field(
        default="medium", description="Grade the planner assumes for a subject not yet graded."
    )

    # --- §6 objections ------------------------------------------------------------------
    objection_file_days: int = Field(
        default=15, ge=1, description="Days after receiving a decision to object to it (§6)."
    )
    objection_answer_days: int = Field(
        default=30, ge=1, description="Days after accepting an objection to answer it (§6)."
    )
    objection_working_days: bool = Field(
        default=False,
        description="Count objection deadlines in working days (the rules say days; set for a "
        "region whose document says working days).",
    )

    # --- §7 blacklist removal and warning interviews ------------------------------------
    rectification_months: int = Field(
        default=3, ge=1, description="Months a blacklisted subject has to rectify (§7)."
    )
    removal_working_days: int = Field(
        default=5, ge=1, description="Working days to remove a subject after confirming (§7)."
    )
    interview_severity: str = Field(
        default="general",
        description="Severity of the warning-interview record entered in the archive (§7).",
    )

    # --- §8 complaints and the quarterly report -----------------------------------------
    complaint_severity: str = Field(
        default="general",
        description="Severity of the bad record a verified complaint writes, which lowers the "
        "subject's score and so its grade (§8).",
    )
    complaint_grade_steps: int = Field(
        default=1,
        ge=0,
        description="Grades a subject drops for each verified complaint in force (§8).",
    )
    false_complaint_severity: str = Field(
        default="severe",
        description="Severity of the record a proven false complaint writes on the complainant, "
        "who goes on the individual blacklist (§8).",
    )
    report_compile_day: int = Field(
        default=20, ge=1, le=28, description="Day of the quarter's last month to compile by (§8)."
    )
    report_send_day: int = Field(
        default=30, ge=1, le=30, description="Day of the quarter's last month to send by (§8)."
    )

    # --- §9 designation review ----------------------------------------------------------
    district_review_working_days: int = Field(
        default=30, ge=1, description="Working days for a district review of an application (§9)."
    )
    city_review_working_days: int = Field(
        default=30, ge=1, description="Working days for a city review of an application (§9)."
    )
    review_extension_working_days: int = Field(
        default=30, ge=0, description="Working days one extension of a review adds (§9)."
    )
    review_max_extensions: int = Field(
        default=1, ge=0, description="How many times a review may be extended (§9)."
    )

    # --- enrolment of a dataset's institutions ----------------------------------------
    agreement_years: int = Field(
        default=1,
        ge=1,
        description="Length in years of the service agreement that `ledger enroll` records for "
        "a newly enrolled designated institution, from the enrolment date (§9).",
    )

    # --- 双随机 sampling planner --------------------------------------------------------
    risk_share: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of each grade's targets picked by the model's risk score instead of "
        "at random; 0 (default) keeps the draw fully random, which model evaluation needs.",
    )
    inspectors_per_target: int = Field(
        default=2, ge=1, description="Inspectors drawn for each inspection target."
    )
    max_targets_per_inspector: int = Field(
        default=10, ge=1, description="Most targets one inspector is assigned in a plan."
    )
    plan_subject_kinds: tuple[str, ...] = Field(
        default=("institution",),
        description="Kinds of credit subjects the planner draws from (institution, individual).",
    )

    @model_validator(mode="after")
    def _check(self) -> SupervisionSettings:
        for name, value in (
            ("blacklist_severity", self.blacklist_severity),
            ("interview_severity", self.interview_severity),
            ("complaint_severity", self.complaint_severity),
            ("false_complaint_severity", self.false_complaint_severity),
            *(("pattern_severity", v) for v in self.pattern_severity.values()),
        ):
            if value not in SEVERITIES:
                raise ValueError(f"{name}: {value!r} is not one of {', '.join(SEVERITIES)}")
        if set(self.severity_weights) != set(SEVERITIES):
            raise ValueError(f"severity_weights needs exactly {', '.join(SEVERITIES)}")
        floors = [self.grade_floors.get(g) for g in GRADES[:-1]]
        if None in floors or set(self.grade_floors) != set(GRADES[:-1]):
            raise ValueError("grade_floors needs exactly excellent, good, medium, poor")
        if floors != sorted(floors, reverse=True):  # type: ignore[type-var]
            raise ValueError("grade_floors must fall from excellent to poor")
        if set(self.inspection_factors) != set(GRADES[:-1]):
            raise ValueError("inspection_factors needs exactly excellent, good, medium, poor")
        if self.ungraded_grade not in GRADES:
            raise ValueError(f"ungraded_grade must be one of {', '.join(GRADES)}")
        if not (
            self.warning_at_records
            <= self.cash_settlement_at_records
            <= self.time_limited_at_records
        ):
            raise ValueError("measure thresholds must rise: warning <= cash <= time-limited")
        return self
