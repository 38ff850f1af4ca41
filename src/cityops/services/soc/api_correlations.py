"""REST API for stored custom correlation rules (Sigma v2): list, add, enable/disable, delete.

A rule is accepted only when it loads together with the rules it refers to (stored rules or
base rules in the same text); otherwise 400 with the loader's reasons.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from cityops.kernel.permissions import Principal
from cityops.services.soc import correlation_store
from cityops.services.soc.schemas import CorrelationIn, CorrelationOut
from cityops.web.deps import Ctx, Uow, require

router = APIRouter(prefix="/api/v1/soc/correlations", tags=["soc"])
Reader = Annotated[Principal, Depends(require("soc.read"))]
Manager = Annotated[Principal, Depends(require("soc.rules.manage"))]


@router.get("", response_model=list[CorrelationOut])
def list_correlations(uow: Uow, principal: Reader) -> list[CorrelationOut]:
    rows = correlation_store.list_correlations(uow.session, principal)
    return [CorrelationOut.model_validate(r) for r in rows]


@router.get("/{rule_id}", response_model=CorrelationOut)
def get_correlation(rule_id: str, uow: Uow, principal: Reader) -> CorrelationOut:
    return CorrelationOut.model_validate(
        correlation_store.get_correlation(uow.session, principal, rule_id))


@router.post("", response_model=CorrelationOut, status_code=201)
def create_correlation(body: CorrelationIn, uow: Uow, ctx: Ctx,
                       principal: Manager) -> JSONResponse:
    row = correlation_store.create_correlation(uow, body.yaml, ctx.clock())
    uow.commit()
    return JSONResponse(CorrelationOut.model_validate(row).model_dump(mode="json"),
                        status_code=201)


@router.post("/{rule_id}/enable", response_model=CorrelationOut)
def enable_correlation(rule_id: str, uow: Uow, ctx: Ctx, principal: Manager) -> CorrelationOut:
    row = correlation_store.set_correlation_enabled(uow, rule_id, True, ctx.clock())
    uow.commit()
    return CorrelationOut.model_validate(row)


@router.post("/{rule_id}/disable", response_model=CorrelationOut)
def disable_correlation(rule_id: str, uow: Uow, ctx: Ctx, principal: Manager) -> CorrelationOut:
    row = correlation_store.set_correlation_enabled(uow, rule_id, False, ctx.clock())
    uow.commit()
    return CorrelationOut.model_validate(row)


@router.delete("/{rule_id}", status_code=204)
def delete_correlation(rule_id: str, uow: Uow, principal: Manager) -> Response:
    correlation_store.delete_correlation(uow, rule_id)
    uow.commit()
    return Response(status_code=204)
