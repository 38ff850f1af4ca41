"""Public pages: list and filters, report page, lookup, rating with proof, photos, privacy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_media import jpeg_with_gps
from test_portal_helpers import (
    LATER,
    SECRET_EMAIL,
    SECRET_NAME,
    SECRET_NOTE,
    SECRET_PHONE,
    open_portal_client,
    resolved_and_published,
)
from test_routing_helpers import BMT_WARD, RURAL, new_report, reload, uow_as

from cityops.kernel.audit import AuditLog
from cityops.kernel.context import AppContext
from cityops.services.field_reports import media, staff_tools, workflow
from cityops.services.field_reports.models import Report

SECRETS = (SECRET_NAME, SECRET_PHONE, SECRET_EMAIL, SECRET_NOTE, "0912 777 888")


@pytest.fixture
def portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    with open_portal_client(demo_ctx, tmp_path) as client:
        yield client


def _public_outputs(client: TestClient, code: str) -> dict[str, str]:
    return {path: client.get(path).text for path in (
        "/phan-anh/danh-sach", f"/phan-anh/danh-sach?area={RURAL}", f"/phan-anh/{code}",
        "/phan-anh/danh-sach?category=garbage&state=resolved",
        f"/phan-anh/feed/xa/{RURAL}.atom", "/phan-anh/feed/linh-vuc/garbage.atom",
        f"/phan-anh/feed/{code}.atom")}


def test_no_contact_hidden_name_or_internal_note_in_public_output(
        portal_client: TestClient, demo_ctx: AppContext) -> None:
    # show_name is on, then a moderator hides the name: it must disappear everywhere.
    rid = resolved_and_published(demo_ctx, show_name=True)
    code = reload(demo_ctx, rid).code
    assert SECRET_NAME in portal_client.get(f"/phan-anh/{code}").text  # shown while allowed
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.moderate(uow, rid, now=LATER, reason="tên riêng", hide_name=True)
        uow.commit()
    outputs = _public_outputs(portal_client, code)
    for path, text in outputs.items():
        assert code in text, path  # the report itself is there…
        for secret in SECRETS:
            assert secret not in text, (path, secret)  # …its private fields are not
    assert "Đã thu gom rác sạch sẽ" in outputs[f"/phan-anh/{code}"]  # the published result


def test_private_category_and_hidden_report_are_not_public(portal_client: TestClient,
                                                           demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx, category="garbage", area=RURAL)
    assert portal_client.get(f"/phan-anh/{report.code}").status_code == 200
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.moderate(uow, report.id, now=LATER, reason="spam", hidden=True)
        uow.commit()
    assert portal_client.get(f"/phan-anh/{report.code}").status_code == 404
    assert report.code not in portal_client.get("/phan-anh/danh-sach").text
    assert report.code not in portal_client.get("/phan-anh/feed/linh-vuc/garbage.atom").text
    missing = portal_client.get("/phan-anh/tra-cuu", params={"code": report.code})
    assert missing.status_code == 404 and "Không có phản ánh công khai" in missing.text


def test_list_filters_by_commune_category_state_and_period(portal_client: TestClient,
                                                           demo_ctx: AppContext) -> None:
    rural = new_report(demo_ctx, category="garbage", area=RURAL)
    ward = new_report(demo_ctx, category="pothole", area=BMT_WARD, attributes={"size": "small"})
    page = portal_client.get("/phan-anh/danh-sach")
    assert rural.code in page.text and ward.code in page.text and 'id="list-map"' in page.text
    by_area = portal_client.get("/phan-anh/danh-sach", params={"area": RURAL}).text
    assert rural.code in by_area and ward.code not in by_area
    by_category = portal_client.get("/phan-anh/danh-sach", params={"category": "pothole"}).text
    assert ward.code in by_category and rural.code not in by_category
    by_state = portal_client.get("/phan-anh/danh-sach", params={"state": "resolved"}).text
    assert rural.code not in by_state
    day = (rural.created_at + timedelta(hours=7)).date().isoformat()  # local day of NOW
    in_period = portal_client.get("/phan-anh/danh-sach", params={"since": day, "until": day})
    assert rural.code in in_period.text
    after = portal_client.get("/phan-anh/danh-sach", params={"since": "2030-01-01"}).text
    assert rural.code not in after


def test_lookup_accepts_typed_codes(portal_client: TestClient, demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx)
    typed = report.code.replace("-", " ").lower()
    found = portal_client.get("/phan-anh/tra-cuu", params={"code": typed},
                              follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/phan-anh/{report.code}"
    assert portal_client.get("/phan-anh/tra-cuu").status_code == 200
    assert portal_client.get("/phan-anh/ZZZZ-ZZZZ").status_code == 404


def _rate(client: TestClient, code: str, **data: str):  # type: ignore[no-untyped-def]
    from conftest import csrf_of

    token = csrf_of(client.get(f"/phan-anh/{code}").text)
    return client.post(f"/phan-anh/{code}/danh-gia", data={**data, "csrf_token": token},
                       follow_redirects=False)


def test_rating_needs_the_contact_as_proof(portal_client: TestClient,
                                          demo_ctx: AppContext) -> None:
    rid = resolved_and_published(demo_ctx)
    code = reload(demo_ctx, rid).code
    demo_ctx.clock = lambda: LATER + timedelta(days=1)
    wrong = _rate(portal_client, code, contact="0900000000", rating="5")
    assert wrong.status_code == 403 and "không khớp" in wrong.text
    assert reload(demo_ctx, rid).rating is None
    bad = _rate(portal_client, code, contact=SECRET_EMAIL, rating="9")
    assert bad.status_code == 400 and reload(demo_ctx, rid).rating is None
    with demo_ctx.db.session() as session:  # the wrong proof is audited
        assert session.scalar(select(AuditLog).where(
            AuditLog.action == "field_report.contact_proof_failed",
            AuditLog.object_id == code)) is not None
    good = _rate(portal_client, code, contact="0912 777 888", rating="5", comment="Rất tốt")
    assert good.status_code == 303
    report = reload(demo_ctx, rid)
    assert report.rating == 5 and report.state == "resolved"
    assert "Đánh giá của người dân: 5 / 5" in portal_client.get(f"/phan-anh/{code}").text


def test_low_rating_within_the_period_reopens(portal_client: TestClient,
                                             demo_ctx: AppContext) -> None:
    rid = resolved_and_published(demo_ctx)
    code = reload(demo_ctx, rid).code
    demo_ctx.clock = lambda: LATER + timedelta(days=3)
    low = _rate(portal_client, code, contact=SECRET_EMAIL.upper(), rating="1",
                comment="Rác vẫn còn")
    assert low.status_code == 303
    report = reload(demo_ctx, rid)
    assert report.state == "in_progress" and report.reopen_count == 1


def test_rating_before_publication_is_refused(portal_client: TestClient,
                                              demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx, contact_email=SECRET_EMAIL)
    page = portal_client.get(f"/phan-anh/{report.code}")
    assert 'id="rating-form"' not in page.text
    refused = _rate(portal_client, report.code, contact=SECRET_EMAIL, rating="4")
    assert refused.status_code == 400 and reload(demo_ctx, report.id).rating is None


def test_hidden_redacted_and_unpublished_photos(portal_client: TestClient, demo_ctx: AppContext,
                                                tmp_path: Path) -> None:
    media_dir = tmp_path / "media"
    rid = new_report(demo_ctx).id
    photo = media.process_photo(jpeg_with_gps(200, 100), "a.jpg")
    with demo_ctx.uow() as uow:
        report = uow.session.get(Report, rid)
        assert report is not None
        media.store_photos(uow, report, [photo], media_dir=media_dir)
        media.store_photos(uow, report, [photo], media_dir=media_dir, kind="after")
        uow.commit()
    with demo_ctx.db.session() as session:
        report = session.get(Report, rid)
        assert report is not None
        before, after = (m for m in report.media)
        before_id, before_name, after_name = before.id, before.stored_name, after.stored_name
    original = portal_client.get(f"/phan-anh/anh/{before_name}")
    assert original.status_code == 200 and original.content == photo.data
    # An "after" photo waits for the IOC to publish the result.
    assert portal_client.get(f"/phan-anh/anh/{after_name}").status_code == 404
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.moderate_media(uow, before_id, now=LATER, reason="biển số xe", redacted=True)
        uow.commit()
    redacted = portal_client.get(f"/phan-anh/anh/{before_name}")
    assert redacted.status_code == 200 and redacted.content != photo.data
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.moderate_media(uow, before_id, now=LATER, reason="ảnh riêng", hidden=True)
        uow.commit()
    assert portal_client.get(f"/phan-anh/anh/{before_name}").status_code == 404
    assert portal_client.get("/phan-anh/anh/..%2Fetc").status_code == 404


def test_duplicate_points_to_the_original(portal_client: TestClient,
                                          demo_ctx: AppContext) -> None:
    original = new_report(demo_ctx, category="garbage", area=RURAL)
    duplicate = new_report(demo_ctx, category="garbage", area=RURAL)
    with uow_as(demo_ctx, "operator") as uow:
        workflow.merge(uow, duplicate.id, original.code, now=LATER)
        uow.commit()
    page = portal_client.get(f"/phan-anh/{duplicate.code}")
    assert 'id="duplicate-of"' in page.text
    assert f'href="/phan-anh/{original.code}"' in page.text and "Trùng lặp" in page.text


def test_guessing_the_contact_is_stopped(portal_client: TestClient,
                                         demo_ctx: AppContext) -> None:
    rid = resolved_and_published(demo_ctx)
    code = reload(demo_ctx, rid).code
    for guess in range(10):
        assert _rate(portal_client, code, contact=f"09000000{guess:02d}",
                     rating="1").status_code == 403
    blocked = _rate(portal_client, code, contact=SECRET_PHONE, rating="5")
    assert blocked.status_code == 400 and "quá nhiều lần nhập sai" in blocked.text
    assert reload(demo_ctx, rid).rating is None
