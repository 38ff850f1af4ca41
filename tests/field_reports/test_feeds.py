"""Atom feeds per commune, per category and per report: well-formed, public data only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from test_portal_helpers import open_portal_client
from test_routing_helpers import BMT_WARD, RURAL, new_report

from cityops.kernel.context import AppContext

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def portal_client(demo_ctx: AppContext, tmp_path: Path) -> Iterator[TestClient]:
    with open_portal_client(demo_ctx, tmp_path) as client:
        yield client


def _entries(client: TestClient, path: str) -> list[ET.Element]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{tag}") is not None
    return feed.findall(f"{ATOM}entry")


def test_commune_and_category_feeds(portal_client: TestClient, demo_ctx: AppContext) -> None:
    rural = new_report(demo_ctx, category="garbage", area=RURAL,
                       description="Rác <script>alert(1)</script> & bùn")
    ward = new_report(demo_ctx, category="pothole", area=BMT_WARD, attributes={"size": "small"})
    commune = _entries(portal_client, f"/phan-anh/feed/xa/{RURAL}.atom")
    assert [e.findtext(f"{ATOM}id") for e in commune] == [
        f"http://127.0.0.1:8000/phan-anh/{rural.code}"]
    assert "<script>alert(1)</script> & bùn" in (commune[0].findtext(f"{ATOM}summary") or "")
    assert "[Đã nhận]" in (commune[0].findtext(f"{ATOM}title") or "")
    category = _entries(portal_client, "/phan-anh/feed/linh-vuc/pothole.atom")
    assert [e.findtext(f"{ATOM}id") for e in category] == [
        f"http://127.0.0.1:8000/phan-anh/{ward.code}"]
    assert portal_client.get("/phan-anh/feed/xa/99999.atom").status_code == 404
    assert portal_client.get("/phan-anh/feed/linh-vuc/nope.atom").status_code == 404


def test_report_feed_lists_its_public_timeline(portal_client: TestClient,
                                               demo_ctx: AppContext) -> None:
    report = new_report(demo_ctx)
    entries = _entries(portal_client, f"/phan-anh/feed/{report.code}.atom")
    assert len(entries) == 1 and report.code in (entries[0].findtext(f"{ATOM}title") or "")
    assert portal_client.get("/phan-anh/feed/ZZZZ-ZZZZ.atom").status_code == 404
