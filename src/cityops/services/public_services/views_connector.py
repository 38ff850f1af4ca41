"""Connector pages (admins): configure a dossier source, see its last sync and errors."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cityops.kernel.errors import Invalid
from cityops.kernel.permissions import Principal
from cityops.services.public_services import tickets
from cityops.services.public_services.connector import MAPPABLE, run_connector, save_connector
from cityops.services.public_services.models import AUTH_KINDS, Connector, SyncRun
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
CSRF = [Depends(verify_csrf_form)]
Admin = Annotated[Principal, Depends(page_requires("public_services.connectors.manage"))]
SettingsAdmin = Annotated[Principal,
                          Depends(page_requires("public_services.settings.manage"))]
BASE = "/public-services/connectors"


def _page(request: Request, uow: Uow, error: str = "", status: int = 200,
          form: dict[str, Any] | None = None) -> Response:
    connectors = uow.session.scalars(select(Connector).order_by(Connector.name)).all()
    runs = uow.session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(20)).all()
    names = {c.id: c.name for c in connectors}
    warning = {key: tickets.setting(uow.session, key) for key in tickets.DEFAULTS}
    return render(request, "public_services/connectors.html", status_code=status,
                  connectors=connectors, runs=runs, names=names, error=error,
                  auth_kinds=AUTH_KINDS, mappable=MAPPABLE, form=form or {}, warning=warning)


@router.get(BASE)
def connectors_page(request: Request, uow: Uow, principal: Admin) -> Response:
    return _page(request, uow)


def _int(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Invalid(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise Invalid(f"{name} must be between {low} and {high}")
    return number


def _values(form: Any) -> dict[str, Any]:
    try:
        mapping = json.loads(str(form.get("field_mapping") or "{}"))
    except json.JSONDecodeError as exc:
        raise Invalid(f"the field mapping is not JSON: {exc}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise Invalid('the field mapping must be a JSON object {"our field": "json.path"}')
    return {
        "name": str(form.get("name") or "").strip()[:120],
        "url": str(form.get("url") or "").strip()[:1000],
        "auth_kind": str(form.get("auth_kind") or "none"),
        "auth_username": str(form.get("auth_username") or "").strip()[:200],
        "auth_header": str(form.get("auth_header") or "").strip()[:100],
        "auth_secret": str(form.get("auth_secret") or "")[:500],
        "items_path": str(form.get("items_path") or "").strip()[:200],
        "page_param": str(form.get("page_param") or "").strip()[:50],
        "page_size": _int(form.get("page_size") or 100, "page size", 1, 1000),
        "max_pages": _int(form.get("max_pages") or 50, "max pages", 1, 1000),
        "every_minutes": _int(form.get("every_minutes") or 60, "schedule", 1, 10_080),
        "enabled": form.get("enabled") == "1",
        "field_mapping": mapping,
    }


@router.post(BASE, dependencies=CSRF)
async def create_connector(request: Request, uow: Uow, principal: Admin) -> Response:
    form = await request.form()
    try:
        save_connector(uow.session, _values(form))
    except Invalid as exc:
        uow.session.rollback()
        shown = {k: v for k, v in form.items() if k not in ("auth_secret", "csrf_token")}
        return _page(request, uow, error=str(exc), status=400, form=shown)
    uow.commit()
    return RedirectResponse(BASE, status_code=303)


@router.post(BASE + "/{connector_id}/run", dependencies=CSRF)
def run_now(connector_id: int, request: Request, uow: Uow, ctx: Ctx,
            principal: Admin) -> Response:
    if uow.session.get(Connector, connector_id) is None:
        raise Invalid(f"no connector {connector_id}")
    uow.session.rollback()  # the pull uses its own transaction
    run_connector(ctx, connector_id)
    return RedirectResponse(BASE, status_code=303)


@router.post("/public-services/warning-settings", dependencies=CSRF)
async def warning_settings(request: Request, uow: Uow, principal: SettingsAdmin) -> Response:
    form = await request.form()
    try:
        tickets.save_settings(uow.session, str(form.get("warning_time") or ""),
                              str(form.get("warning_days") or ""))
    except Invalid as exc:
        uow.session.rollback()
        return _page(request, uow, error=str(exc), status=400)
    uow.commit()
    return RedirectResponse(BASE, status_code=303)
