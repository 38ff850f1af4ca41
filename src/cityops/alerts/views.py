"""The alert center's pages: the filtered list with its map and live panel, bulk acknowledge.

Every list is built with ``alert_query``, which scopes it to the principal's agencies. The
filter form is a plain GET form, so the page works without JavaScript; HTMX asks for the
results fragment alone. The detail page and its forms are in ``views_detail``, statistics in
``views_stats`` and the live stream in ``live``; their routers are included here first so
that ``/alerts/stats`` and ``/alerts/stream`` are matched before ``/alerts/{alert_id}``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from cityops.alerts import live, notifications, service, views_detail, views_stats
from cityops.alerts.models import Alert
from cityops.alerts.presenters import LOCAL, Presenter
from cityops.alerts.queries import AlertFilter, alert_query
from cityops.alerts.vocab import ACTIVE_STATES, SEVERITIES, STATES
from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import Agency, Area
from cityops.kernel.permissions import PermissionDenied, Principal, scope_to_agencies
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.i18n import ngettext
from cityops.web.pagination import PageParams, paginate
from cityops.web.templating import render
from cityops.web.views.common import local_path, page_requires

router = APIRouter(include_in_schema=False)
for _sub in (live.router, views_stats.router):
    router.include_router(_sub)

CSRF = [Depends(verify_csrf_form)]
Reader = Annotated[Principal, Depends(page_requires("alerts.read"))]
PAGE_SIZE = 25
SORTS = ("-raised_at", "raised_at", "-severity", "severity")
MAP_LIMIT = 1000
LIVE_ITEMS = 12


class ListParams(BaseModel):
    """The filter form's fields, all as text so an empty field simply means "any"."""

    service: str = Field("", max_length=40)
    severity: str = Field("", max_length=16)
    status: str = Field("active", max_length=16)  # "active", "all" or one state
    agency: str = Field("", max_length=40)
    area: str = Field("", max_length=16)
    since: str = Field("", max_length=10)
    until: str = Field("", max_length=10)
    tickets: str = Field("", max_length=1)
    q: str = Field("", max_length=100)
    sort: str = Field("-raised_at", max_length=12)
    page: int = Field(1, ge=1, le=100_000)

    def to_filter(self) -> AlertFilter:
        since, until = _local_day(self.since), _local_day(self.until)
        if self.status == "active":
            status: list[str] | None = sorted(ACTIVE_STATES)
        else:
            status = [self.status] if self.status in STATES else None
        return AlertFilter(
            service=self.service or None,
            severity=[self.severity] if self.severity in SEVERITIES else None,
            status=status, agency=self.agency or None, area=self.area or None,
            since=since, until=until + timedelta(days=1) if until else None,
            is_ticket=True if self.tickets == "1" else None, q=self.q.strip() or None)

    @property
    def sort_key(self) -> str:
        return self.sort if self.sort in SORTS else "-raised_at"

    def url(self, **changes: Any) -> str:
        """This list's address with some fields changed (page links, sort links)."""
        values = {**self.model_dump(), **changes}
        kept = {k: v for k, v in values.items()
                if v not in ("", None) and not (k == "page" and v == 1)
                and not (k == "sort" and v == "-raised_at")}
        if values.get("status") == "active":
            kept.pop("status", None)
        return "/alerts" + ("?" + urlencode(kept) if kept else "")


Params = Annotated[ListParams, Query()]


def _local_day(value: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), time(0), LOCAL)
    except ValueError:
        return None


def presenter(request: Request, ctx: Any) -> Presenter:
    return Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)


def filter_choices(uow: Any, principal: Principal) -> dict[str, Any]:
    agencies = select(Agency).order_by(Agency.code)
    if principal.agency_scope is not None:
        agencies = agencies.where(Agency.id.in_(sorted(principal.agency_scope)))
    services = scope_to_agencies(select(Alert.service).distinct(), principal, Alert.agency_id)
    return {
        "agencies": list(uow.session.scalars(agencies)),
        "areas": list(uow.session.scalars(select(Area).where(
            Area.level == "commune", Area.valid_to.is_(None)).order_by(Area.search_name))),
        "services": sorted(uow.session.scalars(services)),
        "severities": list(reversed(SEVERITIES)), "states": STATES,
    }


@router.get("/alerts")
def alert_center(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                 params: Params) -> Response:
    stmt = alert_query(principal, params.to_filter(), params.sort_key)
    rows, total = paginate(uow.session, stmt, PageParams(page=params.page, page_size=PAGE_SIZE))
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    if params.page > pages:  # a bookmarked page beyond the end shows the last one
        params.page = pages
        rows, total = paginate(uow.session, stmt, PageParams(page=pages, page_size=PAGE_SIZE))
    context: dict[str, Any] = {"alerts": rows, "total": total, "pages": pages,
                               "params": params, "p": presenter(request, ctx),
                               "can_work": principal.can("alerts.work"),
                               "flash": request.session.pop("flash", None)}
    if request.headers.get("HX-Request") == "true" and \
            "HX-History-Restore-Request" not in request.headers:
        response = render(request, "alerts/_results.html", **context)
    else:
        recent = alert_query(principal, AlertFilter(), "-updated_at").limit(LIVE_ITEMS)
        unread = notifications.unread_count(uow.session, principal.user_id) \
            if principal.user_id else None
        response = render(request, "alerts/index.html", live_alerts=list(
            uow.session.scalars(recent)), unread=unread, **filter_choices(uow, principal),
            **context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/alerts/map.json")
def alert_map(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
              params: Params) -> JSONResponse:
    """The markers of the filtered alerts (active ones unless a state is chosen)."""
    p = presenter(request, ctx)
    stmt = alert_query(principal, params.to_filter(), "-severity") \
        .where(Alert.lat.is_not(None), Alert.lon.is_not(None)).limit(MAP_LIMIT)
    markers = [{"id": a.id, "title": p.title(a), "severity": a.severity,
                "severity_label": p.severity(a.severity), "status_label": p.state(a.status),
                "color": p.color(a.severity), "lat": a.lat, "lon": a.lon,
                "url": f"/alerts/{a.id}"} for a in uow.session.scalars(stmt)]
    return JSONResponse({"markers": markers})


@router.post("/alerts/bulk-ack", dependencies=CSRF)
def bulk_acknowledge(request: Request, uow: Uow, ctx: Ctx, _p: Reader,
                     ids: Annotated[list[int] | None, Form()] = None,
                     next: Annotated[str, Form()] = "/alerts") -> Response:
    ids = ids or []
    done, refused = 0, []
    for alert_id in dict.fromkeys(ids[:500]):
        try:
            with uow.session.begin_nested():  # one refusal must not undo the others
                service.transition(uow, alert_id, "acknowledged", now=ctx.clock())
            done += 1
        except (Invalid, LookupError, PermissionDenied):
            refused.append(f"#{alert_id}")
    uow.commit()
    if not ids:
        message = _("Select at least one alert to acknowledge.")
    else:
        message = ngettext("%(num)s alert acknowledged.", "%(num)s alerts acknowledged.",
                           done) % {"num": done}
        if refused:
            message += " " + _("Not acknowledged (already handled or not yours): "
                               "%(ids)s.") % {"ids": ", ".join(refused)}
    request.session["flash"] = message
    return RedirectResponse(local_path(next, "/alerts"), status_code=303)


@router.get("/alerts/notifications")
def my_notifications(request: Request, uow: Uow, ctx: Ctx, principal: Reader) -> Response:
    """The signed-in user's in-app notifications, newest first."""
    user_id = principal.user_id or 0
    return render(request, "alerts/notifications.html", p=presenter(request, ctx),
                  items=notifications.recent_in_app(uow.session, user_id, limit=100),
                  unread=notifications.unread_count(uow.session, user_id),
                  flash=request.session.pop("flash", None))


@router.post("/alerts/notifications/read", dependencies=CSRF)
def mark_notifications_read(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                            ids: Annotated[list[int] | None, Form()] = None) -> Response:
    # mark_read filters on the user, so nobody can mark another person's notifications.
    count = notifications.mark_read(uow.session, principal.user_id or 0, ids or None,
                                    now=ctx.clock())
    uow.commit()
    request.session["flash"] = ngettext("%(num)s notification marked as read.",
                                        "%(num)s notifications marked as read.",
                                        count) % {"num": count}
    return RedirectResponse("/alerts/notifications", status_code=303)


router.include_router(views_detail.router)
