"""Alert notifications: outbox, recipients, preferences, flood control, real SMTP and webhooks."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from alert_helpers import FakeEmail, SmtpSink, WebhookReceiver, set_email, uid
from sqlalchemy import func, select

from cityops.alerts import escalation
from cityops.alerts.channels import EmailSender, Senders, WebhookSender
from cityops.alerts.models import Alert, Silence
from cityops.alerts.notifications import (
    Delivery,
    InAppNotification,
    WebhookEndpoint,
    deliver_pending,
    delivery_job,
    delivery_stats,
    mark_read,
    notify,
    requeue,
    resolve_target,
    set_preference,
    unread_count,
)
from cityops.alerts.service import RaiseRequest, assign, raise_alert
from cityops.kernel.auth import User
from cityops.kernel.context import AppContext
from cityops.kernel.db import Base
from cityops.kernel.orgs import agency_by_code

# Monday 09:00 in Vietnam, years after anything the demo loader writes.
NOW = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)
BASE = "https://ioc.daklak.example"
SECRET = "whsec-test-0123456789"


@pytest.fixture
def ctx(demo_ctx: AppContext) -> AppContext:
    """The Đắk Lắk demo with a fixed clock and a public base URL for links."""
    # A no-op once the migration has the notification tables; kept so that these tests
    # survive a migration regenerated without them (create_all skips existing tables).
    Base.metadata.create_all(demo_ctx.db.engine)
    demo_ctx.clock = lambda: NOW
    demo_ctx.settings = demo_ctx.settings.model_copy(update={"base_url": BASE})
    return demo_ctx


def raise_(ctx: AppContext, key: str, *, severity: str = "major", service: str = "health",
           agency: str | None = "SO-YT", title: str = "Số ca sốt xuất huyết tăng đột biến",
           category: str = "Health", now: datetime = NOW) -> int:
    with ctx.uow() as uow:
        uow.session.info["base_url"] = BASE
        result = raise_alert(uow, RaiseRequest(
            dedupe_key=key, service=service, title=title, title_en="Dengue cases surge",
            severity=severity, category=category, agency_code=agency), now=now)
        uow.commit()
        return result.alert.id


def prefer(ctx: AppContext, username: str, **values: object) -> None:
    with ctx.db.session() as session:
        set_preference(session, uid(ctx, username), **values)  # type: ignore[arg-type]
        session.commit()


def add_endpoint(ctx: AppContext, url: str, **values: object) -> int:
    with ctx.db.session() as session:
        endpoint = WebhookEndpoint(name="hook", url=url, secret=SECRET, **values)
        session.add(endpoint)
        session.commit()
        return endpoint.id


def deliveries(ctx: AppContext, **where: object) -> list[Delivery]:
    with ctx.db.session() as session:
        stmt = select(Delivery).filter_by(**where).order_by(Delivery.id)
        return list(session.scalars(stmt))


def in_app(ctx: AppContext, alert_id: int) -> dict[str, str]:
    """username -> reason of the in-app notifications about one alert."""
    with ctx.db.session() as session:
        rows = session.execute(select(User.username, InAppNotification.reason)
                               .join(User, User.id == InAppNotification.user_id)
                               .where(InAppNotification.alert_id == alert_id))
        return {name: reason for name, reason in rows}


def dispatch(ctx: AppContext, senders: Senders, now: datetime = NOW,
             max_attempts: int = 6) -> dict[str, int]:
    with ctx.db.session() as session:
        return deliver_pending(session, senders, now=now, max_attempts=max_attempts)


# -- e-mail over a real SMTP server -----------------------------------------------------------

def test_email_reaches_a_real_smtp_server_with_vietnamese_intact(ctx: AppContext) -> None:
    set_email(ctx, "so-yt", "syt.truc@daklak.example")
    alert_id = raise_(ctx, "dengue-1", severity="critical")
    [queued] = deliveries(ctx, channel="email")
    assert queued.target == "syt.truc@daklak.example" and queued.status == "pending"

    with SmtpSink() as sink:
        result = dispatch(ctx, Senders(email=EmailSender("127.0.0.1", sink.port,
                                                         "ioc@daklak.example")))
    assert result == {"sent": 1, "retry": 0, "failed": 0}
    [mail] = sink.messages
    assert mail.rcpt_tos == ["syt.truc@daklak.example"]
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert message["Subject"] == \
        "[CityOps] Nghiêm trọng / Critical: Số ca sốt xuất huyết tăng đột biến"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "Số ca sốt xuất huyết tăng đột biến" in body and "Dengue cases surge" in body
    assert body.index("Cảnh báo mới") < body.index("— English —") < body.index("New alert")
    assert f"{BASE}/alerts/{alert_id}" in body
    [sent] = deliveries(ctx, channel="email")
    assert sent.status == "sent" and sent.sent_at == NOW and sent.attempts == 1


def test_delivery_job_uses_the_configured_smtp_server(ctx: AppContext) -> None:
    set_email(ctx, "operator", "truc.ioc@daklak.example")
    raise_(ctx, "dengue-job")
    with SmtpSink() as sink:
        settings = ctx.settings.model_copy(update={"smtp_host": "127.0.0.1",
                                                   "smtp_port": sink.port})
        assert delivery_job(dataclasses.replace(ctx, settings=settings))["sent"] == 1
    assert sink.messages[0].rcpt_tos == ["truc.ioc@daklak.example"]


def test_without_smtp_host_emails_wait_without_using_attempts(ctx: AppContext) -> None:
    set_email(ctx, "so-yt", "syt@daklak.example")
    raise_(ctx, "dengue-wait")
    assert delivery_job(ctx) == {"sent": 0, "retry": 0, "failed": 0}  # no smtp_host set
    [waiting] = deliveries(ctx, channel="email")
    assert waiting.status == "pending" and waiting.attempts == 0


# -- webhooks ---------------------------------------------------------------------------------

def test_webhook_is_signed_and_scoped(ctx: AppContext) -> None:
    with WebhookReceiver(SECRET) as hook:
        add_endpoint(ctx, hook.url)  # province-wide
        add_endpoint(ctx, hook.url + "/pc08", agency_id=_agency_id(ctx, "CA-PC08"))
        add_endpoint(ctx, hook.url + "/critical-only", min_severity="critical")
        add_endpoint(ctx, hook.url + "/traffic-only", services=["traffic"])
        add_endpoint(ctx, hook.url + "/off", is_active=False)
        alert_id = raise_(ctx, "dengue-hook")
        assert [d.target for d in deliveries(ctx, channel="webhook")] == [hook.url]
        with Senders(webhook=WebhookSender(clock=lambda: NOW)) as senders:
            assert dispatch(ctx, senders)["sent"] == 1
    [request] = hook.received
    assert request.verified
    [delivery] = deliveries(ctx, channel="webhook")
    assert request.headers["X-CityOps-Delivery"] == str(delivery.id)
    assert request.headers["X-CityOps-Timestamp"] == str(int(NOW.timestamp()))
    body = request.json()
    assert body["delivery_id"] == delivery.id and body["reason"] == "raised"
    assert {k: body["alert"][k] for k in ("id", "service", "title", "severity", "agency",
                                          "url")} == {
        "id": alert_id, "service": "health", "title": "Số ca sốt xuất huyết tăng đột biến",
        "severity": "major", "agency": "SO-YT", "url": f"{BASE}/alerts/{alert_id}"}


def test_failing_webhook_is_retried_with_backoff_until_it_recovers(ctx: AppContext) -> None:
    with WebhookReceiver(SECRET, script=[500, 500, 503]) as hook:
        add_endpoint(ctx, hook.url)
        raise_(ctx, "dengue-retry")
        senders = Senders(webhook=WebhookSender())
        timeline = [(NOW, "retry", 1, NOW + timedelta(minutes=1)),
                    (NOW + timedelta(minutes=1), "retry", 2, NOW + timedelta(minutes=3)),
                    (NOW + timedelta(minutes=3), "retry", 3, NOW + timedelta(minutes=7))]
        for now, outcome, attempts, next_at in timeline:
            assert dispatch(ctx, senders, now)[outcome] == 1
            # Not due again before its back-off has passed.
            assert dispatch(ctx, senders, now + timedelta(seconds=30)) == \
                {"sent": 0, "retry": 0, "failed": 0}
            [row] = deliveries(ctx, channel="webhook")
            assert (row.status, row.attempts, row.next_attempt_at) == \
                ("pending", attempts, next_at)
            assert "HTTP 50" in row.last_error
        assert dispatch(ctx, senders, NOW + timedelta(minutes=7))["sent"] == 1
        senders.close()
    assert len(hook.received) == 4 and all(r.verified for r in hook.received)
    [row] = deliveries(ctx, channel="webhook")
    assert row.status == "sent" and row.attempts == 4


def test_webhook_that_never_recovers_ends_failed_and_stays_visible(ctx: AppContext) -> None:
    with WebhookReceiver(SECRET, default_status=500) as hook:
        add_endpoint(ctx, hook.url)
        raise_(ctx, "dengue-dead")
        with Senders(webhook=WebhookSender()) as senders:
            now = NOW
            for _ in range(4):
                dispatch(ctx, senders, now, max_attempts=4)
                now += timedelta(hours=2)
            assert dispatch(ctx, senders, now, max_attempts=4)["failed"] == 0  # given up
    assert len(hook.received) == 4
    [row] = deliveries(ctx, channel="webhook")
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 4, None)
    with ctx.db.session() as session:
        assert delivery_stats(session)["by_channel"]["webhook"]["failed"] == 1
        requeue(session, row.id, now=now)
        session.commit()
    assert deliveries(ctx, channel="webhook")[0].status == "pending"


def test_client_errors_are_not_retried(ctx: AppContext) -> None:
    # The receiver holds another secret, rejects the signature with 401: retrying is futile.
    with WebhookReceiver("someone-elses-secret") as hook:
        add_endpoint(ctx, hook.url)
        raise_(ctx, "dengue-401")
        with Senders(webhook=WebhookSender()) as senders:
            assert dispatch(ctx, senders)["failed"] == 1
    assert [r.verified for r in hook.received] == [False]
    [row] = deliveries(ctx, channel="webhook")
    assert row.status == "failed" and row.attempts == 1 and "HTTP 401" in row.last_error


# -- recipients and preferences ---------------------------------------------------------------

def _agency_id(ctx: AppContext, code: str) -> int:
    with ctx.db.session() as session:
        agency = agency_by_code(session, code)
        assert agency is not None
        return agency.id


def test_raised_alert_reaches_level_zero_target_and_operators(ctx: AppContext) -> None:
    alert_id = raise_(ctx, "dengue-recipients")
    assert in_app(ctx, alert_id) == {"so-yt": "raised", "operator": "raised"}
    with ctx.db.session() as session:
        [event] = session.get_one(Alert, alert_id).events[-1:]
        assert (event.kind, event.text) == ("notified", "raised")
        assert sorted(event.data["users"]) == ["operator", "so-yt"]
    unaddressed = raise_(ctx, "street-light", service="field_reports", agency=None,
                         category="Infra")
    assert in_app(ctx, unaddressed) == {"operator": "raised"}  # the IOC triage queue


def test_preferences_filter_by_severity_service_and_channel(ctx: AppContext) -> None:
    set_email(ctx, "operator", "op@daklak.example")
    set_email(ctx, "so-yt", "syt@daklak.example")
    prefer(ctx, "operator", min_severity="critical")
    prefer(ctx, "so-yt", services=["traffic"])

    minor = raise_(ctx, "dengue-minor", severity="minor")
    assert in_app(ctx, minor) == {} and deliveries(ctx, alert_id=minor) == []

    critical = raise_(ctx, "dengue-critical", severity="critical")
    assert in_app(ctx, critical) == {"operator": "raised"}
    assert [d.target for d in deliveries(ctx, alert_id=critical)] == ["op@daklak.example"]

    prefer(ctx, "operator", channels=["email"])
    prefer(ctx, "so-yt", services=[], channels=["in_app"])
    third = raise_(ctx, "dengue-third", severity="critical")
    assert in_app(ctx, third) == {"so-yt": "raised"}
    assert [d.target for d in deliveries(ctx, alert_id=third)] == ["op@daklak.example"]

    # Defaults: warning and above; info notifies nobody.
    assert in_app(ctx, raise_(ctx, "dengue-info", severity="info", category="Other")) == {}
    with ctx.db.session() as session, pytest.raises(ValueError):
        set_preference(session, uid(ctx, "so-yt"), channels=["pigeon"])


def test_silenced_alerts_notify_nobody(ctx: AppContext) -> None:
    add_endpoint(ctx, "http://127.0.0.1:9/never")
    with ctx.db.session() as session:
        session.add(Silence(service="health", starts_at=NOW - timedelta(hours=1),
                            ends_at=NOW + timedelta(hours=1), comment="maintenance"))
        session.commit()
    alert_id = raise_(ctx, "dengue-silenced", severity="critical")
    with ctx.db.session() as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.silenced
        assert notify(session, alert, "escalated", now=NOW, target="role:leader") == 0
        session.commit()
    assert in_app(ctx, alert_id) == {} and deliveries(ctx, alert_id=alert_id) == []


def test_notify_writes_only_inside_the_callers_transaction(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        raise_alert(uow, RaiseRequest(dedupe_key="rolled-back", service="health",
                                      title="Không bao giờ gửi", severity="critical",
                                      agency_code="SO-YT"), now=NOW)
        # no commit: the alert and its notifications vanish together
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InAppNotification)
                              .where(InAppNotification.created_at == NOW)) == 0


def test_escalation_targets(ctx: AppContext) -> None:
    alert_id = raise_(ctx, "crash-ql14", service="traffic", agency="CA-PC08",
                      category="Transport", title="Tai nạn trên Quốc lộ 14")
    with ctx.db.session() as session:
        alert = session.get_one(Alert, alert_id)

        def names(target: str) -> list[str]:
            return [u.username for u in resolve_target(session, alert, target)]

        assert names("agency") == ["ca-pc08"]
        assert names("agency_head") == ["ca-tinh"]
        assert names("role:leader") == ["leader"]
        assert names("assignee") == ["ca-pc08"]  # nobody assigned: the agency
        alert.assignee_id = uid(ctx, "ca-tinh")
        assert names("assignee") == ["ca-tinh"]
        assert names("role:nobody") == ["ca-pc08"]  # unknown target: the agency
        alert.agency_id = _agency_id(ctx, "UBND-TINH")  # top level: its head is leadership
        assert names("agency_head") == ["leader"]


def test_escalation_reminds_then_escalates_through_notify(ctx: AppContext) -> None:
    # Critical alerts use the shipped "critical" policy: remind every 10 min, level 1 at 15.
    alert_id = raise_(ctx, "crash-escalate", severity="critical", service="traffic",
                      agency="CA-PC08", category="Transport")
    for minutes in (10, 15):
        with ctx.uow() as uow:
            escalation.run_due(uow.session, NOW + timedelta(minutes=minutes))
            uow.commit()
    with ctx.db.session() as session:
        rows = session.execute(select(User.username, InAppNotification.reason)
                               .join(User, User.id == InAppNotification.user_id)
                               .where(InAppNotification.alert_id == alert_id)
                               .order_by(InAppNotification.id)).all()
    pairs = [(name, reason) for name, reason in rows]
    assert ("ca-pc08", "reminder") in pairs and ("ca-tinh", "escalated") in pairs


def test_assignment_notifies_the_assignee_despite_filters(ctx: AppContext) -> None:
    prefer(ctx, "ca-tinh", services=["soc"], min_severity="critical")
    alert_id = raise_(ctx, "dengue-assign", agency="CA-TINH", severity="warning",
                      category="Other")
    with ctx.uow() as uow:
        assign(uow, alert_id, "ca-tinh", now=NOW)
        uow.commit()
    assert in_app(ctx, alert_id)["ca-tinh"] == "assigned"


def test_unread_count_and_mark_read_are_per_user(ctx: AppContext) -> None:
    operator, officer = uid(ctx, "operator"), uid(ctx, "so-yt")
    with ctx.db.session() as session:
        before = unread_count(session, operator)
    for key in ("a", "b", "c"):
        raise_(ctx, f"unread-{key}")
    with ctx.db.session() as session:
        assert unread_count(session, operator) == before + 3
        mine = session.scalars(select(InAppNotification.id).where(
            InAppNotification.user_id == officer)).all()
        assert mark_read(session, operator, mine, now=NOW) == 0  # not the operator's
        assert mark_read(session, officer, mine[:1], now=NOW) == 1
        assert unread_count(session, officer) == len(mine) - 1
        assert mark_read(session, operator, now=NOW) == before + 3
        assert unread_count(session, operator) == 0


# -- flood control ----------------------------------------------------------------------------

def test_a_flood_becomes_a_few_emails_and_webhook_digests(ctx: AppContext) -> None:
    set_email(ctx, "so-yt", "syt@daklak.example")
    sms = add_endpoint(ctx, "http://127.0.0.1:9/sms", kind="sms", agency_id=_agency_id(
        ctx, "SO-YT"))
    officer = uid(ctx, "so-yt")
    for index in range(50):
        raise_(ctx, f"flood-{index}", title=f"Trạm đo số {index} mất kết nối",
               now=NOW + timedelta(seconds=index))
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InAppNotification).where(
            InAppNotification.user_id == officer, InAppNotification.created_at >= NOW)) == 50
    emails = deliveries(ctx, user_id=officer, channel="email")
    assert len(emails) <= 5
    singles = [d for d in emails if d.digest_key is None]
    [digest] = [d for d in emails if d.digest_key is not None]
    assert len(singles) == 3 and digest.payload["count"] == 47
    assert digest.subject == "CityOps: 47 cảnh báo mới / 47 new alerts"
    assert "Trạm đo số 49 mất kết nối" in digest.body
    assert digest.next_attempt_at == NOW + timedelta(seconds=3, minutes=15)

    hooks = deliveries(ctx, webhook_id=sms)
    assert len(hooks) == 4 and hooks[-1].payload["count"] == 47
    text = hooks[-1].payload["text"]
    assert len(text) <= 160 and text.isascii() and text.startswith("CityOps: 47 canh bao")

    fake = FakeEmail()
    assert dispatch(ctx, Senders(email=fake), NOW + timedelta(minutes=1))["sent"] == 3
    assert dispatch(ctx, Senders(email=fake), NOW + timedelta(minutes=16))["sent"] == 1
    assert fake.sent[-1]["subject"].startswith("CityOps: 47")
    # The sent digest is closed; the next alert after the window starts afresh.
    raise_(ctx, "after-flood", now=NOW + timedelta(minutes=40))
    latest = deliveries(ctx, user_id=officer, channel="email")[-1]
    assert latest.digest_key is None and latest.status == "pending"
