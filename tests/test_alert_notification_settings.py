"""Notification settings, webhook endpoints and the delivery log: API, scoping and pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from alert_helpers import WebhookReceiver, set_email, uid
from conftest import browser_login, post_form
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityops.alerts.channels import Senders, WebhookSender
from cityops.alerts.notifications import (
    Delivery,
    InAppNotification,
    WebhookEndpoint,
    deliver_pending,
)
from cityops.kernel.audit import AuditLog
from cityops.kernel.auth import create_api_key
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code

Headers = Callable[[str], dict[str, str]]
NOW = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)
PREFS = "/api/v1/notifications/preferences"
HOOKS = "/api/v1/alert-webhooks"
LOG = "/api/v1/alert-deliveries"


@pytest.fixture
def ctx(demo_ctx: AppContext) -> AppContext:
    demo_ctx.clock = lambda: NOW  # the app shares this context, so requests see it too
    return demo_ctx


def raise_alert(client: TestClient, headers: dict[str, str], key: str, *, severity: str,
                service: str = "health", agency: str = "SO-YT") -> int:
    response = client.post("/api/v1/alerts", headers=headers, json={
        "dedupe_key": key, "service": service, "title": f"Cảnh báo thử {key}",
        "severity": severity, "category": "Health", "agency_code": agency})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def told(ctx: AppContext, username: str, alert_id: int) -> tuple[int, list[str]]:
    """(in-app notifications, e-mail targets) one alert created for one user."""
    user_id = uid(ctx, username)
    with ctx.db.session() as session:
        notes = session.scalars(select(InAppNotification.id).where(
            InAppNotification.user_id == user_id, InAppNotification.alert_id == alert_id))
        mails = session.scalars(select(Delivery.target).where(
            Delivery.user_id == user_id, Delivery.alert_id == alert_id,
            Delivery.channel == "email"))
        return len(notes.all()), list(mails)


def api_key(ctx: AppContext, agency_code: str) -> dict[str, str]:
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, agency_code)
        assert agency is not None
        _, raw = create_api_key(uow.session, agency, "gateway")
        uow.commit()
    return {"X-API-Key": raw}


# -- preferences ------------------------------------------------------------------------------

def test_preferences_round_trip_and_validation(client: TestClient, auth_headers: Headers,
                                               ctx: AppContext) -> None:
    me = auth_headers("so-yt")
    default = client.get(PREFS, headers=me).json()
    assert default == {"services": [], "min_severity": "warning",
                       "channels": ["in_app", "email"], "digest_minutes": 15,
                       "is_default": True}
    wanted = {"services": ["health", "environment"], "min_severity": "critical",
              "channels": ["email", "in_app"], "digest_minutes": 0}
    saved = client.put(PREFS, headers=me, json=wanted)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"services": ["environment", "health"], "min_severity": "critical",
                            "channels": ["in_app", "email"], "digest_minutes": 0,
                            "is_default": False}
    assert client.get(PREFS, headers=me).json() == saved.json()
    # Fields left out keep their value.
    partial = client.put(PREFS, headers=me, json={"digest_minutes": 60}).json()
    assert partial["digest_minutes"] == 60 and partial["min_severity"] == "critical"
    assert client.get(PREFS, headers=auth_headers("operator")).json()["is_default"] is True

    for bad in ({"min_severity": "extreme"}, {"channels": ["pigeon"]},
                {"digest_minutes": 1441}, {"digest_minutes": -1},
                {"services": ["Not a key!"]}, {"colour": "red"}):
        refused = client.put(PREFS, headers=me, json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["detail"].startswith("invalid request")
    assert client.get(PREFS, headers=me).json() == partial

    key = api_key(ctx, "SO-YT")
    for response in (client.get(PREFS, headers=key),
                     client.put(PREFS, headers=key, json={"digest_minutes": 5}),
                     client.get("/api/v1/notifications", headers=key)):
        assert response.status_code == 400 and "API key" in response.json()["detail"]
    assert client.get(PREFS).status_code == 401


def test_a_users_preferences_change_what_notify_creates(client: TestClient,
                                                        auth_headers: Headers,
                                                        ctx: AppContext) -> None:
    set_email(ctx, "so-yt", "syt@daklak.example")
    raiser = auth_headers("operator")
    baseline = raise_alert(client, raiser, "pref-0", severity="major")
    assert told(ctx, "so-yt", baseline) == (1, ["syt@daklak.example"])  # the defaults

    assert client.put(PREFS, headers=auth_headers("so-yt"), json={
        "services": ["health"], "min_severity": "critical", "channels": ["in_app"],
        "digest_minutes": 0}).status_code == 200
    assert told(ctx, "so-yt", raise_alert(client, raiser, "pref-1", severity="major")) == \
        (0, [])  # below min_severity
    assert told(ctx, "so-yt", raise_alert(client, raiser, "pref-2", severity="critical",
                                          service="traffic")) == (0, [])  # other service
    assert told(ctx, "so-yt", raise_alert(client, raiser, "pref-3", severity="critical")) == \
        (1, [])  # in-app only: no e-mail

    client.put(PREFS, headers=auth_headers("so-yt"), json={"channels": ["email"]})
    assert told(ctx, "so-yt", raise_alert(client, raiser, "pref-4", severity="critical")) == \
        (0, ["syt@daklak.example"])
    # The operator's own defaults are untouched by so-yt's choices.
    assert told(ctx, "operator", raise_alert(client, raiser, "pref-5", severity="major"))[0] == 1


# -- the inbox --------------------------------------------------------------------------------

def test_inbox_lists_and_marks_only_ones_own(client: TestClient, auth_headers: Headers,
                                             ctx: AppContext) -> None:
    with ctx.db.session() as session:
        rows = [InAppNotification(user_id=uid(ctx, name), reason="raised", text=f"{name} {n}",
                                  created_at=NOW) for name in ("so-yt", "so-nnmt") for n in (1, 2)]
        session.add_all(rows)
        session.commit()
        mine, theirs = [r.id for r in rows[:2]], [r.id for r in rows[2:]]
    me = auth_headers("so-yt")
    page = client.get("/api/v1/notifications", headers=me,
                      params={"unread": "true", "page_size": 1}).json()
    assert page["total"] >= 2 and page["pages"] == page["total"] and len(page["items"]) == 1
    listed = client.get("/api/v1/notifications", headers=me, params={"page_size": 500}).json()
    ids = {item["id"] for item in listed["items"]}
    assert set(mine) <= ids and not ids & set(theirs)

    refused = client.post("/api/v1/notifications/read", headers=me, json={"ids": theirs})
    assert refused.status_code == 200 and refused.json()["marked"] == 0
    done = client.post("/api/v1/notifications/read", headers=me, json={"ids": [mine[0]]})
    assert done.json()["marked"] == 1
    everything = client.post("/api/v1/notifications/read", headers=me, json={"all": True})
    assert everything.json()["unread"] == 0 and everything.json()["marked"] >= 1
    assert client.get("/api/v1/notifications", headers=me,
                      params={"unread": "true"}).json()["total"] == 0
    assert mine[0] in {i["id"] for i in client.get(
        "/api/v1/notifications", headers=me, params={"unread": "false"}).json()["items"]}
    with ctx.db.session() as session:
        assert all(session.get_one(InAppNotification, i).read_at is None for i in theirs)
    for bad in ({}, {"ids": [1], "all": True}, {"ids": []}, {"all": False}):
        assert client.post("/api/v1/notifications/read", headers=me,
                           json=bad).status_code == 422, bad


# -- webhook endpoints ------------------------------------------------------------------------

def test_webhook_crud_is_scoped_and_the_secret_shown_once(client: TestClient,
                                                          auth_headers: Headers,
                                                          ctx: AppContext) -> None:
    nnmt, yt = auth_headers("so-nnmt"), auth_headers("so-yt")
    created = client.post(HOOKS, headers=nnmt, json={
        "name": "Cổng SMS Sở NN&MT", "url": "https://sms.nnmt.example/cityops", "kind": "sms",
        "min_severity": "major"})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    hook_id, secret = body["id"], body["secret"]
    assert body["agency_code"] == "SO-NNMT" and body["kind"] == "sms" and len(secret) >= 40
    with ctx.db.session() as session:
        assert session.get_one(WebhookEndpoint, hook_id).secret == secret
        audited = session.scalars(select(AuditLog).where(
            AuditLog.object_type == "webhook_endpoints")).all()
        assert audited and secret not in str([(a.before, a.after) for a in audited])

    listed = client.get(HOOKS, headers=nnmt).json()
    assert [h["id"] for h in listed] == [hook_id] and "secret" not in listed[0]
    assert "secret" not in client.get(f"{HOOKS}/{hook_id}", headers=nnmt).json()
    assert secret not in client.get(HOOKS, headers=auth_headers("operator")).text

    # Another agency's officer neither sees nor touches it.
    assert hook_id not in [h["id"] for h in client.get(HOOKS, headers=yt).json()]
    assert client.get(f"{HOOKS}/{hook_id}", headers=yt).status_code == 403
    assert client.patch(f"{HOOKS}/{hook_id}", headers=yt,
                        json={"url": "https://evil.example/"}).status_code == 403
    assert client.delete(f"{HOOKS}/{hook_id}", headers=yt).status_code == 403
    assert client.post(f"{HOOKS}/{hook_id}/rotate-secret", headers=yt).status_code == 403
    assert client.post(HOOKS, headers=yt, json={
        "name": "x", "url": "https://x.example/", "agency_code": "SO-NNMT"}).status_code == 403
    assert client.get(f"{HOOKS}/999999", headers=yt).status_code == 404
    assert client.get(HOOKS, headers=auth_headers("leader")).status_code == 403

    # Province-wide endpoints belong to the IOC: officers cannot see them either.
    ioc = client.post(HOOKS, headers=auth_headers("operator"), json={
        "name": "IOC Zalo OA", "url": "http://zalo-gw.ioc.local:8080/send", "kind": "zalo"})
    assert ioc.status_code == 201 and ioc.json()["agency_code"] is None
    assert ioc.json()["id"] not in [h["id"] for h in client.get(HOOKS, headers=nnmt).json()]
    assert client.get(f"{HOOKS}/{ioc.json()['id']}", headers=nnmt).status_code == 403
    assert {h["id"] for h in client.get(HOOKS, headers=auth_headers("admin")).json()} >= \
        {hook_id, ioc.json()["id"]}

    patched = client.patch(f"{HOOKS}/{hook_id}", headers=nnmt, json={
        "url": "https://sms2.nnmt.example/in", "services": ["environment", "environment"],
        "min_severity": "critical"})
    assert patched.status_code == 200
    assert {k: patched.json()[k] for k in ("url", "services", "min_severity")} == {
        "url": "https://sms2.nnmt.example/in", "services": ["environment"],
        "min_severity": "critical"}
    assert client.patch(f"{HOOKS}/{hook_id}", headers=nnmt,
                        json={"agency_code": None}).json()["agency_code"] == "SO-NNMT"

    rotated = client.post(f"{HOOKS}/{hook_id}/rotate-secret", headers=nnmt)
    assert rotated.status_code == 200 and rotated.json()["secret"] not in ("", secret)
    with ctx.db.session() as session:
        assert session.get_one(WebhookEndpoint, hook_id).secret == rotated.json()["secret"]

    assert client.delete(f"{HOOKS}/{hook_id}", headers=nnmt).status_code == 204
    assert client.get(f"{HOOKS}/{hook_id}", headers=nnmt).json()["is_active"] is False
    assert client.get(HOOKS, headers=nnmt, params={"active": "true"}).json() == []


@pytest.mark.parametrize("url", [
    "ftp://files.example/hook", "https://", "http:///path-only", "javascript:alert(1)",
    "sms.example/hook", "https://user:pw@sms.example/", "https://sms .example/",
    "https://sms.example:port/", "",
])
def test_webhook_urls_must_be_http_with_a_host(client: TestClient, auth_headers: Headers,
                                               url: str) -> None:
    admin = auth_headers("admin")
    refused = client.post(HOOKS, headers=admin, json={"name": "x", "url": url})
    assert refused.status_code == 422 and "url" in refused.json()["detail"]
    ok = client.post(HOOKS, headers=admin, json={"name": "x", "url": "https://ok.example/"})
    assert client.patch(f"{HOOKS}/{ok.json()['id']}", headers=admin,
                        json={"url": url}).status_code == 422
    assert client.post(HOOKS, headers=admin, json={
        "name": "x", "url": "https://ok.example/", "kind": "fax"}).status_code == 422


# -- the delivery log -------------------------------------------------------------------------

def _fail_once(ctx: AppContext) -> int:
    """Dispatch with a single attempt allowed, so the receiver's refusal fails it for good."""
    with ctx.db.session() as session, Senders(webhook=WebhookSender()) as senders:
        assert deliver_pending(session, senders, now=NOW, max_attempts=1)["failed"] == 1
        return session.scalars(select(Delivery.id).where(Delivery.status == "failed")).one()


def test_failed_delivery_is_listed_and_retried_until_sent(client: TestClient,
                                                          auth_headers: Headers,
                                                          ctx: AppContext) -> None:
    nnmt = auth_headers("so-nnmt")
    with WebhookReceiver("not-yet-known", script=[500]) as hook:
        created = client.post(HOOKS, headers=nnmt, json={"name": "NN&MT", "url": hook.url})
        hook.server.state.secret = created.json()["secret"]  # the receiver stores it once
        alert_id = raise_alert(client, auth_headers("operator"), "log-1", severity="major",
                               service="environment", agency="SO-NNMT")
        failed = _fail_once(ctx)

        listed = client.get(LOG, headers=nnmt, params={"status": "failed"}).json()
        [row] = listed["items"]
        assert (row["id"], row["alert_id"], row["channel"], row["attempts"]) == \
            (failed, alert_id, "webhook", 1)
        assert "HTTP 500" in row["last_error"] and row["next_attempt_at"] is None
        assert failed in [d["id"] for d in client.get(
            LOG, headers=auth_headers("leader"), params={"alert_id": alert_id}).json()["items"]]
        assert client.get(LOG, headers=auth_headers("so-yt"),
                          params={"status": "failed"}).json()["total"] == 0
        assert client.get(f"{LOG}/stats", headers=nnmt).json()["by_status"]["failed"] == 1
        assert client.get(f"{LOG}/stats", headers=auth_headers("admin")).json()[
            "by_channel"]["webhook"]["failed"] == 1

        assert client.post(f"{LOG}/{failed}/retry", headers=auth_headers("so-yt")).status_code \
            == 403
        assert client.post(f"{LOG}/{failed}/retry",
                           headers=auth_headers("leader")).status_code == 403
        assert client.post(f"{LOG}/999999/retry", headers=nnmt).status_code == 404
        retried = client.post(f"{LOG}/{failed}/retry", headers=nnmt)
        assert retried.status_code == 200, retried.text
        assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
        assert datetime.fromisoformat(retried.json()["next_attempt_at"]) == NOW
        assert client.post(f"{LOG}/{failed}/retry", headers=nnmt).status_code == 409

        with ctx.db.session() as session, Senders(webhook=WebhookSender()) as senders:
            assert deliver_pending(session, senders, now=NOW)["sent"] == 1
    assert [r.verified for r in hook.received] == [True, True]  # signed with the secret
    assert client.get(LOG, headers=nnmt, params={"alert_id": alert_id}).json()[
        "items"][0]["status"] == "sent"


def test_retry_refuses_a_deactivated_endpoint(client: TestClient, auth_headers: Headers,
                                              ctx: AppContext) -> None:
    admin = auth_headers("admin")
    with WebhookReceiver("not-its-secret") as hook:
        hook_id = client.post(HOOKS, headers=admin,
                              json={"name": "IOC", "url": hook.url}).json()["id"]
        raise_alert(client, admin, "log-off", severity="major")
        failed = _fail_once(ctx)
    client.delete(f"{HOOKS}/{hook_id}", headers=admin)
    refused = client.post(f"{LOG}/{failed}/retry", headers=admin)
    assert refused.status_code == 409 and "reactivate" in refused.json()["detail"]


# -- pages ------------------------------------------------------------------------------------

def login(client: TestClient, username: str) -> None:
    browser_login(client, username, next_path="/alerts")


def test_settings_page_saves_ones_preferences(client: TestClient, ctx: AppContext) -> None:
    login(client, "so-yt")
    notes = client.get("/alerts/notifications").text
    assert 'href="/alerts/notifications/settings"' in notes and "/alerts/webhooks" in notes
    page = client.get("/alerts/notifications/settings")
    assert page.status_code == 200 and "Cài đặt thông báo" in page.text
    assert 'name="channels" value="in_app" checked' in page.text

    saved = post_form(client, "/alerts/notifications/settings", "/alerts/notifications/settings",
                      {"channels": ["in_app"], "min_severity": "major",
                       "services": ["health"], "digest_minutes": "30"})
    assert saved.status_code == 303
    assert "Đã lưu cài đặt thông báo" in client.get("/alerts/notifications/settings").text
    assert client.get(PREFS).json() == {"services": ["health"], "min_severity": "major",
                                        "channels": ["in_app"], "digest_minutes": 30,
                                        "is_default": False}
    bad = post_form(client, "/alerts/notifications/settings", "/alerts/notifications/settings",
                    {"channels": ["in_app"], "min_severity": "extreme", "digest_minutes": "x"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert "Hãy chọn một mức độ" in bad.text and "số phút nguyên" in bad.text
    missing = client.post("/alerts/notifications/settings", follow_redirects=False,
                          data={"channels": ["email"], "min_severity": "info"})
    assert missing.status_code == 403
    assert client.get(PREFS).json()["min_severity"] == "major"


def test_webhooks_page_creates_and_deactivates(client: TestClient, ctx: AppContext) -> None:
    login(client, "so-nnmt")
    page = client.get("/alerts/webhooks")
    assert page.status_code == 200 and "Địa chỉ webhook" in page.text
    assert '<option value="">' not in page.text.split('name="agency_code"')[1].split("</select>")[0]

    created = post_form(client, "/alerts/webhooks", "/alerts/webhooks", {
        "name": "Cổng Zalo NN&MT", "url": "https://zalo.nnmt.example/hook", "kind": "zalo",
        "agency_code": "SO-NNMT", "min_severity": "minor", "services": ["environment"]})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    with ctx.db.session() as session:
        endpoint = session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.name == "Cổng Zalo NN&MT")).one()
    assert 'id="new-secret"' in created.text and endpoint.secret in created.text
    again = client.get("/alerts/webhooks")
    assert f'id="webhook-{endpoint.id}"' in again.text and endpoint.secret not in again.text

    bad = post_form(client, "/alerts/webhooks", "/alerts/webhooks",
                    {"name": "x", "url": "javascript:alert(1)", "kind": "generic"})
    assert bad.status_code == 400 and "URL phải bắt đầu bằng http://" in bad.text
    assert client.post("/alerts/webhooks", follow_redirects=False,
                       data={"name": "x", "url": "https://x.example/"}).status_code == 403

    off = post_form(client, "/alerts/webhooks", f"/alerts/webhooks/{endpoint.id}/active",
                    {"active": "0"})
    assert off.status_code == 303
    with ctx.db.session() as session:
        assert session.get_one(WebhookEndpoint, endpoint.id).is_active is False
    login(client, "so-yt")
    assert f'id="webhook-{endpoint.id}"' not in client.get("/alerts/webhooks").text
    assert post_form(client, "/alerts/webhooks", f"/alerts/webhooks/{endpoint.id}/active",
                     {"active": "1"}).status_code == 403
    login(client, "leader")
    assert client.get("/alerts/webhooks").status_code == 403


def test_deliveries_page_lists_failures_and_retries(client: TestClient, auth_headers: Headers,
                                                    ctx: AppContext) -> None:
    with WebhookReceiver("not-its-secret") as hook:  # a signature refused: 401, for good
        client.post(HOOKS, headers=auth_headers("operator"), json={"name": "IOC", "url": hook.url})
        raise_alert(client, auth_headers("operator"), "page-log", severity="major")
        failed = _fail_once(ctx)
    login(client, "operator")
    page = client.get("/alerts/deliveries", params={"status": "failed"})
    assert page.status_code == 200 and f'id="delivery-{failed}"' in page.text
    assert f'action="/alerts/deliveries/{failed}/retry"' in page.text and "HTTP 401" in page.text
    assert client.post(f"/alerts/deliveries/{failed}/retry",
                       follow_redirects=False).status_code == 403
    retried = post_form(client, "/alerts/deliveries?status=failed",
                        f"/alerts/deliveries/{failed}/retry",
                        {"next": "/alerts/deliveries?status=failed"})
    assert retried.status_code == 303
    assert retried.headers["location"] == "/alerts/deliveries?status=failed"
    with ctx.db.session() as session:
        row = session.get_one(Delivery, failed)
        assert (row.status, row.next_attempt_at) == ("pending", NOW)
    after = client.get("/alerts/deliveries", params={"status": "failed"}).text
    assert f"#{failed}" in after and f'id="delivery-{failed}"' not in after
    login(client, "so-yt")
    assert f'id="delivery-{failed}"' not in client.get("/alerts/deliveries").text
