"""REST API of alert notifications: one's own preferences and inbox, webhook endpoints and
the delivery log. The access rules live in :mod:`cityops.alerts.notification_rules`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts.notification_rules import (
    MANAGE_WEBHOOKS,
    READ_DELIVERIES,
    RETRY_DELIVERIES,
    check_url,
    create_webhook,
    delivery_query,
    get_webhook,
    retry_delivery,
    rotate_secret,
    scoped_stats,
    update_webhook,
    user_id_of,
    webhook_query,
)
from cityops.alerts.notifications import (
    DEFAULT_PREFERENCE,
    Delivery,
    InAppNotification,
    NotificationPreference,
    WebhookEndpoint,
    mark_read,
    set_preference,
    unread_count,
)
from cityops.alerts.schemas import Severity, Strict
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal
from cityops.web.deps import Ctx, Uow, require
from cityops.web.pagination import Page, Paging, make_page, paginate

router = APIRouter(prefix="/api/v1", tags=["alert notifications"])

Url = Annotated[str, StringConstraints(max_length=500), AfterValidator(check_url)]
ServiceKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.-]{1,40}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Kind = Literal["generic", "sms", "zalo"]


class PreferenceIn(Strict):
    """Fields left out keep their value; an empty ``services`` list means every service."""

    services: list[ServiceKey] | None = Field(None, max_length=50)
    min_severity: Severity | None = None
    channels: list[Literal["in_app", "email", "webhook"]] | None = Field(None, max_length=3)
    digest_minutes: int | None = Field(None, ge=0, le=1440)


class PreferenceOut(BaseModel):
    services: list[str]
    min_severity: str
    channels: list[str]
    digest_minutes: int
    is_default: bool = Field(description="nothing saved yet: the defaults notify() uses")


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alert_id: int | None
    reason: str
    text: str
    created_at: datetime
    read_at: datetime | None


class ReadIn(Strict):
    ids: list[int] | None = Field(None, min_length=1, max_length=1000)
    all: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> ReadIn:
        if (self.ids is not None) == self.all:
            raise ValueError('give either "ids" or "all": true')
        return self


class ReadOut(BaseModel):
    marked: int
    unread: int


class WebhookIn(Strict):
    name: Name
    url: Url
    kind: Kind = "generic"
    agency_code: str | None = Field(None, max_length=40,
                                    description="none: province-wide, or an officer's own")
    min_severity: Severity = "warning"
    services: list[ServiceKey] = Field(default_factory=list, max_length=50)


class WebhookPatch(Strict):
    name: Name | None = None
    url: Url | None = None
    kind: Kind | None = None
    agency_code: str | None = Field(None, max_length=40)
    min_severity: Severity | None = None
    services: list[ServiceKey] | None = Field(None, max_length=50)
    is_active: bool | None = None


class WebhookOut(BaseModel):
    id: int
    name: str
    url: str
    kind: str
    agency_code: str | None
    min_severity: str
    services: list[str]
    is_active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the HMAC-SHA256 key; shown this once, store it now")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alert_id: int | None
    user_id: int | None
    webhook_id: int | None
    channel: str
    target: str
    reason: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    digest_key: str | None


def preference_of(session: Session, user_id: int) -> PreferenceOut:
    row = session.scalar(select(NotificationPreference).where(
        NotificationPreference.user_id == user_id))
    src: Any = row if row is not None else DEFAULT_PREFERENCE
    return PreferenceOut(services=list(src.services or []), min_severity=src.min_severity,
                         channels=list(src.channels or []), digest_minutes=src.digest_minutes,
                         is_default=row is None)


def webhook_out(session: Session, endpoint: WebhookEndpoint,
                secret: str | None = None) -> WebhookOut:
    agency = session.get(Agency, endpoint.agency_id) if endpoint.agency_id else None
    values = dict(id=endpoint.id, name=endpoint.name, url=endpoint.url, kind=endpoint.kind,
                  agency_code=agency.code if agency else None,
                  min_severity=endpoint.min_severity, services=list(endpoint.services or []),
                  is_active=endpoint.is_active, created_at=endpoint.created_at)
    return WebhookCreated(**values, secret=secret) if secret else WebhookOut(**values)


# -- routes -----------------------------------------------------------------------------------

Reader = Annotated[Principal, Depends(require("alerts.read"))]
Manager = Annotated[Principal, Depends(require(MANAGE_WEBHOOKS))]
LogReader = Annotated[Principal, Depends(require(READ_DELIVERIES))]
Retrier = Annotated[Principal, Depends(require(RETRY_DELIVERIES))]


@router.get("/notifications/preferences", response_model=PreferenceOut)
def get_preferences(uow: Uow, principal: Reader) -> PreferenceOut:
    return preference_of(uow.session, user_id_of(principal))


@router.put("/notifications/preferences", response_model=PreferenceOut)
def put_preferences(body: PreferenceIn, uow: Uow, principal: Reader) -> PreferenceOut:
    user_id = user_id_of(principal)
    set_preference(uow.session, user_id, **body.model_dump(exclude_none=True))
    uow.commit()
    return preference_of(uow.session, user_id)


@router.get("/notifications", response_model=Page[NotificationOut])
def list_notifications(uow: Uow, paging: Paging, principal: Reader,
                       unread: bool | None = None) -> Page[NotificationOut]:
    stmt = select(InAppNotification).where(
        InAppNotification.user_id == user_id_of(principal)).order_by(InAppNotification.id.desc())
    if unread is not None:
        read_at = InAppNotification.read_at
        stmt = stmt.where(read_at.is_(None) if unread else read_at.is_not(None))
    rows, total = paginate(uow.session, stmt, paging)
    return make_page([NotificationOut.model_validate(r) for r in rows], total, paging)


@router.post("/notifications/read", response_model=ReadOut)
def read_notifications(body: ReadIn, uow: Uow, ctx: Ctx, principal: Reader) -> ReadOut:
    # mark_read filters on the user: someone else's ids are silently not matched.
    user_id = user_id_of(principal)
    marked = mark_read(uow.session, user_id, None if body.all else body.ids, now=ctx.clock())
    uow.commit()
    return ReadOut(marked=marked, unread=unread_count(uow.session, user_id))


@router.get("/alert-webhooks", response_model=list[WebhookOut])
def list_webhooks(uow: Uow, principal: Manager, active: bool | None = None) -> list[WebhookOut]:
    stmt = webhook_query(principal)
    if active is not None:
        stmt = stmt.where(WebhookEndpoint.is_active.is_(active))
    return [webhook_out(uow.session, e) for e in uow.session.scalars(stmt)]


@router.post("/alert-webhooks", response_model=WebhookCreated, status_code=201)
def add_webhook(body: WebhookIn, uow: Uow, ctx: Ctx, principal: Manager,
                response: Response) -> WebhookOut:
    endpoint = create_webhook(uow.session, principal, body.model_dump(), ctx.clock())
    uow.commit()
    response.headers["Cache-Control"] = "no-store"  # the secret must not linger in caches
    return webhook_out(uow.session, endpoint, endpoint.secret)


@router.get("/alert-webhooks/{webhook_id}", response_model=WebhookOut)
def get_webhook_route(webhook_id: int, uow: Uow, principal: Manager) -> WebhookOut:
    return webhook_out(uow.session, get_webhook(uow.session, principal, webhook_id))


@router.patch("/alert-webhooks/{webhook_id}", response_model=WebhookOut)
def patch_webhook(webhook_id: int, body: WebhookPatch, uow: Uow,
                  principal: Manager) -> WebhookOut:
    endpoint = get_webhook(uow.session, principal, webhook_id)
    update_webhook(uow.session, principal, endpoint, body.model_dump(exclude_unset=True))
    uow.commit()
    return webhook_out(uow.session, endpoint)


@router.delete("/alert-webhooks/{webhook_id}", status_code=204)
def deactivate_webhook(webhook_id: int, uow: Uow, principal: Manager) -> Response:
    # Deactivated, not deleted: the delivery log keeps pointing at the endpoint.
    get_webhook(uow.session, principal, webhook_id).is_active = False
    uow.commit()
    return Response(status_code=204)


@router.post("/alert-webhooks/{webhook_id}/rotate-secret", response_model=WebhookCreated)
def rotate_webhook_secret(webhook_id: int, uow: Uow, principal: Manager,
                          response: Response) -> WebhookOut:
    endpoint = get_webhook(uow.session, principal, webhook_id)
    secret = rotate_secret(endpoint)
    uow.commit()
    response.headers["Cache-Control"] = "no-store"
    return webhook_out(uow.session, endpoint, secret)


@router.get("/alert-deliveries", response_model=Page[DeliveryOut])
def list_deliveries(uow: Uow, paging: Paging, principal: LogReader,
                    status: Literal["pending", "sent", "failed"] | None = None,
                    channel: Literal["email", "webhook"] | None = None,
                    alert_id: int | None = None) -> Page[DeliveryOut]:
    stmt = delivery_query(principal)
    for column, value in ((Delivery.status, status), (Delivery.channel, channel),
                          (Delivery.alert_id, alert_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, total = paginate(uow.session, stmt, paging)
    return make_page([DeliveryOut.model_validate(r) for r in rows], total, paging)


@router.get("/alert-deliveries/stats")
def get_delivery_stats(uow: Uow, principal: LogReader) -> dict[str, Any]:
    return scoped_stats(uow.session, principal)


@router.post("/alert-deliveries/{delivery_id}/retry", response_model=DeliveryOut)
def retry(delivery_id: int, uow: Uow, ctx: Ctx, principal: Retrier) -> DeliveryOut:
    delivery = retry_delivery(uow.session, principal, delivery_id, ctx.clock())
    uow.commit()
    return DeliveryOut.model_validate(delivery)
