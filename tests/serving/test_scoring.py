"""/check and /score with the registered @champion, against the pyfunc model (slow: trains)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from serving.application import Application
from serving.auth import Role

from .conftest import bearer
from .trained import payload, subset

pytestmark = pytest.mark.slow


def _flagged_stay(world: Any, feature: str) -> str:
    """A settlement of an inpatient stay on which ``feature`` fired in the whole world."""
    ev = world.evidence
    visits = ev[(ev["subject_type"] == "visit") & (ev["feature"] == feature)]["subject_id"]
    s = world.dataset.settlements
    return str(s[s["mdtrt_id"].isin(visits)]["setl_id"].iloc[0])


def test_check_answers_scores_flags_and_a_recommendation_for_one_settlement(
    champion_client: TestClient,
    champion_application: Application,
    registry_world: Any,
    tokens: dict[Role, str],
) -> None:
    setl_id = _flagged_stay(registry_world, "bh_empty_run_flag")
    [item] = payload(registry_world.dataset, [setl_id])

    response = champion_client.post("/check", json=item, headers=bearer(tokens[Role.SYSTEM]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["setl_id"] == setl_id
    assert body["model_version"] == f"fundguard/{registry_world.version}"
    assert {s["subject_type"] for s in body["scores"]} == {"visit", "person"}
    assert all(0.0 <= s["score"] <= 1.0 for s in body["scores"])
    empty = [f for f in body["flags"] if f["feature"] == "bh_empty_run_flag"]
    assert empty and "bed fee" in empty[0]["explanation"]
    threshold = champion_application.serving.review_threshold
    expected = "review" if max(s["score"] for s in body["scores"]) >= threshold else "pass"
    assert body["recommendation"] == expected


def test_score_answers_in_order_and_marks_only_the_broken_settlement_invalid(
    champion_client: TestClient, registry_world: Any, tokens: dict[Role, str]
) -> None:
    setl_ids = list(registry_world.dataset.settlements["setl_id"].iloc[:6])
    items = payload(registry_world.dataset, setl_ids)
    items[2]["fee_details"][0]["list_type"] = "999"

    response = champion_client.post(
        "/score", json={"settlements": items}, headers=bearer(tokens[Role.SYSTEM])
    )

    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["setl_id"] for r in results] == [i["settlement"]["setl_id"] for i in items]
    assert results[2]["recommendation"] == "invalid"
    assert "list_type" in " ".join(results[2]["problems"])
    assert all(r["recommendation"] in ("pass", "review") for i, r in enumerate(results) if i != 2)


def test_the_pyfunc_model_scores_equal_the_services(
    champion_client: TestClient, registry_world: Any, tokens: dict[Role, str], tmp_path: Path
) -> None:
    import mlflow.pyfunc

    from training.registry import champion_uri, connect

    s = registry_world.dataset.settlements
    persons = s["psn_no"].drop_duplicates().iloc[:6]
    setl_ids = list(s[s["psn_no"].isin(persons)]["setl_id"])
    subset(registry_world.dataset, setl_ids).write(tmp_path / "part")
    connect(registry_world.training)
    model = mlflow.pyfunc.load_model(champion_uri(registry_world.training))
    leads = model.predict(pd.DataFrame({"dataset_dir": [str(tmp_path / "part")]}))

    response = champion_client.post(
        "/score",
        json={"settlements": payload(registry_world.dataset, setl_ids)},
        headers=bearer(tokens[Role.SYSTEM]),
    )

    assert response.status_code == 200, response.text
    served = {
        (r["setl_id"], score["subject_type"], score["pattern"]): score["score"]
        for r in response.json()
        for score in r["scores"]
    }
    visit_of = dict(zip(s["setl_id"], s["mdtrt_id"], strict=True))
    person_of = dict(zip(s["setl_id"], s["psn_no"], strict=True))
    expected = leads.set_index(["subject_type", "subject_id", "pattern"])["score"]
    compared = 0
    for (setl_id, level, pattern), value in served.items():
        subject = visit_of[setl_id] if level == "visit" else person_of[setl_id]
        assert value == pytest.approx(expected.loc[(level, subject, pattern)], abs=1e-9)
        compared += 1
    assert compared >= len(setl_ids)


def test_edge_cases_are_answered_without_a_server_error(
    champion_client: TestClient, registry_world: Any, tokens: dict[Role, str]
) -> None:
    s = registry_world.dataset.settlements
    [stay] = payload(registry_world.dataset, [str(s[s["med_type"] == "21"]["setl_id"].iloc[0])])
    no_lines = {**stay, "fee_details": []}
    refund = {
        **stay,
        "settlement": {
            **stay["settlement"],
            "refd_setl_flag": "1",
            **{
                k: -abs(stay["settlement"][k])
                for k in ("medfee_sumamt", "hifp_pay", "fund_pay_sumamt")
            },
        },
    }
    headers = bearer(tokens[Role.SYSTEM])

    for body in (no_lines, refund):
        response = champion_client.post("/check", json=body, headers=headers)
        assert response.status_code in (200, 400), response.text
    batch = champion_client.post("/score", json={"settlements": []}, headers=headers)
    assert batch.status_code == 200
    assert batch.json() == []
