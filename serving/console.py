"""The console: server-rendered pages and the JSON endpoints behind them.

``create_console(provider)`` builds the FastAPI app; ``provider`` gives the Application
(resolved per request, so the app can be created before settings load). The service
mounts it at ``/console``; pages live at ``/console/...``, JSON at ``/console/api/...``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from serving.application import Application
from serving.auth import TOKEN_COOKIE, Role, User
from serving.web import (
    HERE,
    NotAuthenticatedError,
    base_path,
    install_error_handlers,
    render,
    token_of,
)

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

    return app
