"""The staff console's queue at /field-reports/staff: filters, sort, pages, bulk assignment.

Officers see the reports their agency leads or supports (``access.scoped``); IOC operators and
admins see all of them, including the triage queue (no lead agency). The queue never shows
contact details: they appear only on the report page, to those who call back (docs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cityops.alerts.presenters import Presenter
from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.orgs import Agency, Area
from cityops.kernel.permissions import Principal
from cityops.services.field_reports import portal, workflow
from cityops.services.field_reports.access import scoped
from cityops.services.field_reports.models import Category, Report
from cityops.services.field_reports.views_labels import LABELS
from cityops.services.field_reports.vocab import CHANNELS, OPEN_STATES, STATES
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires("field_reports.read"))]
Triage = Annotated[Principal, Depends(page_requires("field_reports.triage"))]
PAGE_SIZE = 50
SORTS = {
    "newest": (Report.created_at.desc(), Report.id.desc()),
    "oldest": (Report.created_at.asc(), Report.id.asc()),
    "due": (Report.due_at.asc(), Report.id.asc()),
    "updated": (Report.updated_at.desc(), Report.id.desc()),
}


class QueueParams(BaseModel):
    state: str = Field("", max_length=16)
    category: str = Field("", max_length=40)
    commune: str = Field("", max_length=16)
    channel: str = Field("", max_length=16)
    agency: str = Field("", max_length=40)
    triage: bool = False
    overdue: bool = False
    open: bool = False
    sort: str = Field("newest", max_length=10)
    page: int = Field(1, ge=1, le=10_000)

    def check(self) -> None:
        if self.state and self.state not in STATES:
            raise Invalid(_("unknown state %(value)s") % {"value": self.state})
        if self.channel and self.channel not in CHANNELS:
            raise Invalid(_("unknown channel %(value)s") % {"value": self.channel})
        if self.sort not in SORTS:
            raise Invalid(_("sort by one of: %(names)s") % {"names": ", ".join(SORTS)})

    def query(self, **override: Any) -> str:
        values = {**self.model_dump(), **override}
        kept = {k: v for k, v in values.items()
                if v and not (k == "sort" and v == "newest") and not (k == "page" and v == 1)}
        return "?" + urlencode(kept) if kept else ""


Params = Annotated[QueueParams, Query()]


@dataclass
class Queue:
    rows: list[Report]
    total: int
    pages: int


def staff_queue(session: Session, principal: Principal, q: QueueParams, *,
                now: datetime) -> Queue:
    """The scoped, filtered, sorted page of the queue."""
    q.check()
    stmt = scoped(select(Report), principal)
    if q.state:
        stmt = stmt.where(Report.state == q.state)
    if q.open:
        stmt = stmt.where(Report.state.in_(OPEN_STATES))
    if q.category:
        stmt = stmt.where(Report.category_id.in_(
            select(Category.id).where(Category.code == q.category)))
    if q.commune:
        stmt = stmt.where(Report.area_id.in_(select(Area.id).where(Area.code == q.commune)))
    if q.channel:
        stmt = stmt.where(Report.channel == q.channel)
    if q.agency:
        stmt = stmt.where(Report.lead_agency_id.in_(
            select(Agency.id).where(Agency.code == q.agency)))
    if q.triage:
        stmt = stmt.where(Report.lead_agency_id.is_(None))
    if q.overdue:
        stmt = stmt.where(Report.state.in_(OPEN_STATES), Report.due_at < now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.options(
        selectinload(Report.category), selectinload(Report.area),
        selectinload(Report.lead_agency)).order_by(*SORTS[q.sort])
        .limit(PAGE_SIZE).offset((q.page - 1) * PAGE_SIZE)).all()
    return Queue(list(rows), total, max(1, -(-total // PAGE_SIZE)))


def agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


@router.get("/field-reports/staff")
def queue_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
               params: Params) -> Response:
    now = ctx.clock()
    queue = staff_queue(uow.session, principal, params, now=now)
    language = i18n.current_language.get()
    return render(request, "field_reports/staff_queue.html", queue=queue, q=params,
                  states=STATES, channels=CHANNELS, categories=portal.categories(uow.session),
                  communes=portal.communes(uow.session), agencies=agencies(uow.session),
                  ioc=principal.can("field_reports.triage"),
                  can_route=principal.can("field_reports.routing.manage"), label=LABELS, now=now,
                  p=Presenter(language, now, ctx.registry), language=language,
                  done=request.session.pop("fr_staff_done", None))


@router.post("/field-reports/staff/bulk-assign", dependencies=[Depends(verify_csrf_form)])
async def bulk_assign(request: Request, uow: Uow, ctx: Ctx, principal: Triage) -> Response:
    """Assign the ticked reports in one transaction: all of them, or none with the reason."""
    form = await request.form()
    try:
        ids = [int(str(v)) for v in form.getlist("report_id")]
    except ValueError:
        raise Invalid(_("report ids are whole numbers")) from None
    agency = str(form.get("agency", "")).strip() or None
    try:
        done = workflow.bulk_assign(uow, ids, now=ctx.clock(), agency_code=agency)
        uow.commit()
    except (Invalid, NotFound, Conflict) as exc:
        uow.session.rollback()
        return render(request, "field_reports/staff_error.html", status_code=(
            409 if isinstance(exc, Conflict) else 400), error=_(str(exc)),
            back="/field-reports/staff")
    request.session["fr_staff_done"] = _("%(count)s reports assigned") % {"count": len(done)}
    back = str(form.get("back", ""))
    return RedirectResponse(back if back.startswith("/field-reports/staff") else
                            "/field-reports/staff", status_code=303)
