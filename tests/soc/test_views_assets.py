"""Asset pages: the scoped list, add and edit forms, CSV import (all rows or none)."""

from __future__ import annotations

from conftest import browser_login, csrf_of, post_form
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityops.kernel.context import AppContext
from cityops.services.soc.models import SocAsset


def asset(ctx: AppContext, hostname: str) -> SocAsset | None:
    with ctx.db.session() as session:
        return session.scalar(select(SocAsset).where(SocAsset.hostname == hostname))


def asset_count(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(SocAsset)) or 0


def test_add_and_edit_a_server(client: TestClient, demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc/assets")
    form = {"hostname": "QLDT.SOXD.daklak.gov.vn", "ip": "10.66.9.10", "agency_code": "SO-XD",
            "criticality": "high", "notes": "Cổng quản lý đô thị"}
    saved = post_form(client, "/soc/assets/new", "/soc/assets/new", form)
    assert saved.status_code == 303
    stored = asset(demo_ctx, "qldt.soxd.daklak.gov.vn")
    assert stored is not None and stored.network == "10.66.9.10/32"
    listed = client.get("/soc/assets", params={"agency": "SO-XD"}).text
    assert "Đã lưu máy chủ." in listed and "qldt.soxd.daklak.gov.vn" in listed

    edit = f"/soc/assets/{stored.id}/edit"
    page = client.get(edit)
    assert page.status_code == 200 and 'value="10.66.9.10/32"' in page.text
    assert post_form(client, edit, edit, {**form, "criticality": "critical",
                                          "ip": "10.66.9.0/24"}).status_code == 303
    updated = asset(demo_ctx, "qldt.soxd.daklak.gov.vn")
    assert updated is not None
    assert (updated.criticality, updated.network) == ("critical", "10.66.9.0/24")


def test_bad_input_is_shown_again_and_nothing_is_stored(client: TestClient,
                                                        demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc/assets")
    before = asset_count(demo_ctx)
    bad_ip = post_form(client, "/soc/assets/new", "/soc/assets/new",
                       {"hostname": "x1", "ip": "10.66.300.1", "agency_code": "SO-XD"})
    assert bad_ip.status_code == 400
    assert "Chưa lưu:" in bad_ip.text and "not an IP address" in bad_ip.text
    assert 'value="10.66.300.1"' in bad_ip.text
    no_agency = post_form(client, "/soc/assets/new", "/soc/assets/new",
                          {"hostname": "x2", "agency_code": "NOPE"})
    assert no_agency.status_code == 400 and "no agency with code" in no_agency.text
    taken = post_form(client, "/soc/assets/new", "/soc/assets/new",
                      {"hostname": "daklak.gov.vn", "agency_code": "SO-XD"})  # a demo server
    assert taken.status_code == 409
    assert asset_count(demo_ctx) == before


def test_csv_import_all_rows_or_none(client: TestClient, demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc/assets")
    token = csrf_of(client.get("/soc/assets").text)
    good = ("hostname,ip,agency_code,criticality,notes\n"
            "mc-xd-01,10.66.9.21,SO-XD,medium,Máy chủ tệp\n"
            ",10.66.10.0/24,SO-XD,low,Dải mạng văn phòng\n")
    bad = good + "mc-xd-02,not-an-ip,SO-XD,medium,\n"
    before = asset_count(demo_ctx)

    refused = client.post("/soc/assets/import", data={"csrf_token": token},
                          files={"file": ("servers.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 400
    assert "Chưa nhập dòng nào:" in refused.text and "line 4" in refused.text
    assert asset_count(demo_ctx) == before

    imported = client.post("/soc/assets/import", data={"csrf_token": token},
                           files={"file": ("servers.csv", good.encode(), "text/csv")},
                           follow_redirects=False)
    assert imported.status_code == 303
    assert asset_count(demo_ctx) == before + 2
    assert "Đã nhập 2 máy chủ." in client.get("/soc/assets").text
    latin1 = client.post("/soc/assets/import", data={"csrf_token": token},
                         files={"file": ("servers.csv", "h,ip\nmáy,1.2.3.4\n".encode("latin-1"),
                                         "text/csv")})
    assert latin1.status_code == 400 and "UTF-8" in latin1.text


def test_officers_see_their_agencys_servers_only(client: TestClient,
                                                 demo_ctx: AppContext) -> None:
    # The demo gives the one-stop-shop centre its public-service portal.
    browser_login(client, "ttpvhcc-tinh", next_path="/soc/assets")
    page = client.get("/soc/assets").text
    assert "dichvucong.daklak.gov.vn" in page
    assert "mail.daklak.gov.vn" not in page  # another agency's server
    assert "Thêm máy chủ" not in page and 'action="/soc/assets/import"' not in page
    assert client.get("/soc/assets/new").status_code == 403
    other = asset(demo_ctx, "mail.daklak.gov.vn")
    assert other is not None
    assert client.get(f"/soc/assets/{other.id}/edit").status_code == 403
    assert post_form(client, "/soc/assets", "/soc/assets/new",
                     {"hostname": "sneaky", "agency_code": "TTPVHCC-TINH"}).status_code == 403
