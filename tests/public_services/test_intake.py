"""CSV/XLSX upload: mapping step, validation report, encodings, nothing half-stored."""

from __future__ import annotations

import io
import re

import pytest
from conftest import browser_login, csrf_of
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select
from test_models_support import own_app, seed

from cityops.kernel.context import AppContext
from cityops.services.public_services.intake_files import (
    MAX_FILE_BYTES,
    read_csv,
    suggest_mapping,
)
from cityops.services.public_services.models import Dossier, IntakeBatch

PAGE = "/public-services/intake"
CSV_VI = (
    "Mã hồ sơ,Mã thủ tục,Đơn vị xử lý,Kênh nộp,Ngày tiếp nhận,Ngày hẹn trả,Trạng thái,"
    "Thời gian trạng thái,Thanh toán trực tuyến\n"
    "F-1,1.001193,SO-TP,Trực tuyến,16/03/2026 08:00,17/03/2026 17:00,4,16/03/2026 09:00,có\n"
    "F-2,9.999999,SO-TP,1,16/03/2026 08:00,,2,,không\n"
    "F-3,1.001193,SO-TP,1,32/03/2026 08:00,,2,,không\n"
    "F-1,1.001193,SO-TP,1,16/03/2026 08:00,,2,,không\n"
    "F-4,1.004227,UBND-22015,bưu chính,16/03/2026 08:00,,2,,0\n"
)


@pytest.fixture
def app(demo_ctx: AppContext):  # type: ignore[no-untyped-def]
    seed(demo_ctx)
    return own_app(demo_ctx)


def upload(client: TestClient, name: str, data: bytes):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(PAGE).text)
    return client.post(f"{PAGE}/upload", data={"csrf_token": token},
                       files={"file": (name, data)}, follow_redirects=False)


def confirm(client: TestClient, batch_url: str):  # type: ignore[no-untyped-def]
    page = client.get(batch_url).text
    mapping = dict(re.findall(r'<select name="(map_\w+)"[^>]*>(?:(?!</select>).)*?'
                              r'<option value="([^"]*)" selected', page, re.S))
    return client.post(f"{batch_url}/import", data={"csrf_token": csrf_of(page), **mapping},
                       follow_redirects=False)


def codes(ctx: AppContext) -> list[str]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Dossier.code).order_by(Dossier.code)))


def test_csv_upload_maps_validates_and_stores_valid_rows(demo_ctx: AppContext,
                                                         client: TestClient) -> None:
    browser_login(client, "operator", next_path=PAGE)
    sent = upload(client, "ho-so.csv", CSV_VI.encode("utf-8-sig"))
    assert sent.status_code == 303
    batch_url = sent.headers["location"]
    mapping_page = client.get(batch_url).text
    assert "Ngày hẹn trả" in mapping_page and codes(demo_ctx) == []  # nothing stored yet
    done = confirm(client, batch_url)
    assert done.status_code == 303
    assert codes(demo_ctx) == ["F-1", "F-4"]
    with demo_ctx.db.session() as session:
        batch = session.scalars(select(IntakeBatch)).one()
        assert (batch.status, batch.created, batch.failed, batch.pending_rows) == \
            ("done", 2, 3, None)
        problems = {(p["row"], p["column"]) for p in batch.report}
        assert problems == {(3, "Mã thủ tục"), (4, "Ngày tiếp nhận"), (5, "Mã hồ sơ")}
        f1 = session.scalars(select(Dossier).where(Dossier.code == "F-1")).one()
        assert f1.channel == 2 and f1.payment_online and f1.state == 4
    report = client.get(batch_url).text
    assert "unknown procedure code" in report and "duplicate code" in report
    # The same file again: everything unchanged, nothing new.
    confirm(client, upload(client, "ho-so.csv", CSV_VI.encode()).headers["location"])
    with demo_ctx.db.session() as session:
        last = session.scalars(select(IntakeBatch).order_by(IntakeBatch.id.desc())).first()
        assert (last.created, last.updated, last.unchanged) == (0, 0, 2)


def test_xlsx_with_merged_header_cells(demo_ctx: AppContext, client: TestClient) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Mã hồ sơ", "Mã thủ tục", "Đơn vị xử lý", "Thời gian", None, "Trạng thái"])
    sheet.append([None, None, None, "Tiếp nhận", "Hẹn trả", None])
    for col in ("A", "B", "C", "F"):
        sheet.merge_cells(f"{col}1:{col}2")
    sheet.merge_cells("D1:E1")
    from datetime import datetime

    sheet.append(["X-1", "1.001193", "SO-TP", datetime(2026, 3, 16, 8), datetime(2026, 3, 17, 17),
                  2])
    buffer = io.BytesIO()
    book.save(buffer)
    browser_login(client, "admin", next_path=PAGE)
    sent = upload(client, "bao-cao.xlsx", buffer.getvalue())
    assert sent.status_code == 303
    with demo_ctx.db.session() as session:
        batch = session.scalars(select(IntakeBatch)).one()
        assert batch.mapping["received_at"] == "Thời gian Tiếp nhận"
        assert batch.mapping["appointment_at"] == "Thời gian Hẹn trả"
    confirm(client, sent.headers["location"])
    assert codes(demo_ctx) == ["X-1"]


@pytest.mark.parametrize(("name", "data", "message"), [
    # Windows-1258 writes "Mã hồ sơ" with combining marks: a + U+0303, ô + U+0300.
    ("cp1258.csv", "Ma\u0303 hô\u0300 sơ,Tra\u0323ng tha\u0301i\nA,2\n".encode("cp1258"),
     "not UTF-8"),
    ("binary.csv", b"\x00\x01\x02garbage\x00" * 10, "binary"),
    ("renamed.csv", b"PK\x03\x04rest-of-a-zip", "XLSX"),
    ("notes.pdf", b"%PDF-1.4", ".csv or .xlsx"),
    ("broken.xlsx", b"PK\x03\x04not really", "cannot be read"),
    ("empty.csv", b"", "empty"),
    ("quote.csv", b'code,state\n"A,2\n', "malformed"),
])
def test_bad_files_are_refused_clearly(demo_ctx: AppContext, client: TestClient, name: str,
                                       data: bytes, message: str) -> None:
    browser_login(client, "admin", next_path=PAGE)
    refused = upload(client, name, data)
    assert refused.status_code == 400 and message in refused.text
    with demo_ctx.db.session() as session:
        assert session.scalars(select(IntakeBatch)).all() == []


def test_huge_file_is_refused(client: TestClient) -> None:
    browser_login(client, "admin", next_path=PAGE)
    refused = upload(client, "huge.csv", b"code\n" + b"A" * (MAX_FILE_BYTES + 10))
    assert refused.status_code == 413 and "larger than" in refused.text


def test_utf16_with_bom_is_read() -> None:
    text = "Mã hồ sơ\tTrạng thái\nA-1\t2\n"
    headers, rows = read_csv(text.encode("utf-16"))
    assert headers == ["Mã hồ sơ", "Trạng thái"] and rows == [["A-1", "2"]]
    assert suggest_mapping(headers) == {"code": "Mã hồ sơ", "state": "Trạng thái"}


def test_english_headers_are_suggested() -> None:
    headers = ["Dossier code", "Procedure code", "Processing agency", "Received at", "Status"]
    assert set(suggest_mapping(headers)) == {"code", "procedure_code",
                                             "processing_agency_code", "received_at", "state"}


def test_row_longer_than_the_header_is_reported(demo_ctx: AppContext,
                                                client: TestClient) -> None:
    browser_login(client, "admin", next_path=PAGE)
    data = (b"code,procedure_code,processing_agency_code,received_at,state\n"
            b"L-1,1.001193,SO-TP,2026-03-16T08:00,2\n"
            b"L-2,1.001193,SO-TP,2026-03-16,08:00,2\n")
    confirm(client, upload(client, "long.csv", data).headers["location"])
    assert codes(demo_ctx) == ["L-1"]
    with demo_ctx.db.session() as session:
        batch = session.scalars(select(IntakeBatch)).one()
        assert [p["row"] for p in batch.report] == [3] and batch.failed == 1


def test_permissions_and_csrf(client: TestClient) -> None:
    browser_login(client, "leader", next_path="/overview")
    assert client.get(PAGE).status_code == 403
    client.cookies.clear()
    browser_login(client, "admin", next_path=PAGE)
    no_token = client.post(f"{PAGE}/upload", files={"file": ("a.csv", b"code\nA\n")})
    assert no_token.status_code == 403
