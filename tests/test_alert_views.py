"""The alert center's pages, through the real login form and the real forms (CSRF included)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import browser_login, csrf_of, post_form
from fastapi.testclient import TestClient
from sqlalchemy import func, or_, select

from cityops.alerts.models import Alert, Incident
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency

ROW_ID = re.compile(r'id="alert-row-(\d+)"')


def login(client: TestClient, username: str) -> None:
    browser_login(client, username, next_path="/alerts")


def alert_id(ctx: AppContext, dedupe_key: str) -> int:
    with ctx.db.session() as session:
        found = session.scalar(select(Alert.id).where(Alert.dedupe_key == dedupe_key))
    assert found is not None
    return found


def agency_codes(ctx: AppContext, ids: list[int]) -> set[str | None]:
    with ctx.db.session() as session:
        rows = session.execute(select(Agency.code).select_from(Alert)
                               .outerjoin(Agency, Agency.id == Alert.agency_id)
                               .where(Alert.id.in_(ids))).scalars()
        return set(rows)


def vi_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def test_anonymous_visitors_are_sent_to_login(client: TestClient) -> None:
    response = client.get("/alerts", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_alert_center_lists_the_demo_alerts(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "operator")
    page = client.get("/alerts")
    assert page.status_code == 200
    assert "Tai nạn giao thông trên Quốc lộ 14" in page.text
    assert 'id="alert-map"' in page.text and 'data-stream="/alerts/stream"' in page.text
    assert 'id="live-list"' in page.text and "/static/js/alerts.js" in page.text
    ids = [int(i) for i in ROW_ID.findall(page.text)]
    with demo_ctx.db.session() as session:
        active = session.scalar(select(func.count()).select_from(Alert).where(
            Alert.status.in_(("new", "acknowledged", "in_progress"))))
    assert ids and len(ids) == min(active or 0, 25)

    # HTMX asks for the results alone; a diacritic-free search still finds the alert.
    fragment = client.get("/alerts", params={"q": "quoc lo 14", "status": "all"},
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Tai nạn giao thông trên Quốc lộ 14" in fragment.text
    assert len(ROW_ID.findall(fragment.text)) == 1

    critical = client.get("/alerts", params={"severity": "critical", "status": "all"},
                          headers={"HX-Request": "true"})
    assert ROW_ID.findall(critical.text)
    assert 'class="sev sev-major"' not in critical.text

    tickets = client.get("/alerts", params={"tickets": "1", "status": "all", "page": "2",
                                            "sort": "-severity"})
    assert tickets.status_code == 200 and "Trang 2" in tickets.text

    markers = client.get("/alerts/map.json").json()["markers"]
    assert markers and all(m["lat"] is not None and m["color"].startswith("#")
                           for m in markers)


def test_officer_sees_only_their_agency(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "so-nnmt")
    page = client.get("/alerts", params={"status": "all"})
    ids = [int(i) for i in ROW_ID.findall(page.text)]
    assert ids and agency_codes(demo_ctx, ids) == {"SO-NNMT"}
    assert "Tai nạn giao thông" not in page.text
    assert all(m["url"] for m in client.get("/alerts/map.json").json()["markers"])

    own = client.get(f"/alerts/{alert_id(demo_ctx, 'demo-live-0')}")
    assert own.status_code == 200 and "VN_AQI" in own.text
    other = client.get(f"/alerts/{alert_id(demo_ctx, 'demo-live-2')}")  # CA-PC08's
    assert other.status_code == 403 and "Tai nạn" not in other.text
    assert client.get("/alerts/999999").status_code == 404
    refused = post_form(client, "/alerts", f"/alerts/{alert_id(demo_ctx, 'demo-live-2')}/comment",
                        {"text": "not mine"})
    assert refused.status_code == 403


def test_transition_form_and_refusal(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "operator")
    target = alert_id(demo_ctx, "demo-live-2")
    page = f"/alerts/{target}"
    detail = client.get(page)
    assert detail.status_code == 200
    assert "Nghiêm trọng" in detail.text and "Mới" in detail.text  # labels in Vietnamese
    assert 'value="acknowledged"' in detail.text

    done = post_form(client, page, f"{page}/transition",
                     {"to": "acknowledged", "comment": "Đã cử CSGT đến hiện trường"})
    assert done.status_code == 303 and done.headers["location"] == page
    after = client.get(page)
    assert "Đã chuyển trạng thái" in after.text and "Đã cử CSGT đến hiện trường" in after.text
    with demo_ctx.db.session() as session:
        assert session.get(Alert, target).status == "acknowledged"  # type: ignore[union-attr]

    refused = post_form(client, page, f"{page}/transition", {"to": "closed", "comment": "x"})
    assert refused.status_code == 409
    assert "không thể chuyển" in refused.text and 'role="alert"' in refused.text
    with demo_ctx.db.session() as session:
        assert session.get(Alert, target).status == "acknowledged"  # type: ignore[union-attr]


def test_forms_need_the_csrf_token(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "operator")
    target = alert_id(demo_ctx, "demo-live-3")
    response = client.post(f"/alerts/{target}/transition", data={"to": "acknowledged"},
                           follow_redirects=False)
    assert response.status_code == 403
    response = client.post("/alerts/bulk-ack", data={"ids": [target]}, follow_redirects=False)
    assert response.status_code == 403
    with demo_ctx.db.session() as session:
        assert session.get(Alert, target).status == "new"  # type: ignore[union-attr]


def test_comment_assign_ticket_and_sop_checklist(client: TestClient,
                                                 demo_ctx: AppContext) -> None:
    login(client, "operator")
    target = alert_id(demo_ctx, "demo-live-1")
    page = f"/alerts/{target}"
    assert post_form(client, page, f"{page}/comment", {"text": "Lấy mẫu nước lần 2"}
                     ).status_code == 303
    empty = post_form(client, page, f"{page}/comment", {"text": "   "})
    assert empty.status_code == 400 and "Hãy viết" in empty.text
    assert post_form(client, page, f"{page}/assign", {"username": "so-nnmt"}).status_code == 303
    assert post_form(client, page, f"{page}/incident",
                     {"title": "Ô nhiễm sông Ba", "category": "Env"}).status_code == 303
    detail = client.get(page)
    assert "Lấy mẫu nước lần 2" in detail.text and "Ô nhiễm sông Ba" in detail.text
    with demo_ctx.db.session() as session:
        alert = session.get(Alert, target)
        assert alert is not None and alert.assignee_id is not None
        incident = session.get(Incident, alert.incident_id)
        assert incident is not None and incident.steps
        step_id = incident.steps[0].id
    assert post_form(client, page, f"{page}/incident-steps/{step_id}",
                     {"done": "1"}).status_code == 303
    with demo_ctx.db.session() as session:
        incident = session.get(Incident, incident.id)
        assert incident is not None and incident.steps[0].done_at is not None

    with demo_ctx.db.session() as session:
        ticket = session.scalar(select(Alert.id).where(
            Alert.is_ticket.is_(True), Alert.ticket_answered_at.is_(None)).limit(1))
    ticket_page = f"/alerts/{ticket}"
    assert "Trả lời phiếu" in client.get(ticket_page).text
    assert post_form(client, ticket_page, f"{ticket_page}/ticket/check", {}).status_code == 303
    answered = post_form(client, ticket_page, f"{ticket_page}/ticket/answer",
                         {"response": "Đã xử lý xong 5 hồ sơ", "attachment": "CV 12/UBND"})
    assert answered.status_code == 303
    with demo_ctx.db.session() as session:
        row = session.get(Alert, ticket)
        assert row is not None and row.ticket_answered_at and row.status == "resolved"
    again = post_form(client, ticket_page, f"{ticket_page}/ticket/answer", {"response": "x"})
    assert again.status_code == 409


def test_bulk_acknowledge(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "operator")
    ids = [alert_id(demo_ctx, f"demo-live-{n}") for n in (4, 5)]
    response = post_form(client, "/alerts", "/alerts/bulk-ack",
                         {"ids": ids, "next": "/alerts?status=all"})
    assert response.status_code == 303 and response.headers["location"] == "/alerts?status=all"
    assert "Đã tiếp nhận 2 cảnh báo" in client.get("/alerts").text
    with demo_ctx.db.session() as session:
        assert {session.get(Alert, i).status for i in ids} == {"acknowledged"}  # type: ignore[union-attr]


def _ticket_figures(ctx: AppContext, agency_code: str | None = None) -> dict[str, int]:
    """Counted straight from the table, independently of cityops.alerts.stats."""
    def count(*conditions: object) -> int:
        with ctx.db.session() as session:
            stmt = select(func.count()).select_from(Alert).where(Alert.is_ticket.is_(True),
                                                                 *conditions)
            if agency_code:
                stmt = stmt.join(Agency, Agency.id == Alert.agency_id).where(
                    Agency.code == agency_code)
            return session.scalar(stmt) or 0

    answered = Alert.ticket_answered_at.is_not(None)
    on_time = or_(Alert.ticket_due_at.is_(None), Alert.ticket_answered_at <= Alert.ticket_due_at)
    return {"sent": count(), "checked": count(Alert.ticket_checked_at.is_not(None)),
            "answered": count(answered), "on_time": count(answered, on_time),
            "late": count(answered, ~on_time)}


def test_stats_page_shows_the_ticket_figures_of_the_database(
        client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "leader")
    figures = _ticket_figures(demo_ctx)
    assert figures["sent"] >= 1000
    page = client.get("/alerts/stats")
    assert page.status_code == 200
    sentence = (f"{vi_number(figures['sent'])} phiếu cảnh báo đã gửi, "
                f"{vi_number(figures['checked'])} đã kiểm tra, "
                f"{vi_number(figures['answered'])} đã trả lời "
                f"({vi_number(figures['on_time'])} đúng hạn, {vi_number(figures['late'])} trễ hạn)")
    assert sentence in page.text
    assert 'id="chart-month"' in page.text and "/static/vendor/echarts/echarts.min.js" in page.text

    client.post("/lang", data={"language": "en", "next": "/alerts/stats",
                               "csrf_token": csrf_of(page.text)})
    english = client.get("/alerts/stats")
    assert f"{figures['sent']:,} warning tickets sent, {figures['checked']:,} checked" \
        in english.text


def test_officer_stats_are_scoped(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "so-nnmt")
    figures = _ticket_figures(demo_ctx, "SO-NNMT")
    page = client.get("/alerts/stats")
    assert f"{vi_number(figures['sent'])} phiếu cảnh báo đã gửi" in page.text


def test_stats_csv_export(client: TestClient, demo_ctx: AppContext) -> None:
    login(client, "operator")
    response = client.get("/alerts/stats.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Mã cơ quan", "Cơ quan", "Đã gửi"]
    assert sum(int(r[2]) for r in body) == _ticket_figures(demo_ctx)["sent"]
    assert any(re.search(r"[ăâđêôơưạảấầẩẫậ]", r[1]) for r in body)  # Vietnamese names survive
    for row in body:
        assert int(row[5]) + int(row[6]) == int(row[4])  # on time + late = answered


@pytest.mark.parametrize("path", ["/alerts/stats", "/alerts/stats.csv", "/alerts/map.json"])
def test_pages_need_a_session(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code in (303, 401)


def test_notifications_page_and_mark_as_read(client: TestClient, demo_ctx: AppContext) -> None:
    from cityops.alerts.notification_models import InAppNotification
    from cityops.kernel.auth import User

    with demo_ctx.db.session() as session:
        operator = session.scalar(select(User.id).where(User.username == "operator"))
        mine = session.scalars(select(InAppNotification.id).where(
            InAppNotification.user_id == operator, InAppNotification.read_at.is_(None))).all()
        others = session.scalar(select(InAppNotification.id).where(
            InAppNotification.user_id != operator, InAppNotification.read_at.is_(None)))
    assert len(mine) >= 2, "the demo alerts notify the IOC operators"
    login(client, "operator")
    assert f'<span class="count">{len(mine)}</span>' in client.get("/alerts").text
    page = client.get("/alerts/notifications")
    assert page.status_code == 200 and f'id="note-{mine[0]}"' in page.text

    ids = [mine[0]] + ([others] if others else [])  # someone else's id is ignored
    done = post_form(client, "/alerts/notifications", "/alerts/notifications/read",
                     {"ids": ids})
    assert done.status_code == 303
    assert "Đã đánh dấu đã đọc 1 thông báo" in client.get("/alerts/notifications").text
    with demo_ctx.db.session() as session:
        assert session.get(InAppNotification, mine[0]).read_at is not None  # type: ignore[union-attr]
        if others:
            assert session.get(InAppNotification, others).read_at is None  # type: ignore[union-attr]
    assert post_form(client, "/alerts/notifications", "/alerts/notifications/read",
                     {}).status_code == 303
    assert 'class="count"' not in client.get("/alerts/notifications").text
