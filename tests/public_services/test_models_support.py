"""Helpers for the public-services tests: agencies, the sample catalogue, dossier payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import SYSTEM, Principal
from cityops.services.public_services.models import Dossier, StateChange
from cityops.services.public_services.service import BatchResult, upsert_dossiers
from cityops.services.public_services.service_procedures import (
    sample_catalogue,
    upsert_procedures,
)

NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)  # 10:00 in Đắk Lắk, a Friday


def seed(ctx: AppContext, agencies: tuple[str, ...] = ("SO-TP", "UBND-22015")) -> None:
    """Agencies (unless the demo made them) and the sample procedure catalogue."""
    with ctx.uow() as uow:
        for code in agencies:
            if uow.session.scalar(select(Agency).where(Agency.code == code)) is None:
                agency = Agency(code=code, kind="department")
                agency.set_name(f"Cơ quan {code}")
                uow.session.add(agency)
        upsert_procedures(uow.session, sample_catalogue())
        uow.commit()


def dossier(code: str = "HS-0001", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "code": code, "procedure_code": "1.001193", "processing_agency_code": "SO-TP",
        "channel": 2, "applicant_type": "citizen", "received_at": "2026-03-16T08:00:00+07:00",
        "history": [{"state": 2, "at": "2026-03-16T08:00:00+07:00"},
                    {"state": 4, "at": "2026-03-16T09:00:00+07:00"}],
        "payment_online": True,
    }
    payload.update(overrides)
    return payload


def send(ctx: AppContext, items: list[Any], principal: Principal = SYSTEM,
         now: datetime = NOW, source: str = "api") -> BatchResult:
    with ctx.uow(principal) as uow:
        result = upsert_dossiers(uow, items, source=source, now=now)
        uow.commit()
    return result


def snapshot(ctx: AppContext) -> dict[str, Any]:
    """Everything the upsert writes, to compare a database before and after a re-send."""
    from cityops.kernel.audit import AuditLog

    with ctx.db.session() as session:
        rows = [(d.code, d.state, d.state_at, d.updated_at, d.outcome, d.due_at, d.computed_at,
                 d.supplement_requests) for d in session.scalars(select(Dossier)
                                                                 .order_by(Dossier.code))]
        history = session.execute(select(StateChange.dossier_id, StateChange.state,
                                         StateChange.at).order_by(StateChange.id)).all()
        audit = session.scalar(select(func.count()).select_from(AuditLog))
    return {"dossiers": rows, "history": history, "audit": audit}


def own_app(ctx: AppContext):  # type: ignore[no-untyped-def]
    """The web app with only the services these tests need (alert center, public services).

    Other services are built in parallel; their half-finished routers must not break ours.
    """
    from cityops.alerts.manifest import manifest as alerts
    from cityops.kernel.registry import ServiceRegistry
    from cityops.services.public_services.manifest import manifest as public_services
    from cityops.web.app import create_app

    ctx.registry = ServiceRegistry([alerts, public_services])
    return create_app(ctx)
