"""Asset inventory pages: the list, add / edit forms and CSV import.

Lists are scoped by ``assets.asset_query`` (an officer sees their agency's servers); every
change calls the SOC service's ``assets`` functions, which check ``soc.assets.manage``. A form
with bad input is shown again with the reason and the typed values, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cityops.kernel.errors import Conflict, Invalid
from cityops.kernel.orgs import Agency, agency_by_code
from cityops.kernel.permissions import Principal, authorize, scope_to_agencies
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc import assets
from cityops.services.soc.models import CRITICALITIES, SocAsset
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.i18n import ngettext
from cityops.web.pagination import PageParams, paginate
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires("soc.read"))]
CSRF = [Depends(verify_csrf_form)]
PAGE_SIZE = 50
MAX_CSV_BYTES = 2 * 1024 * 1024


def _agencies(uow: UnitOfWork, principal: Principal) -> list[Agency]:
    stmt = scope_to_agencies(select(Agency).order_by(Agency.code), principal, Agency.id)
    return list(uow.session.scalars(stmt))


def _status(exc: Invalid) -> int:
    return 409 if isinstance(exc, Conflict) else 400


@router.get("/soc/assets")
def assets_page(request: Request, uow: Uow, principal: Reader,
                q: Annotated[str, Query(max_length=100)] = "",
                agency: Annotated[str, Query(max_length=40)] = "",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    found = agency_by_code(uow.session, agency) if agency else None
    agency_id = found.id if found else (-1 if agency else None)
    paging = PageParams(page=page, page_size=PAGE_SIZE)
    rows, total = paginate(uow.session, assets.asset_query(principal, q.strip() or None,
                                                           agency_id), paging)
    names = {a.id: a for a in _agencies(uow, principal)}
    return render(request, "soc/assets.html", assets=rows, total=total, q=q, agency=agency,
                  page=page, pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
                  agencies=names, can_manage=principal.can("soc.assets.manage"),
                  flash=request.session.pop("flash", None))


def _form(request: Request, uow: UnitOfWork, principal: Principal, values: dict[str, Any],
          asset_id: int | None, error: str | None = None, status: int = 200) -> Response:
    return render(request, "soc/asset_form.html", status_code=status, values=values,
                  asset_id=asset_id, error=error, criticalities=CRITICALITIES,
                  agencies=_agencies(uow, principal))


def _values(asset: SocAsset | None, agencies: dict[int, str]) -> dict[str, Any]:
    if asset is None:
        return {"hostname": "", "ip": "", "agency_code": "", "criticality": "medium",
                "notes": ""}
    return {"hostname": asset.hostname or "", "ip": asset.network or "",
            "agency_code": agencies.get(asset.agency_id, ""), "criticality": asset.criticality,
            "notes": asset.notes}


AssetForm = dict[str, Any]


def asset_form(hostname: Annotated[str, Form(max_length=255)] = "",
               ip: Annotated[str, Form(max_length=64)] = "",
               agency_code: Annotated[str, Form(max_length=40)] = "",
               criticality: Annotated[str, Form(max_length=16)] = "medium",
               notes: Annotated[str, Form(max_length=2000)] = "") -> AssetForm:
    return {"hostname": hostname, "ip": ip, "agency_code": agency_code,
            "criticality": criticality, "notes": notes}


def _input(values: AssetForm) -> assets.AssetInput:
    return assets.AssetInput(agency_code=values["agency_code"], hostname=values["hostname"],
                             ip=values["ip"], criticality=values["criticality"],
                             notes=values["notes"])


@router.get("/soc/assets/new")
def new_asset_page(request: Request, uow: Uow, principal: Reader) -> Response:
    authorize(principal, "soc.assets.manage")
    return _form(request, uow, principal, _values(None, {}), None)


@router.post("/soc/assets/new", dependencies=CSRF)
def create_asset(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                 values: Annotated[AssetForm, Depends(asset_form)]) -> Response:
    authorize(principal, "soc.assets.manage")
    try:
        assets.create_asset(uow, _input(values), ctx.clock())
    except Invalid as exc:
        return _form(request, uow, principal, values, None, str(exc), _status(exc))
    uow.commit()
    request.session["flash"] = _("Asset saved.")
    return RedirectResponse("/soc/assets", status_code=303)


@router.get("/soc/assets/{asset_id}/edit")
def edit_asset_page(request: Request, asset_id: int, uow: Uow, principal: Reader) -> Response:
    asset = assets.get_asset(uow.session, principal, asset_id)
    authorize(principal, "soc.assets.manage", agency_id=asset.agency_id)
    codes = {a.id: a.code for a in _agencies(uow, principal)}
    return _form(request, uow, principal, _values(asset, codes), asset_id)


@router.post("/soc/assets/{asset_id}/edit", dependencies=CSRF)
def update_asset(request: Request, asset_id: int, uow: Uow, ctx: Ctx, principal: Reader,
                 values: Annotated[AssetForm, Depends(asset_form)]) -> Response:
    try:
        assets.update_asset(uow, asset_id, _input(values), ctx.clock())
    except Invalid as exc:
        return _form(request, uow, principal, values, asset_id, str(exc), _status(exc))
    uow.commit()
    request.session["flash"] = _("Asset saved.")
    return RedirectResponse("/soc/assets", status_code=303)


@router.post("/soc/assets/import", dependencies=CSRF)
def import_assets(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                  file: Annotated[UploadFile, File()]) -> Response:
    """All rows or none: a bad row refuses the whole file and the page names its line."""
    authorize(principal, "soc.assets.manage")
    data = file.file.read(MAX_CSV_BYTES + 1)
    try:
        if len(data) > MAX_CSV_BYTES:
            raise Invalid(_("The CSV file is larger than 2 MB."))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid(_("The CSV file must be UTF-8 text.")) from None
        created, updated = assets.import_csv(uow, text, ctx.clock())
    except Invalid as exc:
        return render(request, "soc/import_error.html", status_code=400, error=str(exc))
    uow.commit()
    request.session["flash"] = ngettext(
        "%(num)s asset imported.", "%(num)s assets imported.", created + updated) % {
        "num": created + updated}
    return RedirectResponse("/soc/assets", status_code=303)
