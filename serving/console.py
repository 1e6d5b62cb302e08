"""The console: server-rendered pages and the JSON endpoints behind them.

``create_console(provider)`` builds the FastAPI app; ``provider`` gives the Application
(resolved per request, so the app can be created before settings load). The service
mounts it at ``/console``; pages live at ``/console/...``, JSON at ``/console/api/...``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from serving import ledgerwork, modelwork
from serving.application import Application
from serving.auth import TOKEN_COOKIE, Permission, Role, User
from serving.casework import LeadFilter, case_view, decide, lead_queue
from serving.web import (
    HERE,
    NotAuthenticatedError,
    base_path,
    install_error_handlers,
    render,
    requires,
    token_of,
)
from settlements.errors import InputError
from settlements.schema import PATTERNS, SUBJECT_TYPES
from supervision.calendar import today as calendar_today

HOME_OF_ROLE = {
    Role.INSPECTOR: "/leads",
    Role.PLANNER: "/grades",
    Role.MODEL_OWNER: "/models",
    Role.AUDITOR: "/audit",
    Role.SYSTEM: "/api/me",
}
"""The page each role lands on after logging in."""


def create_console(provider: Callable[[], Application]) -> FastAPI:
    """The console app over the Application that ``provider`` returns."""
    app = FastAPI(
        title="fundguard console",
        description="Leads, cases, credit archives, grades, plans and models.",
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    install_error_handlers(app)

    def authenticate(request: Request) -> User | None:
        user = provider().users.authenticate(token_of(request, TOKEN_COOKIE))
        request.state.user = user
        return user

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        return render(request, "login.html")

    @app.post("/login", include_in_schema=False)
    def login(request: Request, token: str = Form(...)) -> Response:
        user = provider().users.authenticate(token.strip())
        if user is None:
            return render(
                request, "login.html", 401, flash="That token is not valid.", flash_kind="error"
            )
        response = RedirectResponse(f"{base_path(request)}/", status_code=303)
        response.set_cookie(TOKEN_COOKIE, token.strip(), httponly=True, samesite="strict", path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        response = RedirectResponse(f"{base_path(request)}/login", status_code=303)
        response.delete_cookie(TOKEN_COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        user = authenticate(request)
        if user is None:
            raise NotAuthenticatedError
        return RedirectResponse(f"{base_path(request)}{HOME_OF_ROLE[user.role]}", 303)

    @app.get("/api/me", tags=["users"])
    def me(request: Request) -> dict[str, str]:
        """Who the token belongs to and its role."""
        user = authenticate(request)
        if user is None:
            raise NotAuthenticatedError
        return {"name": user.name, "role": user.role.value}

    register_casework(app, provider, authenticate)
    register_ledger(app, provider, authenticate)
    register_models(app, provider, authenticate)
    return app


class DecisionIn(BaseModel):
    """An inspector's decision on a case (JSON form of the console's decide buttons)."""

    outcome: Literal["confirmed", "rejected", "inconclusive"]
    reason: str = Field(min_length=1, max_length=2000)
    version: int = Field(description="The case version the decision was made on.")
    confirmed_amount: float | None = Field(default=None, ge=0)
    liable: str | None = Field(
        default=None, description="Liable subject of a confirmed visit case (code or key)."
    )
    severity: Literal["general", "serious", "severe"] | None = None


def _lead_filter(
    pattern: str | None,
    institution: str | None,
    min_amount: str | None,
    subject_type: str | None,
    state: str | None,
) -> LeadFilter:
    amount: float | None = None
    if min_amount not in (None, ""):
        try:
            amount = float(str(min_amount))
        except ValueError:
            raise InputError(f"min_amount {min_amount!r} is not a number") from None
    if pattern and pattern not in PATTERNS:
        raise InputError(f"pattern must be one of {', '.join(sorted(PATTERNS))}")
    if subject_type and subject_type not in SUBJECT_TYPES:
        raise InputError(f"subject_type must be one of {', '.join(sorted(SUBJECT_TYPES))}")
    return LeadFilter(
        pattern=pattern or None,
        institution=institution or None,
        min_amount=amount,
        subject_type=subject_type or None,
        state=state or None,
    )


def _default_liable(case: dict[str, Any]) -> str | None:
    """The institution is liable by default, for card lending the person; a subject the
    ledger knows is preferred over one it would first have to register."""
    options = list(case["liable_options"])
    if case["pattern"] == "card_lending":
        options.reverse()
    known = [o for o in options if o in case["liable_registered"]]
    return (known or options or [None])[0]


def register_casework(
    app: FastAPI,
    provider: Callable[[], Application],
    authenticate: Callable[[Request], User | None],
) -> None:
    """The inspector's pages and JSON: lead queue, case with evidence, decisions."""

    def queue(request: Request, wanted: LeadFilter, page: int) -> dict[str, Any]:
        application = provider()
        size = application.serving.page_size
        rows, total = lead_queue(application.store(), application.evidence(), wanted, page, size)
        return {"leads": rows, "total": total, "page": page, "pages": max(1, -(-total // size))}

    @app.get("/api/leads", tags=["cases"])
    def api_leads(
        request: Request,
        pattern: str | None = None,
        institution: str | None = None,
        min_amount: str | None = None,
        subject_type: str | None = None,
        state: str | None = None,
        page: int = Query(1, ge=1),
        user: User = requires(Permission.READ_LEADS, authenticate),
    ) -> dict[str, Any]:
        """Undecided cases by rank, filtered by pattern, institution and amount at risk."""
        wanted = _lead_filter(pattern, institution, min_amount, subject_type, state)
        return queue(request, wanted, page)

    @app.get("/leads", include_in_schema=False)
    def leads_page(
        request: Request,
        pattern: str | None = None,
        institution: str | None = None,
        min_amount: str | None = None,
        subject_type: str | None = None,
        page: int = Query(1, ge=1),
        user: User = requires(Permission.READ_LEADS, authenticate),
    ) -> Response:
        wanted = _lead_filter(pattern, institution, min_amount, subject_type, None)
        found = queue(request, wanted, page)
        query = urlencode(
            {
                k: v
                for k, v in {
                    "pattern": pattern,
                    "institution": institution,
                    "min_amount": min_amount,
                    "subject_type": subject_type,
                }.items()
                if v
            }
        )
        return render(
            request,
            "leads.html",
            filters=wanted,
            patterns=sorted(PATTERNS),
            subject_types=sorted(SUBJECT_TYPES),
            query=query,
            **found,
        )

    def view(case_id: int) -> dict[str, Any]:
        application = provider()
        return case_view(
            application.store(),
            application.evidence(),
            case_id,
            application.features.readmission_window_days,
        )

    @app.get("/api/cases/{case_id}", tags=["cases"])
    def api_case(
        case_id: int, user: User = requires(Permission.READ_LEADS, authenticate)
    ) -> dict[str, Any]:
        """A case with its reasons, evidence timeline, history and ledger records."""
        return view(case_id)

    @app.get("/cases/{case_id}", include_in_schema=False)
    def case_page(
        request: Request, case_id: int, user: User = requires(Permission.READ_LEADS, authenticate)
    ) -> Response:
        case = view(case_id)
        return render(
            request,
            "case.html",
            case=case,
            can_decide=user.can(Permission.DECIDE),
            default_liable=_default_liable(case),
            has_evidence=provider().evidence() is not None,
        )

    def decide_as(user: User, case_id: int, decision: DecisionIn) -> None:
        application = provider()
        amount = decision.confirmed_amount
        decide(
            application.store(),
            application.supervision,
            case_id,
            decision.outcome,
            actor=user.actor,
            inspector=user.name,
            reason=decision.reason,
            expected_version=decision.version,
            confirmed_amount=None if amount is None else f"{amount:.2f}",
            liable=decision.liable,
            severity=decision.severity,
            dataset=application.evidence(),
        )

    @app.post("/api/cases/{case_id}/decision", tags=["cases"])
    def api_decide(
        case_id: int,
        decision: DecisionIn,
        user: User = requires(Permission.DECIDE, authenticate),
    ) -> dict[str, Any]:
        """Decide a case (taking it first if nobody has); a confirmation writes the ledger.

        409 when the case changed since ``version``: reload and decide again."""
        decide_as(user, case_id, decision)
        return view(case_id)

    @app.post("/cases/{case_id}/decision", include_in_schema=False)
    def decide_form(
        request: Request,
        case_id: int,
        outcome: str = Form(...),
        reason: str = Form(...),
        version: int = Form(...),
        confirmed_amount: str | None = Form(None),
        liable: str | None = Form(None),
        user: User = requires(Permission.DECIDE, authenticate),
    ) -> Response:
        try:
            decision = DecisionIn(
                outcome=outcome,  # type: ignore[arg-type]
                reason=reason,
                version=version,
                confirmed_amount=float(confirmed_amount) if confirmed_amount else None,
                liable=liable or None,
            )
        except (ValidationError, ValueError) as exc:
            raise InputError(f"the decision is incomplete: {exc}") from None
        decide_as(user, case_id, decision)
        flash = quote(f"Case {case_id} {outcome}.")
        return RedirectResponse(f"{base_path(request)}/cases/{case_id}?flash={flash}", 303)


def register_ledger(
    app: FastAPI,
    provider: Callable[[], Application],
    authenticate: Callable[[Request], User | None],
) -> None:
    """The planner's and auditor's pages and JSON: grades, archives, plans, audit log."""

    def shows(user: User) -> bool:
        return user.role.value in provider().serving.identifier_roles

    @app.get("/api/grades", tags=["ledger"])
    def api_grades(
        kind: str | None = None, user: User = requires(Permission.READ_GRADES, authenticate)
    ) -> list[dict[str, Any]]:
        """Every credit subject with its latest grade."""
        return ledgerwork.grades(provider().store(), shows(user), kind)

    @app.get("/grades", include_in_schema=False)
    def grades_page(
        request: Request,
        kind: str | None = None,
        user: User = requires(Permission.READ_GRADES, authenticate),
    ) -> Response:
        rows = ledgerwork.grades(provider().store(), shows(user), kind)
        return render(request, "grades.html", subjects=rows, kind=kind or "")

    @app.get("/api/subjects/{key}", tags=["ledger"])
    def api_subject(
        key: str, user: User = requires(Permission.READ_ARCHIVE, authenticate)
    ) -> dict[str, Any]:
        """A subject's credit archive: records, measures, grade history, objections."""
        return ledgerwork.subject_archive(provider().store(), key, shows(user))

    @app.get("/subjects/{key}", include_in_schema=False)
    def subject_page(
        request: Request, key: str, user: User = requires(Permission.READ_ARCHIVE, authenticate)
    ) -> Response:
        found = ledgerwork.subject_archive(provider().store(), key, shows(user))
        return render(request, "subject.html", key=key, archive=found)

    @app.get("/api/plans", tags=["plans"])
    def api_plans(
        user: User = requires(Permission.READ_GRADES, authenticate),
    ) -> list[dict[str, Any]]:
        """Stored 双随机 plans, newest first."""
        return ledgerwork.plans(provider().store())

    @app.get("/api/plans/{plan_id}", tags=["plans"])
    def api_plan(
        plan_id: int, user: User = requires(Permission.READ_GRADES, authenticate)
    ) -> dict[str, Any]:
        """A plan with its inputs, realised ratios and targets."""
        return ledgerwork.plan(provider().store(), plan_id, shows(user))

    @app.post("/api/plans", tags=["plans"])
    def api_draw(
        request_body: PlanIn, user: User = requires(Permission.WRITE_PLANS, authenticate)
    ) -> dict[str, Any]:
        """Draw and store a plan (the same inputs and seed give the same plan)."""
        application = provider()
        return ledgerwork.draw(
            application.store(),
            application.supervision,
            actor=user.actor,
            plan_date=request_body.plan_date,
            base_ratio=request_body.base_ratio,
            seed=request_body.seed,
            show_identifiers=shows(user),
        )

    @app.get("/plans", include_in_schema=False)
    def plans_page(
        request: Request, user: User = requires(Permission.READ_GRADES, authenticate)
    ) -> Response:
        return render(
            request,
            "plans.html",
            plans=ledgerwork.plans(provider().store()),
            can_draw=user.can(Permission.WRITE_PLANS),
            today=calendar_today().isoformat(),
        )

    @app.post("/plans", include_in_schema=False)
    def draw_form(
        request: Request,
        plan_date: str = Form(...),
        base_ratio: str = Form(...),
        seed: str = Form(...),
        user: User = requires(Permission.WRITE_PLANS, authenticate),
    ) -> Response:
        try:
            wanted = PlanIn(plan_date=plan_date, base_ratio=base_ratio, seed=seed)  # type: ignore[arg-type]
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"{first['loc'][0]}: {first['msg']}") from None
        drawn = api_draw(wanted, user)
        return RedirectResponse(f"{base_path(request)}/plans/{drawn['plan_id']}", 303)

    @app.get("/plans/{plan_id}", include_in_schema=False)
    def plan_page(
        request: Request, plan_id: int, user: User = requires(Permission.READ_GRADES, authenticate)
    ) -> Response:
        return render(
            request, "plan.html", plan=ledgerwork.plan(provider().store(), plan_id, shows(user))
        )

    @app.get("/api/audit", tags=["audit"])
    def api_audit(
        limit: int = Query(200, ge=1, le=5000),
        user: User = requires(Permission.READ_AUDIT, authenticate),
    ) -> dict[str, Any]:
        """The latest audit entries (who changed what, when) and whether the chain verifies."""
        return ledgerwork.audit_log(provider().store(), limit)

    @app.get("/audit", include_in_schema=False)
    def audit_page(
        request: Request, user: User = requires(Permission.READ_AUDIT, authenticate)
    ) -> Response:
        return render(request, "audit.html", audit=ledgerwork.audit_log(provider().store(), 200))


class PlanIn(BaseModel):
    """A plan to draw: its date, the base spot-check ratio and the seed of the draw."""

    plan_date: date
    base_ratio: float = Field(gt=0, le=1)
    seed: int = Field(ge=0)


def register_models(
    app: FastAPI,
    provider: Callable[[], Application],
    authenticate: Callable[[Request], User | None],
) -> None:
    """The model owner's pages and JSON: versions, evaluation, plots, promotion."""

    @app.get("/api/models", tags=["models"])
    def api_models(
        user: User = requires(Permission.READ_MODELS, authenticate),
    ) -> dict[str, Any]:
        """Registered versions, and champion and challenger side by side."""
        training = provider().training
        return {
            "versions": modelwork.versions(training),
            "compare": modelwork.side_by_side(training),
        }

    @app.get("/api/models/{number}", tags=["models"])
    def api_model(
        number: str, user: User = requires(Permission.READ_MODELS, authenticate)
    ) -> dict[str, Any]:
        """One version: aliases, tags, metrics, model card, plot names."""
        return modelwork.version(provider().training, number)

    @app.get("/models/{number}/plots/{name:path}", tags=["models"])
    def model_plot(
        number: str, name: str, user: User = requires(Permission.READ_MODELS, authenticate)
    ) -> Response:
        """A PNG plot of the version's held-out evaluation."""
        application = provider()
        cache = application.data_dir / "serving" / "plots"
        return FileResponse(
            modelwork.plot_file(application.training, number, name, cache),
            media_type="image/png",
        )

    @app.get("/models", include_in_schema=False)
    def models_page(
        request: Request, user: User = requires(Permission.READ_MODELS, authenticate)
    ) -> Response:
        training = provider().training
        return render(
            request,
            "models.html",
            versions=modelwork.versions(training),
            compare=modelwork.side_by_side(training),
            can_promote=user.can(Permission.PROMOTE),
        )

    def promote_as(user: User, number: str) -> dict[str, Any]:
        application = provider()
        outcome = modelwork.promote(application.training, number, user.actor)
        if outcome["promoted"]:
            application.forget_scorer()
        return outcome

    @app.post("/api/models/{number}/promote", tags=["models"])
    def api_promote(
        number: str, user: User = requires(Permission.PROMOTE, authenticate)
    ) -> dict[str, Any]:
        """Make the version champion if it beats the champion; the service then serves it."""
        return promote_as(user, number)

    @app.post("/models/{number}/promote", include_in_schema=False)
    def promote_form(
        request: Request, number: str, user: User = requires(Permission.PROMOTE, authenticate)
    ) -> Response:
        outcome = promote_as(user, number)
        message = (
            f"Version {number} is now the champion."
            if outcome["promoted"]
            else f"Version {number} did not beat the champion on {outcome['metric']}; "
            "it stays challenger."
        )
        return RedirectResponse(f"{base_path(request)}/models?flash={quote(message)}", 303)
