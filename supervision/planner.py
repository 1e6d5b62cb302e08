"""The 双随机 sampling planner: random inspection targets by grade, random inspectors.

Each subject's chance is the base ratio scaled by its grade (``inspection_factors``; 'bad' is
always covered). Optionally (``risk_share`` > 0, off by default) a share of each grade's
targets is drawn with probability proportional to the model's risk score; every target says
whether it was picked at random or by risk, so random picks stay an unbiased sample for model
evaluation. The seed and the method go into the plan, so that anyone can re-run the draw
(一公开); the same store, date, ratio and seed give the same plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from settlements.errors import InputError
from supervision.config import GRADES, SupervisionSettings
from supervision.db import CreditSubject, Grade, Inspector, InspectorConflict, Plan, PlanTarget
from supervision.errors import NotFoundError, RuleError
from supervision.store import Store

METHOD = (
    "shuangsuiji-1: numpy Generator(PCG64(seed)); subjects sorted by (kind, credit_key); "
    "per grade in order excellent..bad, k = floor(p*n) + Bernoulli(frac(p*n)) with "
    "p = min(1, base_ratio*factor) (bad: 1); round(risk_share*k) drawn without replacement "
    "with probability proportional to risk score, the rest uniformly without replacement "
    "from the remaining subjects; inspectors: targets in random order, each gets "
    "inspectors_per_target drawn one by one, uniformly among the least-loaded active "
    "inspectors (sorted by code) without a conflict, not yet chosen and under the cap"
)
TARGET_COLUMNS = (
    "credit_key",
    "local_code",
    "name",
    "kind",
    "grade",
    "probability",
    "picked_by",
    "risk_score",
    "inspectors",
)


@dataclass(frozen=True)
class PlanResult:
    """A drawn (or reloaded) plan: its targets, the realised ratio per grade, and how."""

    plan_id: int
    plan_date: date
    seed: int
    base_ratio: float
    method: str
    targets: pd.DataFrame
    ratios: pd.DataFrame
    parameters: dict[str, Any]


def grade_ratios(base_ratio: float, settings: SupervisionSettings) -> dict[str, float]:
    """Target inspection ratio per grade."""
    ratios = {g: min(1.0, base_ratio * settings.inspection_factors[g]) for g in GRADES[:-1]}
    ratios["bad"] = (
        1.0
        if settings.bad_grade_full_coverage
        else min(1.0, base_ratio * settings.inspection_factors["poor"])
    )
    return ratios


def select_targets(
    population: pd.DataFrame,
    base_ratio: float,
    rng: np.random.Generator,
    settings: SupervisionSettings,
) -> pd.DataFrame:
    """Draw targets from ``population`` (columns grade, risk_score; rows in a fixed order).

    Returns the selected rows with ``probability`` (the grade's target ratio) and
    ``picked_by`` (random or risk).
    """
    if not 0 < base_ratio <= 1:
        raise InputError("the base ratio must be above 0 and at most 1 (e.g. 0.1)")
    ratios = grade_ratios(base_ratio, settings)
    positions, picked_by = draw_positions(
        population["grade"].to_numpy(dtype=object),
        population["risk_score"].fillna(0.0).to_numpy(dtype=float),
        ratios,
        rng,
        settings.risk_share,
    )
    chosen = population.iloc[positions]
    return chosen.assign(
        probability=chosen["grade"].map(ratios).astype(float),
        picked_by=pd.array(picked_by, dtype="string"),
    )


def draw_positions(
    grades: np.ndarray,
    risk: np.ndarray,
    ratios: dict[str, float],
    rng: np.random.Generator,
    risk_share: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The draw itself on arrays: positions picked and how (``random`` or ``risk``)."""
    positions: list[np.ndarray] = []
    picked_by: list[np.ndarray] = []
    for grade in GRADES:
        members = np.flatnonzero(grades == grade)
        n = len(members)
        expected = ratios[grade] * n
        k = min(n, int(np.floor(expected)) + int(rng.random() < expected - np.floor(expected)))
        k_risk = round(risk_share * k)
        weights = risk[members]
        if k_risk and weights.sum() > 0:
            weights = np.maximum(weights, 1e-9)
            risk_pos = rng.choice(n, size=k_risk, replace=False, p=weights / weights.sum())
        else:
            k_risk, risk_pos = 0, np.array([], dtype=int)
        rest = np.setdiff1d(np.arange(n), risk_pos)
        random_pos = np.sort(rng.choice(rest, size=k - k_risk, replace=False))
        positions += [members[risk_pos], members[random_pos]]
        picked_by += [
            np.full(k_risk, "risk", dtype=object),
            np.full(k - k_risk, "random", dtype=object),
        ]
    return np.concatenate(positions).astype(int), np.concatenate(picked_by)


def assign_inspectors(
    targets: pd.DataFrame,
    inspectors: list[str],
    conflicts: dict[str, set[str]],
    rng: np.random.Generator,
    settings: SupervisionSettings,
) -> list[list[str]]:
    """Draw ``inspectors_per_target`` inspectors for each target (in ``targets`` order).

    ``conflicts`` maps an inspector to the subject keys (local codes or credit keys) they must
    never inspect; nobody gets more than ``max_targets_per_inspector`` targets.
    """
    per, cap = settings.inspectors_per_target, settings.max_targets_per_inspector
    if len(targets) * per > len(inspectors) * cap:
        raise RuleError(
            f"{len(targets)} targets need {len(targets) * per} inspections but "
            f"{len(inspectors)} inspectors with a cap of {cap} can do "
            f"{len(inspectors) * cap}; register more inspectors or raise the cap"
        )
    load = dict.fromkeys(inspectors, 0)
    assigned: list[list[str]] = [[] for _ in range(len(targets))]
    keys = list(zip(targets["credit_key"], targets["local_code"], strict=True))
    for position in rng.permutation(len(targets)):
        subject_keys = {k for k in keys[position] if k}
        eligible = [
            code
            for code in inspectors
            if load[code] < cap and not (conflicts.get(code, set()) & subject_keys)
        ]
        if len(eligible) < per:
            raise RuleError(
                f"subject {keys[position][0]} has {len(eligible)} eligible inspector(s), "
                f"needs {per}: register more inspectors or raise the cap"
            )
        chosen: list[str] = []
        for _ in range(per):
            pool = [c for c in eligible if c not in chosen]
            least = min(load[c] for c in pool)
            pool = [c for c in pool if load[c] == least]
            pick = pool[int(rng.integers(len(pool)))]
            chosen.append(pick)
            load[pick] += 1
        chosen.sort()
        assigned[position] = chosen
    return assigned


def _population(store: Store, plan_date: date, settings: SupervisionSettings) -> pd.DataFrame:
    with store.read() as session:
        subjects = session.execute(
            select(
                CreditSubject.id,
                CreditSubject.kind,
                CreditSubject.credit_key,
                CreditSubject.local_code,
                CreditSubject.name,
            )
            .where(CreditSubject.kind.in_(settings.plan_subject_kinds))
            .order_by(CreditSubject.kind, CreditSubject.credit_key)
        ).all()
        grades = session.execute(
            select(Grade.subject_id, Grade.year, Grade.grade)
            .where(Grade.year <= plan_date.year)
            .order_by(Grade.subject_id, Grade.year)
        ).all()
    frame = pd.DataFrame(
        subjects, columns=["subject_id", "kind", "credit_key", "local_code", "name"]
    )
    latest = (
        pd.DataFrame(grades, columns=["subject_id", "year", "grade"])
        .drop_duplicates("subject_id", keep="last")
        .set_index("subject_id")["grade"]
    )
    # as text first: with no grade at all the mapped column is float NaN, which a text
    # fill would upcast (pandas 4 refuses it)
    graded = frame["subject_id"].map(latest).astype("object")
    frame["grade"] = graded.where(graded.notna(), settings.ungraded_grade).astype("str")
    return frame


def _risk_scores(population: pd.DataFrame, leads: pd.DataFrame | None) -> pd.Series:
    if leads is None or leads.empty:
        return pd.Series(np.nan, index=population.index)
    best = (
        pd.to_numeric(leads["score"], errors="coerce")
        .groupby(leads["subject_id"].astype("string"))
        .max()
    )
    by_local = population["local_code"].map(best)
    by_key = population["credit_key"].map(best)
    return by_local.fillna(by_key).astype(float)


def draw_plan(
    store: Store,
    *,
    plan_date: date,
    base_ratio: float,
    seed: int,
    settings: SupervisionSettings,
    actor: str,
    leads: pd.DataFrame | None = None,
) -> PlanResult:
    """Draw, store and return a 双随机 plan; the same inputs and seed give the same plan."""
    population = _population(store, plan_date, settings)
    if population.empty:
        raise InputError(
            "no credit subjects to plan from; register subjects with `fundguard ledger add-subject`"
        )
    population["risk_score"] = _risk_scores(population, leads)
    with store.read() as session:
        codes = [
            c
            for (c,) in session.execute(
                select(Inspector.code).where(Inspector.active.is_(True)).order_by(Inspector.code)
            )
        ]
        conflicts: dict[str, set[str]] = {}
        for code, key in session.execute(
            select(InspectorConflict.inspector_code, InspectorConflict.subject_key)
        ):
            conflicts.setdefault(code, set()).add(key)
    rng = np.random.Generator(np.random.PCG64(seed))
    targets = select_targets(population, base_ratio, rng, settings)
    targets["inspectors"] = [
        ",".join(names) for names in assign_inspectors(targets, codes, conflicts, rng, settings)
    ]
    digest = hashlib.sha256(
        "\n".join(
            f"{k}|{g}" for k, g in zip(population["credit_key"], population["grade"], strict=True)
        ).encode()
    ).hexdigest()
    parameters: dict[str, Any] = {
        "grade_ratios": grade_ratios(base_ratio, settings),
        "risk_share": settings.risk_share if leads is not None else 0.0,
        "inspectors_per_target": settings.inspectors_per_target,
        "max_targets_per_inspector": settings.max_targets_per_inspector,
        "subject_kinds": list(settings.plan_subject_kinds),
        "population": len(population),
        "population_digest": digest,
        "inspectors": codes,
        "lead_model_versions": sorted(set(leads["model_version"].astype(str)))
        if leads is not None and "model_version" in leads
        else [],
    }
    with store.write(actor) as tx:
        plan = Plan(
            plan_date=plan_date,
            base_ratio=base_ratio,
            seed=seed,
            method=METHOD,
            parameters=parameters,
            created_by=tx.actor,
            created_at=tx.now,
        )
        tx.session.add(plan)
        tx.session.flush()
        for row in targets.to_dict("records"):
            risk = row["risk_score"]
            tx.session.add(
                PlanTarget(
                    plan_id=plan.id,
                    subject_id=int(row["subject_id"]),
                    grade=str(row["grade"]),
                    probability=float(row["probability"]),
                    picked_by=str(row["picked_by"]),
                    risk_score=None if pd.isna(risk) else float(risk),
                    inspectors=str(row["inspectors"]),
                )
            )
        tx.describe("plan.draw", seed=seed, targets=len(targets))
    return PlanResult(
        plan_id=plan.id,
        plan_date=plan_date,
        seed=seed,
        base_ratio=base_ratio,
        method=METHOD,
        targets=targets[list(TARGET_COLUMNS)].reset_index(drop=True),
        ratios=realised_ratios(population, targets, base_ratio, settings),
        parameters=parameters,
    )


def realised_ratios(
    population: pd.DataFrame,
    targets: pd.DataFrame,
    base_ratio: float,
    settings: SupervisionSettings,
) -> pd.DataFrame:
    """Per grade: subjects, target ratio, targets drawn, realised ratio, of which by risk."""
    target = grade_ratios(base_ratio, settings)
    n = population["grade"].value_counts()
    k = targets["grade"].value_counts()
    risk = targets.loc[targets["picked_by"] == "risk", "grade"].value_counts()
    rows = [
        {
            "grade": g,
            "subjects": int(n.get(g, 0)),
            "target_ratio": round(target[g], 4),
            "targets": int(k.get(g, 0)),
            "realised_ratio": round(k.get(g, 0) / n[g], 4) if n.get(g, 0) else None,
            "risk_picked": int(risk.get(g, 0)),
        }
        for g in GRADES
    ]
    return pd.DataFrame(rows)


def load_plan(store: Store, plan_id: int) -> PlanResult:
    """A stored plan with its targets."""
    with store.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(f"there is no plan {plan_id}")
        rows = session.execute(
            select(PlanTarget, CreditSubject)
            .join(CreditSubject, CreditSubject.id == PlanTarget.subject_id)
            .where(PlanTarget.plan_id == plan_id)
            .order_by(PlanTarget.id)
        ).all()
    targets = pd.DataFrame(
        [
            {
                "credit_key": s.credit_key,
                "local_code": s.local_code,
                "name": s.name,
                "kind": s.kind,
                "grade": t.grade,
                "probability": t.probability,
                "picked_by": t.picked_by,
                "risk_score": t.risk_score,
                "inspectors": t.inspectors,
            }
            for t, s in rows
        ],
        columns=list(TARGET_COLUMNS),
    )
    targets["risk_score"] = pd.to_numeric(targets["risk_score"]).astype(float)
    ratios = pd.DataFrame(
        [{"grade": g, "target_ratio": r} for g, r in plan.parameters["grade_ratios"].items()]
    )
    return PlanResult(
        plan_id=plan.id,
        plan_date=plan.plan_date,
        seed=plan.seed,
        base_ratio=plan.base_ratio,
        method=plan.method,
        targets=targets,
        ratios=ratios,
        parameters=plan.parameters,
    )


def list_plans(store: Store) -> pd.DataFrame:
    """Stored plans, newest first: date, ratio, seed, who drew them and how many targets."""
    from sqlalchemy import func

    with store.read() as session:
        rows = session.execute(
            select(
                Plan.id,
                Plan.plan_date,
                Plan.base_ratio,
                Plan.seed,
                Plan.created_by,
                Plan.created_at,
                func.count(PlanTarget.id),
            )
            .outerjoin(PlanTarget, PlanTarget.plan_id == Plan.id)
            .group_by(Plan.id)
            .order_by(Plan.id.desc())
        ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "plan_id",
            "plan_date",
            "base_ratio",
            "seed",
            "created_by",
            "created_at",
            "targets",
        ],
    )


def write_plan(result: PlanResult, out: Path) -> None:
    """Write the plan: CSV (targets) or XLSX (targets, ratios per grade, seed and method)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        result.targets.to_csv(out, index=False, encoding="utf-8-sig")
    elif out.suffix == ".xlsx":
        about = pd.DataFrame(
            {
                "field": ["plan", "date", "base_ratio", "seed", "method"],
                "value": [
                    result.plan_id,
                    result.plan_date.isoformat(),
                    result.base_ratio,
                    result.seed,
                    result.method,
                ],
            }
        )
        with pd.ExcelWriter(out) as writer:
            result.targets.to_excel(writer, sheet_name="targets", index=False)
            result.ratios.to_excel(writer, sheet_name="ratios", index=False)
            about.to_excel(writer, sheet_name="method", index=False)
    else:
        raise InputError(f"{out}: write the plan as .csv or .xlsx")
