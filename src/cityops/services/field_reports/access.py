"""Who may see and act on a report: permissions plus agency scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, or_, select

from cityops.kernel.errors import NotFound
from cityops.kernel.permissions import PermissionDenied, Principal, authorize
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.models import Report, report_supporters


def covers(principal: Principal, report: Report, *, supporting_ok: bool) -> bool:
    """Province-wide staff cover every report; an officer covers the reports led by their
    agency subtree (and, for reading and notes, those it supports). The IOC triage queue
    (no lead agency) belongs to province-wide staff only."""
    if principal.province_wide:
        return True
    if report.lead_agency_id is not None and principal.covers_agency(report.lead_agency_id):
        return True
    return supporting_ok and any(principal.covers_agency(a.id) for a in report.supporting)


def report_for(uow: UnitOfWork, report_id: int, permission: str, *,
               supporting_ok: bool = False) -> Report:
    """Load a report the principal may act on with ``permission`` (403/404 otherwise)."""
    authorize(uow.principal, permission)
    report = uow.session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no field report with id {report_id}")
    if not covers(uow.principal, report, supporting_ok=supporting_ok):
        raise PermissionDenied("this report belongs to another agency")
    return report


def scoped(stmt: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict a report query to what the principal may read (lead or supporting)."""
    if principal.agency_scope is None:
        return stmt
    scope = sorted(principal.agency_scope)
    supported = exists(select(report_supporters.c.report_id).where(
        report_supporters.c.report_id == Report.id, report_supporters.c.agency_id.in_(scope)))
    return stmt.where(or_(Report.lead_agency_id.in_(scope), supported))
