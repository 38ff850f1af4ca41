"""What the public may see of a report. Every public output (Open311, portal, feeds) goes
through these functions, which never read contact details, hidden names or internal notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from cityops.services.field_reports.models import Category, Report, TimelineEntry

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_iso(value: datetime | None) -> str | None:
    """ISO 8601 in Vietnam time with its +07:00 offset, to the second."""
    if value is None:
        return None
    return value.astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def is_public(report: Report) -> bool:
    return not report.hidden and not report.category.is_private


def public_reports() -> Select[Any]:
    """Reports the public may list: not hidden, not of a private category."""
    return (select(Report).join(Category, Category.id == Report.category_id)
            .where(Report.hidden.is_(False), Category.is_private.is_(False)))


def public_timeline(report: Report) -> list[TimelineEntry]:
    return [e for e in report.timeline if e.public]


def public_view(report: Report, language: str = "vi") -> dict[str, Any]:
    """A plain dict for the public API and pages (the portal builds on it)."""
    return {
        "code": report.code,
        "category": report.category.code,
        "category_name": report.category.name(language),
        "state": report.state,
        "description": report.description,
        "address": report.address,
        "area": report.area.name if report.area else None,
        "lat": report.lat, "lon": report.lon,
        "agency": report.lead_agency.name if report.lead_agency else None,
        "name": report.public_name or None,
        "created_at": local_iso(report.created_at),
        "updated_at": local_iso(report.updated_at),
        "expected_at": local_iso(report.due_at),
        "result": report.result_text if report.result_approved else None,
        "rating": report.rating,
        "timeline": [{"kind": e.kind, "state": e.to_state, "text": e.text,
                      "at": local_iso(e.at)} for e in public_timeline(report)],
    }
