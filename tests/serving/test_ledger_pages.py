"""Planners, auditors and model owners through the console's JSON and pages."""

from __future__ import annotations

from starlette.testclient import TestClient

from serving.application import Application
from serving.auth import Role
from serving.ledgerwork import HIDDEN

from .conftest import bearer


def _confirm_stay(client: TestClient, tokens: dict[Role, str]) -> None:
    headers = bearer(tokens[Role.INSPECTOR])
    leads = client.get("/api/leads", headers=headers).json()["leads"]
    case = next(r for r in leads if r["subject_id"] == "M1")
    response = client.post(
        f"/api/cases/{case['id']}/decision",
        json={
            "outcome": "confirmed",
            "reason": "verified",
            "version": case["version"],
            "liable": "P1",
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text


def test_a_confirmed_case_appears_in_the_subjects_archive_with_names_only_for_planners(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    _confirm_stay(console_client, tokens)

    planner = console_client.get("/api/subjects/P1", headers=bearer(tokens[Role.PLANNER])).json()
    auditor = console_client.get("/api/subjects/P1", headers=bearer(tokens[Role.AUDITOR])).json()
    inspector = console_client.get("/api/subjects/P1", headers=bearer(tokens[Role.INSPECTOR]))

    assert [r["category"] for r in planner["bad"]] == ["confirmed_case"]
    assert planner["basic"]["name"] == "张三"
    assert planner["basic"]["legal_rep_id"] == "110105195001010012"
    assert auditor["basic"]["name"] == HIDDEN
    assert auditor["basic"]["legal_rep_id"] == HIDDEN
    assert "110105195001010012" not in inspector.text
    assert "张三" not in inspector.text


def test_grades_list_every_subject_and_hide_only_individuals_names_from_auditors(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    planner = console_client.get("/api/grades", headers=bearer(tokens[Role.PLANNER])).json()
    auditor = console_client.get("/api/grades", headers=bearer(tokens[Role.AUDITOR])).json()

    assert {(s["local_code"], s["name"]) for s in planner} == {("P1", "张三"), ("H1", "第一医院")}
    assert {(s["local_code"], s["name"]) for s in auditor} == {("P1", HIDDEN), ("H1", "第一医院")}
    assert (
        console_client.get("/api/grades", headers=bearer(tokens[Role.INSPECTOR])).status_code == 403
    )


def test_a_planner_draws_a_plan_that_the_same_seed_reproduces(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    headers = bearer(tokens[Role.PLANNER])
    wanted = {"plan_date": "2024-06-01", "base_ratio": 1.0, "seed": 7}

    first = console_client.post("/api/plans", json=wanted, headers=headers)
    second = console_client.post("/api/plans", json=wanted, headers=headers)

    assert first.status_code == 200, first.text
    assert [t["local_code"] for t in first.json()["targets"]] == ["H1"]
    assert first.json()["targets"][0]["name"] == "第一医院"
    assert first.json()["targets"] == second.json()["targets"]
    listed = console_client.get("/api/plans", headers=headers).json()
    assert {p["created_by"] for p in listed} == {"pat (planner)"}


def test_only_a_planner_may_draw_a_plan_and_a_bad_ratio_is_a_400(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    wanted = {"plan_date": "2024-06-01", "base_ratio": 0.1, "seed": 7}
    for role in (Role.INSPECTOR, Role.AUDITOR, Role.MODEL_OWNER):
        assert (
            console_client.post("/api/plans", json=wanted, headers=bearer(tokens[role])).status_code
            == 403
        )

    bad = console_client.post(
        "/api/plans", json={**wanted, "base_ratio": 3}, headers=bearer(tokens[Role.PLANNER])
    )

    assert bad.status_code == 400
    assert "base_ratio" in bad.json()["error"]


def test_the_auditor_reads_who_changed_what_and_the_chain_verifies(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    _confirm_stay(console_client, tokens)

    audit = console_client.get("/api/audit", headers=bearer(tokens[Role.AUDITOR])).json()

    assert audit["verified"] is True
    assert "ann (inspector)" in {e["actor"] for e in audit["entries"]}
    assert "cases.decide" in {e["action"] for e in audit["entries"]}
    assert (
        console_client.get("/api/audit", headers=bearer(tokens[Role.INSPECTOR])).status_code == 403
    )


def test_an_inspector_cannot_promote_a_model(
    console_client: TestClient, application: Application, tokens: dict[Role, str]
) -> None:
    response = console_client.post("/api/models/1/promote", headers=bearer(tokens[Role.INSPECTOR]))

    assert response.status_code == 403
    assert "may not promote" in response.json()["error"]


def test_every_page_of_each_role_renders(
    console_client: TestClient, casework: Application, tokens: dict[Role, str]
) -> None:
    _confirm_stay(console_client, tokens)
    pages = {
        Role.INSPECTOR: ["/leads", "/leads?pattern=bed_hanging&min_amount=10", "/subjects/P1"],
        Role.PLANNER: ["/grades", "/subjects/P1", "/plans"],
        Role.AUDITOR: ["/audit", "/leads", "/grades"],
    }
    for role, paths in pages.items():
        for path in paths:
            response = console_client.get(path, headers=bearer(tokens[role]))
            assert response.status_code == 200, (role, path, response.text[:300])
            assert "<h1>" in response.text
