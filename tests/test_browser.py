"""One pass through a real Chromium: sign in, switch language, use the province map.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); Playwright's
own browser downloads are not used. The app runs in a real uvicorn server on its own thread,
so Playwright's sync API in the test thread never meets a running asyncio loop.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from conftest import DEMO_PASSWORD

from cityops.kernel.context import AppContext
from cityops.kernel.orgs import area_by_code
from cityops.web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-proxy-server"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
COMMUNES = 102
PREFERRED_COMMUNE = "24133"  # Phường Buôn Ma Thuột, the provincial capital

# The centre of a commune's bounding box can fall outside a concave polygon; a real click
# needs a point where that very path is the topmost element.
FIND_CLICK_POINT = """preferred => {
  const paths = [...document.querySelectorAll('#province-map path[data-code]')];
  paths.sort((a, b) => (b.dataset.code === preferred) - (a.dataset.code === preferred));
  for (const path of paths) {
    const box = path.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (document.elementFromPoint(x, y) === path) return [path.dataset.code, x, y];
  }
  return null;
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(base_url: str, thread: threading.Thread, seconds: float = 30) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    deadline = time.monotonic() + seconds
    while True:
        try:
            with opener.open(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server at {base_url} did not come up")
        time.sleep(0.05)


@pytest.fixture
def live_server(demo_ctx: AppContext) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(demo_ctx), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_operator_signs_in_switches_language_and_uses_the_map(
        live_server: str, demo_ctx: AppContext) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; install Debian's browser: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
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

            point = page.evaluate(FIND_CLICK_POINT, PREFERRED_COMMUNE)
            assert point, "no commune polygon could be clicked"
            code, x, y = point
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
