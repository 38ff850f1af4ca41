"""The routing table in the staff console at /field-reports/admin/routing (admins only).

The forms call the same functions as the JSON API (``api_admin.apply_rule``), so a rule is
checked the same way wherever it is edited; the session hook audits every change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal
from cityops.services.field_reports import portal
from cityops.services.field_reports.api_admin import apply_rule, rule_by_id
from cityops.services.field_reports.models import RoutingRule
from cityops.services.field_reports.schemas import RuleIn
from cityops.services.field_reports.views_portal import error_text
from cityops.web import i18n
from cityops.web.deps import Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(page_requires("field_reports.routing.manage"))]
PAGE = "/field-reports/admin/routing"
COMMUNE_LEAD = "commune"  # the lead select's value for "the report's commune committee"


def _rule_in(form: FormData) -> RuleIn:
    """The form's fields as the API's request body (the same validation applies)."""
    lead = str(form.get("lead", "") or "").strip()
    try:
        return RuleIn(
            category=str(form.get("category", "") or ""),
            area_code=str(form.get("area_code", "") or "") or None,
            lead_agency=None if lead in ("", COMMUNE_LEAD) else lead,
            lead_is_commune=lead == COMMUNE_LEAD,
            supporting=[str(v) for v in form.getlist("supporting") if v],
            supporting_commune=form.get("supporting_commune") == "1",
            priority=int(str(form.get("priority", "") or "100")),
            note=str(form.get("note", "") or ""))
    except (ValueError, ValidationError):
        raise Invalid(_("priority must be a whole number from 0 to 10000 and the note at "
                        "most 300 characters")) from None


def _page(request: Request, uow: Uow, *, error: str | None = None,
          status_code: int = 200) -> Response:
    session = uow.session
    rules = session.scalars(select(RoutingRule).order_by(
        RoutingRule.category_id, RoutingRule.priority, RoutingRule.id)).all()
    return render(request, "field_reports/routing_rules.html", status_code=status_code,
                  rules=rules, categories=portal.categories(session),
                  communes=portal.communes(session),
                  agencies=list(session.scalars(select(Agency).order_by(Agency.code))),
                  language=i18n.current_language.get(), error=error,
                  done=request.session.pop("fr_routing_done", None))


@router.get(PAGE)
def rules_page(request: Request, uow: Uow, principal: Admin) -> Response:
    return _page(request, uow)


async def _save(request: Request, uow: Uow, rule_id: int | None, *, delete: bool = False
                ) -> Response:
    form = await request.form()
    try:
        if delete:
            uow.session.delete(rule_by_id(uow, rule_id or 0))
            done = _("Routing rule deleted")
        else:
            rule = RoutingRule() if rule_id is None else rule_by_id(uow, rule_id)
            apply_rule(uow, rule, _rule_in(form))
            if rule_id is None:
                uow.session.add(rule)
            done = _("Routing rule saved")
        uow.commit()
    except (Invalid, NotFound) as exc:
        uow.session.rollback()
        return _page(request, uow, error=error_text(exc),
                     status_code=404 if isinstance(exc, NotFound) else 400)
    request.session["fr_routing_done"] = done
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE, dependencies=[Depends(verify_csrf_form)])
async def create_rule(request: Request, uow: Uow, principal: Admin) -> Response:
    return await _save(request, uow, None)


@router.post(PAGE + "/{rule_id}", dependencies=[Depends(verify_csrf_form)])
async def update_rule(request: Request, uow: Uow, principal: Admin, rule_id: int) -> Response:
    return await _save(request, uow, rule_id)


@router.post(PAGE + "/{rule_id}/delete", dependencies=[Depends(verify_csrf_form)])
async def delete_rule(request: Request, uow: Uow, principal: Admin, rule_id: int) -> Response:
    return await _save(request, uow, rule_id, delete=True)
