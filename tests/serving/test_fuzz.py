"""Whatever JSON a caller sends, the scoring routes answer 4xx (or 200), never 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from serving.auth import Role

from .conftest import bearer
from .payloads import stay

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _mutate(body: dict[str, Any], part: str, field: str, value: Any) -> dict[str, Any]:
    mutated = json.loads(json.dumps(body))
    target = mutated[part][0] if part == "fee_details" else mutated[part]
    target[field] = value
    return mutated


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=values)
def test_arbitrary_json_is_never_a_server_error(
    service_client: TestClient, tokens: dict[Role, str], body: Any
) -> None:
    headers = bearer(tokens[Role.SYSTEM])
    for route in ("/check", "/score"):
        content = json.dumps(body)  # NaN and Infinity go out as the non-JSON tokens they are
        response = service_client.post(route, content=content, headers=headers)
        assert response.status_code < 500, (route, body, response.text)


@pytest.mark.slow
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    part=st.sampled_from(["settlement", "fee_details", "person", "institution"]),
    field=st.sampled_from(
        ["setl_id", "psn_no", "med_type", "begndate", "enddate", "cnt", "brdy", "hosp_lv"]
    ),
    value=values,
)
def test_a_wrong_value_in_any_field_is_a_4xx(
    service_client: TestClient, tokens: dict[Role, str], part: str, field: str, value: Any
) -> None:
    body = _mutate(stay(), part, field, value)

    response = service_client.post(
        "/check", content=json.dumps(body), headers=bearer(tokens[Role.SYSTEM])
    )

    assert response.status_code < 500, (part, field, value, response.text)
