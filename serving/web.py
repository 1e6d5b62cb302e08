"""What the console's pages and JSON endpoints share: who is asking, and how errors look.

A request is authenticated by its bearer token or the console's cookie; an endpoint names
the permission it needs. Errors of the layers below (``InputError`` and its supervision
subclasses) become 4xx answers with their one-line message: JSON under ``/api``, an HTML
page elsewhere; a page that needs a login redirects to the login form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.auth import Permission, User, bearer_token
from settlements.errors import InputError

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


class NotAuthenticatedError(Exception):
    """No valid token or session: log in first."""


class ForbiddenError(Exception):
    """The user's role does not hold the permission the endpoint needs."""

    def __init__(self, user: User, permission: Permission) -> None:
        super().__init__(
            f"{user.name} ({user.role.value}) may not {permission.value.replace('_', ' ')}; "
            "ask for a user with a role that may"
        )


def status_of(exc: InputError) -> int:
    """The HTTP status of an error from the layers below, by its class name."""
    name = type(exc).__name__
    return {"NotFoundError": 404, "ConflictError": 409, "RuleError": 422}.get(name, 400)


def is_api(request: Request) -> bool:
    return request.url.path.startswith(f"{request.scope.get('root_path', '')}/api")


def base_path(request: Request) -> str:
    """Where the console is mounted (``/console`` in the service, empty in a bare app)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """A console page, with the user, the mount path and any flash message."""
    flash = request.query_params.get("flash")
    context.setdefault("flash", flash)
    context.setdefault("flash_kind", request.query_params.get("kind", ""))
    context.setdefault("user", getattr(request.state, "user", None))
    context["base"] = base_path(request)
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Turn every expected error into a 4xx; an unexpected one into a logged 500."""

    def answer(request: Request, status: int, title: str, message: str) -> Response:
        if is_api(request):
            return JSONResponse({"error": message}, status_code=status)
        return render(request, "error.html", status, status=status, title=title, message=message)

    @app.exception_handler(NotAuthenticatedError)
    async def _login(request: Request, exc: NotAuthenticatedError) -> Response:
        if is_api(request):
            return JSONResponse(
                {"error": "no valid token: send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse(f"{base_path(request)}/login", status_code=303)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, exc: ForbiddenError) -> Response:
        return answer(request, 403, "Forbidden", str(exc))

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        status = status_of(exc)
        return answer(request, status, type(exc).__name__.removesuffix("Error"), str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return answer(request, 400, "Bad request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, exc.status_code, "Error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("console request failed", extra={"path": request.url.path})
        return answer(request, 500, "Server error", "unexpected error; see the service log")


def requires(permission: Permission, authenticate: Callable[[Request], User | None]) -> Any:
    """A dependency giving the request's user, who must hold ``permission``."""

    def dependency(request: Request) -> User:
        user = authenticate(request)
        if user is None:
            raise NotAuthenticatedError
        if not user.can(permission):
            raise ForbiddenError(user, permission)
        return user

    return Depends(dependency)


def token_of(request: Request, cookie_name: str) -> str | None:
    return bearer_token(request.headers.get("authorization"), request.cookies.get(cookie_name))
