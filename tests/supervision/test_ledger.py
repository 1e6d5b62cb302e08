"""The credit ledger's rules (ledger-rules.md §1-§8) with their numbers as settings."""

from __future__ import annotations

from datetime import date

import pytest

from supervision import ledger
from supervision.calendar import add_working_days, today
from supervision.config import SupervisionSettings
from supervision.errors import RuleError
from supervision.store import Store, verify_audit
from tests.supervision.helpers import confirm, institution, uscc_for


def _bad(
    store: Store, settings: SupervisionSettings, key: str, on: date, severity: str = "serious"
) -> int:
    record = ledger.add_record(
        store,
        key,
        kind="bad",
        category="confirmed_case",
        description="over-prescription",
        provider="district bureau",
        legal_basis="regulation art. 38",
        severity=severity,
        entered_on=on,
        actor="clerk",
        settings=settings,
    )
    return record.id


def _person(store: Store, key: str = "PSN1") -> str:
    ledger.register_subject(
        store,
        kind="individual",
        credit_key=key,
        name=key,
        category="insured",
        actor="clerk",
        local_code=key,
    )
    return key


def _active(store: Store, key: str, on: date) -> list[tuple[str, date, date | None]]:
    frame = ledger.current_measures(store, on=on)
    frame = frame[frame["credit_key"] == key]
    return list(zip(frame["measure"], frame["starts_on"], frame["ends_on"], strict=True))


def test_institutions_need_a_valid_credit_code(store: Store) -> None:
    with pytest.raises(Exception, match="not a valid unified social credit code"):
        ledger.register_subject(
            store,
            kind="institution",
            credit_key="91110000100000001X",
            name="x",
            category="hospital",
            actor="a",
        )
    institution(store, 1)
    assert ledger.archive(store, "H001")["basic"]["credit_key"] == uscc_for(1)


def test_a_confirmed_case_is_bad_information_with_provider_basis_severity_and_five_year_expiry(
    store: Store, settings: SupervisionSettings
) -> None:
    confirm(store, settings, "P1", "bed_hanging")
    (record,) = ledger.archive(store, "P1")["bad"]
    assert record["category"] == "confirmed_case"
    assert record["severity"] == "serious"
    assert record["provider"] and record["legal_basis"]
    entered = record["entered_on"]
    assert record["expires_on"] == date(entered.year + 5, entered.month, entered.day)
    assert record["status"] == "in_force"


def test_measures_follow_the_count_of_records_in_force(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    _bad(store, settings, key, date(2025, 1, 10))
    assert _active(store, key, date(2025, 1, 10)) == [
        ("written_warning", date(2025, 1, 10), date(2025, 1, 10))
    ]
    _bad(store, settings, key, date(2025, 3, 1))
    assert _active(store, key, date(2025, 3, 1)) == [
        ("cash_settlement", date(2025, 3, 1), date(2026, 3, 1))
    ]
    _bad(store, settings, key, date(2025, 6, 1))
    assert _active(store, key, date(2025, 6, 2)) == [
        ("time_limited_reimbursement", date(2025, 6, 1), date(2026, 6, 1))
    ]
    assert _active(store, key, date(2026, 6, 2)) == []
    notices = ledger.archive(store, key)["notifications"]
    assert sum("record entered" in n["message"] for n in notices) == 3
    assert sum(n["message"].startswith("measure ") for n in notices) >= 3


def test_records_expire_after_five_years_stay_in_the_archive_and_stop_counting(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    _bad(store, settings, key, date(2020, 1, 10))
    _bad(store, settings, key, date(2024, 12, 1))
    assert _active(store, key, date(2025, 1, 9))[0][0] == "cash_settlement"
    assert ledger.expire_records(store, actor="clerk", settings=settings, on=date(2025, 1, 10)) == 1
    assert _active(store, key, date(2025, 1, 10)) == []
    statuses = [r["status"] for r in ledger.archive(store, key)["bad"]]
    assert statuses == ["expired", "in_force"]


def test_the_validity_period_is_a_setting(store: Store) -> None:
    settings = SupervisionSettings(record_validity_years=3)
    key = _person(store)
    _bad(store, settings, key, date(2024, 2, 29))
    assert ledger.archive(store, key)["bad"][0]["expires_on"] == date(2027, 2, 28)


def test_a_severe_confirmation_puts_the_subject_on_the_blacklist(
    store: Store, settings: SupervisionSettings
) -> None:
    confirm(store, settings, "P2", "card_lending")
    confirm(store, settings, "P3", "bed_hanging")
    listed = ledger.current_measures(store, on=today())
    blacklisted = set(listed.loc[listed["measure"] == "blacklist", "credit_key"])
    assert blacklisted == {"P2"}


def test_removal_is_due_five_working_days_after_confirmation_across_national_day(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    _bad(store, settings, key, date(2024, 9, 2), severity="severe")
    measure = ledger.confirm_rectification(
        store, key, on=date(2024, 9, 30), actor="clerk", reason="refund paid", settings=settings
    )
    # 1-7 Oct 2024 are holidays; Saturday 12 Oct 2024 is a working day (调休).
    assert measure.remove_by == date(2024, 10, 12)
    due = ledger.pending_removals(store, on=date(2024, 10, 14))
    assert due["overdue"].tolist() == [True]
    ledger.remove_from_blacklist(store, key, on=date(2024, 10, 11), actor="clerk", reason="done")
    assert _active(store, key, date(2024, 10, 11)) == []


def test_working_days_count_adjusted_weekends_and_skip_holidays() -> None:
    # Sunday 28 Sep 2025 is a 调休 working day; 1-8 Oct 2025 are holidays.
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert add_working_days(date(2025, 9, 30), 5) == date(2025, 10, 14)
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # a working Saturday


def test_overdue_rectification_leads_to_an_interview_recorded_in_the_archive(
    store: Store, settings: SupervisionSettings
) -> None:
    code = institution(store, 5)
    _bad(store, settings, code, date(2025, 1, 6), severity="severe")
    measure = ledger.urge_rectification(
        store, code, on=date(2025, 1, 6), actor="clerk", settings=settings
    )
    assert measure.rectify_by == date(2025, 4, 6)
    assert ledger.overdue_rectifications(store, on=date(2025, 4, 6)).empty
    assert ledger.overdue_rectifications(store, on=date(2025, 4, 7))["credit_key"].tolist() == [
        uscc_for(5)
    ]
    ledger.record_warning_interview(
        store,
        code,
        on=date(2025, 4, 10),
        attended=False,
        notes="legal representative absent",
        actor="clerk",
        settings=settings,
    )
    bad = ledger.archive(store, code)["bad"]
    assert bad[-1]["category"] == "warning_interview"
    assert "refused" in bad[-1]["description"]
    assert ledger.overdue_rectifications(store, on=date(2025, 4, 11)).empty


def test_the_score_maps_to_grades_published_with_the_scoring_version(
    store: Store, settings: SupervisionSettings
) -> None:
    clean, general, severe = institution(store, 1), institution(store, 2), institution(store, 3)
    _bad(store, settings, general, date(2025, 6, 1), severity="general")
    _bad(store, settings, severe, date(2025, 6, 1), severity="severe")
    ledger.add_record(
        store,
        clean,
        kind="trustworthy",
        category="commendation",
        description="city commendation",
        provider="city bureau",
        legal_basis="commendation decision",
        entered_on=date(2025, 2, 1),
        actor="clerk",
        settings=settings,
    )
    grades = ledger.grade_subjects(
        store, year=2025, on=date(2025, 6, 1), actor="clerk", settings=settings
    ).set_index("credit_key")
    assert grades.loc[uscc_for(1), ["score", "grade"]].tolist() == [105.0, "excellent"]
    assert grades.loc[uscc_for(2), ["score", "grade"]].tolist() == [95.0, "excellent"]
    assert grades.loc[uscc_for(3), ["score", "grade"]].tolist() == [60.0, "poor"]
    assert set(grades["scoring_version"]) == {ledger.scoring_version(settings)}
    stricter = SupervisionSettings(
        grade_floors={"excellent": 99, "good": 90, "medium": 70, "poor": 61}
    )
    again = ledger.grade_subjects(
        store, year=2025, on=date(2025, 6, 1), actor="clerk", settings=stricter
    ).set_index("credit_key")
    assert again.loc[uscc_for(2), "grade"] == "good"
    assert again.loc[uscc_for(3), "grade"] == "bad"
    assert ledger.scoring_version(stricter) != ledger.scoring_version(settings)


def test_bad_records_weigh_less_as_they_age(settings: SupervisionSettings) -> None:
    import pandas as pd

    records = pd.DataFrame(
        {
            "subject_id": [1, 2],
            "kind": ["bad", "bad"],
            "severity": ["serious", "serious"],
            "entered_on": [date(2025, 1, 1), date(2021, 1, 1)],
            "expires_on": [None, None],
            "status": ["in_force", "in_force"],
        }
    )
    scores = ledger.credit_scores(records, pd.Index([1, 2, 3]), date(2025, 1, 1), settings)
    assert scores[1] == 85.0
    assert scores[2] == pytest.approx(100 - 15 * 0.5 ** (4 / 2), abs=0.1)
    assert scores[3] == 100.0


def test_three_consecutive_excellent_years_put_a_subject_on_the_red_list(
    store: Store, settings: SupervisionSettings
) -> None:
    code = institution(store, 1)
    for year in (2023, 2024):
        ledger.grade_subjects(store, year=year, on=date(year, 12, 31), actor="c", settings=settings)
    assert _active(store, uscc_for(1), date(2024, 12, 31)) == []
    ledger.grade_subjects(store, year=2025, on=date(2025, 12, 31), actor="c", settings=settings)
    assert [m[0] for m in _active(store, uscc_for(1), date(2025, 12, 31))] == ["redlist"]
    _bad(store, settings, code, date(2026, 3, 1), severity="severe")
    ledger.grade_subjects(store, year=2026, on=date(2026, 12, 31), actor="c", settings=settings)
    assert [m[0] for m in _active(store, uscc_for(1), date(2026, 12, 31))] == ["blacklist"]


def test_an_objection_to_a_measure_must_come_within_fifteen_days_and_is_answered_in_thirty(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    _bad(store, settings, key, date(2025, 3, 1))
    _bad(store, settings, key, date(2025, 3, 3))
    measure_id = ledger.archive(store, key)["measures"][-1]["id"]
    common = dict(
        target="measure",
        target_id=measure_id,
        applicant="PSN1",
        contact="138",
        description="cash settlement",
        reasons="second record is wrong",
        actor="desk",
        settings=settings,
        decision_received_on=date(2025, 3, 5),
    )
    with pytest.raises(RuleError, match="ended on 2025-03-20"):
        ledger.file_objection(
            store, key, commitment_signed=True, filed_on=date(2025, 3, 21), **common
        )  # type: ignore[arg-type]
    with pytest.raises(RuleError, match="signed credit commitment"):
        ledger.file_objection(
            store, key, commitment_signed=False, filed_on=date(2025, 3, 20), **common
        )  # type: ignore[arg-type]
    objection = ledger.file_objection(
        store, key, commitment_signed=True, filed_on=date(2025, 3, 20), **common
    )  # type: ignore[arg-type]
    assert objection.answer_by == date(2025, 4, 19)
    assert [m[0] for m in _active(store, key, date(2025, 3, 25))] == ["cash_settlement"]
    assert ledger.overdue_objections(store, on=date(2025, 4, 20))["objection_id"].tolist() == [
        objection.id
    ]


def test_an_upheld_objection_corrects_the_record_and_adjusts_the_measures(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    _bad(store, settings, key, date(2025, 3, 1))
    wrong = _bad(store, settings, key, date(2025, 3, 3))
    objection = ledger.file_objection(
        store,
        key,
        target="record",
        target_id=wrong,
        applicant="PSN1",
        contact="138",
        description="record of 3 March",
        reasons="not me",
        commitment_signed=True,
        filed_on=date(2025, 3, 10),
        actor="desk",
        settings=settings,
    )
    ledger.answer_objection(
        store,
        objection.id,
        upheld=True,
        outcome="settlement was another person's",
        on=date(2025, 3, 20),
        actor="chief",
        settings=settings,
    )
    archive = ledger.archive(store, key)
    assert [r["status"] for r in archive["bad"]] == ["in_force", "revoked"]
    assert f"objection {objection.id} upheld" in archive["bad"][1]["status_reason"]
    assert _active(store, key, date(2025, 3, 20)) == []  # the warning was given on 1 March
    cash = [m for m in archive["measures"] if m["kind"] == "cash_settlement"]
    assert cash[0]["status"] == "superseded" and cash[0]["ends_on"] == date(2025, 3, 20)
    assert verify_audit(store).ok


def test_objection_deadlines_can_be_working_days(store: Store) -> None:
    settings = SupervisionSettings(objection_working_days=True)
    key = _person(store)
    record = _bad(store, settings, key, date(2025, 9, 1))
    objection = ledger.file_objection(
        store,
        key,
        target="record",
        target_id=record,
        applicant="a",
        contact="c",
        description="d",
        reasons="r",
        commitment_signed=True,
        filed_on=date(2025, 9, 30),
        actor="desk",
        settings=settings,
    )
    assert objection.answer_by == add_working_days(date(2025, 9, 30), 30)


def test_a_verified_complaint_lowers_the_grade_and_a_false_one_blacklists_the_complainant(
    store: Store, settings: SupervisionSettings
) -> None:
    code = institution(store, 1)
    on = date(2025, 5, 1)
    ledger.grade_subjects(store, year=2025, on=on, actor="c", settings=settings)
    first = ledger.record_complaint(
        store,
        against=code,
        complainant="CMP1",
        description="charged twice",
        received_on=on,
        actor="desk",
    )
    ledger.decide_complaint(
        store,
        first.id,
        finding="verified",
        reason="bill shows it",
        on=on,
        actor="chief",
        settings=settings,
    )
    grades = ledger.latest_grades(store).set_index("credit_key")
    assert grades.loc[uscc_for(1), "grade"] == "good"
    second = ledger.record_complaint(
        store,
        against=code,
        complainant="CMP2",
        description="invented",
        received_on=on,
        actor="desk",
    )
    ledger.decide_complaint(
        store,
        second.id,
        finding="false",
        reason="CCTV shows otherwise",
        on=on,
        actor="chief",
        settings=settings,
    )
    listed = ledger.current_measures(store, on=on)
    assert listed.loc[listed["measure"] == "blacklist", "credit_key"].tolist() == ["CMP2"]
    assert "CMP1" not in str(ledger.archive(store, code))


def test_warnings_say_who_is_restricted_from_when_to_when_and_why(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    _bad(store, settings, key, date(2025, 3, 1))
    _bad(store, settings, key, date(2025, 4, 1), severity="severe")
    frame = ledger.current_measures(store, on=date(2025, 4, 2))
    assert list(frame.columns) == list(ledger.WARNING_COLUMNS)
    assert sorted(frame["measure"]) == ["blacklist", "cash_settlement"]
    assert frame["reason"].str.len().gt(0).all()


def test_a_year_the_calendar_does_not_cover_counts_monday_to_friday_unless_strict() -> None:
    from supervision.calendar import is_working_day

    assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Friday → Monday
    with pytest.raises(RuleError, match="no holidays for 2099"):
        is_working_day(date(2099, 1, 2), strict=True)


def test_arrears_keep_an_excellent_employer_off_the_red_list(
    store: Store, settings: SupervisionSettings
) -> None:
    institution(store, 1)
    institution(store, 2, local_code="E002", arrears_months=2)
    for year in (2023, 2024, 2025):
        ledger.grade_subjects(store, year=year, on=date(year, 12, 31), actor="c", settings=settings)
    listed = ledger.current_measures(store, on=date(2025, 12, 31))
    assert listed.loc[listed["measure"] == "redlist", "local_code"].tolist() == ["H001"]


def test_a_poor_grade_makes_a_key_monitoring_target_until_the_grade_improves(
    store: Store, settings: SupervisionSettings
) -> None:
    code = institution(store, 1)
    _bad(store, settings, code, date(2025, 6, 1), severity="severe")
    ledger.grade_subjects(store, year=2025, on=date(2025, 6, 1), actor="c", settings=settings)
    measures = ledger.current_measures(store, on=date(2025, 6, 1))
    assert set(measures["measure"]) == {"blacklist", "key_monitoring"}
    assert set(measures["grade"]) == {"poor"}
    ledger.grade_subjects(store, year=2031, on=date(2031, 1, 1), actor="c", settings=settings)
    assert "key_monitoring" not in set(
        ledger.current_measures(store, on=date(2031, 1, 1))["measure"]
    )


def test_a_corrected_record_is_kept_and_its_replacement_adjusts_the_blacklist(
    store: Store, settings: SupervisionSettings
) -> None:
    key = _person(store)
    wrong = _bad(store, settings, key, date(2025, 5, 1), severity="severe")
    assert "blacklist" in {m[0] for m in _active(store, key, date(2025, 5, 2))}
    new = ledger.correct_record(
        store,
        wrong,
        reason="severity misread",
        severity="serious",
        actor="chief",
        settings=settings,
        on=date(2025, 5, 2),
    )
    bad = ledger.archive(store, key)["bad"]
    assert [(r["status"], r["severity"]) for r in bad] == [
        ("corrected", "severe"),
        ("in_force", "serious"),
    ]
    assert bad[0]["status_reason"] == "severity misread" and new.corrects_id == wrong
    assert "blacklist" not in {m[0] for m in _active(store, key, date(2025, 5, 2))}
    with pytest.raises(RuleError, match="already corrected"):
        ledger.revoke_record(store, wrong, reason="x", actor="chief", settings=settings)


def test_a_region_overrides_the_numbers_through_the_settings_file(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fundguard.settings import load_settings

    config = tmp_path / "region.toml"
    config.write_text(
        "[supervision]\nrecord_validity_years = 3\nremoval_working_days = 7\n"
        "pattern_severity = { bed_hanging = 'severe', split_billing = 'severe', "
        "card_lending = 'severe', over_prescription = 'general', other = 'severe' }\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FUNDGUARD_CONFIG", str(config))
    monkeypatch.setenv("FUNDGUARD_SUPERVISION__OBJECTION_FILE_DAYS", "10")
    loaded = load_settings().supervision
    assert (loaded.record_validity_years, loaded.removal_working_days) == (3, 7)
    assert loaded.pattern_severity["bed_hanging"] == "severe"
    assert loaded.objection_file_days == 10


def test_an_individual_s_resident_id_is_checked_and_kept_in_the_archive(store: Store) -> None:
    with pytest.raises(Exception, match="not a valid resident ID number"):
        ledger.register_subject(
            store,
            kind="individual",
            credit_key="PS9",
            name="李四",
            category="insured",
            actor="c",
            resident_id="110101199001011234",
        )
    ledger.register_subject(
        store,
        kind="individual",
        credit_key="PS9",
        name="李四",
        category="insured",
        actor="c",
        resident_id="110101199001011237",
    )
    assert ledger.archive(store, "PS9")["basic"]["resident_id"] == "110101199001011237"
    assert "110101199001011237" not in ledger.current_measures(store, on=today()).to_csv()
