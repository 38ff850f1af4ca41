"""The dispatcher that empties the notification outbox: send, retry with back-off, give up.

Delivery is at least once: a process that dies after sending but before recording it sends
again once its claim expires, so receivers deduplicate on the delivery id.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from cityops.alerts.channels import DeliveryError, Senders
from cityops.alerts.notification_models import DELIVERY_STATUSES, Delivery, WebhookEndpoint

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 1, 2, 4, 8, 16, 32, then 60 minutes."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _due(now: datetime) -> list[Any]:
    return [Delivery.status == "pending",
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now)]


def _send(session: Session, delivery: Delivery, senders: Senders) -> None:
    if delivery.channel == "email":
        assert senders.email is not None
        senders.email.send(to=delivery.target, subject=delivery.subject, body=delivery.body,
                           delivery_id=delivery.id)
        return
    assert senders.webhook is not None
    endpoint = session.get(WebhookEndpoint, delivery.webhook_id) \
        if delivery.webhook_id is not None else None
    if endpoint is None or not endpoint.is_active:
        raise DeliveryError("webhook endpoint removed or disabled", permanent=True)
    delivery.target = endpoint.url  # an admin may have corrected the URL since queueing
    senders.webhook.send(url=endpoint.url, secret=endpoint.secret, payload=delivery.payload,
                         delivery_id=delivery.id)


def deliver_pending(session: Session, senders: Senders, *, now: datetime, batch: int = 100,
                    max_attempts: int = 6) -> dict[str, int]:
    """Send due deliveries; returns counts of ``sent``, ``retry`` and ``failed``.

    Commits around every send: network I/O inside an open write transaction would block
    every other writer (on SQLite, the whole database) for as long as a server takes.
    Each row is claimed with a conditional UPDATE first, so two dispatchers never send it
    twice and a digest being sent no longer takes new items.
    """
    result = {"sent": 0, "retry": 0, "failed": 0}
    enabled = [name for name, sender in (("email", senders.email),
                                         ("webhook", senders.webhook)) if sender is not None]
    if senders.email is None:
        waiting = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.channel == "email", Delivery.status == "pending"))
        if waiting:
            log.warning("e-mail channel disabled (no SMTP host): %s e-mails waiting", waiting)
    ids = session.scalars(select(Delivery.id).where(*_due(now), Delivery.channel.in_(enabled))
                          .order_by(Delivery.next_attempt_at.asc().nulls_first(), Delivery.id)
                          .limit(batch)).all() if enabled else []
    session.commit()
    for delivery_id in ids:
        claimed = session.execute(update(Delivery).where(Delivery.id == delivery_id, *_due(now))
                                  .values(locked_until=now + CLAIM_LEASE)
                                  .execution_options(synchronize_session=False))
        session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        delivery = session.get_one(Delivery, delivery_id, populate_existing=True)
        try:
            _send(session, delivery, senders)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if not isinstance(exc, DeliveryError):
                log.exception("delivery %s: unexpected error", delivery_id)
            delivery.attempts += 1
            delivery.last_error = str(exc)[:1000] or repr(exc)
            if permanent or delivery.attempts >= max_attempts:
                delivery.status, delivery.next_attempt_at = "failed", None
                result["failed"] += 1
                log.warning("delivery %s (%s to %s) failed for good: %s", delivery_id,
                            delivery.channel, delivery.target, delivery.last_error)
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
                result["retry"] += 1
        else:
            delivery.attempts += 1
            delivery.status, delivery.sent_at, delivery.next_attempt_at = "sent", now, None
            result["sent"] += 1
        delivery.locked_until = None
        session.commit()
    return result


def delivery_job(ctx: Any) -> dict[str, int]:
    """Scheduler entry point: send what is due with the configured SMTP server."""
    with Senders.from_settings(ctx.settings) as senders, ctx.db.session() as session:
        result = deliver_pending(session, senders, now=ctx.clock())
        session.commit()
    return result


def requeue(session: Session, delivery_id: int, *, now: datetime) -> Delivery:
    """Give a failed delivery a fresh set of attempts (after fixing an address or URL)."""
    delivery = session.get_one(Delivery, delivery_id)
    if delivery.status != "failed":
        raise ValueError(f"delivery {delivery_id} is {delivery.status}, not failed")
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    return delivery


def delivery_stats(session: Session) -> dict[str, Any]:
    """Counts by status, and by channel then status, for the admin page and metrics."""
    by_status = dict.fromkeys(DELIVERY_STATUSES, 0)
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, count in session.execute(
            select(Delivery.channel, Delivery.status, func.count())
            .group_by(Delivery.channel, Delivery.status)):
        by_status[status] = by_status.get(status, 0) + count
        by_channel.setdefault(channel, dict.fromkeys(DELIVERY_STATUSES, 0))[status] = count
    return {"total": sum(by_status.values()), "by_status": by_status,
            "by_channel": by_channel}
