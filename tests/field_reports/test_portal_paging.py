"""The public list's pages: page/page_size with limits, filters kept in the links, the map
showing the current page's points only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_portal_helpers import open_portal_client
from test_routing_helpers import BMT_WARD, RURAL, new_report

from cityops.kernel.context import AppContext


@pytest.fixture
def portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    with open_portal_client(demo_ctx, tmp_path) as client:
        yield client


def _markers(html: str) -> list[str]:
    found = re.search(r'<script type="application/json" id="report-markers">(.*?)</script>',
                      html, re.S)
    assert found is not None
    return [m["code"] for m in json.loads(found.group(1))]


def test_pages_keep_filters_and_map_shows_the_page(portal_client: TestClient,
                                                   demo_ctx: AppContext) -> None:
    rural = [new_report(demo_ctx, category="garbage", area=RURAL) for _ in range(3)]
    other = new_report(demo_ctx, category="garbage", area=BMT_WARD)
    newest_first = [r.code for r in reversed(rural)]
    first = portal_client.get("/phan-anh/danh-sach",
                              params={"area": RURAL, "category": "garbage", "page_size": 2})
    assert first.status_code == 200
    assert newest_first[0] in first.text and newest_first[1] in first.text
    assert newest_first[2] not in first.text and other.code not in first.text
    assert sorted(_markers(first.text)) == sorted(newest_first[:2])
    assert "Trang 1 / 2" in first.text
    next_link = re.search(r'href="(/phan-anh/danh-sach\?[^"]*)" rel="next"', first.text)
    assert next_link is not None
    href = next_link.group(1).replace("&amp;", "&")
    assert f"area={RURAL}" in href and "category=garbage" in href and "page_size=2" in href
    second = portal_client.get(href)
    assert newest_first[2] in second.text and newest_first[0] not in second.text
    assert _markers(second.text) == [newest_first[2]]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text


def test_page_limits_are_refused(portal_client: TestClient) -> None:
    for params in ({"page": 0}, {"page_size": 0}, {"page_size": 201}, {"page": "x"}):
        assert portal_client.get("/phan-anh/danh-sach", params=params).status_code == 422
    assert portal_client.get("/phan-anh/danh-sach", params={"page_size": 200}).status_code == 200
