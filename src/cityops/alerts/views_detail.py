"""One alert's page and the forms that work on it (transition, comment, assign, ticket, SOP).

The ticket answer form is multipart: it may carry the scanned reply, served back at
``/alerts/{id}/ticket/file``.

Each form posts to its own route and, when it works, redirects back to the page with a
flash message. A refusal re-renders the page with the message and a 4xx status, so the
forms work without JavaScript. Work goes through the service layer in the request's unit
of work, with the context's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile as ReceivedFile

from cityops.alerts import attachments, incidents, service, tickets
from cityops.alerts.attachments import StoredFile
from cityops.alerts.models import Incident
from cityops.alerts.presenters import Presenter
from cityops.alerts.vocab import CAP_CATEGORIES, allowed_targets
from cityops.kernel.auth import User
from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.permissions import PermissionDenied, Principal, authorize
from cityops.kernel.uow import UnitOfWork
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
CSRF = [Depends(verify_csrf_form)]
Reader = Annotated[Principal, Depends(page_requires("alerts.read"))]
MAX_TEXT = 4000


class Refused(Invalid):
    """A refusal worded here, in the reader's language."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _status(exc: Exception) -> int:
    if isinstance(exc, Refused):
        return exc.status
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    return 409 if isinstance(exc, Conflict) else 400


def _message(exc: Exception) -> str:
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, PermissionDenied):
        return _("You are not allowed to do this (%(reason)s).") % {"reason": exc}
    return _("The action was refused: %(reason)s") % {"reason": exc}


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "alerts/error.html", status_code=status, message=message)


def _assignable(uow: UnitOfWork, principal: Principal) -> list[User]:
    stmt = select(User).where(User.is_active.is_(True)).order_by(User.username).limit(500)
    if principal.agency_scope is not None:  # officers assign within their own agency
        stmt = stmt.where(User.agency_id.in_(sorted(principal.agency_scope)))
    return list(uow.session.scalars(stmt))


def _may(principal: Principal, permission: str, agency_id: int | None) -> bool:
    try:
        authorize(principal, permission, agency_id=agency_id)
    except PermissionDenied:
        return False
    return True


def render_detail(request: Request, uow: UnitOfWork, ctx: Any, principal: Principal,
                  alert_id: int, *, error: str | None = None, status: int = 200,
                  form: dict[str, str] | None = None) -> Response:
    try:
        alert = service.visible_alert(uow, alert_id)
    except NotFound:
        return error_page(request, 404, _("There is no alert number %(id)s.") % {"id": alert_id})
    except PermissionDenied:
        return error_page(request, 403, _("This alert belongs to another agency; you cannot "
                                          "open it."))
    can_work = _may(principal, "alerts.work", alert.agency_id)
    incident = uow.session.get(Incident, alert.incident_id) if alert.incident_id else None
    assignee = uow.session.get(User, alert.assignee_id) if alert.assignee_id else None
    return render(
        request, "alerts/detail.html", status_code=status, alert=alert, incident=incident,
        p=Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry),
        allowed=allowed_targets(alert.status) if can_work else [], can_work=can_work,
        can_incident=can_work and principal.can("incidents.manage"),
        users=_assignable(uow, principal) if can_work else [], assignee=assignee,
        categories=CAP_CATEGORIES, timeline=list(reversed(alert.events)), error=error,
        form=form or {}, flash=request.session.pop("flash", None))


def _act(request: Request, uow: UnitOfWork, ctx: Any, principal: Principal, alert_id: int,
         action: Callable[[datetime], str], form: dict[str, str] | None = None,
         on_failure: Callable[[], None] | None = None) -> Response:
    try:
        message = action(ctx.clock())
        uow.commit()
    except BaseException as exc:
        if on_failure is not None:  # e.g. remove a file stored for an answer not saved
            on_failure()
        if not isinstance(exc, Invalid | PermissionDenied | NotFound):
            raise
        uow.session.rollback()
        return render_detail(request, uow, ctx, principal, alert_id, error=_message(exc),
                             status=_status(exc), form=form)
    request.session["flash"] = message
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


def _text(value: str, empty_message: str) -> str:
    value = value.strip()
    if not value:
        raise Refused(empty_message)
    if len(value) > MAX_TEXT:
        raise Refused(_("The text may have at most 4000 characters."))
    return value


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
               alert_id: int) -> Response:
    return render_detail(request, uow, ctx, principal, alert_id)


@router.post("/alerts/{alert_id}/transition", dependencies=CSRF)
def post_transition(request: Request, uow: Uow, ctx: Ctx, principal: Reader, alert_id: int,
                    to: Annotated[str, Form()] = "",
                    comment: Annotated[str, Form()] = "") -> Response:
    p = Presenter(i18n.current_language.get(), ctx.clock())

    def action(now: datetime) -> str:
        alert = service.visible_alert(uow, alert_id)
        if to not in allowed_targets(alert.status):
            raise Refused(_("An alert in the state “%(state)s” cannot be moved to "
                            "“%(target)s”.") % {"state": p.state(alert.status),
                                                "target": p.state(to)}, 409)
        if len(comment) > MAX_TEXT:
            raise Refused(_("The text may have at most 4000 characters."))
        service.transition(uow, alert_id, to, comment, now=now)
        return _("Status changed to “%(state)s”.") % {"state": p.state(to)}

    return _act(request, uow, ctx, principal, alert_id, action, {"comment": comment})


@router.post("/alerts/{alert_id}/comment", dependencies=CSRF)
def post_comment(request: Request, uow: Uow, ctx: Ctx, principal: Reader, alert_id: int,
                 text: Annotated[str, Form()] = "") -> Response:
    def action(now: datetime) -> str:
        body = _text(text, _("Write the comment first."))
        service.add_comment(uow, alert_id, body, now=now)
        return _("Comment added.")

    return _act(request, uow, ctx, principal, alert_id, action, {"text": text})


@router.post("/alerts/{alert_id}/assign", dependencies=CSRF)
def post_assign(request: Request, uow: Uow, ctx: Ctx, principal: Reader, alert_id: int,
                username: Annotated[str, Form()] = "") -> Response:
    def action(now: datetime) -> str:
        service.assign(uow, alert_id, username.strip() or None, now=now)
        if username.strip():
            return _("Assigned to %(username)s.") % {"username": username.strip()}
        return _("The alert is no longer assigned.")

    return _act(request, uow, ctx, principal, alert_id, action)


@router.post("/alerts/{alert_id}/ticket/check", dependencies=CSRF)
def post_ticket_check(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                      alert_id: int) -> Response:
    def action(now: datetime) -> str:
        tickets.check_ticket(uow, alert_id, now=now)
        return _("Warning ticket marked as checked.")

    return _act(request, uow, ctx, principal, alert_id, action)


@router.post("/alerts/{alert_id}/ticket/answer", dependencies=CSRF)
def post_ticket_answer(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                       alert_id: int, response: Annotated[str, Form()] = "",
                       attachment: Annotated[str, Form()] = "",
                       file: Annotated[UploadFile | str | None, File()] = None) -> Response:
    stored: list[StoredFile] = []
    media_dir = ctx.settings.media_dir

    def action(now: datetime) -> str:
        body = _text(response, _("Write the answer to the warning ticket first."))
        if len(attachment) > 300:
            raise Refused(_("The attachment reference may have at most 300 characters."))
        # Checked before the file is stored, so a refused answer leaves no file behind.
        tickets.answerable_ticket(uow, alert_id)
        # FastAPI hands over Starlette's UploadFile; a form sent without choosing a file
        # carries an empty part with no name.
        if isinstance(file, ReceivedFile) and file.filename:
            try:
                data = attachments.read_upload(file.file)
                stored.append(attachments.store_attachment(media_dir, file.filename, data))
            except attachments.FileRefused as exc:
                raise Refused(_("Only PDF, PNG, JPEG, DOCX or XLSX files up to 10 MB are "
                                "accepted."),
                              413 if isinstance(exc, attachments.FileTooLarge) else 400) \
                    from None
        tickets.answer_ticket(uow, alert_id, body, attachment.strip(), now=now,
                              file=stored[0] if stored else None)
        return _("Answer to the warning ticket sent.")

    def forget_file() -> None:
        for item in stored:
            attachments.discard(media_dir, item)

    return _act(request, uow, ctx, principal, alert_id, action,
                {"response": response, "attachment": attachment}, forget_file)


@router.get("/alerts/{alert_id}/ticket/file")
def ticket_file(uow: Uow, ctx: Ctx, principal: Reader, alert_id: int) -> Response:
    alert = service.visible_alert(uow, alert_id)
    return attachments.download(ctx.settings.media_dir, alert.ticket_file_path,
                                alert.ticket_file_name, alert.ticket_file_type)


@router.post("/alerts/{alert_id}/incident", dependencies=CSRF)
def post_incident(request: Request, uow: Uow, ctx: Ctx, principal: Reader, alert_id: int,
                  title: Annotated[str, Form()] = "",
                  category: Annotated[str, Form()] = "Other") -> Response:
    def action(now: datetime) -> str:
        name = _text(title, _("Give the incident a title."))[:300]
        incidents.create_incident(uow, name, category, [alert_id], now=now)
        return _("Incident opened with its SOP checklist.")

    return _act(request, uow, ctx, principal, alert_id, action)


@router.post("/alerts/{alert_id}/incident-steps/{step_id}", dependencies=CSRF)
def post_step(request: Request, uow: Uow, ctx: Ctx, principal: Reader, alert_id: int,
              step_id: int, done: Annotated[str, Form()] = "") -> Response:
    def action(now: datetime) -> str:
        alert = service.visible_alert(uow, alert_id)
        if alert.incident_id is None:
            raise Refused(_("This alert is not part of an incident."), 404)
        incidents.update_step(uow, alert.incident_id, step_id, done=done == "1", now=now)
        return _("Checklist updated.")

    return _act(request, uow, ctx, principal, alert_id, action)
