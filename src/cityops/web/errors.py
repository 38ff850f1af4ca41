"""Domain errors and how the web layer turns every error into a clear 4xx answer."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.permissions import NotAuthenticated, PermissionDenied

__all__ = ["Conflict", "Invalid", "NotFound", "install_error_handlers"]


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/open311/", "/cap/")) and \
        "text/html" in request.headers.get("accept", "")


def _json(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def _answer(request: Request, status: int, message: str) -> Response:
    """JSON for API clients; a translated page for people in a browser."""
    if not _wants_html(request):
        return _json(status, message)
    from cityops.web import i18n
    from cityops.web.templating import render

    return render(request, "error.html", status_code=status, status=status,
                  message=i18n.gettext(message))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": str(exc) or "authentication required"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(PermissionDenied)
    async def _denied(request: Request, exc: PermissionDenied) -> Response:
        return _answer(request, 403, str(exc) or "permission denied")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _answer(request, 404, str(exc) or "not found")

    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid) -> Response:
        return _answer(request, 409 if isinstance(exc, Conflict) else 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append({"field": where, "problem": err.get("msg", "invalid")})
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return _json(422, f"invalid request: {summary}", errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
