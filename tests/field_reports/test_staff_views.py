"""The staff console: queue, report page, every form, permissions and contact privacy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import browser_login, csrf_of
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_media import jpeg_with_gps
from test_portal_helpers import SECRET_EMAIL, SECRET_NAME, SECRET_NOTE, SECRET_PHONE
from test_routing_helpers import BMT_WARD, RURAL, new_report, reload

from cityops.kernel.context import AppContext
from cityops.services.field_reports.models import Media, Moderation, Report

QUEUE = "/field-reports/staff"
RURAL_OFFICER = f"ubnd-{RURAL}"  # leads rural garbage
WARD_OFFICER = f"ubnd-{BMT_WARD}"  # supports BMT garbage (MTDT-DAKLAK leads)
Login = Callable[[str], TestClient]


@pytest.fixture
def staff_app(demo_ctx: AppContext, tmp_path: Path) -> FastAPI:
    from cityops.web.app import create_app

    demo_ctx.settings = demo_ctx.settings.model_copy(update={"media_dir": tmp_path / "media"})
    return create_app(demo_ctx)


@pytest.fixture
def login(staff_app: FastAPI) -> Iterator[Login]:
    clients: list[TestClient] = []

    def open_as(username: str) -> TestClient:
        client = TestClient(staff_app)
        client.__enter__()
        clients.append(client)
        browser_login(client, username, next_path=QUEUE)
        return client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def post(client: TestClient, report_id: int, action: str, data: dict[str, str],
         files: list | None = None):  # type: ignore[no-untyped-def, type-arg]
    token = csrf_of(client.get(f"{QUEUE}/{report_id}").text)
    return client.post(f"{QUEUE}/{report_id}/{action}", data={**data, "csrf_token": token},
                       files=files or [], follow_redirects=False)


def private_report(ctx: AppContext, **fields: object) -> Report:
    return new_report(ctx, contact_name=SECRET_NAME, contact_phone=SECRET_PHONE,
                      contact_email=SECRET_EMAIL, **fields)  # type: ignore[arg-type]


def test_queue_is_scoped_to_the_officers_agency(demo_ctx: AppContext, login: Login) -> None:
    rural = new_report(demo_ctx, area=RURAL, description="Rác ở thôn 3")
    urban = new_report(demo_ctx, area=BMT_WARD, description="Rác ở phường")
    officer = login(RURAL_OFFICER)
    page = officer.get(QUEUE)
    assert page.status_code == 200
    assert rural.code in page.text and urban.code not in page.text
    assert officer.get(f"{QUEUE}/{urban.id}").status_code == 403
    assert officer.get(f"{QUEUE}/{rural.id}").status_code == 200
    # The IOC sees both, and the triage queue filter works.
    operator = login("operator")
    both = operator.get(QUEUE)
    assert rural.code in both.text and urban.code in both.text
    triage = operator.get(QUEUE, params={"triage": "true"})
    assert rural.code not in triage.text
    # Officers get no bulk-assign form; IOC does.
    assert 'id="bulk-form"' in both.text and 'name="report_id"' in both.text
    assert 'name="report_id"' not in page.text


def test_queue_filters_sort_and_refusals(demo_ctx: AppContext, login: Login) -> None:
    first = new_report(demo_ctx, area=RURAL, channel="app")
    second = new_report(demo_ctx, area=RURAL, category="pothole", channel="portal",
                        attributes={"size": "small"})
    operator = login("operator")
    by_channel = operator.get(QUEUE, params={"channel": "portal"})
    assert second.code in by_channel.text and first.code not in by_channel.text
    by_category = operator.get(QUEUE, params={"category": "garbage", "commune": RURAL})
    assert first.code in by_category.text and second.code not in by_category.text
    oldest = operator.get(QUEUE, params={"sort": "oldest"}).text
    assert oldest.index(first.code) < oldest.index(second.code)
    newest = operator.get(QUEUE).text
    assert newest.index(second.code) < newest.index(first.code)
    # Both were received in March 2026: past their deadline by the app's clock.
    assert first.code in operator.get(QUEUE, params={"overdue": "true"}).text
    assert first.code not in operator.get(QUEUE, params={"state": "resolved"}).text
    assert operator.get(QUEUE, params={"state": "nonsense"}).status_code == 400
    assert operator.get(QUEUE, params={"sort": "nonsense"}).status_code == 400


def test_full_handling_through_the_console(demo_ctx: AppContext, login: Login) -> None:
    report = private_report(demo_ctx, area=RURAL)
    operator, officer = login("operator"), login(RURAL_OFFICER)
    page = operator.get(f"{QUEUE}/{report.id}").text
    assert 'id="to-verified"' in page and 'id="to-in_progress"' not in page
    assert post(operator, report.id, "transition", {"to": "verified"}).status_code == 303
    assert post(operator, report.id, "assign", {"agency": ""}).status_code == 303
    assert reload(demo_ctx, report.id).state == "assigned"
    officer_page = officer.get(f"{QUEUE}/{report.id}").text
    assert 'id="to-in_progress"' in officer_page and 'id="assign-form"' not in officer_page
    assert post(officer, report.id, "transition", {"to": "in_progress"}).status_code == 303
    assert post(officer, report.id, "note", {"text": SECRET_NOTE, "public": "0"}).status_code \
        == 303
    done = post(officer, report.id, "transition", {"to": "resolved",
                                                    "reason": "Đã thu gom toàn bộ rác"},
                files=[("photos", ("sau.jpg", jpeg_with_gps(), "image/jpeg"))])
    assert done.status_code == 303
    stored = reload(demo_ctx, report.id)
    assert stored.state == "resolved" and not stored.result_approved
    with demo_ctx.db.session() as session:
        after = session.scalars(select(Media).where(Media.report_id == report.id)).all()
        assert [m.kind for m in after] == ["after"]
    # The officer may not publish; the IOC approves.
    assert 'id="approve-form"' not in officer.get(f"{QUEUE}/{report.id}").text
    assert post(operator, report.id, "approve", {}).status_code == 303
    final = operator.get(f"{QUEUE}/{report.id}").text
    assert reload(demo_ctx, report.id).result_approved
    assert 'data-kind="note"' in final and "Nội bộ" in final and "Công khai" in final
    assert officer.get(f"{QUEUE}/photo/{after[0].id}").status_code == 200


def test_refusals_write_nothing(demo_ctx: AppContext, login: Login) -> None:
    report = new_report(demo_ctx, area=RURAL)
    operator, officer = login("operator"), login(RURAL_OFFICER)
    before = len(reload(demo_ctx, report.id).timeline)
    wrong_state = post(officer, report.id, "transition", {"to": "resolved", "reason": "xong"})
    assert wrong_state.status_code == 409 and 'id="form-error"' in wrong_state.text
    no_reason = post(operator, report.id, "transition", {"to": "rejected", "reason": " "})
    assert no_reason.status_code == 400
    post(operator, report.id, "assign", {"agency": ""})
    no_reason = post(officer, report.id, "transfer", {"agency": "SO-XD", "reason": ""})
    assert no_reason.status_code == 400
    assert reload(demo_ctx, report.id).lead_agency.code == f"UBND-{RURAL}"
    assert len(reload(demo_ctx, report.id).timeline) == before + 1  # only the assignment
    no_csrf = officer.post(f"{QUEUE}/{report.id}/note", data={"text": "x"})
    assert no_csrf.status_code == 403
    # An officer of another agency cannot act, even with a valid token.
    stranger = login("so-xd")
    token = csrf_of(stranger.get(QUEUE).text)
    denied = stranger.post(f"{QUEUE}/{report.id}/note", data={"text": "x", "csrf_token": token})
    assert denied.status_code == 403
    assert len(reload(demo_ctx, report.id).timeline) == before + 1


def test_transfer_merge_and_reopen(demo_ctx: AppContext, login: Login) -> None:
    original = new_report(demo_ctx, area=RURAL)
    copy = new_report(demo_ctx, area=RURAL)
    operator, officer = login("operator"), login(RURAL_OFFICER)
    assert post(operator, copy.id, "merge", {"into": original.code.lower()}).status_code == 303
    assert reload(demo_ctx, copy.id).duplicate_of.code == original.code
    post(operator, original.id, "assign", {"agency": ""})
    moved = post(officer, original.id, "transfer", {"agency": "SO-XD",
                                                     "reason": "Thuộc thẩm quyền Sở"})
    assert moved.status_code == 303
    assert reload(demo_ctx, original.id).lead_agency.code == "SO-XD"
    assert officer.get(f"{QUEUE}/{original.id}").status_code == 403  # no longer theirs
    handler = login("so-xd")
    post(handler, original.id, "transition", {"to": "resolved", "reason": "Đã xử lý"})
    assert post(operator, original.id, "reopen", {"reason": "Người dân báo chưa xong"}
                ).status_code == 303
    stored = reload(demo_ctx, original.id)
    assert stored.state == "in_progress" and stored.reopen_count == 1


def test_moderation_with_history(demo_ctx: AppContext, login: Login) -> None:
    report = private_report(demo_ctx, area=RURAL, show_name=True)
    operator = login("operator")
    answer = post(operator, report.id, "moderate", {
        "description": "Rác tồn đọng (đã biên tập)", "hide_name": "1", "hidden": "",
        "reason": "Bỏ thông tin cá nhân"})
    assert answer.status_code == 303
    stored = reload(demo_ctx, report.id)
    assert stored.name_hidden and stored.description == "Rác tồn đọng (đã biên tập)"
    page = operator.get(f"{QUEUE}/{report.id}").text
    assert 'id="moderation-history"' in page and "Bỏ thông tin cá nhân" in page
    with demo_ctx.db.session() as session:
        assert {m.field for m in session.scalars(select(Moderation))} == {
            "description", "name_hidden"}
    officer = login(RURAL_OFFICER)
    assert 'id="moderate-form"' not in officer.get(f"{QUEUE}/{report.id}").text
    token = csrf_of(officer.get(QUEUE).text)
    assert officer.post(f"{QUEUE}/{report.id}/moderate", data={
        "hidden": "1", "reason": "x", "csrf_token": token}).status_code == 403


def test_contact_details_only_for_those_who_call_back(demo_ctx: AppContext,
                                                      login: Login) -> None:
    rural = private_report(demo_ctx, area=RURAL)
    urban = private_report(demo_ctx, area=BMT_WARD)
    # IOC operators (call-takers) and officers of the lead agency see the contact.
    for username, report in (("operator", rural), (RURAL_OFFICER, rural),
                             ("mtdt-daklak", urban)):
        page = login(username).get(f"{QUEUE}/{report.id}").text
        assert SECRET_PHONE in page and 'id="contact"' in page, username
    # The leader and a supporting agency's officer read the report but never the contact.
    for username, report in (("leader", rural), (WARD_OFFICER, urban)):
        page = login(username).get(f"{QUEUE}/{report.id}").text
        assert report.code in page
        for secret in (SECRET_PHONE, SECRET_EMAIL, SECRET_NAME):
            assert secret not in page, (username, secret)
    # The queue never shows contact details, to anyone.
    for username in ("operator", "leader", RURAL_OFFICER):
        queue = login(username).get(QUEUE).text
        for secret in (SECRET_PHONE, SECRET_EMAIL, SECRET_NAME):
            assert secret not in queue


def test_bulk_assign_all_or_none(demo_ctx: AppContext, login: Login) -> None:
    a, b = new_report(demo_ctx, area=RURAL), new_report(demo_ctx, area=RURAL)
    operator = login("operator")
    token = csrf_of(operator.get(QUEUE).text)
    answer = operator.post(f"{QUEUE}/bulk-assign", data={
        "report_id": [str(a.id), str(b.id)], "agency": "", "csrf_token": token},
        follow_redirects=False)
    assert answer.status_code == 303
    assert {reload(demo_ctx, r.id).state for r in (a, b)} == {"assigned"}
    officer = login(RURAL_OFFICER)
    assert post(officer, a.id, "transition", {"to": "in_progress"}).status_code == 303
    c = new_report(demo_ctx, area=RURAL)
    refused = operator.post(f"{QUEUE}/bulk-assign", data={
        "report_id": [str(c.id), str(a.id)], "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 409
    assert reload(demo_ctx, c.id).state == "received"  # nothing half-written
    token = csrf_of(officer.get(QUEUE).text)
    assert officer.post(f"{QUEUE}/bulk-assign", data={"report_id": [str(c.id)],
                                                      "csrf_token": token}).status_code == 403
