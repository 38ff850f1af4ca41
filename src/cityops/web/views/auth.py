"""Login, logout and the language switch."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from cityops.kernel.audit import record_event
from cityops.kernel.auth import LoginRefused, authenticate
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.templating import render
from cityops.web.views.common import local_path

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=local_path(next, "/overview"), error=None)


@router.post("/login", dependencies=[Depends(verify_csrf_form)])
def login(request: Request, uow: Uow, ctx: Ctx,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form()] = "/overview") -> Response:
    try:
        user = authenticate(uow.session, username, password,
                            max_failures=ctx.settings.login_max_failures,
                            lockout_seconds=ctx.settings.login_lockout_seconds)
    except LoginRefused as exc:
        record_event(uow.session, "login.failed", "users", username[:64], {"via": "web"})
        uow.commit()
        return render(request, "login.html", status_code=401, next=local_path(next),
                      error=i18n.gettext(str(exc)), username=username)
    record_event(uow.session, "login", "users", str(user.id), {"via": "web"})
    uow.commit()
    language = request.session.get("lang") or user.language
    request.session.clear()  # a fresh session on login defeats session fixation
    request.session.update({"uid": user.id, "v": user.token_version, "lang": language,
                            "csrf": secrets.token_urlsafe(32)})
    return RedirectResponse(local_path(next, "/overview"), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf_form)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/lang", dependencies=[Depends(verify_csrf_form)])
def switch_language(request: Request, language: Annotated[str, Form()],
                    next: Annotated[str, Form()] = "/") -> Response:
    request.session["lang"] = i18n.pick_language(language)
    return RedirectResponse(local_path(next), status_code=303)
