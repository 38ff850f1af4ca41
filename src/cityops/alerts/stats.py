"""Alert-center statistics computed from the stored records (nothing is kept as a counter)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts.models import Alert
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal, scope_to_agencies

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class TicketFigures:
    sent: int = 0
    checked: int = 0
    answered: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    overdue_unanswered: int = 0

    def add(self, alert: Any, now: datetime) -> None:
        self.sent += 1
        self.checked += alert.ticket_checked_at is not None
        if alert.ticket_answered_at is not None:
            self.answered += 1
            on_time = alert.ticket_due_at is None or alert.ticket_answered_at <= alert.ticket_due_at
            self.answered_on_time += on_time
            self.answered_late += not on_time
        elif alert.ticket_due_at is not None and alert.ticket_due_at < now:
            self.overdue_unanswered += 1


@dataclass
class AlertStats:
    total: int = 0
    by_service: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_agency: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)
    mean_minutes_to_acknowledge: float | None = None
    mean_minutes_to_resolve: float | None = None
    resolved_with_deadline: int = 0
    resolved_on_time: int = 0
    tickets: TicketFigures = field(default_factory=TicketFigures)
    tickets_by_agency: dict[str, TicketFigures] = field(default_factory=dict)
    tickets_by_service: dict[str, TicketFigures] = field(default_factory=dict)
    tickets_by_month: dict[str, TicketFigures] = field(default_factory=dict)

    @property
    def on_time_rate(self) -> float | None:
        if not self.resolved_with_deadline:
            return None
        return round(100 * self.resolved_on_time / self.resolved_with_deadline, 2)

    def as_dict(self) -> dict[str, Any]:
        def tickets(fig: TicketFigures) -> dict[str, int]:
            return dict(fig.__dict__)

        return {
            "total": self.total,
            "by_service": dict(self.by_service), "by_category": dict(self.by_category),
            "by_severity": dict(self.by_severity), "by_agency": dict(self.by_agency),
            "by_status": dict(self.by_status), "by_month": dict(sorted(self.by_month.items())),
            "mean_minutes_to_acknowledge": self.mean_minutes_to_acknowledge,
            "mean_minutes_to_resolve": self.mean_minutes_to_resolve,
            "resolved_with_deadline": self.resolved_with_deadline,
            "resolved_on_time": self.resolved_on_time,
            "on_time_rate": self.on_time_rate,
            "tickets": tickets(self.tickets),
            "tickets_by_agency": {k: tickets(v) for k, v in sorted(self.tickets_by_agency.items())},
            "tickets_by_service": {k: tickets(v) for k, v in
                                   sorted(self.tickets_by_service.items())},
            "tickets_by_month": {k: tickets(v) for k, v in sorted(self.tickets_by_month.items())},
        }


def _mean_minutes(pairs: list[tuple[datetime, datetime]]) -> float | None:
    if not pairs:
        return None
    return round(sum((b - a).total_seconds() for a, b in pairs) / len(pairs) / 60, 1)


def compute(session: Session, principal: Principal, *, now: datetime,
            since: datetime | None = None, until: datetime | None = None,
            service: str | None = None) -> AlertStats:
    columns = (Alert.service, Alert.category, Alert.severity, Alert.status, Alert.raised_at,
               Alert.acknowledged_at, Alert.resolved_at, Alert.resolve_due_at, Alert.is_ticket,
               Alert.ticket_due_at, Alert.ticket_checked_at, Alert.ticket_answered_at,
               Agency.code)
    stmt = select(*columns).outerjoin(Agency, Agency.id == Alert.agency_id)
    stmt = scope_to_agencies(stmt, principal, Alert.agency_id)
    if since is not None:
        stmt = stmt.where(Alert.raised_at >= since)
    if until is not None:
        stmt = stmt.where(Alert.raised_at < until)
    if service:
        stmt = stmt.where(Alert.service == service)
    stats = AlertStats()
    acks: list[tuple[datetime, datetime]] = []
    resolves: list[tuple[datetime, datetime]] = []
    by_agency: dict[str, TicketFigures] = defaultdict(TicketFigures)
    by_service: dict[str, TicketFigures] = defaultdict(TicketFigures)
    by_month: dict[str, TicketFigures] = defaultdict(TicketFigures)
    for row in session.execute(stmt.execution_options(yield_per=2000)):
        agency = row.code or "—"
        month = row.raised_at.astimezone(LOCAL).strftime("%Y-%m")
        stats.total += 1
        stats.by_service[row.service] += 1
        stats.by_category[row.category] += 1
        stats.by_severity[row.severity] += 1
        stats.by_agency[agency] += 1
        stats.by_status[row.status] += 1
        stats.by_month[month] += 1
        if row.acknowledged_at is not None:
            acks.append((row.raised_at, row.acknowledged_at))
        if row.resolved_at is not None:
            resolves.append((row.raised_at, row.resolved_at))
            if row.resolve_due_at is not None:
                stats.resolved_with_deadline += 1
                stats.resolved_on_time += row.resolved_at <= row.resolve_due_at
        if row.is_ticket:
            for figures in (stats.tickets, by_agency[agency], by_service[row.service],
                            by_month[month]):
                figures.add(row, now)
    stats.mean_minutes_to_acknowledge = _mean_minutes(acks)
    stats.mean_minutes_to_resolve = _mean_minutes(resolves)
    stats.tickets_by_agency = dict(by_agency)
    stats.tickets_by_service = dict(by_service)
    stats.tickets_by_month = dict(by_month)
    return stats
