"""The staff console's report page: full timeline (public and internal marked), the actions this
user may take now, moderation history, and the report's photos (hidden ones included).

Contact details are shown only to those who call the citizen back: IOC operators and admins
(``field_reports.triage``, the hotline call-takers) and officers of the *lead* agency. Leaders,
supporting agencies and integrators never see them (docs/field-reports.md, "Privacy").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import or_, select

from cityops.alerts.presenters import Presenter
from cityops.kernel.errors import NotFound
from cityops.kernel.permissions import Principal
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.access import covers, report_for
from cityops.services.field_reports.media import media_path, redacted_copy
from cityops.services.field_reports.models import Media, Moderation, Report, ResponseTemplate
from cityops.services.field_reports.views_labels import LABELS
from cityops.services.field_reports.views_staff import agencies
from cityops.services.field_reports.vocab import (
    REOPENABLE,
    TRANSFERABLE,
    TRANSITION_PERMISSION,
    TRANSITIONS,
)
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires("field_reports.read"))]
# The state buttons in workflow order; "assigned" has its own form (agency choice).
BUTTON_STATES = ("verified", "in_progress", "resolved", "closed", "rejected")


def may_see_contact(principal: Principal, report: Report) -> bool:
    if principal.can("field_reports.triage"):
        return True
    return not principal.province_wide and report.lead_agency_id is not None and \
        principal.covers_agency(report.lead_agency_id)


@dataclass
class Allowed:
    """What this principal may do to this report in its current state."""

    transitions: list[str]
    assign: bool
    transfer: bool
    merge: bool
    reopen: bool
    note: bool
    public_update: bool
    moderate: bool
    approve: bool


def allowed_actions(principal: Principal, report: Report) -> Allowed:
    leads = covers(principal, report, supporting_ok=False)

    def may(permission: str) -> bool:
        return principal.can(permission) and leads

    state = report.state
    return Allowed(
        transitions=[to for to in BUTTON_STATES
                     if state in TRANSITIONS[to] and may(TRANSITION_PERMISSION[to])],
        assign=state in TRANSITIONS["assigned"] and may("field_reports.triage"),
        transfer=state in TRANSFERABLE and may("field_reports.handle"),
        merge=state in TRANSITIONS["duplicate"] and may("field_reports.triage"),
        reopen=state in REOPENABLE and may("field_reports.triage"),
        note=principal.can("field_reports.handle") and covers(principal, report,
                                                              supporting_ok=True),
        public_update=may("field_reports.handle"),
        moderate=principal.can("field_reports.moderate"),
        approve=principal.can("field_reports.approve") and state in ("resolved", "closed")
        and bool(report.result_text) and not report.result_approved)


def templates_for(uow: UnitOfWork, report: Report, language: str) -> dict[str, str]:
    """The first active response template per target state (this category's first)."""
    rows = uow.session.scalars(select(ResponseTemplate).where(
        ResponseTemplate.active.is_(True),
        or_(ResponseTemplate.category_id.is_(None),
            ResponseTemplate.category_id == report.category_id))
        .order_by(ResponseTemplate.category_id.is_(None), ResponseTemplate.id)).all()
    found: dict[str, str] = {}
    for t in rows:
        found.setdefault(t.state, t.text_en if language == "en" and t.text_en else t.text_vi)
    return found


def detail_page(request: Request, uow: UnitOfWork, ctx: Any, principal: Principal,
                report_id: int, *, error: str | None = None, status_code: int = 200) -> Response:
    report = report_for(uow, report_id, "field_reports.read", supporting_ok=True)
    language = i18n.current_language.get()
    allowed = allowed_actions(principal, report)
    history: list[Moderation] = []
    if allowed.moderate:
        history = list(uow.session.scalars(select(Moderation).where(
            Moderation.report_id == report.id).order_by(Moderation.id)))
    return render(request, "field_reports/staff_report.html", status_code=status_code,
                  r=report, allowed=allowed, history=history, error=error,
                  show_contact=may_see_contact(principal, report),
                  templates=templates_for(uow, report, language),
                  agencies=agencies(uow.session) if allowed.assign or allowed.transfer else [],
                  label=LABELS, language=language,
                  p=Presenter(language, ctx.clock(), ctx.registry),
                  done=request.session.pop("fr_staff_done", None),
                  state_names={s: LABELS["state"](s) for s in TRANSITIONS},
                  step_name=lambda kind: LABELS["step"](kind) if kind != "note" else _("Note"))


@router.get("/field-reports/staff/{report_id}")
def report_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                report_id: int) -> Response:
    return detail_page(request, uow, ctx, principal, report_id)


@router.get("/field-reports/staff/photo/{media_id}")
def staff_photo(uow: Uow, ctx: Ctx, principal: Reader, media_id: int,
                thumb: bool = False) -> Response:
    """Any photo of a report the reader may see, hidden ones included (staff review them);
    a redacted photo is served pixelated here too, so nobody re-shares the original."""
    item = uow.session.get(Media, media_id)
    if item is None:
        raise NotFound("no such photo")
    report_for(uow, item.report_id, "field_reports.read", supporting_ok=True)
    name = item.thumbnail_name if thumb else item.stored_name
    path = media_path(ctx.settings.media_dir, name)
    if path is None:
        raise NotFound("no such photo")
    if item.redacted:
        body, media_type = redacted_copy(path), "image/jpeg"
    else:
        body, media_type = path.read_bytes(), "image/jpeg" if thumb else item.content_type
    return Response(body, media_type=media_type, headers={
        "Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"})
