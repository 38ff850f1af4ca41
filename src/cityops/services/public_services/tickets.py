"""Late-dossier warning tickets (phiếu cảnh báo) through the alert center, and report lines.

Once a day, at a time set in ``ps_settings`` (``warning_time``, local HH:MM, default 07:30),
each agency whose unfinished dossiers are overdue or due within N working days
(``warning_days``, default 2) gets one ticket listing them. The dedupe key carries the agency
and the local date, and a ticket already raised under it is left alone, so a rerun the same
day sends nothing new. Checking, answering and escalation are the alert center's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cityops.alerts.models import Alert
from cityops.alerts.service import RaiseRequest, raise_alert
from cityops.kernel.calendar import load_calendar
from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import Agency
from cityops.kernel.uow import UnitOfWork
from cityops.services.public_services.intake import LOCAL
from cityops.services.public_services.models import Dossier, Setting, StateChange
from cityops.services.public_services.service_classify import FINISHED_STATES

SERVICE = "public_services"
PAUSED_STATES = (5, 6, 8)
DEFAULTS = {"warning_time": "07:30", "warning_days": "2"}
LAST_RUN_KEY = "warning_last_run"
MAX_LISTED = 50


def setting(session: Session, key: str) -> str:
    row = session.get(Setting, key)
    return row.value if row is not None else DEFAULTS[key]


def warning_time(session: Session) -> time:
    return time.fromisoformat(setting(session, "warning_time"))


def save_settings(session: Session, at: str, days: str) -> None:
    """Check and store the daily time (HH:MM, local) and the horizon (0–20 working days)."""
    try:
        parsed = time.fromisoformat(at.strip())
    except ValueError:
        raise Invalid("the time must be HH:MM, e.g. 07:30") from None
    if not days.strip().isdigit() or not 0 <= int(days) <= 20:
        raise Invalid("the number of working days must be between 0 and 20")
    for key, value in (("warning_time", parsed.strftime("%H:%M")),
                       ("warning_days", str(int(days)))):
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        elif row.value != value:
            row.value = value
    session.flush()


def _dedupe_key(agency: Agency, now: datetime) -> str:
    return f"deadline-warning:{agency.code}:{now.astimezone(LOCAL).date().isoformat()}"


def due_dossiers(session: Session, now: datetime, days: int) -> dict[int, list[Dossier]]:
    """Unfinished, running (not paused) dossiers due by the end of N working days, by agency."""
    calendar = load_calendar(session)
    horizon_day = calendar.add_working_days(now.astimezone(LOCAL).date(), days)
    horizon = datetime.combine(horizon_day, time(23, 59, 59), tzinfo=LOCAL)
    rows = session.scalars(select(Dossier).where(
        Dossier.due_at.is_not(None), Dossier.due_at <= horizon,
        Dossier.state.not_in([*FINISHED_STATES, *PAUSED_STATES]),
    ).order_by(Dossier.processing_agency_id, Dossier.due_at, Dossier.code)).all()
    grouped: dict[int, list[Dossier]] = {}
    for dossier in rows:
        grouped.setdefault(dossier.processing_agency_id, []).append(dossier)
    return grouped


def _describe(dossiers: list[Dossier], now: datetime) -> str:
    lines = []
    for d in dossiers[:MAX_LISTED]:
        due = d.due_at.astimezone(LOCAL) if d.due_at else None
        status = "QUÁ HẠN" if due and due < now else "sắp đến hạn"
        lines.append(f"- {d.code} — hạn {due:%d/%m/%Y %H:%M} — {status}")
    if len(dossiers) > MAX_LISTED:
        lines.append(f"… và {len(dossiers) - MAX_LISTED} hồ sơ khác")
    return "\n".join(lines)


@dataclass
class TicketRun:
    agencies: int = 0
    sent: int = 0
    already_sent: int = 0


def issue_warning_tickets(uow: UnitOfWork, *, now: datetime, days: int | None = None
                          ) -> TicketRun:
    """One ticket per agency with dossiers due soon or overdue; idempotent per local day."""
    session = uow.session
    days = int(setting(session, "warning_days")) if days is None else days
    run = TicketRun()
    for agency_id, dossiers in due_dossiers(session, now, days).items():
        agency = session.get(Agency, agency_id)
        if agency is None:
            continue
        run.agencies += 1
        key = _dedupe_key(agency, now)
        if session.scalar(select(Alert.id).where(Alert.service == SERVICE,
                                                 Alert.dedupe_key == key)):
            run.already_sent += 1
            continue
        overdue = sum(1 for d in dossiers if d.due_at is not None and d.due_at < now)
        raise_alert(uow, RaiseRequest(
            dedupe_key=key, service=SERVICE, is_ticket=True, agency_code=agency.code,
            severity="major" if overdue else "minor", category="Other",
            title=f"Phiếu cảnh báo hồ sơ trễ hạn: {overdue} quá hạn, "
                  f"{len(dossiers) - overdue} sắp đến hạn",
            title_en=f"Late dossier warning: {overdue} overdue, "
                     f"{len(dossiers) - overdue} due soon",
            description=_describe(dossiers, now), tags=["public_services", "deadline"],
            links=[{"href": f"/api/v1/public-services/dossiers/{d.code}", "title": d.code}
                   for d in dossiers[:MAX_LISTED]],
        ), now=now)
        run.sent += 1
    return run


def due_for_run(session: Session, now: datetime) -> bool:
    """Whether the daily run is due: past the configured local time, not yet run today."""
    local = now.astimezone(LOCAL)
    last = session.get(Setting, LAST_RUN_KEY)
    if last is not None and last.value == local.date().isoformat():
        return False
    return local.time() >= warning_time(session)


def mark_run(session: Session, now: datetime) -> None:
    today = now.astimezone(LOCAL).date().isoformat()
    row = session.get(Setting, LAST_RUN_KEY)
    if row is None:
        session.add(Setting(key=LAST_RUN_KEY, value=today))
    else:
        row.value = today


def _ratio(part: int, whole: int) -> dict[str, Any]:
    return {"part": part, "whole": whole,
            "percent": round(100 * part / whole, 2) if whole else None}


def report_lines(session: Session, start: datetime, end: datetime,
                 agency_ids: frozenset[int] | None = None,
                 reception_hours: float = 8.0) -> dict[str, dict[str, Any]]:
    """The period's report lines (dossiers received, tickets raised in [start, end)).

    - tickets checked / sent;
    - overdue dossiers processed / all overdue (late-finished / late-finished + overdue);
    - overdue online submissions received / all overdue ones: online dossiers whose
      reception (state 2) came, or has not yet come, later than ``reception_hours`` working
      hours after registration (state 1) — a working day, our reading of the rule.
    """
    tickets = select(func.count()).select_from(Alert).where(
        Alert.service == SERVICE, Alert.is_ticket.is_(True),
        Alert.raised_at >= start, Alert.raised_at < end)
    dossiers = [Dossier.received_at >= start, Dossier.received_at < end]
    if agency_ids is not None:
        tickets = tickets.where(Alert.agency_id.in_(sorted(agency_ids)))
        dossiers.append(Dossier.processing_agency_id.in_(sorted(agency_ids)))
    sent = session.scalar(tickets) or 0
    checked = session.scalar(tickets.where(Alert.ticket_checked_at.is_not(None))) or 0
    counts = dict(session.execute(select(Dossier.outcome, func.count()).where(
        and_(*dossiers), Dossier.outcome.in_(["late", "overdue"])).group_by(Dossier.outcome)
    ).all())
    late, overdue = counts.get("late", 0), counts.get("overdue", 0)
    return {
        "tickets_checked": _ratio(checked, sent),
        "overdue_processed": _ratio(late, late + overdue),
        "overdue_online_received": _online_reception(session, dossiers, end, reception_hours),
    }


def _online_reception(session: Session, where: list[Any], end: datetime,
                      hours: float) -> dict[str, Any]:
    calendar = load_calendar(session)
    rows = session.execute(select(StateChange.dossier_id, StateChange.state, StateChange.at)
                           .join(Dossier, Dossier.id == StateChange.dossier_id)
                           .where(*where, Dossier.channel == 2, StateChange.state.in_([1, 2]))
                           .order_by(StateChange.dossier_id, StateChange.at)).all()
    first: dict[int, dict[int, datetime]] = {}
    for dossier_id, state, at in rows:
        first.setdefault(dossier_id, {}).setdefault(state, at)
    late = received = 0
    for times in first.values():
        if 1 not in times:
            continue
        limit = calendar.add_working_hours(times[1], hours)
        got = times.get(2)
        if (got or end) > limit:
            late += 1
            received += got is not None
    return _ratio(received, late)
