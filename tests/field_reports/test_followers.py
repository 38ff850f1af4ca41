"""Following a report by e-mail: request, confirmation link, e-mails on public changes only,
unsubscribe with a signed token, refusals and rate limit, and no address in public output."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import csrf_of, tampered
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_portal_helpers import LATER, OFFICER, open_portal_client
from test_routing_helpers import RURAL, new_report, uow_as

from cityops.alerts.notification_models import Delivery
from cityops.kernel.context import AppContext
from cityops.services.field_reports import abuse, followers, staff_tools, workflow
from cityops.services.field_reports.models import Follower

EMAIL = "theodoi.zq@example.vn"
LINK = re.compile(r"/phan-anh/theo-doi/(xac-nhan|huy)\?t=(\S+)")


@pytest.fixture
def portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    with open_portal_client(demo_ctx, tmp_path) as client:
        yield client


def _follow(client: TestClient, code: str, email: str = EMAIL):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(f"/phan-anh/{code}").text)
    return client.post(f"/phan-anh/{code}/theo-doi", data={"email": email, "csrf_token": token},
                       follow_redirects=False)


def _mails(ctx: AppContext, email: str = EMAIL) -> list[Delivery]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Delivery).where(
            Delivery.reason == followers.REASON, Delivery.target == email).order_by(Delivery.id)))


def _link(mail: Delivery, action: str) -> str:
    found = [m for m in LINK.finditer(mail.body) if m.group(1) == action]
    assert found, mail.body
    return found[-1].group(2)


def _use_link(client: TestClient, action: str, token: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/phan-anh/theo-doi/{action}", params={"t": token})
    assert page.status_code == 200, page.text
    return client.post(f"/phan-anh/theo-doi/{action}",
                       data={"t": token, "csrf_token": csrf_of(page.text)})


def _update(ctx: AppContext, rid: int, text: str, *, public: bool = True) -> None:
    with uow_as(ctx, "operator") as uow:
        staff_tools.add_note(uow, rid, text, public=public, now=LATER)
        uow.commit()


def test_follow_confirm_notify_and_unsubscribe(portal_client: TestClient,
                                               demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx, category="garbage", area=RURAL)
    assert 'id="follow-form"' in portal_client.get(f"/phan-anh/{report.code}").text
    asked = _follow(portal_client, report.code, " TheoDoi.ZQ@example.vn ")
    assert asked.status_code == 303 and "theo-doi=1" in asked.headers["location"]
    [confirm_mail] = _mails(demo_ctx)
    _update(demo_ctx, report.id, "Cập nhật trước khi xác nhận")
    assert len(_mails(demo_ctx)) == 1  # nothing is sent before the address is confirmed
    done = _use_link(portal_client, "xac-nhan", _link(confirm_mail, "xac-nhan"))
    assert done.status_code == 200 and 'id="follow-done"' in done.text

    _update(demo_ctx, report.id, "Đội vệ sinh sẽ đến trong ngày")
    _update(demo_ctx, report.id, "GHI-CHU-NOI-BO-FOLLOW", public=False)
    mails = _mails(demo_ctx)
    assert len(mails) == 2 and "Đội vệ sinh sẽ đến trong ngày" in mails[-1].body
    assert all("GHI-CHU-NOI-BO-FOLLOW" not in m.body for m in mails)
    with uow_as(demo_ctx, "operator") as uow:
        workflow.transition(uow, report.id, "verified", now=LATER)
        workflow.assign(uow, report.id, now=LATER)
        uow.commit()
    with uow_as(demo_ctx, OFFICER) as uow:
        workflow.transition(uow, report.id, "in_progress", now=LATER)
        workflow.transition(uow, report.id, "resolved", now=LATER, reason="Đã dọn sạch rác")
        uow.commit()
    before_approval = len(_mails(demo_ctx))
    assert before_approval >= 5  # verified, assigned, in progress, resolved
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.approve_result(uow, report.id, now=LATER)
        uow.commit()
    published = _mails(demo_ctx)[-1]
    assert len(_mails(demo_ctx)) == before_approval + 1
    assert "Đã dọn sạch rác" in published.body and f"/phan-anh/{report.code}" in published.body

    for path in ("/phan-anh/danh-sach", f"/phan-anh/{report.code}",
                 f"/phan-anh/feed/{report.code}.atom", f"/phan-anh/feed/xa/{RURAL}.atom"):
        assert EMAIL not in portal_client.get(path).text.lower(), path

    stopped = _use_link(portal_client, "huy", _link(published, "huy"))
    assert stopped.status_code == 200 and 'id="follow-done"' in stopped.text
    count = len(_mails(demo_ctx))
    with uow_as(demo_ctx, "operator") as uow:
        workflow.transition(uow, report.id, "closed", now=LATER)
        uow.commit()
    assert len(_mails(demo_ctx)) == count  # unsubscribed: no more e-mail


def test_links_are_checked(portal_client: TestClient, demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx, category="garbage", area=RURAL)
    assert _follow(portal_client, report.code).status_code == 303
    first = _link(_mails(demo_ctx)[-1], "xac-nhan")
    for token in ("not-a-token", tampered(first)):
        bad = portal_client.get("/phan-anh/theo-doi/xac-nhan", params={"t": token})
        assert bad.status_code == 400 and 'id="follow-error"' in bad.text
    # A confirm token is no unsubscribe token, and a new request revokes the older links.
    assert portal_client.get("/phan-anh/theo-doi/huy", params={"t": first}).status_code == 400
    assert _follow(portal_client, report.code).status_code == 303
    assert portal_client.get("/phan-anh/theo-doi/xac-nhan",
                             params={"t": first}).status_code == 400
    assert _use_link(portal_client, "xac-nhan",
                     _link(_mails(demo_ctx)[-1], "xac-nhan")).status_code == 200
    assert portal_client.get("/phan-anh/theo-doi/khac", params={"t": first}).status_code == 404
    page = portal_client.get("/phan-anh/theo-doi/huy", params={"t": "x"})
    no_csrf = portal_client.post("/phan-anh/theo-doi/huy", data={"t": "x"})
    assert page.status_code == 400 and no_csrf.status_code in (400, 403)


def test_bad_address_hidden_report_and_rate_limit(portal_client: TestClient,
                                                 demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx, category="garbage", area=RURAL)
    refused = _follow(portal_client, report.code, "khong-phai-email")
    assert refused.status_code == 400 and "e-mail hợp lệ" in refused.text
    with demo_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Follower)) == 0
    most = abuse.FOLLOW_LIMITS[0][1]
    for n in range(most):
        assert _follow(portal_client, report.code, f"nguoi{n}@example.vn").status_code == 303
    limited = _follow(portal_client, report.code, "thua@example.vn")
    assert limited.status_code == 400 and 'id="follow-error"' in limited.text
    assert _mails(demo_ctx, "thua@example.vn") == []
    hidden = new_report(demo_ctx, category="garbage", area=RURAL)
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.moderate(uow, hidden.id, now=LATER, reason="spam", hidden=True)
        uow.commit()
    token = csrf_of(portal_client.get(f"/phan-anh/{report.code}").text)
    gone = portal_client.post(f"/phan-anh/{hidden.code}/theo-doi",
                              data={"email": EMAIL, "csrf_token": token})
    assert gone.status_code == 404
