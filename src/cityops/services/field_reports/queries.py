"""Read side: the staff queue with filters, and duplicate suggestions nearby."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import Agency, Area
from cityops.kernel.permissions import Principal, authorize
from cityops.services.field_reports.access import scoped
from cityops.services.field_reports.intake import category_by_code
from cityops.services.field_reports.models import Category, Report
from cityops.services.field_reports.vocab import OPEN_STATES, STATES

EARTH_RADIUS_M = 6_371_000.0


@dataclass
class QueueFilter:
    agency_code: str | None = None
    triage: bool = False  # only the IOC triage queue (no lead agency)
    state: str | None = None
    category_code: str | None = None
    area_code: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0


def list_reports(session: Session, principal: Principal, f: QueueFilter, *,
                 now: datetime) -> tuple[list[Report], int]:
    authorize(principal, "field_reports.read")
    if not 1 <= f.limit <= 500 or f.offset < 0:
        raise Invalid("limit must be 1–500 and offset ≥ 0")
    stmt = scoped(select(Report), principal)
    if f.state:
        if f.state not in STATES:
            raise Invalid(f"state must be one of: {', '.join(STATES)}")
        stmt = stmt.where(Report.state == f.state)
    if f.category_code:
        stmt = stmt.where(Report.category_id == category_by_code(session, f.category_code).id)
    if f.area_code:
        stmt = stmt.where(Report.area_id.in_(select(Area.id).where(Area.code == f.area_code)))
    if f.agency_code:
        stmt = stmt.where(Report.lead_agency_id.in_(
            select(Agency.id).where(Agency.code == f.agency_code)))
    if f.triage:
        stmt = stmt.where(Report.lead_agency_id.is_(None))
    if f.overdue:
        stmt = stmt.where(Report.state.in_(OPEN_STATES), Report.due_at < now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Report.created_at.desc(), Report.id.desc())
                           .limit(f.limit).offset(f.offset)).all()
    return list(rows), total


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def nearby_open(session: Session, category: Category, lat: float, lon: float,
                *, exclude_id: int | None = None) -> list[tuple[Report, float]]:
    """Open, public reports of the same category within the category's duplicate radius,
    nearest first. A bounding box narrows the rows in SQL (portable); haversine decides."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid("lat/lon are not WGS 84 coordinates")
    radius = category.duplicate_radius_m
    if radius <= 0:
        return []
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    rows = session.scalars(select(Report).where(
        Report.category_id == category.id, Report.state.in_(OPEN_STATES),
        Report.hidden.is_(False), Report.lat.between(lat - dlat, lat + dlat),
        Report.lon.between(lon - dlon, lon + dlon))).all()
    found = [(r, distance_m(lat, lon, r.lat, r.lon)) for r in rows
             if r.id != exclude_id and r.lat is not None and r.lon is not None]
    return sorted([(r, d) for r, d in found if d <= radius], key=lambda pair: pair[1])
