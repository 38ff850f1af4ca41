"""OAuth2 password flow: ``POST /api/v1/auth/token``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from cityops.kernel.audit import record_event
from cityops.kernel.auth import LoginRefused, authenticate
from cityops.web.deps import Ctx, CurrentPrincipal, Uow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    username: str
    roles: list[str]
    agency_id: int | None
    province_wide: bool


@router.post("/token", response_model=TokenOut)
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: Uow,
                ctx: Ctx) -> TokenOut:
    try:
        user = authenticate(uow.session, form.username, form.password,
                            max_failures=ctx.settings.login_max_failures,
                            lockout_seconds=ctx.settings.login_lockout_seconds)
    except LoginRefused as exc:
        record_event(uow.session, "login.failed", "users", form.username[:64], {"via": "api"})
        uow.commit()  # the failure counter must persist for the back-off to work
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    record_event(uow.session, "login", "users", str(user.id), {"via": "api"})
    uow.commit()
    return TokenOut(access_token=ctx.tokens.issue(user), expires_in=ctx.tokens.ttl_seconds)


@router.get("/me", response_model=MeOut)
def who_am_i(principal: CurrentPrincipal) -> MeOut:
    return MeOut(username=principal.label, roles=sorted(principal.roles),
                 agency_id=principal.agency_id, province_wide=principal.province_wide)
