"""REST API of the SOC service: event ingest, detections and their breakdowns, quarantine.

Rules and assets have their own routers (``api_rules.py``, ``api_assets.py``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import AwareDatetime

from cityops.kernel.errors import Invalid
from cityops.kernel.permissions import Principal
from cityops.services.soc import queries
from cityops.services.soc.correlation_runtime import shared_correlator
from cityops.services.soc.ingest.normaliser import KINDS
from cityops.services.soc.prepare import Refused
from cityops.services.soc.schemas import DetectionDetail, DetectionOut, IngestOut, QuarantineOut
from cityops.services.soc.service import (
    RawEvent,
    ingest_batch,
    ingest_health,
    quarantine,
)
from cityops.services.soc.settings import SocSettings, soc_settings_for_request
from cityops.web.deps import Ctx, Uow, require
from cityops.web.pagination import Page, Paging, make_page, paginate

router = APIRouter(prefix="/api/v1/soc", tags=["soc"])
Settings = Annotated[SocSettings, Depends(soc_settings_for_request)]
Reader = Annotated[Principal, Depends(require("soc.read"))]
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                          "application/x-jsonlines", "application/json-lines", "text/plain"})


async def limited_body(request: Request,
                       settings: Settings) -> bytes:
    """The request body, refused with 413 past the limit without reading it all."""
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes; send smaller batches")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes; "
                                     "send smaller batches")
    return bytes(body)


def split_events(body: bytes, content_type: str) -> list[tuple[int, RawEvent | Refused]]:
    """JSON array (application/json) or NDJSON; a bad NDJSON line becomes a Refused item."""
    media = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    if media == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise Invalid(f"the body is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise Invalid("send a JSON array of events (or NDJSON)")
        return [(i, item if isinstance(item, dict) else
                 Refused(json.dumps(item), "an event must be a JSON object"))
                for i, item in enumerate(data)]
    if media in NDJSON_TYPES:
        items: list[tuple[int, RawEvent | Refused]] = []
        for i, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                items.append((i, Refused(line, f"line {i + 1}: invalid JSON: {exc}")))
                continue
            items.append((i, value if isinstance(value, dict) else
                          Refused(line, f"line {i + 1}: an event must be a JSON object")))
        return items
    raise HTTPException(415, "use Content-Type application/json (an array) or "
                             "application/x-ndjson (one event per line)")


@router.post("/events", response_model=IngestOut)
def post_events(request: Request, uow: Uow, ctx: Ctx,
                principal: Annotated[Principal, Depends(require("soc.ingest"))],
                body: Annotated[bytes, Depends(limited_body)],
                settings: Settings,
                kind: Annotated[str, Query(description="normaliser; auto detects")] = "auto",
                ) -> IngestOut:
    """Ingest events: a JSON array or NDJSON. Malformed events are quarantined and listed in
    ``refused`` with the reason; the others are matched against the enabled rules."""
    if kind not in KINDS:
        raise Invalid(f"kind must be one of: {', '.join(KINDS)}")
    source = f"http:{principal.label}"[:64]
    now = ctx.clock()
    try:
        items = split_events(body, request.headers.get("content-type", ""))
    except Invalid as exc:
        # Nothing in it can be read as events; keep it for the analyst, then say why.
        quarantine(uow.session, source, body.decode("utf-8", errors="replace"), str(exc), now,
                   settings.quarantine_raw_chars)
        uow.commit()
        raise
    # Stored correlations see HTTP events too; windows are this process's (docs/soc.md).
    report = ingest_batch(uow, items, source=source, kind=kind, now=now, settings=settings,
                          correlator=shared_correlator(uow.session))
    uow.commit()
    return IngestOut(accepted=report.accepted, quarantined=report.quarantined,
                     refused=report.refused, matches=report.matches,  # type: ignore[arg-type]
                     detections_created=report.detections.created,
                     detections_updated=report.detections.updated,
                     correlations=report.correlations)


def detection_filter(since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                     category: str | None = None, severity: str | None = None,
                     agency_id: int | None = None, rule_id: str | None = None,
                     host: str | None = None) -> queries.DetectionFilter:
    return queries.DetectionFilter(since, until, category, severity, agency_id, rule_id, host)


Filter = Annotated[queries.DetectionFilter, Depends(detection_filter)]


@router.get("/detections", response_model=Page[DetectionOut])
def list_detections(uow: Uow, paging: Paging, principal: Reader,
                    flt: Filter) -> Page[DetectionOut]:
    rows, total = paginate(uow.session, queries.detection_query(principal, flt), paging)
    return make_page([DetectionOut.model_validate(r) for r in rows], total, paging)


@router.get("/detections/summary")
def detections_summary(uow: Uow, principal: Reader, flt: Filter,
                       top: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """Counts by category, severity and agency, and the top rules and hosts."""
    return queries.summary(uow.session, principal, flt, top)


@router.get("/detections/{detection_id}", response_model=DetectionDetail)
def get_detection(detection_id: int, uow: Uow, principal: Reader) -> DetectionDetail:
    return DetectionDetail.model_validate(
        queries.get_detection(uow.session, principal, detection_id))


@router.get("/quarantine", response_model=Page[QuarantineOut])
def list_quarantine(uow: Uow, paging: Paging, principal: Reader,
                    source: str | None = None) -> Page[QuarantineOut]:
    rows, total = paginate(uow.session, queries.quarantine_query(principal, source), paging)
    return make_page([QuarantineOut.model_validate(r) for r in rows], total, paging)


@router.get("/health")
def health(uow: Uow, ctx: Ctx, principal: Reader,
           minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 15) -> dict[str, Any]:
    """Ingest health per source over the last minutes: counts, events per second, drops."""
    return ingest_health(uow.session, ctx.clock() - timedelta(minutes=minutes), minutes)
