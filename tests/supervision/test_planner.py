"""The 双随机 planner: grade-scaled ratios, reproducible draws, fair inspector assignment."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from supervision import ledger, planner, registry
from supervision.config import GRADES, SupervisionSettings
from supervision.errors import RuleError
from supervision.store import Store
from tests.supervision.helpers import institutions, leads


def _population(per_grade: int = 40) -> pd.DataFrame:
    rows = [
        {
            "credit_key": f"{g}-{i:03d}",
            "local_code": f"L{g}{i}",
            "grade": g,
            "risk_score": (i % 10) / 10,
        }
        for g in GRADES
        for i in range(per_grade)
    ]
    return pd.DataFrame(rows)


def test_realised_ratios_match_the_grade_targets_within_sampling_error(
    settings: SupervisionSettings,
) -> None:
    population, base, draws = _population(), 0.2, 1000
    grades = population["grade"].to_numpy(dtype=object)
    risk = population["risk_score"].to_numpy(dtype=float)
    ratios = planner.grade_ratios(base, settings)
    rng = np.random.default_rng(7)
    realised = np.array(
        [
            [np.count_nonzero(picked == g) / 40 for g in GRADES]
            for picked in (
                grades[planner.draw_positions(grades, risk, ratios, rng)[0]] for _ in range(draws)
            )
        ]
    )
    targets = {"excellent": 0.06, "good": 0.10, "medium": 0.20, "poor": 0.24, "bad": 1.0}
    for column, (g, ratio) in enumerate(targets.items()):
        per_plan = realised[:, column]
        # randomised rounding: each plan is within 1/40 of the target, the mean within 4 sd
        assert np.abs(per_plan - ratio).max() <= 1 / 40 + 1e-9, g
        assert abs(per_plan.mean() - ratio) < 4 * 0.5 / (40 * np.sqrt(draws)) + 1e-9, g


def test_excellent_subjects_are_checked_at_most_thirty_percent_and_bad_ones_all(
    settings: SupervisionSettings,
) -> None:
    ratios = planner.grade_ratios(1.0, settings)
    assert ratios == {"excellent": 0.3, "good": 0.5, "medium": 1.0, "poor": 1.0, "bad": 1.0}
    assert planner.grade_ratios(0.1, settings)["poor"] == pytest.approx(0.12)


def test_without_a_risk_share_every_target_is_random_and_with_one_risk_picks_are_marked() -> None:
    population = _population(50)
    rng = np.random.default_rng(1)
    plain = planner.select_targets(population, 0.4, rng, SupervisionSettings())
    assert set(plain["picked_by"]) == {"random"}
    tilted = planner.select_targets(population, 0.4, rng, SupervisionSettings(risk_share=0.5))
    risk = tilted[tilted["picked_by"] == "risk"]
    assert len(risk) > 0
    assert (
        risk["risk_score"].mean() > tilted.loc[tilted["picked_by"] == "random", "risk_score"].mean()
    )
    assert not tilted["credit_key"].duplicated().any()


def test_inspectors_are_never_drawn_for_a_conflicting_subject_and_respect_the_cap() -> None:
    settings = SupervisionSettings(inspectors_per_target=2, max_targets_per_inspector=3)
    targets = _population(2)
    conflicts = {"A": {"Lexcellent0", "Lgood1"}}
    out = planner.assign_inspectors(
        targets, ["A", "B", "C", "D", "E", "F", "G"], conflicts, np.random.default_rng(3), settings
    )
    for key, names in zip(targets["local_code"], out, strict=True):
        assert len(set(names)) == 2
        if key in conflicts["A"]:
            assert "A" not in names
    load = pd.Series([n for names in out for n in names]).value_counts()
    assert load.max() <= 3
    with pytest.raises(RuleError, match="register more inspectors"):
        planner.assign_inspectors(targets, ["A", "B"], {}, np.random.default_rng(3), settings)


def _world(store: Store, settings: SupervisionSettings, n: int = 12) -> None:
    institutions(store, settings, n)
    for day in (1, 2):  # two severe records: graded bad
        ledger.add_record(
            store,
            "H001",
            kind="bad",
            category="penalty",
            description="fine",
            provider="bureau",
            legal_basis="art. 1",
            severity="severe",
            entered_on=date(2025, 3, day),
            actor="c",
            settings=settings,
        )
    ledger.grade_subjects(store, year=2025, on=date(2025, 6, 1), actor="c", settings=settings)
    for code in "ABCDEF":
        registry.register_inspector(store, code, name=f"inspector {code}", actor="chief")
    registry.add_conflict(store, "A", "H002", reason="former employer", actor="chief")


def test_the_same_seed_gives_the_same_plan_and_the_plan_is_stored(
    store: Store, settings: SupervisionSettings
) -> None:
    _world(store, settings)
    kwargs = dict(plan_date=date(2025, 7, 1), base_ratio=0.3, settings=settings, actor="chief")
    first = planner.draw_plan(store, seed=42, **kwargs)  # type: ignore[arg-type]
    second = planner.draw_plan(store, seed=42, **kwargs)  # type: ignore[arg-type]
    other = planner.draw_plan(store, seed=43, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(first.targets, second.targets)
    assert first.plan_id != second.plan_id
    assert not first.targets.equals(other.targets)
    stored = planner.load_plan(store, first.plan_id)
    assert stored.seed == 42 and "PCG64" in stored.method
    pd.testing.assert_frame_equal(stored.targets, first.targets, check_dtype=False)
    bad = first.ratios.set_index("grade").loc["bad"]
    assert (bad["subjects"], bad["targets"]) == (1, 1)
    assert "H001" in set(first.targets["local_code"])
    for key, names in zip(first.targets["local_code"], first.targets["inspectors"], strict=True):
        assert not (key == "H002" and "A" in names.split(","))


def test_risk_scores_come_from_a_leads_file(store: Store) -> None:
    settings = SupervisionSettings(risk_share=1.0)
    _world(store, settings)
    given = leads(("institution", "H005", "bed_hanging", 0.99, 1))
    result = planner.draw_plan(
        store,
        plan_date=date(2025, 7, 1),
        base_ratio=1.0,
        seed=1,
        settings=settings,
        actor="chief",
        leads=given,
    )
    assert result.parameters["lead_model_versions"] == ["fraud-person:7"]
    picked = result.targets.set_index("local_code")
    assert picked.loc["H005", "picked_by"] == "risk"
    assert picked.loc["H005", "risk_score"] == pytest.approx(0.99)
