"""Verification: leads become cases, transitions are recorded, decisions are exclusive."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from supervision import cases, ledger
from supervision.calendar import local_date, today
from supervision.config import SupervisionSettings
from supervision.errors import ConflictError
from supervision.store import Store, open_store
from tests.supervision.helpers import confirm, institution, investigated_case, leads


def test_opening_the_same_leads_twice_does_not_duplicate_cases(store: Store) -> None:
    given = leads(
        ("person", "P1", "card_lending", 0.8, 1), ("institution", "H1", "bed_hanging", 0.7, 1)
    )
    first = cases.open_cases(store, given, actor="scorer")
    second = cases.open_cases(store, given, actor="scorer")
    assert (first.opened, first.existing) == (2, 0)
    assert (second.opened, second.existing) == (0, 2)
    opened = cases.list_cases(store)
    assert len(opened) == 2
    assert set(opened["state"]) == {"open"}
    assert opened.loc[opened["subject_id"] == "P1", "evidence"].item().startswith("mdtrt M1")


def test_bad_lead_rows_are_quarantined_with_a_reason_and_counts_reconcile(store: Store) -> None:
    given = leads(
        ("person", "P1", "card_lending", 0.8, 1),
        ("planet", "X", "bed_hanging", 0.7, 2),
        ("person", "P2", "bed_hanging", 1.7, 3),
    )
    result = cases.open_cases(store, given, actor="scorer")
    assert result.read == result.opened + result.existing + len(result.quarantined) == 3
    assert list(result.quarantined["reason"]) == ["unknown subject_type", "score not in 0..1"]


def test_top_opens_only_the_best_ranked_leads_per_subject_type(store: Store) -> None:
    given = leads(
        ("person", "P1", "card_lending", 0.8, 1),
        ("person", "P2", "card_lending", 0.7, 2),
        ("institution", "H1", "bed_hanging", 0.7, 1),
    )
    result = cases.open_cases(store, given, actor="scorer", top=1)
    assert (result.read, result.opened, result.skipped) == (3, 2, 1)
    assert cases.list_cases(store, limit=1, offset=1)["subject_id"].tolist() == ["P1"]


def test_every_transition_records_who_when_and_why(
    store: Store, settings: SupervisionSettings
) -> None:
    case_id = investigated_case(store)
    cases.decide_case(
        store,
        case_id,
        "rejected",
        actor="INS2",
        reason="patient was in the ward",
        settings=settings,
    )
    view = cases.get_case(store, case_id)
    history = [(h["from"], h["to"], h["actor"]) for h in view["history"]]
    assert history == [
        (None, "open", "scorer"),
        ("open", "assigned", "chief"),
        ("assigned", "investigating", "INS1"),
        ("investigating", "rejected", "INS2"),
    ]
    assert all(h["at"].tzinfo is not None and h["reason"] for h in view["history"])
    assert view["decided_by"] == "INS2"


def test_a_decision_needs_a_reason_and_a_confirmation_needs_pattern_and_amount(
    store: Store, settings: SupervisionSettings
) -> None:
    case_id = investigated_case(store)
    with pytest.raises(Exception, match="needs a reason"):
        cases.decide_case(store, case_id, "rejected", actor="INS1", reason=" ", settings=settings)
    with pytest.raises(Exception, match="pattern and the confirmed amount"):
        cases.decide_case(
            store,
            case_id,
            "confirmed",
            actor="INS1",
            reason="ok",
            settings=settings,
            pattern="bed_hanging",
        )
    assert cases.get_case(store, case_id)["state"] == "investigating"


@pytest.mark.parametrize(
    ("pattern", "severity"),
    [
        ("bed_hanging", "serious"),
        ("over_prescription", "serious"),
        ("split_billing", "severe"),
        ("card_lending", "severe"),
        ("other", "severe"),
    ],
)
def test_severity_defaults_from_the_confirmed_pattern(
    tmp_path, settings: SupervisionSettings, pattern: str, severity: str
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    case_id = confirm(store, settings, "P9", pattern)
    view = cases.get_case(store, case_id)
    assert (view["confirmed_pattern"], view["severity"]) == (pattern, severity)
    assert view["confirmed_amount"] == Decimal("800.00")


def test_an_open_case_cannot_be_decided_before_investigation(
    store: Store, settings: SupervisionSettings
) -> None:
    cases.open_cases(store, leads(("person", "P1", "card_lending", 0.8, 1)), actor="scorer")
    case_id = int(cases.list_cases(store)["id"].iloc[0])
    with pytest.raises(ConflictError, match="cannot become rejected"):
        cases.decide_case(store, case_id, "rejected", actor="I", reason="x", settings=settings)


def test_two_inspectors_deciding_at_once_exactly_one_wins(
    store: Store, settings: SupervisionSettings
) -> None:
    case_id = investigated_case(store)
    seen = cases.get_case(store, case_id)["version"]
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def decide(inspector: str, outcome: str) -> None:
        barrier.wait()
        try:
            cases.decide_case(
                store,
                case_id,
                outcome,
                actor=inspector,
                reason=f"{inspector} decides",
                settings=settings,
                pattern="bed_hanging",
                confirmed_amount="10",
                expected_version=seen,
            )
            results[inspector] = "won"
        except ConflictError as exc:
            results[inspector] = f"conflict: {exc}"

    threads = [
        threading.Thread(target=decide, args=("INS1", "confirmed")),
        threading.Thread(target=decide, args=("INS2", "rejected")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.split(":")[0] for r in results.values()) == ["conflict", "won"]
    winner = next(k for k, v in results.items() if v == "won")
    view = cases.get_case(store, case_id)
    assert view["decided_by"] == winner
    assert [h["to"] for h in view["history"]].count(view["state"]) == 1
    decisions = [h for h in view["history"] if h["from"] == "investigating"]
    assert len(decisions) == 1
    written = ledger.current_measures(store, on=today())
    assert len(written) == (1 if winner == "INS1" else 0)


def test_labels_carry_the_model_version_and_rejected_leads_are_negatives(
    store: Store, settings: SupervisionSettings
) -> None:
    confirmed = investigated_case(store, "P1", "bed_hanging")
    rejected = investigated_case(store, "P2", "card_lending")
    investigated_case(store, "P3", "card_lending")  # undecided: not a label
    cases.decide_case(
        store,
        confirmed,
        "confirmed",
        actor="I",
        reason="proof",
        settings=settings,
        pattern="bed_hanging",
        confirmed_amount=Decimal("99.5"),
    )
    cases.decide_case(store, rejected, "rejected", actor="I", reason="no proof", settings=settings)
    labels = cases.labels_frame(store)
    assert list(labels.columns) == [
        "subject_type",
        "subject_id",
        "pattern",
        "outcome",
        "decided_on",
        "model_version",
    ]
    assert labels[["subject_id", "outcome", "model_version"]].values.tolist() == [
        ["P1", "confirmed", "fraud-person:7"],
        ["P2", "rejected", "fraud-person:7"],
    ]


def test_an_informant_appears_only_inside_the_case(
    store: Store, settings: SupervisionSettings
) -> None:
    case = cases.report_case(
        store,
        subject_type="person",
        subject_id="P7",
        pattern="card_lending",
        informant="Zhang San 13800000000",
        evidence="card used twice",
        actor="desk",
    )
    assert cases.get_case(store, case.id, include_informant=True)["informant"].startswith("Zhang")
    assert "informant" not in cases.get_case(store, case.id)
    listed = cases.list_cases(store).to_csv()
    cases.assign(store, case.id, "I", actor="chief")
    cases.start_investigation(store, case.id, actor="I")
    cases.decide_case(
        store,
        case.id,
        "confirmed",
        actor="I",
        reason="seen",
        settings=settings,
        pattern="card_lending",
        confirmed_amount="5",
    )
    archive = str(ledger.archive(store, "P7"))
    labels = cases.labels_frame(store).to_csv()
    with store.read() as session:
        from sqlalchemy import text

        audit = str(session.execute(text("select * from audit_log")).all())
    for shown in (listed, archive, labels, audit):
        assert "Zhang" not in shown
    assert cases.get_case(store, case.id, include_informant=True)["informant_record_id"] is None


def test_a_confirmed_report_earns_a_known_informant_a_trustworthy_record_that_hides_the_case(
    store: Store, settings: SupervisionSettings
) -> None:
    from supervision import reports

    # given an informant known to the ledger by the pseudonym of their resident ID, and a
    # report of theirs against an institution
    informant = "RID-7f3a9c"
    ledger.register_subject(
        store,
        kind="individual",
        credit_key=informant,
        name="informant",
        category="insured",
        actor="desk",
    )
    code = institution(store, 1)
    case = cases.report_case(
        store,
        subject_type="institution",
        subject_id=code,
        pattern="split_billing",
        informant=informant,
        evidence="bundled items charged separately",
        actor="desk",
    )
    cases.assign(store, case.id, "I", actor="chief")
    cases.start_investigation(store, case.id, actor="I")
    # when the report is confirmed
    decided = cases.decide_case(
        store,
        case.id,
        "confirmed",
        actor="I",
        reason="bills show split items",
        settings=settings,
        pattern="split_billing",
        confirmed_amount="900",
    )
    # then the informant's archive holds a trustworthy record that names neither case nor subject
    mine = ledger.archive(store, informant)
    assert [r["category"] for r in mine["trustworthy"]] == ["report_verified"]
    record = mine["trustworthy"][0]
    assert record["case_id"] is None and record["entered_on"] == local_date(decided.decided_at)
    assert code not in str(record) and f"case {case.id}" not in str(record)
    assert not mine["bad"]
    # only the case, read with its informant, points to it
    inside = cases.get_case(store, case.id, include_informant=True)
    assert inside["informant_record_id"] == record["id"]
    assert "informant_record_id" not in cases.get_case(store, case.id)
    # and the informant appears in nothing shown about the case or the reported subject
    shown = [
        str(cases.get_case(store, case.id)),
        cases.list_cases(store).to_csv(),
        str(ledger.archive(store, code)),
        cases.labels_frame(store).to_csv(),
        ledger.current_measures(store, on=today()).to_csv(),
        reports.blacklist_report(store, f"{today().year}Q{(today().month - 1) // 3 + 1}").to_csv(),
    ]
    assert "blacklist" in shown[4]
    for text in shown:
        assert informant not in text
    graded = ledger.grade_subjects(
        store, year=2026, on=today(), actor="desk", settings=settings
    ).set_index("credit_key")
    assert graded.loc[informant, "score"] == settings.score_base + settings.trustworthy_points


def test_an_informant_unknown_to_the_ledger_gets_no_record(
    store: Store, settings: SupervisionSettings
) -> None:
    case = cases.report_case(
        store,
        subject_type="person",
        subject_id="P8",
        pattern="card_lending",
        informant="RID-unknown",
        evidence="card used twice",
        actor="desk",
    )
    cases.assign(store, case.id, "I", actor="chief")
    cases.start_investigation(store, case.id, actor="I")
    cases.decide_case(
        store,
        case.id,
        "confirmed",
        actor="I",
        reason="seen",
        settings=settings,
        pattern="card_lending",
        confirmed_amount="5",
    )
    assert ledger.list_subjects(store)["credit_key"].tolist() == ["P8"]
    assert not ledger.archive(store, "P8")["trustworthy"]
