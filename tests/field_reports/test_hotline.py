"""The hotline 1022 intake form: call-takers record reports on behalf of callers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import browser_login, csrf_of
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_media import jpeg_with_gps
from test_portal_helpers import open_portal_client
from test_routing_helpers import RURAL

from cityops.kernel.context import AppContext
from cityops.services.field_reports.models import Media, Report

PATH = "/field-reports/hotline"


@pytest.fixture
def portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    with open_portal_client(demo_ctx, tmp_path) as client:
        yield client


def _post(client: TestClient, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(PATH).text)
    return client.post(PATH, data={**data, "csrf_token": token}, files=files or [],
                       follow_redirects=False)


def test_call_taker_records_a_report_for_a_caller(portal_client: TestClient,
                                                  demo_ctx: AppContext) -> None:
    browser_login(portal_client, "operator", next_path=PATH)
    page = portal_client.get(PATH)
    assert page.status_code == 200 and "Tiếp nhận qua đường dây nóng 1022" in page.text
    assert "Mạng xã hội" in page.text and "Trực tiếp tại trụ sở" in page.text
    answer = _post(portal_client, {
        "channel": "hotline", "contact_name": "Ông Ba", "contact_phone": "0262 3812 345",
        "category": "garbage", "area_code": RURAL, "address": "Thôn 3, gần trường học",
        "description": "Người gọi báo rác tồn đọng 3 ngày", "priority": "high"},
        files=[("photos", ("zalo.jpg", jpeg_with_gps(), "image/jpeg"))])
    assert answer.status_code == 303
    done = portal_client.get(PATH)
    with demo_ctx.db.session() as session:
        report = session.scalar(select(Report))
        assert report is not None
        assert report.code in done.text and 'id="tracking-code"' in done.text
        assert report.channel == "hotline" and report.priority == "high"
        assert report.recorded_by == "operator" and report.contact_phone == "02623812345"
        assert report.area.code == RURAL and not report.show_name
        assert len(session.scalars(select(Media)).all()) == 1
    assert report.code not in portal_client.get(PATH).text  # shown once


def test_every_assisted_channel_and_refusals(portal_client: TestClient,
                                             demo_ctx: AppContext) -> None:
    browser_login(portal_client, "operator", next_path=PATH)
    base = {"contact_phone": "0905111222", "category": "garbage", "area_code": RURAL,
            "description": "Rác"}
    for channel in ("email", "social", "walk_in"):
        assert _post(portal_client, {**base, "channel": channel}).status_code == 303
    refused = _post(portal_client, {**base, "channel": "open311"})
    assert refused.status_code == 400 and "Hãy chọn kênh tiếp nhận" in refused.text
    no_contact = _post(portal_client, {**base, "channel": "hotline", "contact_phone": ""})
    assert no_contact.status_code == 400
    with demo_ctx.db.session() as session:
        channels = sorted(r.channel for r in session.scalars(select(Report)))
    assert channels == ["email", "social", "walk_in"]


def test_only_ioc_call_takers_may_use_the_form(portal_client: TestClient) -> None:
    anonymous = portal_client.get(PATH, follow_redirects=False, headers={"Accept": "text/html"})
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    browser_login(portal_client, f"ubnd-{RURAL}", next_path="/overview")
    assert portal_client.get(PATH, headers={"Accept": "text/html"}).status_code == 403
    token = csrf_of(portal_client.get("/phan-anh").text)
    posted = portal_client.post(PATH, data={"csrf_token": token, "channel": "hotline"},
                                headers={"Accept": "text/html"})
    assert posted.status_code == 403
