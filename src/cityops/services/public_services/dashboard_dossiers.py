"""The dossier list behind the dashboards (filters, pagination) and one dossier's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from cityops.kernel.errors import NotFound
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal, authorize, scope_to_agencies
from cityops.services.public_services.dashboard import Period
from cityops.services.public_services.models import Dossier, Procedure

READ = "public_services.read"
PAGE_SIZE = 50
MAX_EXPORT_ROWS = 50_000  # one download; beyond that narrow the filters
OUTCOMES = ("early", "on_time", "late", "in_term", "due_soon", "overdue", "paused",
            "cancelled")


@dataclass(frozen=True)
class DossierFilter:
    period: Period
    agency_id: int | None = None
    outcome: str = ""
    channel: int | None = None
    procedure: str = ""
    code: str = ""  # dossier code prefix


def _statement(principal: Principal, flt: DossierFilter) -> Select[Any]:
    stmt = select(Dossier).where(Dossier.received_month >= flt.period.first_month,
                                 Dossier.received_month <= flt.period.last_month)
    if flt.agency_id is not None:
        stmt = stmt.where(Dossier.processing_agency_id == flt.agency_id)
    if flt.outcome:
        stmt = stmt.where(Dossier.outcome == flt.outcome)
    if flt.channel is not None:
        stmt = stmt.where(Dossier.channel == flt.channel)
    if flt.procedure:
        stmt = stmt.join(Procedure, Procedure.id == Dossier.procedure_id).where(
            Procedure.code == flt.procedure)
    if flt.code:
        # Escape the LIKE wildcards people may type in a code.
        escaped = flt.code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Dossier.code.like(escaped + "%", escape="\\"))
    return scope_to_agencies(stmt, principal, Dossier.processing_agency_id)


def count(session: Session, principal: Principal, flt: DossierFilter) -> int:
    stmt = _statement(principal, flt).with_only_columns(func.count(Dossier.id))
    return session.scalar(stmt.order_by(None)) or 0


def page(session: Session, principal: Principal, flt: DossierFilter, number: int,
         size: int | None = None) -> list[Dossier]:
    size = size or PAGE_SIZE
    stmt = _statement(principal, flt).options(
        joinedload(Dossier.procedure), joinedload(Dossier.processing_agency))
    stmt = stmt.order_by(Dossier.received_at.desc(), Dossier.id.desc())
    return list(session.scalars(stmt.offset((number - 1) * size).limit(size)).unique())


def all_rows(session: Session, principal: Principal, flt: DossierFilter) -> list[Dossier]:
    return page(session, principal, flt, 1, MAX_EXPORT_ROWS)


def agency_for(session: Session, principal: Principal, code: str) -> Agency:
    """An agency the reader may see; others' agencies answer 403, unknown codes 404."""
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound("no such agency")
    authorize(principal, READ, agency_id=agency.id)
    return agency


def dossier_for(session: Session, principal: Principal, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code).options(
        joinedload(Dossier.procedure), joinedload(Dossier.processing_agency),
        joinedload(Dossier.receiving_agency), selectinload(Dossier.history),
        selectinload(Dossier.supplements), selectinload(Dossier.apologies)))
    if dossier is None:
        raise NotFound("no such dossier")
    authorize(principal, READ, agency_id=dossier.processing_agency_id)
    return dossier


@dataclass(frozen=True)
class Explanation:
    """Why a dossier has its classification, in facts a reader can check."""

    statutory: str  # the amount ("5", "8"); the unit is the procedure's
    paused: timedelta
    supplements: int
    late_by_supplements: bool  # two or more supplement requests count as late
    late_without_apology: bool  # late (or overdue) and no apology letter recorded
    late_by: timedelta | None


def explain(dossier: Dossier) -> Explanation:
    late = dossier.outcome in ("late", "overdue")
    procedure = dossier.procedure
    amount = procedure.statutory_amount
    shown = f"{int(amount)}" if amount == int(amount) else f"{amount:g}"
    return Explanation(
        statutory=shown,
        paused=timedelta(seconds=dossier.paused_seconds or 0),
        supplements=dossier.supplement_requests,
        late_by_supplements=dossier.supplement_requests >= 2,
        late_without_apology=late and not dossier.apologies,
        late_by=timedelta(seconds=dossier.late_seconds) if late and dossier.late_seconds
        else None,
    )


def timeline(dossier: Dossier) -> list[tuple[datetime, str, dict[str, Any]]]:
    """State changes, supplement requests and apology letters in time order."""
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    for change in dossier.history:
        events.append((change.at, "state", {"state": change.state, "note": change.note}))
    for request in dossier.supplements:
        events.append((request.requested_at, "supplement",
                       {"completed_at": request.completed_at, "note": request.note}))
        if request.completed_at is not None:
            events.append((request.completed_at, "supplement_done", {"note": request.note}))
    for letter in dossier.apologies:
        events.append((letter.issued_at, "apology",
                       {"reason": letter.reason, "new_at": letter.new_appointment_at}))
    return sorted(events, key=lambda e: e[0])
