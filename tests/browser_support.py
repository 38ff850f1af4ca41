"""What the Chromium tests share: the browser, a live uvicorn server, a clickable map point.

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
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import uvicorn

from cityops.kernel.context import AppContext
from cityops.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-proxy-server"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# The centre of a commune's bounding box can fall outside a concave polygon; a real click
# needs a point where that very path is the topmost element. Arguments: [map selector, code
# of the commune to try first].
_FIND_CLICK_POINT = """([map, preferred]) => {
  const paths = [...document.querySelectorAll(map + ' path[data-code]')];
  paths.sort((a, b) => (b.dataset.code === preferred) - (a.dataset.code === preferred));
  for (const path of paths) {
    const box = path.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (document.elementFromPoint(x, y) === path) return [path.dataset.code, x, y];
  }
  return null;
}"""


def playwright_api() -> ModuleType:
    """playwright.sync_api, or skip the test when Chromium or Playwright is missing; also makes
    the folder for screenshots."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; install Debian's browser: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    return sync_api


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium with the flags that keep it off the network and the GPU."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def find_click_point(page: Any, map_selector: str, preferred: str) -> tuple[str, float, float]:
    """(commune code, x, y) of a point where a commune path of the map is clickable."""
    point = page.evaluate(_FIND_CLICK_POINT, [map_selector, preferred])
    assert point, "no commune polygon could be clicked"
    code, x, y = point
    return code, x, y


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(base_url: str, thread: threading.Thread, seconds: float = 30) -> None:
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


@contextmanager
def live_app(ctx: AppContext, thread_name: str = "uvicorn-test") -> Iterator[str]:
    """The app of ``ctx`` served by uvicorn on a free local port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name=thread_name, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
