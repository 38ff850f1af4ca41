"""REST API for Sigma rules: list, detail with versions, add custom, edit, toggle, restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from cityops.kernel.permissions import Principal
from cityops.services.soc import rules_store
from cityops.services.soc.models import SocRule
from cityops.services.soc.schemas import RestoreIn, RuleDetail, RuleIn, RuleOut, RuleVersionOut
from cityops.web.deps import Ctx, Uow, require
from cityops.web.pagination import Page, Paging, make_page, paginate

router = APIRouter(prefix="/api/v1/soc/rules", tags=["soc"])
Reader = Annotated[Principal, Depends(require("soc.read"))]
Manager = Annotated[Principal, Depends(require("soc.rules.manage"))]


def detail(rule: SocRule) -> RuleDetail:
    return RuleDetail(**RuleOut.model_validate(rule).model_dump(), yaml_text=rule.yaml_text,
                      versions=[RuleVersionOut.model_validate(v) for v in rule.versions])


@router.get("", response_model=Page[RuleOut])
def list_rules(uow: Uow, paging: Paging, principal: Reader,
               q: Annotated[str | None, Query(max_length=100)] = None,
               level: str | None = None,
               origin: Annotated[str | None, Query(pattern="^(bundled|custom)$")] = None,
               enabled: bool | None = None,
               tag: Annotated[str | None, Query(max_length=100)] = None) -> Page[RuleOut]:
    flt = rules_store.RuleFilter(q=q, level=level, origin=origin, enabled=enabled, tag=tag)
    rows, total = paginate(uow.session, rules_store.rule_query(principal, flt), paging)
    return make_page([RuleOut.model_validate(r) for r in rows], total, paging)


@router.get("/{rule_id}", response_model=RuleDetail)
def get_rule(rule_id: str, uow: Uow, principal: Reader) -> RuleDetail:
    return detail(rules_store.get_rule(uow.session, principal, rule_id))


@router.post("", response_model=RuleDetail, status_code=201)
def create_rule(body: RuleIn, uow: Uow, ctx: Ctx, principal: Manager) -> JSONResponse:
    """Add a custom rule; it is compiled first and refused (400) with the reason if it fails."""
    rule = rules_store.create_custom(uow, body.yaml, ctx.clock())
    uow.commit()
    return JSONResponse(detail(rule).model_dump(mode="json"), status_code=201)


@router.put("/{rule_id}", response_model=RuleDetail)
def update_rule(rule_id: str, body: RuleIn, uow: Uow, ctx: Ctx,
                principal: Manager) -> RuleDetail:
    rule = rules_store.update_rule(uow, rule_id, body.yaml, ctx.clock())
    uow.commit()
    return detail(rule)


@router.post("/{rule_id}/enable", response_model=RuleDetail)
def enable_rule(rule_id: str, uow: Uow, ctx: Ctx, principal: Manager) -> RuleDetail:
    rule = rules_store.set_enabled(uow, rule_id, True, ctx.clock())
    uow.commit()
    return detail(rule)


@router.post("/{rule_id}/disable", response_model=RuleDetail)
def disable_rule(rule_id: str, uow: Uow, ctx: Ctx, principal: Manager) -> RuleDetail:
    rule = rules_store.set_enabled(uow, rule_id, False, ctx.clock())
    uow.commit()
    return detail(rule)


@router.post("/{rule_id}/restore", response_model=RuleDetail)
def restore_rule(rule_id: str, body: RestoreIn, uow: Uow, ctx: Ctx,
                 principal: Manager) -> RuleDetail:
    """Make an old version current again (as a new version, so history is never lost)."""
    rule = rules_store.restore_version(uow, rule_id, body.version, ctx.clock())
    uow.commit()
    return detail(rule)
