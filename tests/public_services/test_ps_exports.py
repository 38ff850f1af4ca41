"""Every dashboard table downloads as XLSX (opened with openpyxl) and CSV, scoped."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import browser_login
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from test_dashboard_support import load_known
from test_models_support import NOW, own_app

from cityops.kernel.context import AppContext

BASE = "/public-services/export"


@pytest.fixture
def app(demo_ctx: AppContext):  # type: ignore[no-untyped-def]
    demo_ctx.clock = lambda: NOW
    load_known(demo_ctx)
    return own_app(demo_ctx)


def sheet_rows(client: TestClient, url: str) -> list[tuple[object, ...]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.content))
    return list(book.active.iter_rows(values_only=True))


def csv_rows(client: TestClient, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the BOM as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_agency_ranking_as_xlsx_and_csv(client: TestClient) -> None:
    browser_login(client, "leader")
    rows = sheet_rows(client, f"{BASE}/agencies.xlsx?period=2026-03")
    assert len(rows) == 3  # header and two agencies
    # rank, code, name, received, early, on time, late, in term, overdue, paused, cancelled,
    # online %, on-time %, score
    assert rows[1][:11] == (1, "SO-TP", "Sở Tư pháp tỉnh Đắk Lắk", 7, 1, 1, 1, 2, 1, 1, 0)
    assert rows[1][12] == 50.0
    assert rows[2][1] == "UBND-22015" and rows[2][12] == 0.0
    as_csv = csv_rows(client, f"{BASE}/agencies.csv?period=2026-03")
    assert [r[1] for r in as_csv[1:]] == ["SO-TP", "UBND-22015"]
    assert as_csv[1][3] == "7"


def test_months_scores_report_and_dossiers(client: TestClient) -> None:
    browser_login(client, "admin")
    months = sheet_rows(client, f"{BASE}/months.xlsx?period=2026-Q1")
    assert [(r[0], r[1]) for r in months[1:]] == [("2026-01", 0), ("2026-02", 1),
                                                  ("2026-03", 8)]
    scores = sheet_rows(client, f"{BASE}/scores.xlsx?period=2026-03")
    assert len(scores) == 1 + 7 + 1  # header, seven indicators, total
    assert scores[-1][4] is not None and scores[-1][5] == 82.0
    report = csv_rows(client, f"{BASE}/report.csv?period=2026-03")
    assert report[2][1:] == ["1", "3", "33.33"]  # overdue processed / all overdue
    dossiers = sheet_rows(client, f"{BASE}/dossiers.xlsx?period=2026-03&outcome=overdue")
    assert sorted(r[0] for r in dossiers[1:]) == ["TP-OVER", "W-OVER"]


def test_an_officer_downloads_only_their_agency(client: TestClient) -> None:
    browser_login(client, "ubnd-22015")
    rows = sheet_rows(client, f"{BASE}/agencies.xlsx?period=2026")
    assert [r[1] for r in rows[1:]] == ["UBND-22015"]
    dossiers = csv_rows(client, f"{BASE}/dossiers.csv?period=2026")
    assert sorted(r[0] for r in dossiers[1:]) == ["W-FEB", "W-OVER"]
    assert client.get(f"{BASE}/dossiers.csv?agency=SO-TP").status_code == 403


def test_bad_requests(client: TestClient) -> None:
    browser_login(client, "admin")
    assert client.get(f"{BASE}/secrets.csv").status_code in (400, 422)
    assert client.get(f"{BASE}/agencies.pdf").status_code in (400, 422)
    assert client.get(f"{BASE}/agencies.csv?period=20xx").status_code in (400, 422)
