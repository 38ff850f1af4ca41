"""The portal's public pages: map and list with filters, a report's page, lookup by tracking
code, the citizen's rating, and the photos.

Only what ``public.public_view`` exposes reaches these pages; photos are served by their random
stored names after checking that the report is public and the photo is not hidden (a redacted
photo is served pixelated).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from cityops.kernel.auth import principal_for_user
from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.permissions import PermissionDenied
from cityops.services.field_reports import abuse, portal
from cityops.services.field_reports.intake import normalize_code
from cityops.services.field_reports.media import N_, media_path, redacted_copy
from cityops.services.field_reports.models import Media, Report
from cityops.services.field_reports.public import is_public, public_view
from cityops.services.field_reports.staff_tools import DEFAULT_REOPEN_DAYS
from cityops.services.field_reports.views_labels import LABELS
from cityops.services.field_reports.views_portal import error_text
from cityops.services.field_reports.vocab import STATES
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, client_addr, session_user, verify_csrf_form
from cityops.web.templating import render

router = APIRouter(include_in_schema=False)
CODE_PATH = re.compile(r"^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$")


class ListParams(BaseModel):
    area: str = Field("", max_length=16)
    category: str = Field("", max_length=40)
    state: str = Field("", max_length=16)
    since: str = Field("", max_length=10)
    until: str = Field("", max_length=10)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(portal.PAGE_SIZE, ge=1, le=portal.MAX_PAGE_SIZE)

    def query(self, **override: Any) -> str:
        """The list's query string with the filters kept (defaults left out)."""
        values = {**self.model_dump(), **override}
        kept = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)
                and not (k == "page_size" and v == portal.PAGE_SIZE)}
        return "?" + urlencode(kept) if kept else ""


def _marker(report: Report, language: str) -> dict[str, Any]:
    view = public_view(report, language)
    return {"code": view["code"], "lat": view["lat"], "lon": view["lon"],
            "state": view["state"], "category": view["category_name"]}


@router.get("/phan-anh/danh-sach")
def public_list(request: Request, uow: Uow, params: ListParams = Depends()) -> Response:
    language = i18n.current_language.get()
    f = portal.PublicFilter(**params.model_dump(exclude={"page", "page_size"}))
    found = portal.public_page(uow.session, f, params.page, params.page_size)
    views = [public_view(r, language) for r in found.rows]
    # The map shows the points of the page being read, not the whole province.
    markers = [_marker(r, language) for r in found.rows if r.lat is not None]
    return render(request, "field_reports/portal_list.html", reports=views, markers=markers,
                  listing=found,
                  params=params, states=STATES, categories=portal.categories(uow.session),
                  communes=portal.communes(uow.session), language=language,
                  can_take_calls=_can_take_calls(request, uow), label=LABELS)


def _can_take_calls(request: Request, uow: Uow) -> bool:
    """Signed-in call-takers get a link to the hotline intake form."""
    user = session_user(request, uow)
    return user is not None and principal_for_user(uow.session, user).can(
        "field_reports.triage")


@router.get("/phan-anh/tra-cuu")
def lookup(request: Request, uow: Uow, code: str = Query("", max_length=20)) -> Response:
    """Find a report by the tracking code the citizen received."""
    if not code.strip():
        return render(request, "field_reports/portal_lookup.html", code="", error=None)
    found = uow.session.scalar(select(Report).where(Report.code == normalize_code(code)))
    if found is None or not is_public(found):
        return render(request, "field_reports/portal_lookup.html", status_code=404, code=code,
                      error=i18n.gettext(N_("no public report with this tracking code")))
    return RedirectResponse(f"/phan-anh/{found.code}", status_code=303)


def report_page_response(request: Request, uow: Uow, ctx: Ctx, code: str, *,
                         error: str | None = None, status_code: int = 200,
                         follow_error: str | None = None) -> Response:
    language = i18n.current_language.get()
    report = portal.public_report(uow.session, code)
    photos = [m for m in report.media if not m.hidden]
    original = report.duplicate_of.code if report.duplicate_of is not None and \
        is_public(report.duplicate_of) else None
    return render(request, "field_reports/portal_report.html", status_code=status_code,
                  r=public_view(report, language), report_state=report.state,
                  before=[m for m in photos if m.kind == "before"],
                  after=[m for m in photos if m.kind == "after"] if report.result_approved
                  else [], can_rate=report.result_approved, error=error,
                  is_new=request.query_params.get("moi") == "1", original=original,
                  reopen_days=DEFAULT_REOPEN_DAYS, language=language, label=LABELS,
                  follow_error=follow_error)


@router.get("/phan-anh/{code}")
def report_page(request: Request, uow: Uow, ctx: Ctx, code: str) -> Response:
    if not valid_code(code):
        raise NotFound(N_("no public report with this tracking code"))
    return report_page_response(request, uow, ctx, code)


def valid_code(code: str) -> bool:
    return CODE_PATH.match(code) is not None


@router.post("/phan-anh/{code}/danh-gia", dependencies=[Depends(verify_csrf_form)])
def rate(request: Request, uow: Uow, ctx: Ctx, code: str,
         contact: str = Form("", max_length=200), rating: str = Form("", max_length=2),
         comment: str = Form("", max_length=4000), reopen: str = Form("")) -> Response:
    """The citizen rates the result, proving it is theirs with the contact they gave."""
    if not valid_code(code):
        raise NotFound(N_("no public report with this tracking code"))
    portal.public_report(uow.session, code)  # 404 before anything else
    address = client_addr(request)
    try:
        abuse.check_proof_attempts(uow.session, address)
        try:
            stars = int(rating)
        except ValueError:
            raise Invalid(N_("choose a rating from 1 to 5")) from None
        portal.rate_as_citizen(uow, code, contact, stars, comment, now=ctx.clock(),
                               reopen=reopen == "1")
        uow.commit()
    except (Invalid, PermissionDenied) as exc:
        uow.session.rollback()
        status = 403 if isinstance(exc, PermissionDenied) else 400
        if isinstance(exc, PermissionDenied):
            abuse.record_failed_proof(ctx, address, normalize_code(code))
        return report_page_response(request, uow, ctx, code, error=error_text(exc),
                                    status_code=status)
    return RedirectResponse(f"/phan-anh/{normalize_code(code)}?danh-gia=1#ket-qua",
                            status_code=303)


@router.get("/phan-anh/anh/{name}")
def photo(uow: Uow, ctx: Ctx, name: str) -> Response:
    """A public photo or its thumbnail, by its random stored name."""
    item = uow.session.scalar(select(Media).where(
        or_(Media.stored_name == name, Media.thumbnail_name == name)))
    if item is None or item.hidden or not is_public(item.report) or \
            (item.kind == "after" and not item.report.result_approved):
        raise NotFound(N_("no such photo"))
    path = media_path(ctx.settings.media_dir, name)
    if path is None:
        raise NotFound(N_("no such photo"))
    is_thumb = name == item.thumbnail_name
    if item.redacted:
        body, media_type = redacted_copy(path), "image/jpeg"
    else:
        body = path.read_bytes()
        media_type = "image/jpeg" if is_thumb else item.content_type
    return Response(body, media_type=media_type, headers={
        "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})
