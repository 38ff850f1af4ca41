"""Communes and wards: search (accent-insensitive) and the dates each one is valid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import or_, select

from cityops.kernel.orgs import Area
from cityops.kernel.text import fold
from cityops.web.deps import Uow
from cityops.web.i18n import gettext as _
from cityops.web.views.admin.shared import (
    CSRF,
    N_,
    AreasAdmin,
    done,
    get_or_404,
    list_page,
    parse_day,
    render_page,
    sql_page,
)

router = APIRouter(prefix="/areas")
LEVEL_LABELS = {"province": N_("Province"), "commune": N_("Commune level")}


@router.get("")
def list_areas(request: Request, uow: Uow, _p: AreasAdmin, q: str = "",
               page: int = 1) -> Response:
    stmt = select(Area).where(Area.level == "commune").order_by(Area.code)
    key = fold(q)
    if key:
        stmt = stmt.where(or_(Area.search_name.contains(key), Area.code == q.strip()))
    areas, pager = sql_page(uow, stmt, page, {"q": q})
    return list_page(request, "admin/areas.html", "admin/_areas_table.html",
                     areas=areas, pager=pager, q=q, level_labels=LEVEL_LABELS)


def _form(request: Request, area: Area, valid_from: str, valid_to: str,
          errors: list[str] | None = None, status_code: int = 200) -> Response:
    return render_page(request, "admin/area_form.html", status_code=status_code, area=area,
                       valid_from=valid_from, valid_to=valid_to, errors=errors or [])


@router.get("/{area_id}")
def edit_area(request: Request, uow: Uow, _p: AreasAdmin, area_id: int) -> Response:
    area = get_or_404(uow, Area, area_id)
    return _form(request, area, area.valid_from.isoformat(),
                 area.valid_to.isoformat() if area.valid_to else "")


@router.post("/{area_id}", dependencies=CSRF)
def update_area(request: Request, uow: Uow, _p: AreasAdmin, area_id: int,
                valid_from: Annotated[str, Form()] = "",
                valid_to: Annotated[str, Form()] = "") -> Response:
    area = get_or_404(uow, Area, area_id)
    errors: list[str] = []
    start = parse_day(valid_from)
    end = parse_day(valid_to) if valid_to.strip() else None
    if start is None:
        errors.append(_("Enter the date the area becomes valid."))
    if valid_to.strip() and end is None:
        errors.append(_("Enter a valid end date, or leave it empty."))
    elif start and end and end < start:
        errors.append(_("The end date cannot be before the start date."))
    if errors or start is None:
        return _form(request, area, valid_from, valid_to, errors, 400)
    area.valid_from, area.valid_to = start, end
    uow.commit()
    return done(request, _("Validity of %(name)s saved.") % {"name": area.name},
                f"/admin/areas/{area.id}")
