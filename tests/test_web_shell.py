"""The web shell works offline: API docs and pages reference only vendored files."""

from __future__ import annotations

import re

from conftest import browser_login
from fastapi.testclient import TestClient

EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


def test_api_docs_are_served_from_vendored_files(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert not EXTERNAL.search(page.text), "the docs page must not load anything from the web"
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200


def test_openapi_schema_lists_the_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/areas", "/api/v1/agencies", "/api/v1/auth/token", "/api/v1/alerts",
                 "/api/v1/alerts/{alert_id}/transition"):
        assert path in paths


def test_login_page_loads_nothing_from_the_web(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert not EXTERNAL.search(page.text)


def test_browser_gets_a_translated_error_page(client: TestClient) -> None:
    browser_login(client, "so-yt")
    page = client.get("/admin", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert "Không có quyền truy cập" in page.text


def test_tile_numbers_follow_the_reader_language() -> None:
    from cityops.web.views.overview import format_tile_value

    assert format_tile_value((1195, 1200), "vi") == "1.195 / 1.200"
    assert format_tile_value((1195, 1200), "en") == "1,195 / 1,200"
    assert format_tile_value(16, "vi") == "16"
    assert format_tile_value("—", "en") == "—"


def test_overview_shows_the_services_tiles(client: TestClient) -> None:
    browser_login(client, "operator")
    page = client.get("/overview")
    assert page.status_code == 200
    assert "Phiếu cảnh báo đã kiểm tra / đã gửi" in page.text
    assert re.search(r"<strong>\d[\d.]* / \d[\d.]*</strong>", page.text)
