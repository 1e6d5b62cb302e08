from __future__ import annotations

from starlette.testclient import TestClient


def test_the_openapi_document_lists_the_scoring_and_console_endpoints(
    service_client: TestClient,
) -> None:
    response = service_client.get("/docs.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/check",
        "/score",
        "/console/api/leads",
        "/console/api/cases/{case_id}",
        "/console/api/cases/{case_id}/decision",
        "/console/api/subjects/{key}",
        "/console/api/grades",
        "/console/api/plans",
        "/console/api/models",
        "/console/api/models/{number}/promote",
        "/console/api/audit",
    ):
        assert path in paths, path
    assert "/console/login" not in paths
