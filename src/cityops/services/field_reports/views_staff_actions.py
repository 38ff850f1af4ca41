"""The staff console's forms on a report page. Each posts to one workflow or staff-tools
function (which checks permission and agency scope), commits on success, and otherwise shows
the page again with the reason and nothing written (400 bad input, 409 wrong state)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.permissions import Principal
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.access import report_for
from cityops.services.field_reports.media import discard, store_photos
from cityops.services.field_reports.views_portal import error_text, photos_from_form
from cityops.services.field_reports.views_staff_detail import detail_page
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf_form)])
Reader = Annotated[Principal, Depends(page_requires("field_reports.read"))]
BASE = "/field-reports/staff/{report_id}"


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "") or "")[:4000]


def _flag(form: FormData, name: str) -> bool | None:
    """A yes/no select: "" leaves the value alone."""
    value = str(form.get(name, "") or "")
    return {"1": True, "0": False}.get(value)


async def _act(request: Request, uow: UnitOfWork, ctx: Any, principal: Principal,
               report_id: int, action: Callable[[FormData, list[Path]], object],
               done: str) -> Response:
    form = await request.form()
    written: list[Path] = []
    try:
        action(form, written)
        uow.commit()
    except (Invalid, NotFound, Conflict) as exc:
        discard(written)
        uow.session.rollback()
        return detail_page(request, uow, ctx, principal, report_id, error=error_text(exc),
                           status_code=409 if isinstance(exc, Conflict) else 400)
    except Exception:
        discard(written)
        raise
    request.session["fr_staff_done"] = done
    return RedirectResponse(BASE.format(report_id=report_id), status_code=303)


@router.post(BASE + "/transition")
async def transition(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                     report_id: int) -> Response:
    form = await request.form()
    try:
        photos = await photos_from_form(form) if form.get("to") == "resolved" else []
    except Invalid as exc:  # a refused photo: nothing is written
        return detail_page(request, uow, ctx, principal, report_id, error=error_text(exc),
                           status_code=400)

    def act(form: FormData, written: list[Path]) -> None:
        report = workflow.transition(uow, report_id, _text(form, "to"), now=ctx.clock(),
                                     reason=_text(form, "reason"),
                                     public_text=_text(form, "public_text"))
        if photos:  # the "after" photos go with the result, published with it
            written.extend(store_photos(uow, report, photos, media_dir=ctx.settings.media_dir,
                                        kind="after", uploaded_by=principal.label))

    return await _act(request, uow, ctx, principal, report_id, act, _("Status changed"))


@router.post(BASE + "/assign")
async def assign(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                 report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        workflow.assign(uow, report_id, now=ctx.clock(),
                        agency_code=_text(form, "agency").strip() or None,
                        note=_text(form, "note"))

    return await _act(request, uow, ctx, principal, report_id, act, _("Assigned to an agency"))


@router.post(BASE + "/transfer")
async def transfer(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                   report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        workflow.transfer(uow, report_id, _text(form, "agency").strip(), _text(form, "reason"),
                          now=ctx.clock())

    return await _act(request, uow, ctx, principal, report_id, act,
                      _("Transferred to another agency"))


@router.post(BASE + "/merge")
async def merge(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        workflow.merge(uow, report_id, _text(form, "into").strip().upper(), now=ctx.clock())

    return await _act(request, uow, ctx, principal, report_id, act, _("Merged as a duplicate"))


@router.post(BASE + "/reopen")
async def reopen(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                 report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        workflow.staff_reopen(uow, report_id, _text(form, "reason"), now=ctx.clock())

    return await _act(request, uow, ctx, principal, report_id, act, _("Reopened"))


@router.post(BASE + "/note")
async def note(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
               report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        staff_tools.add_note(uow, report_id, _text(form, "text"),
                             public=form.get("public") == "1", now=ctx.clock())

    return await _act(request, uow, ctx, principal, report_id, act, _("Saved"))


@router.post(BASE + "/moderate")
async def moderate(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                   report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        description = _text(form, "description")
        staff_tools.moderate(uow, report_id, now=ctx.clock(), reason=_text(form, "reason"),
                             description=description if description.strip() else None,
                             hide_name=_flag(form, "hide_name"), hidden=_flag(form, "hidden"))

    return await _act(request, uow, ctx, principal, report_id, act, _("Saved"))


@router.post(BASE + "/photo/{media_id}")
async def moderate_photo(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                         report_id: int, media_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        report = report_for(uow, report_id, "field_reports.moderate")
        if media_id not in {m.id for m in report.media}:
            raise NotFound("no such photo on this report")
        staff_tools.moderate_media(uow, media_id, now=ctx.clock(), reason=_text(form, "reason"),
                                   hidden=_flag(form, "hidden"), redacted=_flag(form, "redacted"))

    return await _act(request, uow, ctx, principal, report_id, act, _("Saved"))


@router.post(BASE + "/approve")
async def approve(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                  report_id: int) -> Response:
    def act(form: FormData, written: list[Path]) -> None:
        staff_tools.approve_result(uow, report_id, now=ctx.clock())

    return await _act(request, uow, ctx, principal, report_id, act, _("Result published"))
