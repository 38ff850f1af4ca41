"""The SOC page: counts from the records, filters, live panel, CSV, quarantine, permissions."""

from __future__ import annotations

import csv
import io

from conftest import browser_login
from fastapi.testclient import TestClient
from test_views_support import QUIET_AGENCY, add_detections, add_user, day

from cityops.kernel.context import AppContext
from cityops.services.soc.service import quarantine


def quiet_agency_page(client: TestClient, **params: str) -> str:
    response = client.get("/soc", params={"agency": QUIET_AGENCY, **params})
    assert response.status_code == 200, response.text
    return response.text


def test_counts_by_category_follow_the_records(client: TestClient, demo_ctx: AppContext) -> None:
    add_detections(demo_ctx, QUIET_AGENCY, [
        ("malware", "xd-web", "Mimikatz Use", day(1)),
        ("vulnerability", "xd-web", "SQL Injection Strings In URI", day(2)),
        ("vulnerability", "xd-portal", "SQL Injection Strings In URI", day(3)),
        ("abnormal", "xd-web", "NTLM Brute Force", day(40)),  # outside the default 30 days
    ], count=3)
    browser_login(client, "soc", next_path="/soc")
    html = quiet_agency_page(client)
    assert "3 cảnh báo SOC: 1 mã độc, 2 lỗ hổng ứng dụng, 0 tấn công khai thác, " \
           "0 máy chủ hoạt động bất thường, 0 khác." in html
    html_90 = quiet_agency_page(client, period="90d")
    assert "4 cảnh báo SOC: 1 mã độc, 2 lỗ hổng ứng dụng, 0 tấn công khai thác, " \
           "1 máy chủ hoạt động bất thường, 0 khác." in html_90
    only_vulns = quiet_agency_page(client, period="90d", category="vulnerability")
    assert "2 cảnh báo SOC: 0 mã độc, 2 lỗ hổng ứng dụng" in only_vulns
    # Top hosts and rules come from the same records; matches add the counts up.
    assert 'id="top-hosts"' in html and "xd-portal" in html
    assert "SQL Injection Strings In URI" in html


def test_csv_export_of_the_counts(client: TestClient, demo_ctx: AppContext) -> None:
    add_detections(demo_ctx, QUIET_AGENCY, [
        ("malware", "xd-web", "Mimikatz Use", day(0.1)),
        ("malware", "xd-web", "Mimikatz Use", day(0.2)),
        ("exploitation", "xd-mail", "Suspicious File Drop by Exchange", day(0.3)),
    ], severity="critical")
    browser_login(client, "soc", next_path="/soc")
    response = client.get("/soc/counts.csv", params={"agency": QUIET_AGENCY, "period": "24h"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    counts = {(r[0], r[1]): int(r[3]) for r in rows[1:]}
    assert counts[("category", "malware")] == 2 and counts[("category", "exploitation")] == 1
    assert counts[("category", "vulnerability")] == 0
    assert counts[("severity", "critical")] == 3 and counts[("agency", QUIET_AGENCY)] == 3
    hourly = [n for (group, key), n in counts.items()
              if group.startswith("hour:") and key == "malware"]
    assert sum(hourly) == 2 and len(hourly) >= 24  # every hour of the day, quiet ones as 0


def test_live_panel_shows_new_detections_with_their_alerts(client: TestClient,
                                                           demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc")
    page = client.get("/soc").text
    assert 'hx-get="/soc/live' in page and 'hx-trigger="every 10s"' in page
    [new_id] = add_detections(demo_ctx, QUIET_AGENCY, [
        ("malware", "xd-fresh-host", "Brand new detection <b>bold</b>", day(0))])
    live = client.get("/soc/live").text
    assert f'data-detection="{new_id}"' in live and "xd-fresh-host" in live
    assert "<b>bold</b>" not in live and "&lt;b&gt;bold&lt;/b&gt;" in live
    # Demo detections carry their alert-center alert: the panel links to it.
    assert 'href="/alerts/' in live


def test_quarantine_escapes_raw_text_and_is_for_soc_managers(client: TestClient,
                                                             demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow:
        quarantine(uow.session, "test:http", "<img src=x onerror=alert(1)>",
                   "invalid JSON: Expecting value", demo_ctx.clock(), 1024)
        uow.commit()
    browser_login(client, "soc", next_path="/soc")
    page = client.get("/soc/quarantine", params={"source": "test:http"})
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "invalid JSON: Expecting value" in page.text


def test_who_sees_the_soc_page(client: TestClient, demo_ctx: AppContext) -> None:
    anonymous = client.get("/soc", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307)
    assert anonymous.headers["location"].startswith("/login")
    for username in ("soc", "leader", "operator", "admin"):
        client.cookies.clear()
        browser_login(client, username, next_path="/soc")
        page = client.get("/soc")
        assert page.status_code == 200, username
        assert 'id="ingest-health"' in page.text, username  # province-wide readers
    client.cookies.clear()
    add_user(demo_ctx, "shipper", {"integrator"}, "IOC")
    browser_login(client, "shipper", next_path="/overview")
    for path in ("/soc", "/soc/live", "/soc/counts.csv", "/soc/rules", "/soc/assets"):
        assert client.get(path).status_code == 403, path


def test_officers_see_only_their_agencys_hosts(client: TestClient, demo_ctx: AppContext) -> None:
    add_detections(demo_ctx, QUIET_AGENCY, [("malware", "xd-own-host", "Own rule", day(1))])
    add_detections(demo_ctx, "SO-YT", [("malware", "yt-other-host", "Other rule", day(1))])
    add_detections(demo_ctx, None, [("malware", "unknown-host", "Unowned rule", day(1))])
    browser_login(client, QUIET_AGENCY.lower(), next_path="/soc")
    page = client.get("/soc")
    assert page.status_code == 200
    assert "xd-own-host" in page.text
    assert "yt-other-host" not in page.text and "unknown-host" not in page.text
    assert "1 cảnh báo SOC: 1 mã độc" in page.text
    assert 'id="ingest-health"' not in page.text  # other agencies' volumes stay hidden
    live = client.get("/soc/live").text
    assert "xd-own-host" in live and "yt-other-host" not in live
    # Asking for another agency's figures gives nothing, not their data.
    other = client.get("/soc", params={"agency": "SO-YT", "period": "365d"}).text
    assert "yt-other-host" not in other and "0 cảnh báo SOC" in other
    rows = client.get("/soc/counts.csv", params={"period": "365d"}).content.decode("utf-8-sig")
    assert "SO-YT" not in rows
    assert client.get("/soc/quarantine").status_code == 403
