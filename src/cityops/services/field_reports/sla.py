"""SLA: deadlines in working days, and the job that raises alerts for late reports.

A report received at instant t with an SLA of n working days is due n working days later at
the same local time of day (kernel ``add_working_days``: a receipt on a weekend or holiday
counts from the next working day). "Near" means less than one working day is left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from cityops.alerts.service import RaiseRequest, clear_from_source, raise_alert
from cityops.kernel.calendar import WorkingCalendar, load_calendar
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.models import Report
from cityops.services.field_reports.vocab import OPEN_STATES

SERVICE_KEY = "field_reports"
LEVELS = ("", "near", "overdue")
SEVERITY = {"near": "warning", "overdue": "major"}


def due_for(calendar: WorkingCalendar, start: datetime, working_days: int) -> datetime:
    due = calendar.add_working_days(start, working_days)
    assert isinstance(due, datetime)
    return due


def sla_level(calendar: WorkingCalendar, due_at: datetime | None, now: datetime) -> str:
    """"" (on time), "near" (under one working day left) or "overdue"."""
    if due_at is None:
        return ""
    if now >= due_at:
        return "overdue"
    return "near" if due_for(calendar, now, 1) >= due_at else ""


def dedupe_key(report: Report) -> str:
    return f"sla:{report.code}"


def _raise(uow: UnitOfWork, report: Report, level: str, now: datetime,
           calendar: WorkingCalendar, base_url: str) -> None:
    late = level == "overdue"
    title = (f"Phản ánh {report.code} quá hạn xử lý" if late
             else f"Phản ánh {report.code} sắp đến hạn xử lý")
    title_en = (f"Field report {report.code} is past its deadline" if late
                else f"Field report {report.code} is close to its deadline")
    raise_alert(uow, RaiseRequest(
        dedupe_key=dedupe_key(report), service=SERVICE_KEY, title=title, title_en=title_en,
        severity=SEVERITY[level], category="Infra", source_key=report.code,
        description=f"{report.category.name_vi}: {report.description[:300]}",
        description_en=report.category.name_en,
        lat=report.lat, lon=report.lon,
        area_code=report.area.code if report.area else None,
        agency_code=report.lead_agency.code if report.lead_agency else None,
        tags=["field_report", f"sla:{level}"],
        links=[{"href": f"{base_url}/api/v1/field-reports/{report.id}", "title": report.code}],
    ), now=now, calendar=calendar)


def check_deadlines(uow: UnitOfWork, *, now: datetime,
                    calendar: WorkingCalendar | None = None) -> dict[str, int]:
    """Raise (or upgrade) alerts for open reports near/past their deadline, and clear the
    alerts of reports that are no longer open. Idempotent: ``sla_alert`` remembers the level
    already raised, and the alert center dedupes by key anyway."""
    session = uow.session
    calendar = calendar or load_calendar(session)
    base_url = str(session.info.get("base_url", "")).rstrip("/")
    counts = {"raised": 0, "cleared": 0}
    open_reports = session.scalars(select(Report).where(
        Report.state.in_(OPEN_STATES), Report.due_at.is_not(None))).all()
    for report in open_reports:
        level = sla_level(calendar, report.due_at, now)
        if LEVELS.index(level) > LEVELS.index(report.sla_alert):
            _raise(uow, report, level, now, calendar, base_url)
            report.sla_alert = level
            counts["raised"] += 1
    finished = session.scalars(select(Report).where(
        Report.state.not_in(OPEN_STATES), Report.sla_alert != "")).all()
    for report in finished:
        clear_from_source(uow, SERVICE_KEY, dedupe_key(report), now=now,
                          note=f"report {report.state}")
        report.sla_alert = ""
        counts["cleared"] += 1
    return counts


def deadline_job(ctx: Any) -> dict[str, int]:
    """The scheduler's entry point (JobSpec ``field_reports.deadlines``)."""
    with ctx.uow() as uow:
        result = check_deadlines(uow, now=ctx.clock())
        uow.commit()
    return result
