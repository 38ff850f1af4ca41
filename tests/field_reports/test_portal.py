"""The citizen portal: submitting with photos and the challenge, nearby reports, refusals."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from test_media import GPS_IFD, jpeg_with_gps, png_bytes
from test_portal_helpers import open_portal_client, submit
from test_routing_helpers import BMT_WARD, NOW, RURAL, new_report, point_in

from cityops.kernel.context import AppContext
from cityops.services.field_reports.manifest import manifest
from cityops.services.field_reports.models import Ban, Media, Report


@pytest.fixture
def portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    with open_portal_client(demo_ctx, tmp_path) as client:
        yield client


def _count(ctx: AppContext, model: type) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _point(ctx: AppContext, area: str = RURAL) -> dict[str, str]:
    lat, lon = point_in(ctx, area)
    return {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}


def test_form_is_vietnamese_with_map_categories_and_challenge(portal_client: TestClient) -> None:
    page = portal_client.get("/phan-anh")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text and "Gửi phản ánh" in page.text
    assert 'id="pick-map"' in page.text and "/static/vendor/leaflet/leaflet.js" in page.text
    assert "Rác thải, vệ sinh môi trường" in page.text  # a category, in Vietnamese
    assert 'name="challenge_token"' in page.text and 'type="file" name="photos"' in page.text
    boundaries = portal_client.get("/phan-anh/xa.geojson").json()
    assert len(boundaries["features"]) == 102


def test_category_fragment_shows_notice_and_questions(portal_client: TestClient) -> None:
    fragment = portal_client.get("/phan-anh/linh-vuc", params={"category": "pothole"})
    assert fragment.status_code == 200
    assert "hãy gọi 1022" in fragment.text  # the category notice
    assert 'name="q_size"' in fragment.text and "Nhỏ (dưới 30 cm)" in fragment.text
    assert portal_client.get("/phan-anh/linh-vuc", params={"category": "nope"}).text.strip() == ""


def test_submit_with_photo_gives_tracking_code_and_strips_gps(
        portal_client: TestClient, demo_ctx: AppContext) -> None:
    photo = ("IMG_2001.jpg", jpeg_with_gps(), "image/jpeg")
    answer = submit(portal_client, {
        "category": "pothole", **_point(demo_ctx), "description": "Ổ gà lớn giữa đường",
        "q_size": "large", "contact_phone": "0905 111 222", "contact_name": "Lan",
        "show_name": "1"}, files=[("photos", photo)])
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    code = location.split("/")[2].split("?")[0]
    page = portal_client.get(location)
    assert page.status_code == 200 and code in page.text
    assert "Ổ gà lớn giữa đường" in page.text and "Lan" in page.text  # chose to show the name
    with demo_ctx.db.session() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        assert report.channel == "portal" and report.contact_phone == "0905111222"
        assert report.attributes == {"size": "large"} and report.area is not None
        assert report.recorded_by == "" and report.client_addr == "testclient"
        stored = session.scalars(select(Media).where(Media.report_id == report.id)).all()
        assert len(stored) == 1 and stored[0].content_type == "image/jpeg"
        name, thumb = stored[0].stored_name, stored[0].thumbnail_name
    served = portal_client.get(f"/phan-anh/anh/{name}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    cleaned = Image.open(io.BytesIO(served.content))
    assert not cleaned.getexif().get_ifd(GPS_IFD) and len(cleaned.getexif()) == 0
    assert portal_client.get(f"/phan-anh/anh/{thumb}").status_code == 200
    assert "IMG_2001" not in name


def test_wrong_challenge_is_refused_and_nothing_stored(portal_client: TestClient,
                                                       demo_ctx: AppContext) -> None:
    before = _count(demo_ctx, Report)
    answer = submit(portal_client, {"category": "garbage", **_point(demo_ctx),
                                    "description": "Rác", "contact_phone": "0905111222"},
                    answer="999")
    assert answer.status_code == 400
    assert "Câu trả lời cho câu hỏi kiểm tra chưa đúng" in answer.text
    assert 'value="Rác"' not in answer.text and ">Rác</textarea>" in answer.text  # kept
    forged = portal_client.post("/phan-anh", data={
        "csrf_token": "x", "category": "garbage", "description": "Rác"})
    assert forged.status_code == 403  # no CSRF token from this session
    assert _count(demo_ctx, Report) == before


def test_png_renamed_jpg_is_refused_with_its_name(portal_client: TestClient,
                                                  demo_ctx: AppContext, tmp_path: Path) -> None:
    before = _count(demo_ctx, Report)
    answer = submit(portal_client, {
        "category": "garbage", **_point(demo_ctx), "description": "Rác đổ trộm",
        "contact_email": "dan@example.vn"},
        files=[("photos", ("good.jpg", jpeg_with_gps(), "image/jpeg")),
               ("photos", ("holiday.jpg", png_bytes(), "image/jpeg"))])
    assert answer.status_code == 400
    assert "holiday.jpg: Tên hoặc loại tệp không khớp với nội dung" in answer.text
    assert _count(demo_ctx, Report) == before and _count(demo_ctx, Media) == 0
    media_dir = tmp_path / "media" / "field_reports"
    assert not media_dir.exists() or not any(media_dir.iterdir())


def test_non_image_and_too_many_photos_are_refused(portal_client: TestClient,
                                                   demo_ctx: AppContext) -> None:
    base = {"category": "garbage", **_point(demo_ctx), "description": "Rác",
            "contact_phone": "0905111222"}
    answer = submit(portal_client, base,
                    files=[("photos", ("note.txt", b"just some text", "text/plain"))])
    assert answer.status_code == 400 and "note.txt: Tệp không phải là ảnh" in answer.text
    six = [("photos", (f"p{i}.jpg", jpeg_with_gps(), "image/jpeg")) for i in range(6)]
    answer = submit(portal_client, base, files=six)
    assert answer.status_code == 400 and "Tối đa 5 ảnh cho mỗi phản ánh" in answer.text
    assert _count(demo_ctx, Report) == 0


def test_missing_contact_and_place_are_refused(portal_client: TestClient,
                                               demo_ctx: AppContext) -> None:
    no_contact = submit(portal_client, {"category": "garbage", **_point(demo_ctx),
                                        "description": "Rác"})
    assert no_contact.status_code == 400
    assert "Hãy cho biết số điện thoại hoặc địa chỉ e-mail" in no_contact.text
    no_category = submit(portal_client, {"description": "Rác", "contact_phone": "0905111222"})
    assert no_category.status_code == 400 and "Hãy chọn lĩnh vực" in no_category.text
    bad_point = submit(portal_client, {"category": "garbage", "lat": "abc", "lon": "1",
                                       "description": "Rác", "contact_phone": "0905111222"})
    assert bad_point.status_code == 400 and "Vị trí trên bản đồ không hợp lệ" in bad_point.text
    assert _count(demo_ctx, Report) == 0


def test_commune_instead_of_point(portal_client: TestClient, demo_ctx: AppContext) -> None:
    answer = submit(portal_client, {"category": "garbage", "area_code": BMT_WARD,
                                    "description": "Rác ở chợ", "contact_phone": "0905111222"})
    assert answer.status_code == 303
    with demo_ctx.db.session() as session:
        report = session.scalar(select(Report))
        assert report is not None and report.area.code == BMT_WARD and report.lat is None


def test_banned_contact_is_refused(portal_client: TestClient, demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow:
        uow.session.add(Ban(kind="phone", value="0905999000", reason="spam"))
        uow.commit()
    answer = submit(portal_client, {"category": "garbage", **_point(demo_ctx),
                                    "description": "Rác", "contact_phone": "0905 999 000"})
    assert answer.status_code == 400 and "1022" in answer.text
    assert _count(demo_ctx, Report) == 0


def test_nearby_open_reports_can_be_followed(portal_client: TestClient,
                                             demo_ctx: AppContext) -> None:
    existing = new_report(demo_ctx, category="garbage", area=RURAL)
    near = _point(demo_ctx)
    fragment = portal_client.get("/phan-anh/gan-day", params={"category": "garbage", **near})
    assert existing.code in fragment.text
    # "Follow this report" opens the report's follow-by-e-mail form (test_followers.py).
    assert f'href="/phan-anh/{existing.code}#theo-doi"' in fragment.text
    assert "Theo dõi phản ánh này" in fragment.text
    assert 'id="theo-doi"' in portal_client.get(f"/phan-anh/{existing.code}").text
    # Who will receive it: the commune committee handles rural garbage.
    assert "sẽ được chuyển đến Ủy ban nhân dân xã Tuy An Bắc" in fragment.text
    outside = portal_client.get("/phan-anh/gan-day", params={
        "category": "garbage", "lat": "10.77", "lon": "106.70"})  # Hồ Chí Minh City
    assert "nằm ngoài tỉnh Đắk Lắk" in outside.text
    other = portal_client.get("/phan-anh/gan-day", params={"category": "pothole", **near})
    assert existing.code not in other.text
    assert portal_client.get("/phan-anh/gan-day", params={
        "category": "garbage", "lat": "x", "lon": "y"}).status_code == 200
    followed = portal_client.get(f"/phan-anh/feed/{existing.code}.atom")
    assert followed.status_code == 200 and existing.code in followed.text


def test_overview_tiles_count_open_and_overdue(demo_ctx: AppContext) -> None:
    tiles = {tile.key: tile for tile in manifest.tiles}
    new_report(demo_ctx, now=NOW)
    new_report(demo_ctx, now=NOW + timedelta(days=20))
    demo_ctx.clock = lambda: NOW + timedelta(days=21)
    assert tiles["open"].compute(demo_ctx) == 2
    assert tiles["overdue"].compute(demo_ctx) == 1
