"""Routing rules CRUD for admins under /api/v1/field-reports/routing-rules (audited rows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.orgs import agency_by_code, area_by_code
from cityops.kernel.permissions import Principal
from cityops.services.field_reports.intake import category_by_code
from cityops.services.field_reports.models import RoutingRule
from cityops.services.field_reports.schemas import RuleIn, RuleOut
from cityops.web.deps import Uow, require

router = APIRouter(prefix="/api/v1/field-reports/routing-rules", tags=["field reports"])
Admin = Annotated[Principal, Depends(require("field_reports.routing.manage"))]
Reader = Annotated[Principal, Depends(require("field_reports.read"))]


def _out(rule: RoutingRule) -> RuleOut:
    return RuleOut(id=rule.id, category=rule.category.code,
                   area_code=rule.area.code if rule.area else None,
                   lead_agency=rule.lead_agency.code if rule.lead_agency else None,
                   lead_is_commune=rule.lead_is_commune,
                   supporting=[a.code for a in rule.supporting],
                   supporting_commune=rule.supporting_commune, priority=rule.priority,
                   note=rule.note)


def apply_rule(uow: Uow, rule: RoutingRule, body: RuleIn) -> None:
    """Validate ``body`` and copy it onto ``rule``; the admin page (views_routing) uses it too."""
    session = uow.session
    if body.lead_is_commune == bool(body.lead_agency):
        raise Invalid("give either lead_agency or lead_is_commune: true")
    rule.category = category_by_code(session, body.category)
    rule.area = None
    if body.area_code:
        rule.area = area_by_code(session, body.area_code)
        if rule.area is None or rule.area.level != "commune":
            raise Invalid(f"no commune with code {body.area_code!r}")
    rule.lead_agency = None
    if body.lead_agency:
        rule.lead_agency = agency_by_code(session, body.lead_agency)
        if rule.lead_agency is None:
            raise Invalid(f"no agency with code {body.lead_agency!r}")
    supporting = []
    for code in body.supporting:
        agency = agency_by_code(session, code)
        if agency is None:
            raise Invalid(f"no agency with code {code!r}")
        supporting.append(agency)
    rule.supporting = supporting
    rule.lead_is_commune = body.lead_is_commune
    rule.supporting_commune = body.supporting_commune
    rule.priority = body.priority
    rule.note = body.note.strip()


def rule_by_id(uow: Uow, rule_id: int) -> RoutingRule:
    rule = uow.session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"no routing rule with id {rule_id}")
    return rule


@router.get("", response_model=list[RuleOut])
def list_rules(uow: Uow, principal: Reader, category: str | None = None) -> list[RuleOut]:
    stmt = select(RoutingRule).order_by(RoutingRule.category_id, RoutingRule.priority,
                                        RoutingRule.id)
    if category:
        stmt = stmt.where(RoutingRule.category_id == category_by_code(uow.session, category).id)
    return [_out(r) for r in uow.session.scalars(stmt)]


@router.post("", response_model=RuleOut, status_code=201)
def create_rule(body: RuleIn, uow: Uow, principal: Admin) -> RuleOut:
    rule = RoutingRule()
    apply_rule(uow, rule, body)
    uow.session.add(rule)
    uow.commit()
    return _out(rule)


@router.put("/{rule_id}", response_model=RuleOut)
def update_rule(rule_id: int, body: RuleIn, uow: Uow, principal: Admin) -> RuleOut:
    rule = rule_by_id(uow, rule_id)
    apply_rule(uow, rule, body)
    uow.commit()
    return _out(rule)


@router.delete("/{rule_id}", status_code=204)
def delete_rule(rule_id: int, uow: Uow, principal: Admin) -> Response:
    uow.session.delete(rule_by_id(uow, rule_id))
    uow.commit()
    return Response(status_code=204)
