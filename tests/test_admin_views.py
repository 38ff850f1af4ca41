"""Administration pages, driven like a browser: real login form, CSRF tokens from the HTML."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import DEMO_PASSWORD, browser_login, csrf_of, post_form
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityops.kernel.audit import AuditLog
from cityops.kernel.auth import User, verify_password
from cityops.kernel.calendar import CalendarException
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency, Area, agency_by_code, area_by_code


def login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> None:
    browser_login(client, username, password)


def agency_id(ctx: AppContext, code: str) -> int:
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, code)
        assert agency is not None
        return agency.id


def user_by_name(ctx: AppContext, username: str) -> User | None:
    with ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is not None:
            uow.session.expunge(user)
        return user


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    login(client, "admin")
    return client


NEW_USER = {"username": "hoa.nguyen", "full_name": "Nguyễn Thị Hoà",
            "email": "hoa.nguyen@daklak.gov.vn", "roles": ["officer"], "password": "mat-khau-123"}


# -- access ---------------------------------------------------------------------------------

def test_officer_is_refused(client: TestClient) -> None:
    login(client, "so-yt")
    for path in ("/admin", "/admin/users", "/admin/agencies", "/admin/areas", "/admin/calendar"):
        assert client.get(path).status_code == 403, path
    assert "/admin" not in client.get("/overview").text  # no menu entry either


def test_anonymous_browser_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/admin/users", headers={"Accept": "text/html"},
                          follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_unknown_ids_are_404(admin: TestClient) -> None:
    for path in ("/admin/users/999999", "/admin/agencies/999999", "/admin/areas/999999"):
        assert admin.get(path).status_code == 404, path


# -- users ----------------------------------------------------------------------------------

def test_admin_creates_a_user_and_it_is_audited(admin: TestClient, demo_ctx: AppContext) -> None:
    data = {**NEW_USER, "agency_id": agency_id(demo_ctx, "SO-YT")}
    response = post_form(admin, "/admin/users/new", "/admin/users", data)
    assert response.status_code == 303, response.text
    page = admin.get(response.headers["location"])
    assert "Đã tạo người dùng hoa.nguyen." in page.text

    user = user_by_name(demo_ctx, "hoa.nguyen")
    assert user is not None and user.full_name == "Nguyễn Thị Hoà" and user.is_active
    assert user.roles == {"officer"} and user.agency_id == agency_id(demo_ctx, "SO-YT")
    with demo_ctx.uow() as uow:
        actor, after = uow.session.execute(select(AuditLog.actor, AuditLog.after).where(
            AuditLog.object_type == "users", AuditLog.action == "create",
            AuditLog.object_id == str(user.id))).one()
    assert actor == "admin" and after["username"] == "hoa.nguyen"
    assert after["password_hash"] == "***"

    login(admin, "hoa.nguyen", "mat-khau-123")  # the new account works


def test_missing_or_wrong_csrf_is_refused_and_changes_nothing(admin: TestClient,
                                                              demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(AuditLog))
    assert admin.post("/admin/users", data=NEW_USER).status_code == 403
    assert admin.post("/admin/users", data={**NEW_USER, "csrf_token": "forged"}).status_code \
        == 403
    assert user_by_name(demo_ctx, "hoa.nguyen") is None
    with demo_ctx.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == before


def test_duplicate_username_is_refused_clearly(admin: TestClient, demo_ctx: AppContext) -> None:
    response = post_form(admin, "/admin/users/new", "/admin/users",
                         {**NEW_USER, "username": "Operator"})
    assert response.status_code == 400
    assert "Tên đăng nhập operator đã có người sử dụng." in response.text
    assert 'value="Nguyễn Thị Hoà"' in response.text  # the form keeps what was typed
    assert user_by_name(demo_ctx, "operator").full_name.startswith("Nguyễn Văn An")


def test_bad_user_fields_are_explained(admin: TestClient, demo_ctx: AppContext) -> None:
    response = post_form(admin, "/admin/users/new", "/admin/users",
                         {**NEW_USER, "password": "short", "roles": []})
    assert response.status_code == 400
    assert "Mật khẩu phải có ít nhất 8 ký tự." in response.text
    assert "Chọn ít nhất một vai trò." in response.text
    response = post_form(admin, "/admin/users/new", "/admin/users", NEW_USER)  # no agency
    assert response.status_code == 400 and "Cán bộ cơ quan" in response.text
    assert user_by_name(demo_ctx, "hoa.nguyen") is None


def test_user_search_ignores_accents_and_case(admin: TestClient) -> None:
    page = admin.get("/admin/users", params={"q": "NGUYEN VAN AN"})
    assert page.status_code == 200 and ">operator</a>" in page.text
    assert ">leader</a>" not in page.text
    fragment = admin.get("/admin/users", params={"q": "tran thi binh"},
                         headers={"HX-Request": "true"})
    assert ">leader</a>" in fragment.text and "<html" not in fragment.text


def test_user_list_is_paginated(admin: TestClient) -> None:
    first = admin.get("/admin/users")
    assert 'rel="next"' in first.text and "trang 1/" in first.text
    second = admin.get("/admin/users", params={"page": 2})
    assert 'rel="prev"' in second.text and "trang 2/" in second.text


def test_admin_edits_a_user_and_deactivation_revokes_tokens(admin: TestClient,
                                                            demo_ctx: AppContext) -> None:
    target = user_by_name(demo_ctx, "leader")
    response = post_form(admin, f"/admin/users/{target.id}", f"/admin/users/{target.id}",
                         {"full_name": "Trần Thị Bình", "email": "binh@daklak.gov.vn",
                          "agency_id": agency_id(demo_ctx, "UBND-TINH"), "roles": ["leader"]})
    assert response.status_code == 303, response.text
    changed = user_by_name(demo_ctx, "leader")
    assert not changed.is_active and changed.email == "binh@daklak.gov.vn"
    assert changed.token_version == target.token_version + 1


def test_admin_cannot_lock_themselves_out(admin: TestClient, demo_ctx: AppContext) -> None:
    me = user_by_name(demo_ctx, "admin")
    fields = {"full_name": me.full_name, "agency_id": me.agency_id or "", "roles": ["admin"]}
    response = post_form(admin, f"/admin/users/{me.id}", f"/admin/users/{me.id}", fields)
    assert response.status_code == 400
    assert "Bạn không thể vô hiệu hóa tài khoản của chính mình." in response.text
    response = post_form(admin, f"/admin/users/{me.id}", f"/admin/users/{me.id}",
                         {**fields, "roles": ["operator"], "is_active": "true"})
    assert response.status_code == 400
    assert "Bạn không thể tự bỏ quyền quản lý người dùng" in response.text
    me_now = user_by_name(demo_ctx, "admin")
    assert me_now.is_active and me_now.roles == {"admin"}


def test_password_reset(admin: TestClient, demo_ctx: AppContext) -> None:
    target = user_by_name(demo_ctx, "operator")
    path = f"/admin/users/{target.id}"
    assert post_form(admin, path, path + "/password", {"password": "short"}).status_code == 400
    response = post_form(admin, path, path + "/password", {"password": "mat-khau-moi-1"})
    assert response.status_code == 303
    assert verify_password(user_by_name(demo_ctx, "operator").password_hash, "mat-khau-moi-1")


# -- agencies -------------------------------------------------------------------------------

def test_agency_parent_cycle_is_refused(admin: TestClient, demo_ctx: AppContext) -> None:
    root, child = agency_id(demo_ctx, "UBND-TINH"), agency_id(demo_ctx, "VP-UBND-TINH")
    grandchild = agency_id(demo_ctx, "TTPVHCC-TINH")
    path = f"/admin/agencies/{root}"
    for parent in (root, child, grandchild):
        response = post_form(admin, path, path, {"name": "Ủy ban nhân dân tỉnh Đắk Lắk",
                                                 "parent_id": parent})
        assert response.status_code == 400, parent
        assert "Không thể đặt cơ quan trực thuộc chính nó" in response.text
    with demo_ctx.uow() as uow:
        assert uow.session.get(Agency, root).parent_id is None


def test_agency_edit_create_and_search(admin: TestClient, demo_ctx: AppContext) -> None:
    so_yt = agency_id(demo_ctx, "SO-YT")
    path = f"/admin/agencies/{so_yt}"
    response = post_form(admin, path, path, {
        "name": "Sở Y tế tỉnh Đắk Lắk", "name_en": "Department of Health",
        "email": "syt@daklak.gov.vn", "phone": "0262 3852 000",
        "parent_id": agency_id(demo_ctx, "UBND-TINH")})
    assert response.status_code == 303, response.text
    with demo_ctx.uow() as uow:
        agency = uow.session.get(Agency, so_yt)
        assert agency.phone == "0262 3852 000" and agency.name_en == "Department of Health"
        assert uow.session.scalar(select(AuditLog).where(
            AuditLog.object_type == "agencies", AuditLog.action == "update",
            AuditLog.object_id == str(so_yt))) is not None

    response = post_form(admin, "/admin/agencies/new", "/admin/agencies", {
        "code": "so-thu", "name": "Sở Thử nghiệm", "kind": "department",
        "parent_id": agency_id(demo_ctx, "UBND-TINH")})
    assert response.status_code == 303, response.text
    duplicate = post_form(admin, "/admin/agencies/new", "/admin/agencies", {
        "code": "SO-THU", "name": "Sở khác", "kind": "department"})
    assert duplicate.status_code == 400 and "Mã SO-THU đã được" in duplicate.text

    found = admin.get("/admin/agencies", params={"q": "so thu nghiem"})
    assert ">SO-THU</a>" in found.text
    police = admin.get("/admin/agencies", params={"kind": "police"})
    assert ">SO-YT</a>" not in police.text and "Công an" in police.text


# -- areas ----------------------------------------------------------------------------------

def test_area_search_ignores_accents(admin: TestClient) -> None:
    page = admin.get("/admin/areas", params={"q": "buon ma thuot"})
    assert page.status_code == 200
    assert "Phường Buôn Ma Thuột" in page.text and ">24133</a>" in page.text
    assert "Phường Tân An" not in page.text
    fragment = admin.get("/admin/areas", params={"q": "BUÔN MA"}, headers={"HX-Request": "true"})
    assert "Phường Buôn Ma Thuột" in fragment.text and "<html" not in fragment.text


def test_area_validity_is_checked(admin: TestClient, demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow:
        area_id = area_by_code(uow.session, "24133").id
    path = f"/admin/areas/{area_id}"
    response = post_form(admin, path, path, {"valid_from": "2025-07-01",
                                             "valid_to": "2025-06-30"})
    assert response.status_code == 400
    assert "Ngày hết hiệu lực không được trước ngày bắt đầu hiệu lực." in response.text
    response = post_form(admin, path, path, {"valid_from": "2025-07-01",
                                             "valid_to": "2030-01-01"})
    assert response.status_code == 303
    with demo_ctx.uow() as uow:
        assert uow.session.get(Area, area_id).valid_to == date(2030, 1, 1)


# -- working calendar -----------------------------------------------------------------------

def test_calendar_exception_add_and_remove(admin: TestClient, demo_ctx: AppContext) -> None:
    form = "/admin/calendar?year=2025"
    added = post_form(admin, form, "/admin/calendar",
                      {"day": "2025-03-05", "kind": "day_off", "note": "Bão"})
    assert added.status_code == 303
    page = admin.get(added.headers["location"])
    assert 'data-day="2025-03-05"' in page.text and "Bão" in page.text
    assert "Thứ Tư 05/03/2025" in page.text  # now among the weekdays off

    again = post_form(admin, form, "/admin/calendar", {"day": "2025-03-05", "kind": "day_off"})
    assert again.status_code == 400 and "Đã có ngoại lệ cho ngày 05/03/2025." in again.text
    weekday = post_form(admin, form, "/admin/calendar",
                        {"day": "2025-03-06", "kind": "working_day"})
    assert weekday.status_code == 400 and "là ngày làm việc bình thường" in weekday.text

    removed = post_form(admin, form, "/admin/calendar/remove", {"day": "2025-03-05"})
    assert removed.status_code == 303
    assert 'data-day="2025-03-05"' not in admin.get(removed.headers["location"]).text
    with demo_ctx.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CalendarException)) == 0
    assert post_form(admin, form, "/admin/calendar/remove",
                     {"day": "2025-03-05"}).status_code == 404


def test_admin_pages_render_in_english(admin: TestClient) -> None:
    token = csrf_of(admin.get("/admin").text)
    admin.post("/lang", data={"language": "en", "next": "/admin", "csrf_token": token})
    for path, text in (("/admin", "Working calendar"), ("/admin/users", "Full name"),
                       ("/admin/agencies", "Parent agency"), ("/admin/areas", "Valid from"),
                       ("/admin/calendar?year=2025", "Weekend days worked in 2025")):
        page = admin.get(path)
        assert page.status_code == 200 and text in page.text, path
