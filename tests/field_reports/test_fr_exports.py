"""CSV and XLSX downloads of the statistics table: same figures as the page, scoped."""

from __future__ import annotations

import csv
import io

from conftest import browser_login
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from test_fr_stats import LATER, OFFICER, known  # noqa: F401  (the fixture)

from cityops.kernel.context import AppContext
from cityops.services.field_reports import exports
from cityops.services.field_reports.stats import Figures, Row


def test_table_leaves_missing_figures_empty() -> None:
    row = Row("X", "Xã X", Figures(volume=2, reopened=1))
    assert exports.table([row]) == [["X", "Xã X", 2, 0, 0, None, 0, None, 0, None, None, 1,
                                     50.0]]
    text = exports.to_csv([row]).decode("utf-8")
    assert text.startswith("\ufeff") and text.splitlines()[1] == "X,Xã X,2,0,0,,0,,0,,,1,50.0"


def test_csv_download(demo_ctx: AppContext, client: TestClient,
                      known: dict[str, str]) -> None:  # noqa: F811
    demo_ctx.clock = lambda: LATER
    browser_login(client, "operator", next_path="/field-reports/stats")
    answer = client.get("/field-reports/stats.csv", params={"by": "category"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="field-reports-category-' in answer.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Mã", "Tên", "Số phản ánh"]
    garbage = next(line for line in lines if line[0] == "garbage")
    assert garbage[2:6] == ["2", "2", "1", "50.0"] and garbage[-2:] == ["1", "50.0"]
    assert client.get("/field-reports/stats.csv", params={"by": "x"}).status_code == 400


def test_xlsx_download_is_scoped(demo_ctx: AppContext, client: TestClient,
                                 known: dict[str, str]) -> None:  # noqa: F811
    demo_ctx.clock = lambda: LATER
    browser_login(client, OFFICER, next_path="/field-reports/stats")
    answer = client.get("/field-reports/stats.xlsx", params={"by": "agency"})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã" and sheet.title == "agency"
    # The officer's agency only: the pothole led by SO-XD is not theirs.
    assert [r[0] for r in rows[1:]] == [f"UBND-{OFFICER[5:]}"]
    assert rows[1][2] == 2 and rows[1][9] == 3.5
