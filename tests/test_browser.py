"""One pass through a real Chromium: sign in, switch language, use the province map.

Browser and live server set-up: tests/browser_support.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import (
    ARTIFACTS,
    find_click_point,
    launch_chromium,
    live_app,
    playwright_api,
)
from conftest import DEMO_PASSWORD

from cityops.kernel.context import AppContext
from cityops.kernel.orgs import area_by_code

pytestmark = pytest.mark.browser

COMMUNES = 102
PREFERRED_COMMUNE = "24133"  # Phường Buôn Ma Thuột, the provincial capital


@pytest.fixture
def live_server(demo_ctx: AppContext) -> Iterator[str]:
    with live_app(demo_ctx) as base_url:
        yield base_url


def test_operator_signs_in_switches_language_and_uses_the_map(
        live_server: str, demo_ctx: AppContext) -> None:
    sync_api = playwright_api()
    expect = sync_api.expect

    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 950})
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            page.goto(live_server + "/login")
            expect(page.locator("h1")).to_have_text("Đăng nhập")
            page.fill("input[name=username]", "operator")
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url("**/overview")
            expect(page.locator("h1")).to_have_text("Tỉnh Đắk Lắk")
            expect(page.locator("#province-map")).to_have_attribute(
                "data-loaded", str(COMMUNES), timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "overview-vi.png"), full_page=True)

            page.click("#lang-form button[data-lang=en]")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("h1")).to_have_text("Đắk Lắk province")
            expect(page.locator(".mainnav")).to_contain_text("Overview")
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()

            expect(page.locator("#province-map")).to_have_attribute(
                "data-loaded", str(COMMUNES), timeout=30_000)
            expect(page.locator("#province-map path[data-code]")).to_have_count(COMMUNES)

            code, x, y = find_click_point(page, "#province-map", PREFERRED_COMMUNE)
            page.mouse.click(x, y)
            with demo_ctx.uow() as uow:
                area = area_by_code(uow.session, code)
                assert area is not None
                name = area.name
            selection = page.locator("#map-selection")
            expect(selection).to_contain_text(name)
            expect(selection).to_contain_text(code)
            expect(selection).to_have_attribute("data-code", code)

            page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
            assert not page_errors, f"JavaScript errors on the page: {page_errors}"
        finally:
            browser.close()
