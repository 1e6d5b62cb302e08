"""Bad requests get a 4xx with a clear message; the service never crashes on input."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from serving.application import Application
from serving.auth import Role
from serving.schemas import MAX_BATCH

from .conftest import bearer
from .payloads import stay


def test_a_call_without_a_token_is_401(service_client: TestClient) -> None:
    response = service_client.post("/check", json=stay())

    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


def test_a_planner_may_not_score_settlements(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    response = service_client.post("/check", json=stay(), headers=bearer(tokens[Role.PLANNER]))

    assert response.status_code == 403
    assert "pat (planner) may not score" in response.json()["error"]


def test_a_missing_column_is_a_400_that_names_it(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    body = stay()
    del body["settlement"]["med_type"]

    response = service_client.post("/check", json=body, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 400
    assert ["settlement", "med_type"] in [e["loc"] for e in response.json()["detail"]]


def test_a_code_sent_as_a_number_is_a_400_because_it_would_lose_leading_zeros(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    body = stay()
    body["fee_details"][0]["med_chrgitm_type"] = 1

    response = service_client.post("/check", json=body, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 400
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["fee_details", 0, "med_chrgitm_type"]
    assert "string" in detail["msg"]


def test_a_malformed_date_and_a_text_amount_are_400s(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    body = stay()
    body["settlement"]["begndate"] = "01/03/2024"
    body["settlement"]["hifp_pay"] = "lots"

    response = service_client.post("/check", json=body, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 400
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {
        ("settlement", "begndate"),
        ("settlement", "hifp_pay"),
    }


def test_fee_lines_of_another_settlement_are_a_400(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    body = stay()
    body["fee_details"][1]["setl_id"] = "OTHER"

    response = service_client.post("/check", json=body, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 400
    assert "fee_details carry setl_id 'OTHER'" in response.json()["error"]


def test_a_body_that_is_not_json_is_a_400(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    response = service_client.post(
        "/check", content=b"{setl_id: S1", headers=bearer(tokens[Role.SYSTEM])
    )

    assert response.status_code == 400


def test_an_oversized_body_is_refused_with_413_before_parsing(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    body = {"settlements": [stay(f"S{i}", days=30) for i in range(200)]}
    content = json.dumps(body).encode()
    assert len(content) > 2_000_000

    response = service_client.post("/score", content=content, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 413
    assert "MAX_REQUEST_BYTES" in response.json()["error"]


def test_a_chunked_oversized_body_is_also_413(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    def chunks():  # no Content-Length: the body streams
        for _ in range(300):
            yield b" " * 10_000

    response = service_client.post("/score", content=chunks(), headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 413


def test_more_settlements_than_a_batch_may_carry_is_a_400(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    one = stay(days=1)
    body = {"settlements": [one] * (MAX_BATCH + 1)}

    response = service_client.post("/score", json=body, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 400


def test_without_a_champion_the_scoring_routes_answer_503(
    service_client: TestClient, application: Application, tokens: dict[Role, str]
) -> None:
    application._scorer = None  # as after a start with an empty model registry

    response = service_client.post("/check", json=stay(), headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 503
    assert "fundguard train" in response.json()["error"]


def test_a_settlement_without_its_person_is_a_400_that_names_it(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    body = stay()
    del body["person"]

    response = service_client.post("/check", json=body, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 400
    assert ["person"] in [e["loc"] for e in response.json()["detail"]]


def test_a_time_with_an_offset_and_a_date_beyond_intakes_range_are_400s_that_name_them(
    service_client: TestClient, tokens: dict[Role, str]
) -> None:
    # given a settlement time with a UTC offset (the contract's times are local) and a stay
    # that begins in the year 3000 (beyond the nanosecond range intake types dates in)
    body = stay()
    body["settlement"]["setl_time"] = "2024-03-03T16:00:00+08:00"
    body["settlement"]["begndate"] = "3000-01-01"

    # when it is checked
    response = service_client.post("/check", json=body, headers=bearer(tokens[Role.SYSTEM]))

    # then the answer is a 400 naming both fields, not a server error
    assert response.status_code == 400
    located = [e["loc"] for e in response.json()["detail"]]
    assert ["settlement", "setl_time"] in located
    assert ["settlement", "begndate"] in located
