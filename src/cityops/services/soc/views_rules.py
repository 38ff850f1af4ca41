"""Rule pages: the filtered list, one rule with its YAML and versions, add, enable/disable.

Reading needs ``soc.read``; every change calls the SOC service's ``rules_store`` functions,
which check ``soc.rules.manage`` (SOC analysts and admins) and write a new version.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from cityops.alerts.presenters import Presenter
from cityops.kernel.errors import Conflict, Invalid
from cityops.kernel.permissions import Principal, authorize
from cityops.services.soc import rules_store
from cityops.services.soc.models import RULE_ORIGINS, SIGMA_LEVELS, SocRule
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.pagination import PageParams, paginate
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires("soc.read"))]
CSRF = [Depends(verify_csrf_form)]
PAGE_SIZE = 50
# The statuses SigmaHQ gives its rules (sigma-specification v2).
RULE_STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported")
EXAMPLE_RULE = """title: Web shell file written to the portal's upload folder
id: 00000000-0000-4000-8000-000000000000
status: experimental
description: A script file appears where the portal stores citizens' uploads.
author: SOC Đắk Lắk
level: high
tags:
  - attack.persistence
  - attack.t1505.003
logsource:
  product: linux
  category: file_event
detection:
  selection:
    TargetFilename|startswith: '/var/www/portal/uploads/'
    TargetFilename|endswith: ['.php', '.jsp', '.aspx']
  condition: selection
"""


class RuleParams(BaseModel):
    q: str = Field("", max_length=100)
    level: str = Field("", max_length=16)
    status: str = Field("", max_length=16)
    origin: str = Field("", max_length=16)
    enabled: str = Field("", max_length=3)  # "", "yes", "no"
    page: int = Field(1, ge=1, le=100_000)

    def to_filter(self) -> rules_store.RuleFilter:
        return rules_store.RuleFilter(
            q=self.q.strip() or None,
            level=self.level if self.level in SIGMA_LEVELS else None,
            origin=self.origin if self.origin in RULE_ORIGINS else None,
            enabled={"yes": True, "no": False}.get(self.enabled))


@router.get("/soc/rules")
def rules_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
               params: Annotated[RuleParams, Query()]) -> Response:
    stmt = rules_store.rule_query(principal, params.to_filter())
    if params.status in RULE_STATUSES:
        stmt = stmt.where(SocRule.status == params.status)
    paging = PageParams(page=params.page, page_size=PAGE_SIZE)
    rows, total = paginate(uow.session, stmt, paging)
    query = {k: v for k, v in params.model_dump().items() if v and k != "page"}
    return render(request, "soc/rules.html", rules=rows, total=total, params=params,
                  pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), query=query,
                  levels=SIGMA_LEVELS, statuses=RULE_STATUSES, origins=RULE_ORIGINS,
                  can_manage=principal.can("soc.rules.manage"))


def _new_form(request: Request, text: str, error: str | None, status: int,
              rule_id: str | None = None) -> Response:
    """The add form, or with ``rule_id`` the edit form of a custom rule."""
    return render(request, "soc/rule_new.html", status_code=status, text=text, error=error,
                  rule_id=rule_id)


@router.get("/soc/rules/new")
def new_rule_page(request: Request, principal: Reader) -> Response:
    authorize(principal, "soc.rules.manage")
    return _new_form(request, EXAMPLE_RULE, None, 200)


@router.post("/soc/rules/new", dependencies=CSRF)
def create_rule(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                yaml_text: Annotated[str, Form(max_length=rules_store.MAX_RULE_BYTES)]
                ) -> Response:
    authorize(principal, "soc.rules.manage")
    try:
        rule = rules_store.create_custom(uow, yaml_text, ctx.clock())
    except Invalid as exc:  # RuleRefused (400) or Conflict (409): show the form again
        # Nothing was added (the rule is checked before it is stored); not committing the
        # unit of work rolls back whatever the check touched.
        status = 409 if isinstance(exc, Conflict) else 400
        return _new_form(request, yaml_text, str(exc), status)
    uow.commit()
    request.session["flash"] = _("Rule added and enabled.")
    return RedirectResponse(f"/soc/rules/{rule.rule_id}", status_code=303)


@router.get("/soc/rules/{rule_id}")
def rule_page(request: Request, rule_id: str, uow: Uow, ctx: Ctx, principal: Reader) -> Response:
    rule = rules_store.get_rule(uow.session, principal, rule_id)
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    return render(request, "soc/rule.html", rule=rule, p=p,
                  versions=sorted(rule.versions, key=lambda v: -v.version),
                  can_manage=principal.can("soc.rules.manage"),
                  flash=request.session.pop("flash", None))


@router.get("/soc/rules/{rule_id}/edit")
def edit_rule_page(request: Request, rule_id: str, uow: Uow, principal: Reader) -> Response:
    authorize(principal, "soc.rules.manage")
    rule = rules_store.get_rule(uow.session, principal, rule_id)
    if rule.origin != "custom":
        raise Conflict("bundled SigmaHQ rules are not edited in place; disable it and add a "
                       "custom rule with a new id")
    return _new_form(request, rule.yaml_text, None, 200, rule_id)


@router.post("/soc/rules/{rule_id}/edit", dependencies=CSRF)
def edit_rule(request: Request, rule_id: str, uow: Uow, ctx: Ctx, principal: Reader,
              yaml_text: Annotated[str, Form(max_length=rules_store.MAX_RULE_BYTES)]
              ) -> Response:
    authorize(principal, "soc.rules.manage")
    try:
        rules_store.update_rule(uow, rule_id, yaml_text, ctx.clock())
    except Invalid as exc:
        return _new_form(request, yaml_text, str(exc), 409 if isinstance(exc, Conflict) else 400,
                         rule_id)
    uow.commit()
    request.session["flash"] = _("Rule saved as a new version.")
    return RedirectResponse(f"/soc/rules/{rule_id}", status_code=303)


@router.post("/soc/rules/{rule_id}/enabled", dependencies=CSRF)
def set_rule_enabled(request: Request, rule_id: str, uow: Uow, ctx: Ctx, principal: Reader,
                     enabled: Annotated[str, Form(pattern="^(yes|no)$")]) -> Response:
    rules_store.set_enabled(uow, rule_id, enabled == "yes", ctx.clock())
    uow.commit()
    request.session["flash"] = _("Rule enabled.") if enabled == "yes" else _("Rule disabled.")
    return RedirectResponse(f"/soc/rules/{rule_id}", status_code=303)


@router.post("/soc/rules/{rule_id}/restore", dependencies=CSRF)
def restore_rule_version(request: Request, rule_id: str, uow: Uow, ctx: Ctx, principal: Reader,
                         version: Annotated[int, Form(ge=1)]) -> Response:
    rules_store.restore_version(uow, rule_id, version, ctx.clock())
    uow.commit()
    request.session["flash"] = _("Version %(n)s restored as a new version.") % {"n": version}
    return RedirectResponse(f"/soc/rules/{rule_id}", status_code=303)
