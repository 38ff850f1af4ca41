"""Dashboard pages: province → agency → dossier list → dossier, scoped to the reader."""

from __future__ import annotations

import re

import pytest
from conftest import browser_login
from fastapi.testclient import TestClient
from test_dashboard_support import load_known
from test_models_support import NOW, own_app

from cityops.kernel.context import AppContext
from cityops.services.public_services import dashboard_dossiers


@pytest.fixture
def app(demo_ctx: AppContext):  # type: ignore[no-untyped-def]
    demo_ctx.clock = lambda: NOW
    load_known(demo_ctx)
    return own_app(demo_ctx)


def kpi(html: str, name: str) -> str:
    found = re.search(rf'id="kpi-{name}"[^>]*>([^<]*)<', html)
    assert found, f"no KPI {name}"
    return found.group(1)


def codes(html: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)"', html)


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/public-services", follow_redirects=False,
                          headers={"Accept": "text/html"})
    assert response.status_code in (302, 303, 307)
    assert "/login" in response.headers["location"]


def test_province_view_for_the_leader(client: TestClient) -> None:
    browser_login(client, "leader")
    page = client.get("/public-services").text  # this year: 2026 at NOW
    assert kpi(page, "received") == "9"
    assert (kpi(page, "early"), kpi(page, "on-time"), kpi(page, "late")) == ("2", "1", "1")
    assert kpi(page, "overdue") == "2" and kpi(page, "paused") == "1"
    assert re.findall(r'<tr data-agency="([^"]+)"', page) == ["SO-TP", "UBND-22015"]
    assert 'data-component="satisfaction"' in page and "≥ 90 %" in page
    march = client.get("/public-services?period=2026-03").text
    assert kpi(march, "received") == "8"
    assert client.get("/public-services?period=2026-13").status_code in (400, 422)


def test_drill_down_to_a_dossier(client: TestClient) -> None:
    browser_login(client, "leader")
    agency = client.get("/public-services/agencies/SO-TP?period=2026-03")
    assert agency.status_code == 200 and kpi(agency.text, "received") == "7"
    listed = client.get("/public-services/dossiers?agency=SO-TP&period=2026-03&outcome=overdue")
    assert codes(listed.text) == ["TP-OVER"]
    done = client.get("/public-services/dossiers/TP-DONE").text
    assert 'id="outcome"' in done and "Cần xác minh thêm" in done  # the apology letter
    assert 'id="no-apology"' not in done
    overdue = client.get("/public-services/dossiers/TP-OVER").text
    assert 'id="no-apology"' in overdue  # overdue and no apology letter: flagged
    assert client.get("/public-services/dossiers/NOPE").status_code == 404
    assert client.get("/public-services/agencies/NOPE").status_code == 404


def test_filters_and_pagination(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    browser_login(client, "admin")
    online = client.get("/public-services/dossiers?channel=1").text
    assert codes(online) == ["TP-EARLY"]
    assert codes(client.get("/public-services/dossiers?code=W-").text) == ["W-OVER", "W-FEB"]
    assert codes(client.get("/public-services/dossiers?procedure=1.002408").text) == \
        ["TP-LATER"]
    monkeypatch.setattr(dashboard_dossiers, "PAGE_SIZE", 4)
    pages = [codes(client.get(f"/public-services/dossiers?page={n}").text) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 4, 1]
    assert len({c for p in pages for c in p}) == 9
    assert codes(client.get("/public-services/dossiers?page=99").text) == pages[2]
    assert client.get("/public-services/dossiers?outcome=bogus").status_code in (400, 422)
    assert client.get("/public-services/dossiers?channel=7").status_code in (400, 422)


def test_an_officer_sees_only_their_agency(client: TestClient) -> None:
    browser_login(client, "ubnd-22015")
    page = client.get("/public-services").text
    assert kpi(page, "received") == "2"
    assert re.findall(r'<tr data-agency="([^"]+)"', page) == ["UBND-22015"]
    assert client.get("/public-services/agencies/UBND-22015").status_code == 200
    assert client.get("/public-services/agencies/SO-TP").status_code == 403
    assert client.get("/public-services/dossiers?agency=SO-TP").status_code == 403
    assert codes(client.get("/public-services/dossiers").text) == ["W-OVER", "W-FEB"]
    assert client.get("/public-services/dossiers/W-OVER").status_code == 200
    assert client.get("/public-services/dossiers/TP-DONE").status_code == 403


def test_pages_escape_stored_text(client: TestClient, demo_ctx: AppContext) -> None:
    from test_models_support import dossier, send

    send(demo_ctx, [dossier("TP-XSS", history=[
        {"state": 2, "at": "2026-03-16T08:00:00+07:00", "note": "<script>alert(1)</script>"}])])
    browser_login(client, "admin")
    page = client.get("/public-services/dossiers/TP-XSS").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_timeline_shows_supplement_requests_and_the_two_request_rule(
        client: TestClient, demo_ctx: AppContext) -> None:
    from test_models_support import dossier, send

    send(demo_ctx, [dossier("TP-TWICE", supplements=[
        {"requested_at": "2026-03-16T10:00:00+07:00",
         "completed_at": "2026-03-17T08:00:00+07:00", "note": "Thiếu bản sao"},
        {"requested_at": "2026-03-17T10:00:00+07:00", "note": "Thiếu chữ ký"}])])
    browser_login(client, "admin")
    page = client.get("/public-services/dossiers/TP-TWICE").text
    assert 'id="late-supplements"' in page
    assert "Thiếu bản sao" in page and "Thiếu chữ ký" in page
    timeline = page[page.index('id="timeline"'):]
    assert timeline.count('class="supplement"') == 2
    assert timeline.count('class="supplement_done"') == 1
