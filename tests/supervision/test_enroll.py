"""Enrolling a dataset's institutions: credit subjects by USCC and designated institutions."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from settlements.synthetic import generate_world
from supervision import cases, ledger, registry
from supervision.calendar import today
from supervision.config import SupervisionSettings
from supervision.errors import NotFoundError
from supervision.store import Store, verify_audit
from tests.supervision.helpers import leads, uscc_for

ON = date(2026, 1, 5)


@pytest.fixture(scope="module")
def world_institutions() -> pd.DataFrame:
    """The institutions of a small synthetic region (all with a valid USCC)."""
    return generate_world(persons=300, seed=1).dataset.institutions


def test_every_institution_of_a_world_is_enrolled_and_a_confirmed_case_lands_on_its_archive(
    store: Store, settings: SupervisionSettings, world_institutions: pd.DataFrame
) -> None:
    # given an enrolled synthetic region
    result = ledger.enroll_institutions(
        store, world_institutions, actor="registrar", on=ON, settings=settings
    )
    n = len(world_institutions)
    assert (result.read, result.enrolled, result.already) == (n, n, 0)
    assert result.rejected.empty and result.designated == len(world_institutions)
    pharmacy = world_institutions[world_institutions["fixmedins_type"] == "2"].iloc[0]
    code = str(pharmacy["fixmedins_code"])
    # when a lead about one of its pharmacies is opened, investigated and confirmed
    cases.open_cases(
        store,
        leads(
            ("institution", code, "over_prescription", 0.9, 1), ("person", "P9", "other", 0.2, 1)
        ),
        actor="scorer",
    )
    case_id = int(cases.list_cases(store, subject_type="institution")["id"].iloc[0])
    cases.assign(store, case_id, "INS1", actor="chief")
    cases.start_investigation(store, case_id, actor="INS1")
    cases.decide_case(
        store,
        case_id,
        "confirmed",
        actor="INS1",
        reason="stock ledger shows dispensing beyond prescriptions",
        settings=settings,
        pattern="over_prescription",
        confirmed_amount="2300.00",
    )
    # then the bad record is on that pharmacy's archive, found by its code or its USCC
    archive = ledger.archive(store, code)
    assert archive["basic"]["credit_key"] == pharmacy["uscc"]
    assert archive["basic"]["category"] == "pharmacy"
    assert [(r["case_id"], r["severity"]) for r in archive["bad"]] == [(case_id, "serious")]
    assert ledger.archive(store, str(pharmacy["uscc"]))["basic"]["local_code"] == code
    designation = registry.designations(store, on=ON).set_index("fixmedins_code").loc[code]
    assert designation["status"] == "designated" and designation["agreement_in_force"]
    assert designation["agreement_end"] == date(2027, 1, 4)
    assert verify_audit(store).ok


def test_enrolling_again_changes_nothing(
    store: Store, settings: SupervisionSettings, world_institutions: pd.DataFrame
) -> None:
    ledger.enroll_institutions(
        store, world_institutions, actor="registrar", on=ON, settings=settings
    )
    entries = verify_audit(store).entries
    again = ledger.enroll_institutions(
        store, world_institutions, actor="registrar", on=date(2026, 3, 1), settings=settings
    )
    assert (again.enrolled, again.already, again.designated) == (0, len(world_institutions), 0)
    assert verify_audit(store).entries == entries
    assert (registry.designations(store)["agreement_start"] == ON).all()


def test_an_institution_without_a_valid_uscc_is_reported_with_the_reason_not_enrolled(
    store: Store, settings: SupervisionSettings
) -> None:
    # given a table with a good row, a wrong check digit, a missing code, a pharmacy of an
    # unknown type and two institutions sharing one USCC
    good = uscc_for(1)
    wrong = uscc_for(2)[:-1] + ("0" if uscc_for(2)[-1] != "0" else "1")
    table = pd.DataFrame(
        {
            "fixmedins_code": ["H1", "H2", "H3", "H4", "H5", "H1"],
            "fixmedins_name": ["甲", "乙", "丙", "丁", "戊", "甲"],
            "fixmedins_type": ["1", "1", "2", "9", "1", "1"],
            "uscc": [good, wrong, None, uscc_for(4), good, good],
        }
    )
    # when it is enrolled
    result = ledger.enroll_institutions(store, table, actor="registrar", on=ON, settings=settings)
    # then only the good row is a subject and every other row says why
    assert (result.read, result.enrolled, result.already) == (6, 1, 0)
    reasons = dict(zip(result.rejected["fixmedins_code"], result.rejected["reason"], strict=True))
    assert reasons["H2"].startswith("invalid unified social credit code")
    assert reasons["H3"] == "no unified social credit code (uscc)"
    assert reasons["H4"] == "fixmedins_type is neither 1 nor 2"
    assert reasons["H5"] == "unified social credit code already used by H1"
    assert len(result.rejected) == 5
    assert result.read == result.enrolled + result.already + len(result.rejected)
    assert ledger.list_subjects(store)["local_code"].tolist() == ["H1"]


def test_an_institution_registered_by_hand_is_linked_not_duplicated(
    store: Store, settings: SupervisionSettings
) -> None:
    ledger.register_subject(
        store,
        kind="institution",
        credit_key=uscc_for(1),
        name="仁和医院",
        category="hospital",
        actor="registrar",
    )
    table = pd.DataFrame(
        {
            "fixmedins_code": ["H1", "H2"],
            "fixmedins_name": ["仁和", "乙"],
            "fixmedins_type": ["1", "1"],
            "uscc": [uscc_for(1), uscc_for(2)],
        }
    )
    ledger.register_subject(
        store,
        kind="institution",
        credit_key=uscc_for(3),
        name="别家",
        category="hospital",
        actor="registrar",
        local_code="H2",
    )
    result = ledger.enroll_institutions(store, table, actor="registrar", on=ON, settings=settings)
    assert (result.enrolled, result.already, result.designated) == (0, 1, 1)
    assert result.rejected["reason"].tolist() == [
        f"fixmedins_code already enrolled with credit key {uscc_for(3)}"
    ]
    subject = ledger.archive(store, "H1")["basic"]
    assert (subject["credit_key"], subject["name"]) == (uscc_for(1), "仁和医院")


def test_after_enrol_and_grade_the_plan_draws_from_every_institution(
    store: Store, settings: SupervisionSettings, world_institutions: pd.DataFrame
) -> None:
    from supervision import planner

    # given an enrolled region where one hospital has a confirmed severe case
    ledger.enroll_institutions(
        store, world_institutions, actor="registrar", on=ON, settings=settings
    )
    code = str(world_institutions["fixmedins_code"].iloc[0])
    cases.open_cases(store, leads(("institution", code, "split_billing", 0.9, 1)), actor="scorer")
    cases.assign(store, 1, "INS1", actor="chief")
    cases.start_investigation(store, 1, actor="INS1")
    cases.decide_case(
        store,
        1,
        "confirmed",
        actor="INS1",
        reason="split bills",
        settings=settings,
        pattern="split_billing",
        confirmed_amount="100",
    )
    # when every subject is graded
    day = today()
    grades = ledger.grade_subjects(store, year=day.year, on=day, actor="grader", settings=settings)
    # then institutions without records have the clean archive's grade, the hospital a lower one
    n = len(world_institutions)
    assert len(grades) == n
    by_key = grades.set_index("credit_key")["grade"]
    hospital_key = str(world_institutions["uscc"].iloc[0])
    assert by_key.pop(hospital_key) == "poor"
    assert set(by_key) == {"excellent"}
    # and the plan draws from the whole population, graded, with realised ratios per grade
    for i in range(4):
        registry.register_inspector(store, f"INS{i}", name=f"inspector {i}", actor="chief")
    plan = planner.draw_plan(
        store,
        plan_date=day,
        base_ratio=0.5,
        seed=20260302,
        settings=settings,
        actor="chief",
    )
    ratios = plan.ratios.set_index("grade")
    assert ratios["subjects"].sum() == n
    assert (ratios.loc["excellent", "subjects"], ratios.loc["poor", "subjects"]) == (n - 1, 1)
    excellent = ratios.loc["excellent"]
    assert abs(excellent["realised_ratio"] - 0.15) <= 1 / (n - 1)
    assert plan.parameters["population"] == n
    assert set(plan.targets["grade"]) <= {"excellent", "poor"}


def test_confirming_a_case_against_an_institution_not_enrolled_says_to_enrol_it(
    store: Store, settings: SupervisionSettings
) -> None:
    cases.open_cases(store, leads(("institution", "H404", "bed_hanging", 0.9, 1)), actor="scorer")
    cases.assign(store, 1, "INS1", actor="chief")
    cases.start_investigation(store, 1, actor="INS1")
    with pytest.raises(NotFoundError, match=r"fundguard ledger enroll DIR"):
        cases.decide_case(
            store,
            1,
            "confirmed",
            actor="INS1",
            reason="empty beds",
            settings=settings,
            pattern="bed_hanging",
            confirmed_amount="10",
        )
    assert cases.get_case(store, 1)["state"] == "investigating"
