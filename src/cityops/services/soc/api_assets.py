"""REST API for the asset inventory: CRUD and CSV import, scoped to the caller's agencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile

from cityops.kernel.errors import Invalid
from cityops.kernel.permissions import Principal
from cityops.services.soc import assets
from cityops.services.soc.schemas import AssetIn, AssetOut, ImportOut
from cityops.web.deps import Ctx, Uow, require
from cityops.web.pagination import Page, Paging, make_page, paginate

router = APIRouter(prefix="/api/v1/soc/assets", tags=["soc"])
Reader = Annotated[Principal, Depends(require("soc.read"))]
Manager = Annotated[Principal, Depends(require("soc.assets.manage"))]
MAX_CSV_BYTES = 2 * 1024 * 1024


def _input(body: AssetIn) -> assets.AssetInput:
    return assets.AssetInput(agency_code=body.agency_code, hostname=body.hostname, ip=body.ip,
                             criticality=body.criticality, notes=body.notes)


@router.get("", response_model=Page[AssetOut])
def list_assets(uow: Uow, paging: Paging, principal: Reader,
                q: Annotated[str | None, Query(max_length=100)] = None,
                agency_id: int | None = None) -> Page[AssetOut]:
    rows, total = paginate(uow.session, assets.asset_query(principal, q, agency_id), paging)
    return make_page([AssetOut.model_validate(r) for r in rows], total, paging)


@router.post("", response_model=AssetOut, status_code=201)
def create_asset(body: AssetIn, uow: Uow, ctx: Ctx, principal: Manager) -> AssetOut:
    asset = assets.create_asset(uow, _input(body), ctx.clock())
    uow.commit()
    return AssetOut.model_validate(asset)


@router.post("/import", response_model=ImportOut)
def import_assets(uow: Uow, ctx: Ctx, principal: Manager,
                  file: Annotated[UploadFile, File(description="CSV: hostname,ip,agency_code,"
                                                               "criticality,notes")]
                  ) -> ImportOut:
    """All rows or none: the first bad row refuses the file (400) and names its line."""
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise Invalid(f"the CSV file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV file must be UTF-8 text") from None
    created, updated = assets.import_csv(uow, text, ctx.clock())
    uow.commit()
    return ImportOut(created=created, updated=updated)


@router.get("/{asset_id}", response_model=AssetOut)
def get_asset(asset_id: int, uow: Uow, principal: Reader) -> AssetOut:
    return AssetOut.model_validate(assets.get_asset(uow.session, principal, asset_id))


@router.put("/{asset_id}", response_model=AssetOut)
def update_asset(asset_id: int, body: AssetIn, uow: Uow, ctx: Ctx,
                 principal: Manager) -> AssetOut:
    asset = assets.update_asset(uow, asset_id, _input(body), ctx.clock())
    uow.commit()
    return AssetOut.model_validate(asset)


@router.delete("/{asset_id}", status_code=204)
def delete_asset(asset_id: int, uow: Uow, principal: Manager) -> Response:
    assets.delete_asset(uow, asset_id)
    uow.commit()
    return Response(status_code=204)
