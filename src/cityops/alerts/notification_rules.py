"""Who may see and change webhook endpoints and deliveries, and how they are changed.

Shared by the API (:mod:`cityops.alerts.notifications_api`) and the pages
(:mod:`cityops.alerts.notifications_views`), so both enforce the very same rules. Endpoints and
deliveries are scoped like alerts: province-wide roles see them all, an officer those of
their agency subtree.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from cityops.alerts.models import Alert
from cityops.alerts.notifications import (
    DELIVERY_STATUSES,
    Delivery,
    WebhookEndpoint,
    delivery_stats,
    requeue,
)
from cityops.alerts.presenters import N_
from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import PermissionDenied, Principal, scope_to_agencies

MANAGE_WEBHOOKS = "alerts.webhooks.manage"
READ_DELIVERIES = "alerts.deliveries.read"
RETRY_DELIVERIES = "alerts.deliveries.retry"

# N_: the pages show these translated; the API answers them in English.
URL_PROBLEM = N_("The URL must start with http:// or https:// and name a host.")
URL_CREDENTIALS = N_("Leave user names and passwords out of the URL; the signing secret "
                     "authenticates the requests.")
NO_USER = N_("Preferences and the inbox belong to a signed-in user; an API key has none.")
NOT_FAILED = N_("Only a failed delivery can be retried.")
ENDPOINT_OFF = N_("The webhook endpoint is deactivated; reactivate it before retrying.")


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host: no javascript:, ftp: or relative paths."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError(URL_PROBLEM) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or \
            any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError(URL_PROBLEM)
    if parts.username is not None or parts.password is not None:
        # The URL is shown in lists and in the delivery log, where a password would leak.
        raise ValueError(URL_CREDENTIALS)
    return value


def user_id_of(principal: Principal) -> int:
    if principal.user_id is None:
        raise Invalid(NO_USER)
    return principal.user_id


# -- webhook endpoints ------------------------------------------------------------------------

def _covers(principal: Principal, agency_id: int | None) -> None:
    if not principal.covers_agency(agency_id):
        raise PermissionDenied("this webhook endpoint belongs to another agency" if agency_id
                               else "only province-wide roles manage province-wide endpoints")


def webhook_query(principal: Principal) -> Select[Any]:
    # The IN filter also hides province-wide endpoints (agency NULL) from officers.
    stmt = select(WebhookEndpoint).order_by(WebhookEndpoint.is_active.desc(),
                                            WebhookEndpoint.id)
    return scope_to_agencies(stmt, principal, WebhookEndpoint.agency_id)


def get_webhook(session: Session, principal: Principal, webhook_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, webhook_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint with id {webhook_id}")
    _covers(principal, endpoint.agency_id)
    return endpoint


def endpoint_agency(session: Session, principal: Principal, code: str | None) -> int | None:
    """The agency an endpoint serves: the code given, else all (or the officer's own)."""
    agency_id = None if principal.province_wide else principal.agency_id
    if code:
        agency = agency_by_code(session, code)
        if agency is None:
            raise Invalid(f"no agency with code {code!r}")
        agency_id = agency.id
    _covers(principal, agency_id)
    return agency_id


def create_webhook(session: Session, principal: Principal, values: dict[str, Any],
                   now: datetime) -> WebhookEndpoint:
    """``values``: a validated ``WebhookIn``; the secret is made here, never chosen."""
    values = dict(values)
    endpoint = WebhookEndpoint(
        name=values["name"], url=values["url"], kind=values["kind"],
        secret=secrets.token_urlsafe(32),
        agency_id=endpoint_agency(session, principal, values.get("agency_code")),
        min_severity=values["min_severity"], services=sorted(set(values["services"])),
        is_active=True, created_at=now)
    session.add(endpoint)
    session.flush()
    return endpoint


def update_webhook(session: Session, principal: Principal, endpoint: WebhookEndpoint,
                   changes: dict[str, Any]) -> None:
    """Apply the fields a PATCH named; an explicit null agency means "the default"."""
    changes = dict(changes)
    if "agency_code" in changes:
        endpoint.agency_id = endpoint_agency(session, principal, changes.pop("agency_code"))
    for name, value in changes.items():
        if value is not None:
            setattr(endpoint, name, sorted(set(value)) if name == "services" else value)


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    endpoint.secret = secrets.token_urlsafe(32)
    return endpoint.secret


# -- the delivery log -------------------------------------------------------------------------

def delivery_query(principal: Principal) -> Select[Any]:
    stmt = select(Delivery).order_by(Delivery.id.desc())
    if principal.province_wide:
        return stmt
    scope = sorted(principal.agency_scope or ())
    own_hooks = select(WebhookEndpoint.id).where(WebhookEndpoint.agency_id.in_(scope))
    own_alerts = select(Alert.id).where(Alert.agency_id.in_(scope))
    # What went to the agency's endpoints and e-mails about its alerts; deliveries to a
    # province-wide endpoint stay as hidden as the endpoint itself.
    visible = [Delivery.webhook_id.in_(own_hooks),
               and_(Delivery.webhook_id.is_(None), Delivery.alert_id.in_(own_alerts))]
    if principal.user_id is not None:
        visible.append(Delivery.user_id == principal.user_id)  # one's own digests
    return stmt.where(or_(*visible))


def retry_delivery(session: Session, principal: Principal, delivery_id: int,
                   now: datetime) -> Delivery:
    """Requeue a failed delivery the principal can see; refusals say why."""
    if session.get(Delivery, delivery_id) is None:
        raise NotFound(f"no delivery with id {delivery_id}")
    delivery = session.scalar(delivery_query(principal).where(Delivery.id == delivery_id))
    if delivery is None:
        raise PermissionDenied("this delivery belongs to another agency")
    if delivery.status != "failed":
        raise Conflict(NOT_FAILED)
    if delivery.channel == "webhook":
        endpoint = session.get(WebhookEndpoint, delivery.webhook_id or 0)
        if endpoint is None or not endpoint.is_active:
            raise Conflict(ENDPOINT_OFF)  # it would only fail again, for good
    return requeue(session, delivery_id, now=now)


def scoped_stats(session: Session, principal: Principal) -> dict[str, Any]:
    """:func:`delivery_stats`, counted over what the principal may see."""
    if principal.province_wide:
        return delivery_stats(session)
    rows = delivery_query(principal).order_by(None).subquery()
    by_status = dict.fromkeys(DELIVERY_STATUSES, 0)
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, count in session.execute(
            select(rows.c.channel, rows.c.status, func.count())
            .group_by(rows.c.channel, rows.c.status)):
        by_status[status] = by_status.get(status, 0) + count
        by_channel.setdefault(channel, dict.fromkeys(DELIVERY_STATUSES, 0))[status] = count
    return {"total": sum(by_status.values()), "by_status": by_status,
            "by_channel": by_channel}
