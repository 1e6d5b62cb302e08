"""The inspector's work through the console's JSON: queue, case with evidence, decisions."""

from __future__ import annotations

from starlette.testclient import TestClient

from serving.application import Application
from serving.auth import Role

from .conftest import bearer


def test_the_queue_lists_undecided_leads_most_suspicious_first(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    response = console_client.get("/api/leads", headers=bearer(tokens[Role.INSPECTOR]))

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert [r["subject_id"] for r in body["leads"]] == ["M1", "M3", "R9"]
    assert "informant" not in body["leads"][0]


def test_the_queue_filters_by_pattern_institution_and_amount(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    headers = bearer(tokens[Role.INSPECTOR])

    def ids(**params: str) -> set[str]:
        body = console_client.get("/api/leads", params=params, headers=headers).json()
        return {r["subject_id"] for r in body["leads"]}

    assert ids(pattern="bed_hanging") == {"M1"}
    assert ids(institution="H1") == {"M1", "M3"}
    assert ids(institution="R9") == {"R9"}
    assert ids(min_amount="600") == {"M1"}


def test_a_filter_that_is_not_a_number_is_a_400(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    response = console_client.get(
        "/api/leads", params={"min_amount": "lots"}, headers=bearer(tokens[Role.INSPECTOR])
    )

    assert response.status_code == 400
    assert "min_amount 'lots' is not a number" in response.json()["error"]


def test_a_stay_case_shows_empty_days_the_settlement_elsewhere_and_the_readmission(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    case_id = _case_of(console_client, tokens, "M1")

    case = console_client.get(f"/api/cases/{case_id}", headers=bearer(tokens[Role.INSPECTOR]))

    timeline = case.json()["timeline"]
    kinds = [(e["date"], e["kind"]) for e in timeline]
    assert [d for d, k in kinds if k == "empty"] == ["2024-03-02", "2024-03-03", "2024-03-04"]
    assert ("2024-03-03", "elsewhere") in kinds
    assert ("2024-03-12", "readmission") in kinds
    assert case.json()["reason_list"][0].startswith("3 empty days")


def test_confirming_a_case_writes_a_bad_record_attributed_to_the_inspector(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    case_id = _case_of(console_client, tokens, "M1")
    headers = bearer(tokens[Role.INSPECTOR])
    version = console_client.get(f"/api/cases/{case_id}", headers=headers).json()["version"]

    response = console_client.post(
        f"/api/cases/{case_id}/decision",
        json={
            "outcome": "confirmed",
            "reason": "empty days verified",
            "version": version,
            "liable": "P1",
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    case = response.json()
    assert case["state"] == "confirmed"
    assert case["decided_by"] == "ann (inspector)"
    [record] = case["ledger_records"]
    assert (record["subject"], record["kind"], record["severity"]) == ("P1", "bad", "serious")
    assert record["entered_by"] == "ann (inspector)"
    assert [e["actor"] for e in case["history"]][-1] == "ann (inspector)"


def test_a_decision_on_a_stale_version_is_a_409_and_writes_nothing(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    case_id = _case_of(console_client, tokens, "M3")
    headers = bearer(tokens[Role.INSPECTOR])
    version = console_client.get(f"/api/cases/{case_id}", headers=headers).json()["version"]
    decision = {"outcome": "rejected", "reason": "a new illness", "version": version}
    assert (
        console_client.post(
            f"/api/cases/{case_id}/decision", json=decision, headers=headers
        ).status_code
        == 200
    )

    again = console_client.post(f"/api/cases/{case_id}/decision", json=decision, headers=headers)

    assert again.status_code == 409
    assert "reload" in again.json()["error"]


def test_only_an_inspector_may_decide_and_an_auditor_may_read(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    case_id = _case_of(console_client, tokens, "M1")
    decision = {"outcome": "rejected", "reason": "no", "version": 1}

    for role in (Role.PLANNER, Role.MODEL_OWNER, Role.AUDITOR, Role.SYSTEM):
        response = console_client.post(
            f"/api/cases/{case_id}/decision", json=decision, headers=bearer(tokens[role])
        )
        assert response.status_code == 403, role
    assert (
        console_client.get(
            f"/api/cases/{case_id}", headers=bearer(tokens[Role.AUDITOR])
        ).status_code
        == 200
    )
    assert (
        console_client.get(
            f"/api/cases/{case_id}", headers=bearer(tokens[Role.PLANNER])
        ).status_code
        == 403
    )


def test_an_unknown_case_is_a_404(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    response = console_client.get("/api/cases/999", headers=bearer(tokens[Role.INSPECTOR]))

    assert response.status_code == 404


def test_pages_without_a_login_redirect_to_the_login_form(
    console_client: TestClient, casework: Application
) -> None:
    response = console_client.get("/leads", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].endswith("/login")
    assert console_client.get("/api/leads").status_code == 401


def _case_of(client: TestClient, tokens: dict[Role, str], subject_id: str) -> int:
    body = client.get("/api/leads", headers=bearer(tokens[Role.INSPECTOR])).json()
    return next(r["id"] for r in body["leads"] if r["subject_id"] == subject_id)


def test_a_visits_person_is_registered_in_the_ledger_when_first_held_liable(
    application: Application,
) -> None:
    from serving.casework import register_liable, registered_subjects

    from .world import small_world

    store = application.store()

    register_liable(store, small_world(), "P1", actor="ann (inspector)")
    register_liable(store, small_world(), "R9", actor="ann (inspector)")

    assert registered_subjects(store, ["P1", "R9"]) == ["P1"]


def test_an_institution_case_shows_the_settlements_its_evidence_cites(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    from serving.casework import cited_settlements

    from .world import small_world

    entries = cited_settlements(small_world(), "flag_a: mdtrt_id=M3; setl_id=S2,S9 | flag_b: x")

    assert [(e["date"], e["kind"]) for e in entries] == [
        ("2024-03-03", "cited"),
        ("2024-03-12", "cited"),
    ]
    assert "S2 at R9" in entries[0]["detail"]


def test_a_cold_start_preamble_is_a_note_not_the_first_reason() -> None:
    from serving.casework import split_reasons

    note, reasons = split_reasons(
        "cold start (only 0 confirmed): unsupervised ranking, not a probability; a = 1 (+1.0)"
        " | b = 2 (+0.5)"
    )

    assert note.startswith("cold start")
    assert reasons == ["a = 1 (+1.0)", "b = 2 (+0.5)"]
