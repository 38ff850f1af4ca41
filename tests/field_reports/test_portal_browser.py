"""A real Chromium: a citizen reports a problem with a photo on the portal, the routed agency's
officer resolves it, the IOC publishes the result, the portal shows it and the citizen rates it.

Browser and live server set-up: tests/browser_support.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (
    ARTIFACTS,
    find_click_point,
    launch_chromium,
    live_app,
    playwright_api,
)
from sqlalchemy import select
from test_media import jpeg_with_gps
from test_portal_helpers import LATER
from test_routing_helpers import NOW, RURAL, uow_as

from cityops.kernel.context import AppContext
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.models import Media, Report

pytestmark = pytest.mark.browser


@pytest.fixture
def live_portal(demo_ctx: AppContext, tmp_path: Path) -> Iterator[str]:
    demo_ctx.settings = demo_ctx.settings.model_copy(update={"media_dir": tmp_path / "media"})
    with live_app(demo_ctx, "uvicorn-portal-test") as base_url:
        yield base_url


def _resolve_and_publish(ctx: AppContext, code: str) -> str:
    with ctx.db.session() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        rid = report.id
    with uow_as(ctx, "operator") as uow:
        workflow.transition(uow, rid, "verified", now=LATER)
        lead = workflow.assign(uow, rid, now=LATER).lead_agency
        assert lead is not None
        officer = lead.code.lower()  # demo officers are named after their agency
        uow.commit()
    with uow_as(ctx, officer) as uow:
        workflow.transition(uow, rid, "in_progress", now=LATER)
        workflow.transition(uow, rid, "resolved", now=LATER, reason="Đã thu gom toàn bộ rác")
        uow.commit()
    with uow_as(ctx, "operator") as uow:
        staff_tools.approve_result(uow, rid, now=LATER)
        uow.commit()
    return officer


def test_citizen_reports_with_photo_then_sees_result_and_rates(
        live_portal: str, demo_ctx: AppContext, tmp_path: Path) -> None:
    sync_api = playwright_api()
    expect = sync_api.expect
    demo_ctx.clock = lambda: NOW
    photo = tmp_path / "rac.jpg"
    photo.write_bytes(jpeg_with_gps(640, 480))

    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915})  # a phone
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(live_portal + "/phan-anh")
            expect(page.locator("h1")).to_have_text("Gửi phản ánh")
            expect(page.locator("#pick-map")).to_have_attribute("data-loaded", "102",
                                                                timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "portal-form.png"), full_page=True)
            page.select_option("#f-category", "garbage")
            page.locator("#pick-map").scroll_into_view_if_needed()
            # the rural commune is preferred: its commune committee handles garbage
            _code, x, y = find_click_point(page, "#pick-map", RURAL)
            page.mouse.click(x, y)
            expect(page.locator("#f-lat")).not_to_have_value("")
            page.fill("textarea[name=description]", "Rác đổ trộm thành đống lớn bên đường")
            page.set_input_files("input[name=photos]", str(photo))
            page.fill("input[name=contact_phone]", "0905 123 999")
            question = page.locator("label:has(input[name=challenge_answer])").inner_text()
            a, b = (int(n) for n in question.split("?")[0].split(":")[1].split("bằng")[0]
                    .split("+"))
            page.fill("input[name=challenge_answer]", str(a + b))
            page.click("#report-form button[type=submit]")
            code = page.locator("#tracking-code").inner_text(timeout=30_000).strip()
            assert len(code) == 9
            page.screenshot(path=str(ARTIFACTS / "portal-submitted.png"), full_page=True)
            with demo_ctx.db.session() as session:
                report = session.scalar(select(Report).where(Report.code == code))
                assert report is not None and report.channel == "portal"
                assert len(session.scalars(select(Media).where(
                    Media.report_id == report.id)).all()) == 1

            _resolve_and_publish(demo_ctx, code)
            demo_ctx.clock = lambda: LATER
            page.goto(f"{live_portal}/phan-anh/{code}")
            expect(page.locator("#result-text")).to_have_text("Đã thu gom toàn bộ rác")
            page.fill("#rating-form input[name=contact]", "0905123999")
            page.check("#rating-form input[name=rating][value='5']")
            page.fill("#rating-form textarea[name=comment]", "Xử lý nhanh, cảm ơn")
            page.click("#rating-form button[type=submit]")
            expect(page.locator("body")).to_contain_text("Cảm ơn bạn đã đánh giá.")
            expect(page.locator("body")).to_contain_text("5 / 5")
            page.screenshot(path=str(ARTIFACTS / "portal-rated.png"), full_page=True)
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
    with demo_ctx.db.session() as session:
        rated = session.scalar(select(Report).where(Report.code == code))
        assert rated is not None and rated.rating == 5
