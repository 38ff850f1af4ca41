"""REST API under /api/v1/public-services: batch intake for integrators, scoped reads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.permissions import Principal, authorize, scope_to_agencies
from cityops.services.public_services.models import Dossier
from cityops.services.public_services.service import (
    INTAKE_PERMISSION,
    record_batch,
    upsert_dossiers,
)
from cityops.services.public_services.service_procedures import upsert_procedures
from cityops.web.deps import Ctx, Uow, require
from cityops.web.pagination import Page, Paging, make_page, paginate

READ_PERMISSION = "public_services.read"
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_BATCH_ITEMS = 1000

router = APIRouter(prefix="/api/v1/public-services", tags=["public services"])
Reader = Annotated[Principal, Depends(require(READ_PERMISSION))]
Sender = Annotated[Principal, Depends(require(INTAKE_PERMISSION))]


class ItemError(BaseModel):
    index: int
    code: str
    field: str
    problem: str


class BatchOut(BaseModel):
    batch_id: int
    received: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[ItemError]


class HistoryOut(BaseModel):
    state: int
    at: datetime
    note: str


class DossierOut(BaseModel):
    code: str
    procedure_code: str
    receiving_agency_code: str
    processing_agency_code: str
    channel: int
    applicant_type: str
    received_at: datetime
    appointment_at: datetime | None
    state: int
    state_at: datetime
    supplement_requests: int
    outcome: str | None
    due_at: datetime | None
    end_at: datetime | None
    late_without_apology: bool
    history: list[HistoryOut]


def dossier_out(d: Dossier) -> DossierOut:
    return DossierOut(
        code=d.code, procedure_code=d.procedure.code,
        receiving_agency_code=d.receiving_agency.code,
        processing_agency_code=d.processing_agency.code, channel=d.channel,
        applicant_type=d.applicant_type, received_at=d.received_at,
        appointment_at=d.appointment_at, state=d.state, state_at=d.state_at,
        supplement_requests=d.supplement_requests, outcome=d.outcome, due_at=d.due_at,
        end_at=d.end_at,
        late_without_apology=d.outcome in ("late", "overdue") and not d.apologies,
        history=[HistoryOut(state=h.state, at=h.at, note=h.note) for h in d.history])


async def _read_limited(request: Request) -> bytes:
    """The body, refusing (413) before reading more than the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise HTTPException(413, f"the batch is larger than {MAX_BATCH_BYTES // 1_048_576} MB; "
                                 "send it in smaller batches")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BATCH_BYTES:
            raise HTTPException(413, f"the batch is larger than "
                                     f"{MAX_BATCH_BYTES // 1_048_576} MB; send smaller batches")
    return bytes(body)


def _items(body: bytes) -> list[Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"the body is not UTF-8 JSON: {exc}") from None
    items = data.get("dossiers") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise Invalid('send {"dossiers": [ ... ]}: a JSON object with a list of dossiers')
    if len(items) > MAX_BATCH_ITEMS:
        raise HTTPException(413, f"at most {MAX_BATCH_ITEMS} dossiers per batch "
                                 f"({len(items)} sent)")
    return items


@router.post("/dossiers:batch", response_model=BatchOut)
async def batch_dossiers(request: Request, uow: Uow, ctx: Ctx, principal: Sender) -> BatchOut:
    """Create or update dossiers by code (idempotent); each dossier is stored whole or not
    at all, and the answer lists the problems of the refused ones."""
    items = _items(await _read_limited(request))
    now = ctx.clock()
    result = upsert_dossiers(uow, items, source="api", now=now)
    batch = record_batch(uow, result, source="api", now=now)
    uow.commit()
    return BatchOut(batch_id=batch.id, received=batch.total, created=batch.created,
                    updated=batch.updated, unchanged=batch.unchanged, failed=batch.failed,
                    errors=[ItemError(**e) for e in batch.report])


def _loaded() -> Any:
    return (selectinload(Dossier.history), selectinload(Dossier.apologies),
            selectinload(Dossier.procedure), selectinload(Dossier.receiving_agency),
            selectinload(Dossier.processing_agency))


class ProcedureCounts(BaseModel):
    created: int
    updated: int
    unchanged: int


@router.post("/procedures:batch", response_model=ProcedureCounts)
async def batch_procedures(request: Request, uow: Uow, principal: Sender) -> ProcedureCounts:
    """Create or update catalogue procedures by code; the whole batch or nothing."""
    body = await _read_limited(request)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"the body is not UTF-8 JSON: {exc}") from None
    rows = data.get("procedures") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise Invalid('send {"procedures": [ ... ]}: a JSON object with a list of objects')
    counts = upsert_procedures(uow.session, rows)
    uow.commit()
    return ProcedureCounts(**counts)


@router.get("/dossiers", response_model=Page[DossierOut])
def list_dossiers(uow: Uow, principal: Reader, paging: Paging,
                  outcome: str | None = None) -> Page[DossierOut]:
    """Dossiers the principal may see (officers: their agency's), newest first."""
    stmt = select(Dossier).options(*_loaded()).order_by(Dossier.received_at.desc(),
                                                         Dossier.id.desc())
    if outcome:
        stmt = stmt.where(Dossier.outcome == outcome)
    stmt = scope_to_agencies(stmt, principal, Dossier.processing_agency_id)
    rows, total = paginate(uow.session, stmt, paging)
    return make_page([dossier_out(d) for d in rows], total, paging)


@router.get("/dossiers/{code}", response_model=DossierOut)
def get_dossier(code: str, uow: Uow, principal: Reader) -> DossierOut:
    found = uow.session.scalar(select(Dossier).where(Dossier.code == code)
                               .options(*_loaded()))
    if found is None:
        raise NotFound(f"no dossier with code {code!r}")
    authorize(principal, READ_PERMISSION, agency_id=found.processing_agency_id)
    return dossier_out(found)
