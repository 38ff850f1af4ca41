"""Staff JSON API under /api/v1/field-reports (mobile app, hotline call-takers, agencies)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from cityops.kernel.permissions import Principal, authorize
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.access import report_for
from cityops.services.field_reports.intake import IntakeRequest, category_by_code, create_report
from cityops.services.field_reports.models import Report
from cityops.services.field_reports.queries import QueueFilter, list_reports, nearby_open
from cityops.services.field_reports.schemas import (
    AssignIn,
    BulkAssignIn,
    MergeIn,
    ModerateIn,
    NearbyOut,
    NoteIn,
    ReasonIn,
    ReportDetail,
    ReportIn,
    ReportOut,
    ReportPage,
    TimelineOut,
    TransferIn,
    TransitionIn,
)
from cityops.services.field_reports.vocab import ASSISTED_CHANNELS
from cityops.web.deps import Ctx, Uow, client_addr, require

router = APIRouter(prefix="/api/v1/field-reports", tags=["field reports"])
Reader = Annotated[Principal, Depends(require("field_reports.read"))]
Intake = Annotated[Principal, Depends(require("field_reports.intake"))]


def _detail(report: Report, now: datetime) -> ReportDetail:
    out = ReportOut.of(report, now)
    return ReportDetail(**out.model_dump(),
                        timeline=[TimelineOut.of(e) for e in report.timeline])


@router.post("", response_model=ReportDetail, status_code=201)
def create(body: ReportIn, request: Request, uow: Uow, ctx: Ctx,
           principal: Intake) -> ReportDetail:
    """Record a report: from the mobile app (channel ``app``) or, by a call-taker, on a
    caller's behalf (``hotline``, ``email``, ``social``, ``walk_in``); the recorder is kept."""
    if body.channel in ASSISTED_CHANNELS:
        authorize(principal, "field_reports.triage")  # call-takers are IOC staff
    req = IntakeRequest(category_code=body.category, channel=body.channel,
                        description=body.description, lat=body.lat, lon=body.lon,
                        area_code=body.area_code, address=body.address,
                        contact_name=body.contact_name, contact_phone=body.contact_phone,
                        contact_email=body.contact_email, show_name=body.show_name,
                        attributes=body.attributes, priority=body.priority,
                        client_addr=client_addr(request))
    now = ctx.clock()
    report = create_report(uow, req, now=now)
    uow.commit()
    return _detail(report, now)


@router.get("", response_model=ReportPage)
def list_(uow: Uow, ctx: Ctx, principal: Reader,
          agency: Annotated[str | None, Query(max_length=40)] = None,
          triage: bool = False,
          state: Annotated[str | None, Query(max_length=16)] = None,
          category: Annotated[str | None, Query(max_length=40)] = None,
          area: Annotated[str | None, Query(max_length=16)] = None,
          overdue: bool = False,
          limit: Annotated[int, Query(ge=1, le=500)] = 50,
          offset: Annotated[int, Query(ge=0)] = 0) -> ReportPage:
    """The queue: filter by agency, the IOC triage queue, state, category, commune, overdue."""
    now = ctx.clock()
    rows, total = list_reports(uow.session, principal, QueueFilter(
        agency_code=agency, triage=triage, state=state, category_code=category,
        area_code=area, overdue=overdue, limit=limit, offset=offset), now=now)
    return ReportPage(items=[ReportOut.of(r, now) for r in rows], total=total, limit=limit,
                      offset=offset)


@router.get("/nearby", response_model=list[NearbyOut])
def nearby(uow: Uow, principal: Reader, lat: float, lon: float,
           category: Annotated[str, Query(max_length=40)]) -> list[NearbyOut]:
    """Duplicate suggestions: open reports of the category within its radius."""
    found = nearby_open(uow.session, category_by_code(uow.session, category), lat, lon)
    return [NearbyOut(code=r.code, state=r.state, description=r.description,
                      distance_m=round(d, 1), created_at=r.created_at) for r, d in found]


@router.post("/bulk-assign", response_model=list[ReportOut])
def bulk_assign(body: BulkAssignIn, uow: Uow, ctx: Ctx,
                principal: Reader) -> list[ReportOut]:
    now = ctx.clock()
    reports = workflow.bulk_assign(uow, body.report_ids, now=now, agency_code=body.agency)
    uow.commit()
    return [ReportOut.of(r, now) for r in reports]


@router.get("/{report_id}", response_model=ReportDetail)
def get(report_id: int, uow: Uow, ctx: Ctx, principal: Reader) -> ReportDetail:
    return _detail(report_for(uow, report_id, "field_reports.read", supporting_ok=True),
                   ctx.clock())


@router.post("/{report_id}/transition", response_model=ReportDetail)
def transition(report_id: int, body: TransitionIn, uow: Uow, ctx: Ctx,
               principal: Reader) -> ReportDetail:
    now = ctx.clock()
    report = workflow.transition(uow, report_id, body.to, now=now, reason=body.reason,
                                 duplicate_of=body.duplicate_of, public_text=body.public_text)
    uow.commit()
    return _detail(report, now)


@router.post("/{report_id}/assign", response_model=ReportDetail)
def assign(report_id: int, body: AssignIn, uow: Uow, ctx: Ctx,
           principal: Reader) -> ReportDetail:
    now = ctx.clock()
    report = workflow.assign(uow, report_id, now=now, agency_code=body.agency,
                             supporting_codes=body.supporting, note=body.note)
    uow.commit()
    return _detail(report, now)


@router.post("/{report_id}/transfer", response_model=ReportDetail)
def transfer(report_id: int, body: TransferIn, uow: Uow, ctx: Ctx,
             principal: Reader) -> ReportDetail:
    now = ctx.clock()
    report = workflow.transfer(uow, report_id, body.agency, body.reason, now=now)
    uow.commit()
    return _detail(report, now)


@router.post("/{report_id}/reopen", response_model=ReportDetail)
def reopen(report_id: int, body: ReasonIn, uow: Uow, ctx: Ctx,
           principal: Reader) -> ReportDetail:
    now = ctx.clock()
    report = workflow.staff_reopen(uow, report_id, body.reason, now=now)
    uow.commit()
    return _detail(report, now)


@router.post("/{report_id}/merge", response_model=ReportDetail)
def merge(report_id: int, body: MergeIn, uow: Uow, ctx: Ctx,
          principal: Reader) -> ReportDetail:
    now = ctx.clock()
    report = workflow.merge(uow, report_id, body.into, now=now)
    uow.commit()
    return _detail(report, now)


@router.post("/{report_id}/notes", response_model=TimelineOut, status_code=201)
def add_note(report_id: int, body: NoteIn, uow: Uow, ctx: Ctx,
             principal: Reader) -> TimelineOut:
    """An internal note (``public: false``) or a public update for the citizen."""
    entry = staff_tools.add_note(uow, report_id, body.text, public=body.public,
                                 now=ctx.clock())
    uow.commit()
    return TimelineOut.of(entry)


@router.post("/{report_id}/moderate", response_model=ReportDetail)
def moderate(report_id: int, body: ModerateIn, uow: Uow, ctx: Ctx,
             principal: Reader) -> ReportDetail:
    now = ctx.clock()
    report = staff_tools.moderate(uow, report_id, now=now, reason=body.reason,
                                  description=body.description, hide_name=body.hide_name,
                                  hidden=body.hidden)
    uow.commit()
    return _detail(report, now)


@router.get("/{report_id}/moderation")
def moderation_history(report_id: int, uow: Uow, principal: Reader) -> list[dict[str, object]]:
    return [{"field": m.field, "before": m.before, "after": m.after, "reason": m.reason,
             "actor": m.actor, "at": m.at.isoformat()}
            for m in staff_tools.moderation_history(uow, report_id)]


@router.post("/{report_id}/approve", response_model=ReportDetail)
def approve(report_id: int, uow: Uow, ctx: Ctx, principal: Reader) -> ReportDetail:
    """The IOC publishes the agency's result; the citizen gets an e-mail."""
    now = ctx.clock()
    report = staff_tools.approve_result(uow, report_id, now=now)
    uow.commit()
    return _detail(report, now)

