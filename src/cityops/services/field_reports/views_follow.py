"""Following a public report by e-mail: the request on the report's page, and the confirm and
unsubscribe links sent by e-mail (``followers``).

The e-mailed links open a page with a button rather than acting on GET, so that mail scanners
that fetch links do not confirm or unsubscribe anyone.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cityops.kernel.errors import Invalid, NotFound
from cityops.services.field_reports import abuse, followers, portal
from cityops.services.field_reports.media import N_
from cityops.services.field_reports.views_portal import error_text
from cityops.services.field_reports.views_public import report_page_response, valid_code
from cityops.web.deps import Ctx, Uow, client_addr, verify_csrf_form
from cityops.web.templating import render

router = APIRouter(include_in_schema=False)
ACTIONS = {"xac-nhan": "confirm", "huy": "stop"}


@router.post("/phan-anh/{code}/theo-doi", dependencies=[Depends(verify_csrf_form)])
def follow(request: Request, uow: Uow, ctx: Ctx, code: str,
           email: str = Form("", max_length=200)) -> Response:
    if not valid_code(code):
        raise NotFound(N_("no public report with this tracking code"))
    report = portal.public_report(uow.session, code)  # 404 before anything else
    address, now = client_addr(request), ctx.clock()
    try:
        abuse.check_follow_rate(uow.session, address, now)
        followers.request_follow(uow, report, email, secret_key=ctx.settings.secret_key,
                                 client_addr=address, now=now)
        uow.commit()
    except Invalid as exc:
        uow.session.rollback()
        return report_page_response(request, uow, ctx, code, follow_error=error_text(exc),
                                    status_code=400)
    return RedirectResponse(f"/phan-anh/{report.code}?theo-doi=1#theo-doi", status_code=303)


def _page(request: Request, action: str, *, token: str = "", code: str = "",
          done: bool = False, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "field_reports/portal_follow.html", status_code=status_code,
                  action=action, token=token, code=code, done=done, error=error)


@router.get("/phan-anh/theo-doi/{action}")
def link_page(request: Request, uow: Uow, ctx: Ctx, action: str,
              t: str = Query("", max_length=500)) -> Response:
    """The page an e-mailed link opens: checks the token and offers the button."""
    if action not in ACTIONS:
        raise NotFound(N_("no such page"))
    try:
        follower = followers.follower_for(uow.session, ctx.settings.secret_key, t,
                                          ACTIONS[action])
    except Invalid as exc:
        return _page(request, action, error=error_text(exc), status_code=400)
    return _page(request, action, token=t, code=follower.report.code)


@router.post("/phan-anh/theo-doi/{action}", dependencies=[Depends(verify_csrf_form)])
def link_action(request: Request, uow: Uow, ctx: Ctx, action: str,
                t: str = Form("", max_length=500)) -> Response:
    if action not in ACTIONS:
        raise NotFound(N_("no such page"))
    change = followers.confirm if action == "xac-nhan" else followers.unsubscribe
    try:
        follower = change(uow.session, ctx.settings.secret_key, t, now=ctx.clock())
        code = follower.report.code
        uow.commit()
    except Invalid as exc:
        uow.session.rollback()
        return _page(request, action, error=error_text(exc), status_code=400)
    return _page(request, action, code=code, done=True)
