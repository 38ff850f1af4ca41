"""Helpers shared by the field-report tests (a module, so pytest collects no test here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shapely.geometry import shape

from cityops.kernel.auth import User, principal_for_user
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import area_by_code
from cityops.kernel.permissions import Principal, permission_registry
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.intake import IntakeRequest, create_report
from cityops.services.field_reports.manifest import manifest
from cityops.services.field_reports.models import Report

# A Tuesday, far from Vietnamese holidays.
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
BMT_WARD = "24133"  # a Buôn Ma Thuột ward: the urban company and the water company serve it
RURAL = "22114"  # a former Phú Yên commune no public company serves


def grant_permissions() -> None:
    for permission, roles in manifest.permissions.items():
        permission_registry.grant(permission, roles)


def point_in(ctx: AppContext, area_code: str) -> tuple[float, float]:
    """A point (lat, lon) surely inside the commune's polygon."""
    with ctx.db.session() as session:
        area = area_by_code(session, area_code)
        assert area is not None and area.geometry
        point = shape(area.geometry).representative_point()
    return point.y, point.x


def principal(ctx: AppContext, username: str) -> Principal:
    grant_permissions()
    with ctx.db.session() as session:
        from sqlalchemy import select

        user = session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return principal_for_user(session, user)


def uow_as(ctx: AppContext, username: str | None = None) -> UnitOfWork:
    return ctx.uow(principal(ctx, username) if username else None)


def new_report(ctx: AppContext, *, category: str = "garbage", area: str = BMT_WARD,
               now: datetime = NOW, **fields: Any) -> Report:
    lat, lon = point_in(ctx, area)
    values: dict[str, Any] = {"category_code": category, "channel": "app", "lat": lat,
                              "lon": lon, "description": "Rác đổ trộm ở đầu hẻm",
                              "contact_phone": "0905123456"}
    values.update(fields)
    with ctx.uow() as uow:
        report = create_report(uow, IntakeRequest(**values), now=now)
        uow.commit()
    return report


def reload(ctx: AppContext, report_id: int) -> Report:
    with ctx.db.session() as session:
        report = session.get(Report, report_id)
        assert report is not None
        _ = (report.lead_agency, report.supporting, report.timeline, report.category,
             report.area, report.duplicate_of)
        return report
