"""REST API of the alert center under /api/v1/alerts, /api/v1/incidents, and the CAP feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import AwareDatetime
from sqlalchemy import select

from cityops.alerts import attachments, cap, incidents, service, stats, tickets
from cityops.alerts.models import Alert, Silence
from cityops.alerts.queries import AlertFilter, alert_detail, alert_out, alert_query
from cityops.alerts.schemas import (
    AlertDetail,
    AlertIn,
    AlertOut,
    AssignIn,
    BulkAckIn,
    BulkResult,
    ClearIn,
    CommentIn,
    EventOut,
    IncidentIn,
    IncidentOut,
    SilenceIn,
    SilenceOut,
    StepOut,
    StepPatch,
    TicketAnswerIn,
    TransitionIn,
)
from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import PermissionDenied, Principal, authorize, scope_to_agencies
from cityops.web.deps import Ctx, CurrentPrincipal, Uow, require
from cityops.web.pagination import Page, Paging, make_page, paginate

router = APIRouter(prefix="/api/v1", tags=["alerts"])
cap_router = APIRouter(tags=["public"])


def list_filter(
    service: str | None = None,
    severity: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    agency: str | None = None,
    area: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    is_ticket: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> AlertFilter:
    return AlertFilter(service=service, severity=severity, status=status, agency=agency,
                       area=area, since=since, until=until, is_ticket=is_ticket, q=q)


Filter = Annotated[AlertFilter, Depends(list_filter)]
Reader = Annotated[Principal, Depends(require("alerts.read"))]


@router.get("/alerts", response_model=Page[AlertOut])
def list_alerts(uow: Uow, paging: Paging, principal: Reader, flt: Filter,
                sort: Annotated[str, Query(pattern=r"^-?(raised_at|updated_at|severity)$")]
                = "-raised_at") -> Page[AlertOut]:
    rows, total = paginate(uow.session, alert_query(principal, flt, sort), paging)
    return make_page([alert_out(uow.session, a) for a in rows], total, paging)


@router.post("/alerts", response_model=AlertOut, status_code=201,
             responses={200: {"model": AlertOut, "description": "updated the active alert"}})
def raise_alert(body: AlertIn, uow: Uow, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    """Raise an alert, or update the active one with the same service and dedupe key."""
    result = service.raise_alert(uow, service.RaiseRequest(**body.model_dump()),
                                 now=ctx.clock())
    uow.commit()
    out = alert_out(uow.session, result.alert)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.post("/alerts:clear", response_model=AlertOut | None)
def clear_alert(body: ClearIn, uow: Uow, ctx: Ctx, _: CurrentPrincipal) -> AlertOut | None:
    """The source reports the condition has ended: resolve its active alert (auto-resolve)."""
    alert = service.clear_from_source(uow, body.service, body.dedupe_key, now=ctx.clock(),
                                      note=body.note)
    uow.commit()
    return alert_out(uow.session, alert) if alert else None


@router.get("/alerts/stats")
def alert_stats(uow: Uow, ctx: Ctx, principal: Annotated[Principal, Depends(
                    require("alerts.read"))],
                since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                service_key: Annotated[str | None, Query(alias="service")] = None) -> dict:
    figures = stats.compute(uow.session, principal, now=ctx.clock(), since=since,
                            until=until, service=service_key)
    return figures.as_dict()


@router.post("/alerts/bulk/acknowledge", response_model=BulkResult)
def bulk_acknowledge(body: BulkAckIn, uow: Uow, ctx: Ctx, _: CurrentPrincipal) -> BulkResult:
    done: list[int] = []
    refused: dict[int, str] = {}
    for alert_id in dict.fromkeys(body.ids):
        try:
            with uow.session.begin_nested():
                service.transition(uow, alert_id, "acknowledged", body.comment,
                                   now=ctx.clock())
            done.append(alert_id)
        except (Invalid, LookupError, PermissionDenied) as exc:
            refused[alert_id] = str(exc)
    uow.commit()
    return BulkResult(done=done, refused=refused)


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: int, uow: Uow, _: CurrentPrincipal) -> AlertDetail:
    return alert_detail(uow.session, service.visible_alert(uow, alert_id))


@router.post("/alerts/{alert_id}/transition", response_model=AlertDetail)
def transition(alert_id: int, body: TransitionIn, uow: Uow, ctx: Ctx,
               _: CurrentPrincipal) -> AlertDetail:
    alert = service.transition(uow, alert_id, body.to, body.comment, now=ctx.clock())
    uow.commit()
    return alert_detail(uow.session, alert)


@router.get("/alerts/{alert_id}/comments", response_model=list[EventOut])
def list_comments(alert_id: int, uow: Uow, _: CurrentPrincipal) -> list[EventOut]:
    detail = alert_detail(uow.session, service.visible_alert(uow, alert_id))
    return [e for e in detail.timeline if e.kind == "comment"]


@router.post("/alerts/{alert_id}/comments", response_model=EventOut, status_code=201)
def add_comment(alert_id: int, body: CommentIn, uow: Uow, ctx: Ctx,
                _: CurrentPrincipal) -> EventOut:
    event = service.add_comment(uow, alert_id, body.text, now=ctx.clock())
    uow.commit()
    return EventOut(at=event.at, kind=event.kind, actor=event.actor, from_state=None,
                    to_state=None, text=event.text, data=event.data or {})


@router.post("/alerts/{alert_id}/assign", response_model=AlertOut)
def assign(alert_id: int, body: AssignIn, uow: Uow, ctx: Ctx, _: CurrentPrincipal) -> AlertOut:
    alert = service.assign(uow, alert_id, body.username, now=ctx.clock())
    uow.commit()
    return alert_out(uow.session, alert)


@router.post("/alerts/{alert_id}/ticket/check", response_model=AlertOut)
def check_ticket(alert_id: int, uow: Uow, ctx: Ctx, _: CurrentPrincipal) -> AlertOut:
    alert = tickets.check_ticket(uow, alert_id, now=ctx.clock())
    uow.commit()
    return alert_out(uow.session, alert)


@router.post("/alerts/{alert_id}/ticket/answer", response_model=AlertOut)
def answer_ticket(alert_id: int, body: TicketAnswerIn, uow: Uow, ctx: Ctx,
                  _: CurrentPrincipal) -> AlertOut:
    alert = tickets.answer_ticket(uow, alert_id, body.response, body.attachment,
                                  now=ctx.clock())
    uow.commit()
    return alert_out(uow.session, alert)


@router.post("/alerts/{alert_id}/ticket/answer-with-file", response_model=AlertOut,
             responses={413: {"description": "the file is larger than 10 MB"}})
def answer_ticket_with_file(
        alert_id: int, uow: Uow, ctx: Ctx, _: CurrentPrincipal,
        response: Annotated[str, Form(min_length=1, max_length=8000)],
        file: Annotated[UploadFile, File(description="PDF, PNG, JPEG, DOCX or XLSX, ≤ 10 MB")],
        attachment: Annotated[str, Form(max_length=300)] = "") -> AlertOut:
    """Answer a warning ticket with its scanned document (multipart/form-data)."""
    # Refuse before storing: a denied or repeated answer must not leave a file behind.
    tickets.answerable_ticket(uow, alert_id)
    if not response.strip():
        raise Invalid("the answer to a warning ticket needs a response text")
    try:
        data = attachments.read_upload(file.file)
    except attachments.FileTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    media_dir = ctx.settings.media_dir
    stored = attachments.store_attachment(media_dir, file.filename or "", data)
    try:
        alert = tickets.answer_ticket(uow, alert_id, response, attachment.strip(),
                                      now=ctx.clock(), file=stored)
        uow.commit()
    except BaseException:
        attachments.discard(media_dir, stored)
        raise
    return alert_out(uow.session, alert)


@router.get("/alerts/{alert_id}/ticket/file", response_class=FileResponse,
            responses={200: {"description": "the attached file", "content": {
                "application/octet-stream": {}}}})
def ticket_file(alert_id: int, uow: Uow, ctx: Ctx, _: CurrentPrincipal) -> FileResponse:
    alert = service.visible_alert(uow, alert_id)
    return attachments.download(ctx.settings.media_dir, alert.ticket_file_path,
                                alert.ticket_file_name, alert.ticket_file_type)


def _incident_out(uow: Uow, incident: incidents.Incident) -> IncidentOut:
    from cityops.kernel.auth import User

    names = {u.id: u.username for u in uow.session.scalars(select(User).where(
        User.id.in_([s.assignee_id for s in incident.steps if s.assignee_id])))}
    return IncidentOut(
        id=incident.id, title=incident.title, category=incident.category,
        status=incident.status, created_at=incident.created_at, closed_at=incident.closed_at,
        alert_ids=[a.id for a in incidents.incident_alerts(uow, incident)],
        steps=[StepOut(id=s.id, position=s.position, title=s.title,
                       assignee=names.get(s.assignee_id) if s.assignee_id else None,
                       due_at=s.due_at, done_at=s.done_at, done_by=s.done_by)
               for s in incident.steps])


@router.post("/incidents", response_model=IncidentOut, status_code=201)
def create_incident(body: IncidentIn, uow: Uow, ctx: Ctx, _: CurrentPrincipal) -> IncidentOut:
    incident = incidents.create_incident(uow, body.title, body.category, body.alert_ids,
                                         now=ctx.clock())
    uow.commit()
    return _incident_out(uow, incident)


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: int, uow: Uow, _: CurrentPrincipal) -> IncidentOut:
    return _incident_out(uow, incidents.get_incident(uow, incident_id))


@router.patch("/incidents/{incident_id}/steps/{step_id}", response_model=IncidentOut)
def update_step(incident_id: int, step_id: int, body: StepPatch, uow: Uow, ctx: Ctx,
                _: CurrentPrincipal) -> IncidentOut:
    incidents.update_step(uow, incident_id, step_id, done=body.done, assignee=body.assignee,
                          now=ctx.clock())
    uow.commit()
    return _incident_out(uow, incidents.get_incident(uow, incident_id))


@router.get("/alert-silences", response_model=list[SilenceOut])
def list_silences(uow: Uow, principal: Annotated[Principal, Depends(require("alerts.read"))]
                  ) -> list[Silence]:
    stmt = select(Silence).order_by(Silence.starts_at.desc())
    if not principal.province_wide:
        stmt = scope_to_agencies(stmt, principal, Silence.agency_id)
    return list(uow.session.scalars(stmt))


@router.post("/alert-silences", response_model=SilenceOut, status_code=201)
def create_silence(body: SilenceIn, uow: Uow, principal: CurrentPrincipal) -> Silence:
    authorize(principal, "alerts.silence")
    if body.ends_at <= body.starts_at:
        raise Invalid("ends_at must be after starts_at")
    agency_id = None
    if body.agency_code:
        agency = agency_by_code(uow.session, body.agency_code)
        if agency is None:
            raise Invalid(f"no agency with code {body.agency_code!r}")
        agency_id = agency.id
    silence = Silence(service=body.service, category=body.category, agency_id=agency_id,
                      max_severity=body.max_severity, tag=body.tag, starts_at=body.starts_at,
                      ends_at=body.ends_at, comment=body.comment, created_by=principal.label)
    uow.session.add(silence)
    uow.commit()
    return silence


# -- public CAP 1.2 feed ----------------------------------------------------------------------

@cap_router.get("/cap/alerts.atom")
def cap_feed(uow: Uow, ctx: Ctx) -> Response:
    alerts = list(uow.session.scalars(
        select(Alert).where(Alert.is_public.is_(True)).order_by(Alert.updated_at.desc())
        .limit(200)))
    body = cap.atom_feed(alerts, ctx.settings.base_url, ctx.clock())
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@cap_router.get("/cap/alerts/{alert_id}.xml")
def cap_message(alert_id: int, uow: Uow, ctx: Ctx) -> Response:
    alert = uow.session.get(Alert, alert_id)
    if alert is None or not alert.is_public:
        return JSONResponse({"detail": f"no public alert with id {alert_id}"}, status_code=404)
    return Response(cap.cap_xml(alert, ctx.settings.base_url),
                    media_type="application/cap+xml; charset=utf-8")
