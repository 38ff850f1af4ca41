"""What every page view shares: the signed-in principal and safe redirects."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from cityops.kernel.permissions import NotAuthenticated, Principal, authorize
from cityops.web.deps import OptionalPrincipal, Uow, session_user


def page_principal(request: Request, principal: OptionalPrincipal, uow: Uow) -> Principal:
    """A signed-in browser user; anonymous visitors are sent to the login page."""
    if principal is None or principal.user_id is None:
        raise NotAuthenticated("please sign in")
    request.state.principal = principal
    request.state.user = session_user(request, uow)
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def page_requires(permission: str):  # type: ignore[no-untyped-def]
    def guard(principal: PagePrincipal) -> Principal:
        return authorize(principal, permission)

    return guard


def local_path(target: str | None, default: str = "/") -> str:
    """Only same-site paths are accepted as redirect targets (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
