"""Read side of detections: scoped lists, one detection, and the SOC page's breakdowns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import NotFound
from cityops.kernel.permissions import (
    PermissionDenied,
    Principal,
    authorize,
    scope_to_agencies,
)
from cityops.services.soc.models import SocDetection, SocQuarantine


@dataclass(frozen=True)
class DetectionFilter:
    since: datetime | None = None
    until: datetime | None = None
    category: str | None = None
    severity: str | None = None
    agency_id: int | None = None
    rule_id: str | None = None
    host: str | None = None


def _filtered(stmt: Select[Any], principal: Principal, flt: DetectionFilter) -> Select[Any]:
    if flt.since is not None:
        stmt = stmt.where(SocDetection.last_seen >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(SocDetection.last_seen < flt.until)
    for column, value in ((SocDetection.soc_category, flt.category),
                          (SocDetection.severity, flt.severity),
                          (SocDetection.agency_id, flt.agency_id),
                          (SocDetection.rule_id, flt.rule_id),
                          (SocDetection.host, flt.host.lower() if flt.host else None)):
        if value is not None:
            stmt = stmt.where(column == value)
    # Officers see their agencies' hosts only; detections on unknown hosts stay province-wide.
    return scope_to_agencies(stmt, principal, SocDetection.agency_id)


def detection_query(principal: Principal, flt: DetectionFilter) -> Select[tuple[SocDetection]]:
    authorize(principal, "soc.read")
    stmt = select(SocDetection).order_by(SocDetection.last_seen.desc(), SocDetection.id.desc())
    return _filtered(stmt, principal, flt)


def get_detection(session: Session, principal: Principal, detection_id: int) -> SocDetection:
    row = session.get(SocDetection, detection_id)
    if row is None:
        raise NotFound(f"no detection {detection_id}")
    if row.agency_id is None:
        authorize(principal, "soc.read")
        if not principal.province_wide:
            raise PermissionDenied("this host belongs to no agency of yours")
    else:
        authorize(principal, "soc.read", agency_id=row.agency_id)
    return row


def _grouped(session: Session, principal: Principal, flt: DetectionFilter, column: Any,
             limit: int | None = None) -> list[tuple[Any, int, int]]:
    """(value, detections, matches) per value of ``column``, most matches first."""
    stmt = select(column, func.count(SocDetection.id), func.sum(SocDetection.count)) \
        .group_by(column).order_by(func.sum(SocDetection.count).desc(), column)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(value, int(n), int(total or 0))
            for value, n, total in session.execute(_filtered(stmt, principal, flt))]


def summary(session: Session, principal: Principal, flt: DetectionFilter,
            top: int = 10) -> dict[str, Any]:
    """Counts by category / agency / severity and the top rules and hosts (scoped)."""
    authorize(principal, "soc.read")

    def table(column: Any, limit: int | None = None) -> list[dict[str, Any]]:
        return [{"key": value, "detections": n, "matches": total}
                for value, n, total in _grouped(session, principal, flt, column, limit)]

    return {
        "by_category": table(SocDetection.soc_category),
        "by_severity": table(SocDetection.severity),
        "by_agency": table(SocDetection.agency_id),
        "top_rules": table(SocDetection.rule_id, top),
        "top_hosts": table(SocDetection.host, top),
    }


def quarantine_query(principal: Principal, source: str | None = None
                     ) -> Select[tuple[SocQuarantine]]:
    # Raw input may mention any agency's hosts: only SOC managers read the quarantine.
    authorize(principal, "soc.rules.manage")
    stmt = select(SocQuarantine).order_by(SocQuarantine.received_at.desc(),
                                          SocQuarantine.id.desc())
    if source:
        stmt = stmt.where(SocQuarantine.source == source)
    return stmt
