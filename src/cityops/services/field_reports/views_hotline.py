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
from starlette.datastructures import FormData

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.permissions import Principal
from cityops.services.field_reports import portal
from cityops.services.field_reports.media import N_, discard
from cityops.services.field_reports.views_labels import LABELS
from cityops.services.field_reports.views_portal import (
    error_text,
    form_choices,
    form_values,
    intake_from_form,
)
from cityops.services.field_reports.vocab import ASSISTED_CHANNELS, PRIORITIES
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
CallTaker = Annotated[Principal, Depends(page_requires("field_reports.triage"))]
CHANNEL_ORDER = ("hotline", "email", "social", "walk_in")
PATH = "/field-reports/hotline"


def _page(request: Request, uow: Uow, *, values: dict[str, Any], error: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "field_reports/hotline.html", status_code=status_code,
                  **form_choices(uow.session, values),
                  channels=[c for c in CHANNEL_ORDER if c in ASSISTED_CHANNELS],
                  priorities=PRIORITIES, values=values, error=error,
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
        req, photos = await intake_from_form(request, uow.session, form, values,
                                             channel=values["channel"],
                                             priority=values["priority"] or "normal")
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
