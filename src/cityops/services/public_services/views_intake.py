"""File intake pages: upload → column mapping → validation report (admins and operators).

The uploaded rows wait in the batch row (``pending_rows``) between the upload and the
mapping step, so nothing is stored as dossiers until the mapping is confirmed; then each row
is stored whole or reported with its row number, column and problem.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.permissions import Principal
from cityops.services.public_services.intake import FLAT_FIELDS
from cityops.services.public_services.intake_files import (
    MAX_FILE_BYTES,
    read_upload,
    rows_to_records,
    suggest_mapping,
)
from cityops.services.public_services.models import IntakeBatch
from cityops.services.public_services.service import (
    INTAKE_PERMISSION,
    BatchResult,
    record_batch,
    upsert_dossiers,
)
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
CSRF = [Depends(verify_csrf_form)]
Manager = Annotated[Principal, Depends(page_requires(INTAKE_PERMISSION))]
BASE = "/public-services/intake"



def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


FIELD_LABELS = {
    "code": N_("Dossier code"),
    "procedure_code": N_("Procedure code"),
    "receiving_agency_code": N_("Receiving agency"),
    "processing_agency_code": N_("Processing agency"),
    "channel": N_("Channel"),
    "applicant_type": N_("Applicant type"),
    "received_at": N_("Received at"),
    "appointment_at": N_("Appointment date"),
    "state": N_("State"),
    "state_at": N_("State time"),
    "payment_online": N_("Online payment"),
    "digitised": N_("Digitised"),
    "e_result": N_("Electronic result"),
    "has_feedback": N_("Feedback"),
    "has_complaint": N_("Complaint"),
    "supplement_count": N_("Supplement requests"),
}


def _page(request: Request, uow: Uow, error: str = "", status: int = 200) -> Response:
    batches = uow.session.scalars(select(IntakeBatch).order_by(IntakeBatch.id.desc())
                                  .limit(20)).all()
    return render(request, "public_services/intake.html", status_code=status,
                  batches=batches, error=error, max_mb=MAX_FILE_BYTES // 1_048_576)


@router.get(BASE)
def intake_page(request: Request, uow: Uow, principal: Manager) -> Response:
    return _page(request, uow)


@router.post(f"{BASE}/upload", dependencies=CSRF)
async def upload(request: Request, uow: Uow, ctx: Ctx, principal: Manager,
                 file: Annotated[UploadFile, File()]) -> Response:
    data = await file.read(MAX_FILE_BYTES + 1)
    try:
        kind, headers, rows = read_upload(file.filename or "", data)
    except Invalid as exc:
        status = 413 if len(data) > MAX_FILE_BYTES else 400
        return _page(request, uow, error=str(exc), status=status)
    batch = IntakeBatch(source=kind, actor=principal.label[:200], user_id=principal.user_id,
                        received_at=ctx.clock(), filename=(file.filename or "")[:300],
                        status="awaiting_mapping", total=len(rows), headers=headers,
                        mapping=suggest_mapping(headers), pending_rows=rows, report=[])
    uow.session.add(batch)
    uow.commit()
    return RedirectResponse(f"{BASE}/{batch.id}", status_code=303)


def _batch(uow: Uow, batch_id: int) -> IntakeBatch:
    batch = uow.session.get(IntakeBatch, batch_id)
    if batch is None:
        raise NotFound("no such intake batch")
    return batch


@router.get(BASE + "/{batch_id}")
def batch_page(batch_id: int, request: Request, uow: Uow, principal: Manager) -> Response:
    batch = _batch(uow, batch_id)
    preview = (batch.pending_rows or [])[:5]
    return render(request, "public_services/intake_batch.html", batch=batch,
                  fields=FLAT_FIELDS, labels=FIELD_LABELS, preview=preview)


def _file_report(result: BatchResult, positions: list[int], mapping: dict[str, str],
                 unreadable: dict[int, str]) -> list[dict[str, Any]]:
    """Row numbers as a spreadsheet shows them (the header is row 1)."""
    report = [{"row": i + 2, "code": "", "column": "", "problem": problem}
              for i, problem in unreadable.items()]
    for item in result.items:
        for problem in item.problems:
            column = mapping.get(problem.field.split("[")[0], problem.field)
            report.append({"row": positions[item.index] + 2, "code": item.code,
                           "column": column, "problem": problem.problem})
    return sorted(report, key=lambda p: p["row"])


@router.post(BASE + "/{batch_id}/import", dependencies=CSRF)
async def import_batch(batch_id: int, request: Request, uow: Uow, ctx: Ctx,
                       principal: Manager) -> Response:
    batch = _batch(uow, batch_id)
    if batch.status != "awaiting_mapping" or batch.pending_rows is None:
        raise Invalid("this file has already been imported; upload it again to re-send it")
    form = await request.form()
    mapping = {field: str(form.get(f"map_{field}") or "") for field in FLAT_FIELDS}
    mapping = {field: header for field, header in mapping.items() if header}
    try:
        records = rows_to_records(batch.headers, batch.pending_rows, mapping)
    except Invalid as exc:
        batch.mapping = mapping
        return render(request, "public_services/intake_batch.html", status_code=400,
                      batch=batch, fields=FLAT_FIELDS, labels=FIELD_LABELS,
                      preview=batch.pending_rows[:5], error=str(exc))
    now = ctx.clock()
    unreadable = {i: r for i, r in enumerate(records) if isinstance(r, str)}
    positions = [i for i, r in enumerate(records) if not isinstance(r, str)]
    result = upsert_dossiers(uow, [records[i] for i in positions], source=batch.source, now=now)
    batch.mapping = mapping
    record_batch(uow, result, source=batch.source, now=now, batch=batch,
                 report=_file_report(result, positions, mapping, unreadable))
    batch.total = len(records)
    batch.failed += len(unreadable)
    uow.commit()
    return RedirectResponse(f"{BASE}/{batch.id}", status_code=303)
