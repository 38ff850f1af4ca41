"""The citizen portal's submission pages (public, no login): ``/phan-anh``.

The form works without JavaScript (a commune list and an address stand in for the map);
with it, the Leaflet map or the browser's location fills the point, HTMX loads the chosen
category's notice and questions and the open reports of that category nearby, which the citizen
can follow instead of sending a new one. A failed submission shows the form again with the
message and the values typed; nothing is stored (photo files written before a failed commit
are removed).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from cityops.kernel.errors import Invalid, NotFound
from cityops.services.field_reports import abuse, portal
from cityops.services.field_reports.intake import IntakeRequest, category_by_code
from cityops.services.field_reports.media import (
    MAX_BYTES,
    MAX_PHOTOS,
    N_,
    Photo,
    PhotoRefused,
    discard,
    process_photo,
)
from cityops.services.field_reports.models import Category
from cityops.services.field_reports.queries import nearby_open
from cityops.services.field_reports.routing import locate_area, route
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, client_addr, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.templating import render

router = APIRouter(include_in_schema=False)
TEXT_FIELDS = ("category", "lat", "lon", "area_code", "address", "description", "contact_name",
               "contact_phone", "contact_email")


def error_text(exc: Exception) -> str:
    """A refusal in the reader's language (photo refusals name the file)."""
    message = _(str(exc))
    if isinstance(exc, PhotoRefused) and exc.filename:
        return f"{exc.filename}: {message}"
    return message


def form_choices(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """What a report form (portal or hotline) offers: categories, communes and the chosen
    category, whose notice and questions the form shows again."""
    category = None
    if values.get("category"):
        category = session.scalar(select(Category).where(Category.code == values["category"]))
    return {"categories": portal.categories(session), "communes": portal.communes(session),
            "category": category}


def _form_page(request: Request, uow: Uow, ctx: Ctx, *, values: dict[str, Any],
               error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "field_reports/portal_form.html", status_code=status_code,
                  **form_choices(uow.session, values), values=values, error=error,
                  challenge=abuse.new_challenge(ctx.settings.secret_key),
                  max_photos=MAX_PHOTOS, language=i18n.current_language.get())


@router.get("/phan-anh")
def portal_form(request: Request, uow: Uow, ctx: Ctx,
                category: str = Query("", max_length=40)) -> Response:
    return _form_page(request, uow, ctx, values={"category": category})


@router.get("/phan-anh/linh-vuc")
def category_fragment(request: Request, uow: Uow,
                      category: str = Query("", max_length=40)) -> Response:
    """The chosen category's notice and extra questions (HTMX swaps them into the form)."""
    found = uow.session.scalar(select(Category).where(Category.code == category,
                                                      Category.active.is_(True)))
    return render(request, "field_reports/_category.html", category=found, values={},
                  language=i18n.current_language.get())


@router.get("/phan-anh/gan-day")
def nearby_fragment(request: Request, uow: Uow, category: str = Query("", max_length=40),
                    lat: str = Query("", max_length=30),
                    lon: str = Query("", max_length=30)) -> Response:
    """Open reports of the same category near the chosen point, to follow instead, and who
    would receive a new one (like FixMyStreet)."""
    found: list[tuple[Any, float]] = []
    place, receiver = None, None
    try:
        point_lat, point_lon = portal.parse_float(lat), portal.parse_float(lon)
        chosen = category_by_code(uow.session, category) if category else None
    except (Invalid, NotFound):
        point_lat = point_lon = chosen = None
    located = False
    if chosen is not None and point_lat is not None and point_lon is not None:
        located = True
        try:
            found = [] if chosen.is_private else \
                nearby_open(uow.session, chosen, point_lat, point_lon)
            place = locate_area(uow.session, point_lat, point_lon)
        except Invalid:
            found = []
        if place is not None:
            receiver = route(uow.session, chosen, place).lead
    return render(request, "field_reports/_nearby.html", nearby=found[:10], place=place,
                  receiver=receiver, outside=located and place is None,
                  language=i18n.current_language.get())


@router.get("/phan-anh/xa.geojson")
def communes_geojson(uow: Uow) -> JSONResponse:
    """The commune boundaries for the public map (public data: see the attribution)."""
    features = [{"type": "Feature", "geometry": area.geometry,
                 "properties": {"code": area.code, "name": area.name}}
                for area in portal.communes(uow.session) if area.geometry]
    return JSONResponse({"type": "FeatureCollection", "features": features},
                        headers={"Cache-Control": "public, max-age=3600"})


async def photos_from_form(form: FormData) -> list[Photo]:
    uploads = [u for u in form.getlist("photos") if isinstance(u, UploadFile) and u.filename]
    if len(uploads) > MAX_PHOTOS:
        raise Invalid(N_("at most 5 photos per report"))
    photos = []
    for upload in uploads:
        data = await upload.read(MAX_BYTES + 1)
        photos.append(process_photo(data, upload.filename or "",
                                    upload.content_type or ""))
    return photos


async def intake_from_form(request: Request, session: Session, form: FormData,
                           values: dict[str, Any], *, channel: str,
                           priority: str = "normal") -> tuple[IntakeRequest, list[Photo]]:
    """The report a submitted form asks for and its photos; Invalid when no active category is
    chosen, a photo is refused or a coordinate is not a number (checked in that order)."""
    category = session.scalar(select(Category).where(
        Category.code == values["category"], Category.active.is_(True)))
    if category is None:
        raise Invalid(N_("choose a category"))
    photos = await photos_from_form(form)
    req = IntakeRequest(
        category_code=category.code, channel=channel, description=values["description"],
        lat=portal.parse_float(values["lat"]), lon=portal.parse_float(values["lon"]),
        area_code=values["area_code"] or None, address=values["address"],
        contact_name=values["contact_name"], contact_phone=values["contact_phone"],
        contact_email=values["contact_email"], show_name=values["show_name"],
        priority=priority, attributes=portal.attribute_answers(category, values["answers"]),
        client_addr=client_addr(request))
    return req, photos


def form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k, "") or "")[:4000] for k in TEXT_FIELDS}
    values["show_name"] = form.get("show_name") == "1"
    values["answers"] = {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k)
                         for k in form if k.startswith("q_")}
    return values


@router.post("/phan-anh", dependencies=[Depends(verify_csrf_form)])
async def portal_submit(request: Request, uow: Uow, ctx: Ctx) -> Response:
    form = await request.form()
    values = form_values(form)
    now = ctx.clock()
    written: list[Any] = []
    try:
        abuse.check_challenge(ctx.settings.secret_key, str(form.get("challenge_token", "")),
                              str(form.get("challenge_answer", "")))
        req, photos = await intake_from_form(request, uow.session, form, values,
                                             channel="portal")
        report, written = portal.submit(uow, req, photos, media_dir=ctx.settings.media_dir,
                                        now=now)
        uow.commit()
    except (Invalid, NotFound) as exc:
        discard(written)
        uow.session.rollback()
        return _form_page(request, uow, ctx, values=values, error=error_text(exc),
                          status_code=400)
    except Exception:
        discard(written)
        raise
    return RedirectResponse(f"/phan-anh/{report.code}?moi=1", status_code=303)
