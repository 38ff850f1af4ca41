"""SLA deadlines: round-the-clock minutes or working time on the kernel calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts.models import SlaPolicy
from cityops.kernel.calendar import WorkingCalendar

UNITS = ("minutes", "working_hours", "working_days")


def policy_for(session: Session, category: str, severity: str) -> SlaPolicy | None:
    """The most specific policy: exact pair, then category, then severity, then default."""
    rows = session.scalars(select(SlaPolicy).where(
        SlaPolicy.category.in_([category, "*"]), SlaPolicy.severity.in_([severity, "*"]))).all()
    ranked = sorted(rows, key=lambda p: (p.category == "*", p.severity == "*", p.id))
    return ranked[0] if ranked else None


def deadline(start: datetime, amount: float, unit: str, calendar: WorkingCalendar) -> datetime:
    if unit == "minutes":
        return start + timedelta(minutes=amount)
    if unit == "working_hours":
        return calendar.add_working_hours(start, amount)
    if unit == "working_days":
        if amount != int(amount):
            return calendar.add_working_hours(start, amount * calendar.day_length /
                                              timedelta(hours=1))
        return calendar.add_working_days(start, int(amount))  # type: ignore[return-value]
    raise ValueError(f"unknown SLA unit {unit!r}; use one of {', '.join(UNITS)}")
