"""Staff tools beyond state changes: notes and public updates, moderation with history,
publication of results (with the citizen's e-mail), citizen rating and reopening, bans."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from cityops.alerts.notification_models import Delivery
from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.permissions import authorize
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.access import report_for
from cityops.services.field_reports.intake import normalize_code, normalize_phone
from cityops.services.field_reports.models import Ban, Media, Moderation, Report, TimelineEntry
from cityops.services.field_reports.timeline import add_entry
from cityops.services.field_reports.vocab import BAN_KINDS
from cityops.services.field_reports.workflow import reopen_report

MAX_TEXT = 4000
# Days after resolution during which the citizen may rate and reopen (FixMyStreet asks
# "has it been fixed?" four weeks later); overridable per call.
DEFAULT_REOPEN_DAYS = 30
LOW_RATING = 2


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise Invalid(f"{what} needs text")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what} has at most 4,000 characters")
    return value


def add_note(uow: UnitOfWork, report_id: int, text: str, *, public: bool,
             now: datetime) -> TimelineEntry:
    """An internal note (staff only) or a public update (shown to the citizen)."""
    report = report_for(uow, report_id, "field_reports.handle", supporting_ok=not public)
    entry = add_entry(report, "update" if public else "note", uow, now, public=public,
                      text=_text(text, "an update" if public else "a note"))
    uow.emit("field_report.noted", report_id=report.id, public=public)
    return entry


def _moderated(uow: UnitOfWork, report: Report, field: str, before: object, after: object,
               reason: str, now: datetime, media_id: int | None = None) -> None:
    uow.session.add(Moderation(report_id=report.id, media_id=media_id, field=field,
                               before=str(before), after=str(after), reason=reason,
                               actor=uow.principal.label, at=now))


def moderate(uow: UnitOfWork, report_id: int, *, now: datetime, reason: str,
             description: str | None = None, hide_name: bool | None = None,
             hidden: bool | None = None) -> Report:
    """Edit the public text, hide the citizen's name or the whole report; history kept."""
    authorize(uow.principal, "field_reports.moderate")
    report = report_for(uow, report_id, "field_reports.moderate")
    reason = _text(reason, "a moderation")
    changes = 0
    if description is not None and description.strip() != report.description:
        new = _text(description, "the description")
        _moderated(uow, report, "description", report.description, new, reason, now)
        report.description, changes = new, changes + 1
    if hide_name is not None and hide_name != report.name_hidden:
        _moderated(uow, report, "name_hidden", report.name_hidden, hide_name, reason, now)
        report.name_hidden, changes = hide_name, changes + 1
    if hidden is not None and hidden != report.hidden:
        _moderated(uow, report, "hidden", report.hidden, hidden, reason, now)
        report.hidden, changes = hidden, changes + 1
    if not changes:
        raise Invalid("nothing to change")
    add_entry(report, "moderation", uow, now, text=reason, data={"changes": changes})
    return report


def moderate_media(uow: UnitOfWork, media_id: int, *, now: datetime, reason: str,
                   hidden: bool | None = None, redacted: bool | None = None) -> Media:
    """Hide or mark a photo redacted (the portal's media code serves redacted copies)."""
    media = uow.session.get(Media, media_id)
    if media is None:
        raise NotFound(f"no photo with id {media_id}")
    report = report_for(uow, media.report_id, "field_reports.moderate")
    reason = _text(reason, "a moderation")
    for field, value in (("hidden", hidden), ("redacted", redacted)):
        if value is not None and value != getattr(media, field):
            _moderated(uow, report, f"media.{field}", getattr(media, field), value, reason,
                       now, media.id)
            setattr(media, field, value)
    add_entry(report, "moderation", uow, now, text=reason, data={"media_id": media.id})
    return media


def moderation_history(uow: UnitOfWork, report_id: int) -> list[Moderation]:
    report_for(uow, report_id, "field_reports.moderate")
    return list(uow.session.scalars(select(Moderation).where(
        Moderation.report_id == report_id).order_by(Moderation.id)))


def approve_result(uow: UnitOfWork, report_id: int, *, now: datetime) -> Report:
    """The IOC publishes the agency's result and the citizen is e-mailed (outbox)."""
    report = report_for(uow, report_id, "field_reports.approve")
    if report.state not in ("resolved", "closed") or not report.result_text:
        raise Conflict(f"only a resolved report with a result can be approved; "
                       f"this one is {report.state}")
    if report.result_approved:
        raise Conflict("the result is already published")
    report.result_approved, report.result_approved_at = True, now
    add_entry(report, "approval", uow, now, public=True, text=report.result_text)
    if report.contact_email:
        base = str(uow.session.info.get("base_url", "")).rstrip("/")
        uow.session.add(Delivery(
            channel="email", target=report.contact_email, reason="field_report_result",
            subject=f"Phản ánh {report.code} đã được xử lý / Report {report.code} resolved",
            body=(f"Kết quả xử lý phản ánh {report.code}:\n{report.result_text}\n\n"
                  f"Xem và đánh giá / View and rate: {base}/phan-anh/{report.code}\n"),
            status="pending", created_at=now))
        report.citizen_notified_at = now
        add_entry(report, "notified", uow, now, data={"channel": "email"})
    uow.emit("field_report.result_published", report_id=report.id)
    return report


def citizen_report(uow: UnitOfWork, code: str) -> Report:
    report = uow.session.scalar(select(Report).where(Report.code == normalize_code(code)))
    if report is None:
        raise NotFound("no report with this tracking code")
    return report


def rate(uow: UnitOfWork, code: str, rating: int, comment: str = "", *, now: datetime,
         reopen: bool = False, reopen_days: int = DEFAULT_REOPEN_DAYS) -> Report:
    """The citizen rates the published result 1–5; a rating ≤ 2 (or asking to reopen) within
    ``reopen_days`` of the resolution reopens the report."""
    report = citizen_report(uow, code)
    if not 1 <= rating <= 5:
        raise Invalid("the rating is a whole number from 1 to 5")
    if len(comment) > MAX_TEXT:
        raise Invalid("the comment has at most 4,000 characters")
    if not report.result_approved:
        raise Conflict("the result is not published yet; it can be rated once published")
    report.rating, report.rating_comment, report.rated_at = rating, comment.strip(), now
    add_entry(report, "rating", uow, now, public=True, text=comment.strip(),
              data={"rating": rating})
    within = report.resolved_at is not None and \
        now - report.resolved_at <= timedelta(days=reopen_days)
    if (reopen or rating <= LOW_RATING) and within:
        reopen_report(uow, report, comment or "the citizen is not satisfied", now=now,
                      by_citizen=True)
    elif reopen:
        raise Conflict(f"reopening is possible only within {reopen_days} days of resolution")
    return report


def add_ban(uow: UnitOfWork, kind: str, value: str, reason: str, *,
            until: datetime | None = None) -> Ban:
    authorize(uow.principal, "field_reports.moderate")
    if kind not in BAN_KINDS:
        raise Invalid(f"kind must be one of: {', '.join(BAN_KINDS)}")
    # Stored exactly as intake normalizes contacts, so check_bans matches by equality.
    value = {"email": value.strip().lower(), "phone": normalize_phone(value)}.get(
        kind, value.strip())
    if not value:
        raise Invalid("give the value to ban")
    if uow.session.scalar(select(Ban.id).where(Ban.kind == kind, Ban.value == value)):
        raise Conflict("already banned")
    ban = Ban(kind=kind, value=value, reason=reason.strip(), until=until,
              created_by=uow.principal.label)
    uow.session.add(ban)
    uow.session.flush()
    return ban
