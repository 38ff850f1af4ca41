"""The hotline 1022 intake form: a call-taker records a report on a caller's behalf.

Only IOC staff (``field_reports.triage``: operators and admins) take calls. The caller's phone
or e-mail is required (the hotline always sees the caller's number), the channel says how the
report came in (hotline, e-mail, social media, walk-in) and ``recorded_by`` keeps who typed it.
No challenge or rate limit applies: the call-taker is signed in and accountable.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.permissions import Principal
from cityops.services.field_reports import portal
from cityops.services.field_reports.intake import IntakeRequest
from cityops.services.field_reports.media import N_, discard
from cityops.services.field_reports.models import Category
from cityops.services.field_reports.views_labels import LABELS
from cityops.services.field_reports.views_portal import error_text, form_values, photos_from_form
from cityops.services.field_reports.vocab import ASSISTED_CHANNELS, PRIORITIES
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, client_addr, verify_csrf_form
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
CallTaker = Annotated[Principal, Depends(page_requires("field_reports.triage"))]
CHANNEL_ORDER = ("hotline", "email", "social", "walk_in")
PATH = "/field-reports/hotline"


def _page(request: Request, uow: Uow, *, values: dict[str, Any], error: str | None = None,
          status_code: int = 200) -> Response:
    session = uow.session
    category = None
    if values.get("category"):
        category = session.scalar(select(Category).where(Category.code == values["category"]))
    return render(request, "field_reports/hotline.html", status_code=status_code,
                  categories=portal.categories(session), communes=portal.communes(session),
                  channels=[c for c in CHANNEL_ORDER if c in ASSISTED_CHANNELS],
                  priorities=PRIORITIES, values=values, error=error, category=category,
                  done=request.session.pop("fr_hotline_done", None), label=LABELS,
                  language=i18n.current_language.get())


@router.get(PATH)
def hotline_form(request: Request, uow: Uow, principal: CallTaker) -> Response:
    return _page(request, uow, values={"channel": "hotline", "priority": "normal"})


def _values(form: FormData) -> dict[str, Any]:
    values = form_values(form)
    values.update(channel=str(form.get("channel", "")), priority=str(form.get("priority", "")))
    return values


@router.post(PATH, dependencies=[Depends(verify_csrf_form)])
async def hotline_submit(request: Request, uow: Uow, ctx: Ctx,
                         principal: CallTaker) -> Response:
    form = await request.form()
    values = _values(form)
    written: list[Any] = []
    try:
        if values["channel"] not in ASSISTED_CHANNELS:
            raise Invalid(N_("choose how the report came in"))
        category = uow.session.scalar(select(Category).where(
            Category.code == values["category"], Category.active.is_(True)))
        if category is None:
            raise Invalid(N_("choose a category"))
        photos = await photos_from_form(form)
        req = IntakeRequest(
            category_code=category.code, channel=values["channel"],
            description=values["description"], lat=portal.parse_float(values["lat"]),
            lon=portal.parse_float(values["lon"]), area_code=values["area_code"] or None,
            address=values["address"], contact_name=values["contact_name"],
            contact_phone=values["contact_phone"], contact_email=values["contact_email"],
            show_name=values["show_name"], priority=values["priority"] or "normal",
            attributes=portal.attribute_answers(category, values["answers"]),
            client_addr=client_addr(request))
        report, written = portal.submit(uow, req, photos, media_dir=ctx.settings.media_dir,
                                        now=ctx.clock(), rate_limited=False)
        uow.commit()
    except (Invalid, NotFound) as exc:
        discard(written)
        uow.session.rollback()
        return _page(request, uow, values=values, error=error_text(exc), status_code=400)
    except Exception:
        discard(written)
        raise
    request.session["fr_hotline_done"] = report.code
    return RedirectResponse(PATH, status_code=303)
