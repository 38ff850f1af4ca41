"""Pages of alert notifications: one's own settings, webhook endpoints, the delivery log.

Forms are validated with the API's own models and changed through the same rules
(:mod:`cityops.alerts.notification_rules`), so a page never accepts what the API refuses.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from cityops.alerts.models import Alert
from cityops.alerts.notification_rules import (
    MANAGE_WEBHOOKS,
    READ_DELIVERIES,
    RETRY_DELIVERIES,
    create_webhook,
    delivery_query,
    get_webhook,
    retry_delivery,
    rotate_secret,
    scoped_stats,
    user_id_of,
    webhook_query,
)
from cityops.alerts.notifications import EMAIL_BURST, Delivery, WebhookEndpoint, set_preference
from cityops.alerts.notifications_api import PreferenceIn, WebhookIn, preference_of
from cityops.alerts.presenters import N_, SERVICE_LABELS, Presenter
from cityops.alerts.vocab import SEVERITIES
from cityops.kernel.auth import User
from cityops.kernel.errors import Conflict, Invalid
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow, verify_csrf_form
from cityops.web.i18n import gettext as _
from cityops.web.pagination import PageParams, paginate
from cityops.web.templating import render
from cityops.web.views.common import local_path, page_requires

router = APIRouter(include_in_schema=False)

CSRF = [Depends(verify_csrf_form)]
Reader = Annotated[Principal, Depends(page_requires("alerts.read"))]
Manager = Annotated[Principal, Depends(page_requires(MANAGE_WEBHOOKS))]
LogReader = Annotated[Principal, Depends(page_requires(READ_DELIVERIES))]
Retrier = Annotated[Principal, Depends(page_requires(RETRY_DELIVERIES))]
PAGE_SIZE = 50
# "webhook" reaches endpoints, not people, so the settings form offers only these two.
USER_CHANNELS = ("in_app", "email")
LABELS = {
    "in_app": N_("In the app"), "email": N_("E-mail"), "webhook": N_("Webhook"),
    "generic": N_("Generic (signed JSON)"), "sms": N_("SMS gateway"),
    "zalo": N_("Zalo OA gateway"), "pending": N_("Waiting"), "sent": N_("Sent"),
    "failed": N_("Failed"),
}
FIELD_PROBLEMS = {
    "services": N_("Choose services from the list."),
    "min_severity": N_("Choose a severity from the list."),
    "channels": N_("Choose channels from the list."),
    "digest_minutes": N_("The grouping window is a whole number of minutes from 0 to 1440."),
    "name": N_("Give the endpoint a name of up to 120 characters."),
    "url": N_("The URL must start with http:// or https:// and name a host."),
    "kind": N_("Choose a kind from the list."),
}


def _problems(exc: ValidationError) -> list[str]:
    """One translated sentence per field; our own validators' messages are catalogued."""
    found = []
    for err in exc.errors():
        cause = (err.get("ctx") or {}).get("error")
        field = str(err["loc"][0]) if err.get("loc") else ""
        message = str(cause) if isinstance(cause, ValueError) else \
            FIELD_PROBLEMS.get(field, N_("Check the form and try again."))
        found.append(_(message))
    return list(dict.fromkeys(found))


def _page(request: Request, ctx: Any, name: str, status: int = 200, **context: Any) -> Response:
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    return render(request, name, status_code=status, p=p, labels=LABELS,
                  flash=request.session.pop("flash", None), **context)


def service_choices(uow: Uow, ctx: Any, chosen: list[str]) -> list[str]:
    raised = uow.session.scalars(select(Alert.service).distinct())
    own = {m.key for m in ctx.registry if m.key != "alerts"}
    return sorted(set(SERVICE_LABELS) | set(raised) | own | set(chosen))


# -- one's own preferences --------------------------------------------------------------------

def _settings(request: Request, uow: Uow, ctx: Ctx, principal: Principal,
              form: dict[str, Any] | None = None, errors: list[str] | None = None,
              status: int = 200) -> Response:
    user_id = user_id_of(principal)
    form = form or preference_of(uow.session, user_id).model_dump()
    user = uow.session.get(User, user_id)
    return _page(request, ctx, "alerts/notification_settings.html", status, form=form,
                 errors=errors or [], services=service_choices(uow, ctx, form["services"]),
                 severities=SEVERITIES, channels=USER_CHANNELS, burst=EMAIL_BURST,
                 email=user.email if user else "")


@router.get("/alerts/notifications/settings")
def settings_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader) -> Response:
    return _settings(request, uow, ctx, principal)


@router.post("/alerts/notifications/settings", dependencies=CSRF)
def save_settings(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                  services: Annotated[list[str] | None, Form()] = None,
                  min_severity: Annotated[str, Form()] = "",
                  channels: Annotated[list[str] | None, Form()] = None,
                  digest_minutes: Annotated[str, Form()] = "0") -> Response:
    user_id = user_id_of(principal)
    kept = [c for c in preference_of(uow.session, user_id).channels if c not in USER_CHANNELS]
    values: dict[str, Any] = {
        "services": services or [], "min_severity": min_severity,
        "channels": [c for c in channels or [] if c in USER_CHANNELS] + kept,
        "digest_minutes": digest_minutes.strip() or "0"}
    try:
        body = PreferenceIn.model_validate(values)
    except ValidationError as exc:
        return _settings(request, uow, ctx, principal, values, _problems(exc), 400)
    set_preference(uow.session, user_id, **body.model_dump(exclude_none=True))
    uow.commit()
    request.session["flash"] = _("Your notification settings are saved.")
    return RedirectResponse("/alerts/notifications/settings", status_code=303)


# -- webhook endpoints ------------------------------------------------------------------------

EMPTY_ENDPOINT = {"name": "", "url": "", "kind": "generic", "agency_code": "",
                  "min_severity": "warning", "services": []}


def _webhooks(request: Request, uow: Uow, ctx: Ctx, principal: Principal, *,
              form: dict[str, Any] | None = None, errors: list[str] | None = None,
              secret: tuple[WebhookEndpoint, str] | None = None,
              status: int = 200) -> Response:
    agencies = select(Agency).order_by(Agency.code)
    if principal.agency_scope is not None:
        agencies = agencies.where(Agency.id.in_(sorted(principal.agency_scope)))
    found = list(uow.session.scalars(agencies))
    form = form or EMPTY_ENDPOINT
    response = _page(
        request, ctx, "alerts/webhooks.html", status,
        endpoints=list(uow.session.scalars(webhook_query(principal))),
        agencies=found, agency_by_id={a.id: a for a in found}, form=form,
        errors=errors or [], secret=secret, kinds=("generic", "sms", "zalo"),
        severities=SEVERITIES, services=service_choices(uow, ctx, form["services"]),
        province_wide=principal.province_wide)
    if secret is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret must not linger
    return response


@router.get("/alerts/webhooks")
def webhooks_page(request: Request, uow: Uow, ctx: Ctx, principal: Manager) -> Response:
    return _webhooks(request, uow, ctx, principal)


@router.post("/alerts/webhooks", dependencies=CSRF)
def add_webhook(request: Request, uow: Uow, ctx: Ctx, principal: Manager,
                name: Annotated[str, Form()] = "", url: Annotated[str, Form()] = "",
                kind: Annotated[str, Form()] = "generic",
                agency_code: Annotated[str, Form()] = "",
                min_severity: Annotated[str, Form()] = "warning",
                services: Annotated[list[str] | None, Form()] = None) -> Response:
    values: dict[str, Any] = {"name": name, "url": url, "kind": kind,
                              "agency_code": agency_code or None,
                              "min_severity": min_severity, "services": services or []}
    try:
        endpoint = create_webhook(uow.session, principal,
                                  WebhookIn.model_validate(values).model_dump(), ctx.clock())
    except ValidationError as exc:
        errors = _problems(exc)
    except Invalid as exc:  # an agency code that is not in the list
        errors = [str(exc)]
    else:
        uow.commit()
        # Rendered, not redirected: the secret is shown this once and kept nowhere else.
        return _webhooks(request, uow, ctx, principal, secret=(endpoint, endpoint.secret))
    return _webhooks(request, uow, ctx, principal, form=values, errors=errors, status=400)


@router.post("/alerts/webhooks/{webhook_id}/active", dependencies=CSRF)
def set_active(request: Request, webhook_id: int, uow: Uow, principal: Manager,
               active: Annotated[str, Form()] = "0") -> Response:
    endpoint = get_webhook(uow.session, principal, webhook_id)
    endpoint.is_active = active == "1"
    uow.commit()
    request.session["flash"] = (_("%(name)s is active again.") if endpoint.is_active else
                                _("%(name)s is deactivated; nothing more is sent to it.")) \
        % {"name": endpoint.name}
    return RedirectResponse("/alerts/webhooks", status_code=303)


@router.post("/alerts/webhooks/{webhook_id}/rotate-secret", dependencies=CSRF)
def new_secret(request: Request, webhook_id: int, uow: Uow, ctx: Ctx,
               principal: Manager) -> Response:
    endpoint = get_webhook(uow.session, principal, webhook_id)
    secret = rotate_secret(endpoint)
    uow.commit()
    return _webhooks(request, uow, ctx, principal, secret=(endpoint, secret))


# -- the delivery log -------------------------------------------------------------------------

class LogParams(BaseModel):
    status: str = Field("", max_length=16)
    channel: str = Field("", max_length=16)
    page: int = Field(1, ge=1, le=100_000)

    def url(self, **changes: Any) -> str:
        values = {**self.model_dump(), **changes}
        kept = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}
        return "/alerts/deliveries" + ("?" + urlencode(kept) if kept else "")


@router.get("/alerts/deliveries")
def deliveries_page(request: Request, uow: Uow, ctx: Ctx, principal: LogReader,
                    params: Annotated[LogParams, Query()]) -> Response:
    stmt = delivery_query(principal)
    if params.status in ("pending", "sent", "failed"):
        stmt = stmt.where(Delivery.status == params.status)
    if params.channel in ("email", "webhook"):
        stmt = stmt.where(Delivery.channel == params.channel)
    rows, total = paginate(uow.session, stmt, PageParams(page=params.page, page_size=PAGE_SIZE))
    hooks = {d.webhook_id for d in rows if d.webhook_id}
    names = {i: n for i, n in uow.session.execute(select(
        WebhookEndpoint.id, WebhookEndpoint.name).where(WebhookEndpoint.id.in_(hooks)))}
    return _page(request, ctx, "alerts/deliveries.html", rows=rows, total=total,
                 pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), params=params,
                 stats=scoped_stats(uow.session, principal), hook_names=names,
                 can_retry=principal.can(RETRY_DELIVERIES),
                 can_manage=principal.can(MANAGE_WEBHOOKS))


@router.post("/alerts/deliveries/{delivery_id}/retry", dependencies=CSRF)
def retry(request: Request, delivery_id: int, uow: Uow, ctx: Ctx, principal: Retrier,
          next: Annotated[str, Form()] = "/alerts/deliveries") -> Response:
    try:
        retry_delivery(uow.session, principal, delivery_id, ctx.clock())
    except Conflict as exc:  # our own catalogued sentences: not failed, endpoint off
        request.session["flash"] = _(str(exc))
    else:
        uow.commit()
        request.session["flash"] = _("Delivery #%(id)s is queued to be sent again.") % {
            "id": delivery_id}
    return RedirectResponse(local_path(next, "/alerts/deliveries"), status_code=303)
