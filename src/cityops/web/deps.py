"""Typed FastAPI dependencies: the context, the unit of work, the principal, guards, CSRF."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request

from cityops.kernel.audit import AuditContext, set_audit_context
from cityops.kernel.auth import (
    User,
    principal_for_api_key,
    principal_for_user,
    record_api_key_use,
)
from cityops.kernel.context import AppContext
from cityops.kernel.permissions import NotAuthenticated, PermissionDenied, Principal, authorize
from cityops.kernel.uow import UnitOfWork

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def client_addr(request: Request) -> str:
    return request.client.host if request.client else ""


def get_uow(request: Request, ctx: Ctx) -> Iterator[UnitOfWork]:
    # Safe methods only read; the others take SQLite's write lock up front (see kernel.db).
    with ctx.uow(client_addr=client_addr(request),
                 write=request.method not in SAFE_METHODS) as uow:
        yield uow


Uow = Annotated[UnitOfWork, Depends(get_uow)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok(request: Request, given: str | None) -> bool:
    expected = request.session.get("csrf")
    return bool(expected and given and secrets.compare_digest(expected, given))


def session_user(request: Request, uow: UnitOfWork) -> User | None:
    uid = request.session.get("uid")
    if uid is None:
        return None
    user = uow.session.get(User, uid)
    if user is None or not user.is_active or user.token_version != request.session.get("v"):
        request.session.clear()
        return None
    return user


def optional_principal(request: Request, uow: Uow, ctx: Ctx) -> Principal | None:
    """API key, then bearer token, then the browser session (CSRF-checked when unsafe)."""
    principal: Principal | None = None
    api_key = request.headers.get("X-API-Key")
    authorization = request.headers.get("Authorization", "")
    if api_key:
        # Its own short session: noting the key's use writes, and must not wait on (or be
        # blocked by) the request's own transaction.
        with ctx.db.sessions() as auth_session:
            principal = principal_for_api_key(auth_session, api_key)
            if principal is None:
                raise NotAuthenticated("invalid or revoked API key")
            record_api_key_use(auth_session, principal)
    elif authorization.lower().startswith("bearer "):
        user = ctx.tokens.resolve(uow.session, authorization[7:].strip())
        if user is None:
            raise NotAuthenticated("invalid or expired token")
        principal = principal_for_user(uow.session, user)
    else:
        user = session_user(request, uow)
        if user is not None:
            is_api = request.url.path.startswith("/api/")
            if is_api and request.method not in SAFE_METHODS and \
                    not _csrf_ok(request, request.headers.get(CSRF_HEADER)):
                raise PermissionDenied("missing or wrong CSRF token")
            principal = principal_for_user(uow.session, user)
    if principal is not None:
        uow.principal = principal
        set_audit_context(uow.session, AuditContext(
            actor=principal.label, actor_user_id=principal.user_id,
            client_addr=client_addr(request)))
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated("authentication required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[[Principal], Principal]:
    """Dependency factory: ``Depends(require("areas.read"))`` guards a route."""

    def guard(principal: CurrentPrincipal) -> Principal:
        return authorize(principal, permission)

    guard.__name__ = f"require_{permission.replace('.', '_')}"
    return guard


async def verify_csrf_form(request: Request) -> None:
    """Every state-changing form carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not _csrf_ok(request, given):
        raise PermissionDenied("missing or wrong CSRF token; reload the page and try again")
