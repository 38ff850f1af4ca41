"""Warning tickets (phiếu cảnh báo): the addressed agency checks them and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cityops.alerts.attachments import StoredFile
from cityops.alerts.models import Alert
from cityops.alerts.service import (
    AlertConflict,
    AlertError,
    set_state,
    timeline_event,
    visible_alert,
)
from cityops.alerts.vocab import ACTIVE_STATES
from cityops.kernel.uow import UnitOfWork


def check_ticket(uow: UnitOfWork, alert_id: int, *, now: datetime) -> Alert:
    """The addressed agency confirms it has seen the warning ticket."""
    alert = visible_alert(uow, alert_id, "alerts.work")
    if not alert.is_ticket:
        raise AlertError("this alert is not a warning ticket")
    if alert.ticket_checked_at is None:
        previous = alert.status
        alert.ticket_checked_at = now
        alert.updated_at = now
        if alert.status == "new":
            set_state(alert, "acknowledged", now)
        timeline_event(alert, "ticket", uow.principal.label, now, text="checked",
                       from_state=previous, to_state=alert.status)
    return alert


def answerable_ticket(uow: UnitOfWork, alert_id: int) -> Alert:
    """The ticket, if this principal may answer it now; raises otherwise.

    Called before an attached file is stored, so a refused answer leaves no file behind.
    """
    alert = visible_alert(uow, alert_id, "alerts.work")
    if not alert.is_ticket:
        raise AlertError("this alert is not a warning ticket")
    if alert.ticket_answered_at is not None:
        raise AlertConflict("this warning ticket has already been answered")
    return alert


def answer_ticket(uow: UnitOfWork, alert_id: int, response: str, attachment: str = "", *,
                  now: datetime, file: StoredFile | None = None) -> Alert:
    response = response.strip()
    if not response:
        raise AlertError("the answer to a warning ticket needs a response text")
    alert = answerable_ticket(uow, alert_id)
    check_ticket(uow, alert_id, now=now)
    alert.ticket_answered_at = now
    alert.ticket_response = response
    alert.ticket_attachment = attachment
    data: dict[str, Any] = {"answered": True, "attachment": attachment,
                            "on_time": alert.ticket_due_at is None or now <= alert.ticket_due_at}
    if file is not None:
        alert.ticket_file_path = file.path
        alert.ticket_file_name = file.name
        alert.ticket_file_type = file.content_type
        alert.ticket_file_size = file.size
        alert.ticket_file_sha256 = file.sha256
        # The digest in the timeline lets an auditor show the stored file is the one sent.
        data["file"] = {"name": file.name, "size": file.size, "sha256": file.sha256}
    previous = alert.status
    if alert.status in ACTIVE_STATES:
        set_state(alert, "resolved", now)
    timeline_event(alert, "ticket", uow.principal.label, now, text=response, from_state=previous,
                   to_state=alert.status, data=data)
    uow.emit("alert.transitioned", alert_id=alert.id, to=alert.status)
    return alert
