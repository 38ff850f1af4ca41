"""Field-report statistics over known data: every formula, grouping, scope and the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import browser_login
from fastapi.testclient import TestClient
from test_routing_helpers import BMT_WARD, NOW, RURAL, new_report, principal, uow_as

from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.services.field_reports import staff_tools, stats, workflow
from cityops.services.field_reports.access import report_for

DAY = timedelta(days=1)
LATER = NOW + 30 * DAY
OFFICER = f"ubnd-{RURAL}"


def handle(ctx: AppContext, report_id: int, *, resolved_at: object, result: str) -> None:
    with uow_as(ctx, "operator") as uow:
        if report_for(uow, report_id, "field_reports.read").state == "received":
            workflow.assign(uow, report_id, now=NOW + timedelta(hours=1))
        workflow.transition(uow, report_id, "resolved", now=resolved_at, reason=result)
        staff_tools.approve_result(uow, report_id, now=resolved_at)  # type: ignore[arg-type]
        uow.commit()


def rate(ctx: AppContext, code: str, rating: int, at: object) -> None:
    with ctx.uow() as uow:
        staff_tools.rate(uow, code, rating, now=at)  # type: ignore[arg-type]
        uow.commit()


@pytest.fixture
def known(demo_ctx: AppContext) -> dict[str, str]:
    """A: resolved in 24 h, on time, rated 5. B: resolved late, rated 2 (reopened), resolved
    again 20 days after receipt (late). C: a pothole still open past its deadline."""
    a = new_report(demo_ctx, area=RURAL)
    b = new_report(demo_ctx, area=RURAL)
    c = new_report(demo_ctx, area=BMT_WARD, category="pothole", attributes={"size": "large"})
    handle(demo_ctx, a.id, resolved_at=NOW + DAY, result="Đã thu gom")
    rate(demo_ctx, a.code, 5, NOW + 2 * DAY)
    handle(demo_ctx, b.id, resolved_at=NOW + 10 * DAY, result="Đã thu gom")
    rate(demo_ctx, b.code, 2, NOW + 11 * DAY)  # a low rating within 30 days reopens it
    handle(demo_ctx, b.id, resolved_at=NOW + 20 * DAY, result="Đã thu gom lần hai")
    return {"a": a.code, "b": b.code, "c": c.code}


def test_formulas_on_known_data(demo_ctx: AppContext, known: dict[str, str]) -> None:
    with demo_ctx.db.session() as session:
        figures = stats.compute(session, principal(demo_ctx, "operator"), now=LATER)
    t = figures.total
    assert t.volume == 3 and t.resolved == 2
    assert (t.resolved_on_time, t.resolved_with_deadline, t.on_time_rate) == (1, 2, 50.0)
    assert t.mean_hours_to_resolve == (24 + 20 * 24) / 2
    # The second rating replaced nothing: B was rated once (2), A once (5).
    assert (t.mean_rating, t.satisfied_share) == (3.5, 50.0)
    assert (t.reopened, t.reopen_rate) == (1, 33.3)
    assert t.overdue_open == 1  # C
    by_agency = {r.key: r.figures for r in figures.rows("agency")}
    assert by_agency[f"UBND-{RURAL}"].volume == 2 and by_agency["SO-XD"].volume == 1
    assert by_agency["SO-XD"].on_time_rate is None  # nothing resolved: no rate, not 0 %
    by_category = {r.key: r.figures.volume for r in figures.rows("category")}
    assert by_category == {"garbage": 2, "pothole": 1}
    assert [r.key for r in figures.rows("category")] == ["garbage", "pothole"]
    assert {r.key for r in figures.rows("commune")} == {RURAL, BMT_WARD}
    assert [(r.key, r.figures.volume) for r in figures.rows("month")] == [("2026-03", 3)]
    assert figures.category_by_month == {"garbage": {"2026-03": 2}, "pothole": {"2026-03": 1}}


def test_window_category_and_scope(demo_ctx: AppContext, known: dict[str, str]) -> None:
    with demo_ctx.db.session() as session:
        operator = principal(demo_ctx, "operator")
        after = stats.compute(session, operator, now=LATER, since=NOW + DAY)
        assert after.total.volume == 0 and after.rows("agency") == []
        potholes = stats.compute(session, operator, now=LATER, category="pothole")
        assert potholes.total.volume == 1
        officer = stats.compute(session, principal(demo_ctx, OFFICER), now=LATER)
        assert officer.total.volume == 2
        assert [r.key for r in officer.rows("agency")] == [f"UBND-{RURAL}"]
        with pytest.raises(Invalid):
            stats.compute(session, operator, now=LATER, since=NOW, until=NOW)


def test_stats_page_and_refusals(demo_ctx: AppContext, client: TestClient,
                                 known: dict[str, str]) -> None:
    demo_ctx.clock = lambda: LATER
    browser_login(client, "operator", next_path="/field-reports/stats")
    page = client.get("/field-reports/stats")
    assert page.status_code == 200
    assert 'id="kpi-volume">3<' in page.text and "Thống kê phản ánh hiện trường" in page.text
    assert 'id="stats-data"' in page.text and "echarts" in page.text
    assert f'data-key="UBND-{RURAL}"' in page.text
    by_month = client.get("/field-reports/stats", params={"by": "month"})
    assert 'data-key="2026-03"' in by_month.text
    assert client.get("/field-reports/stats", params={"by": "nonsense"}).status_code == 400
    assert client.get("/field-reports/stats", params={"since": "10/03/2026"}).status_code == 400
    empty = client.get("/field-reports/stats", params={"since": "2030-01-01"})
    assert 'id="no-data"' in empty.text


def test_stats_need_sign_in(client: TestClient) -> None:
    answer = client.get("/field-reports/stats", follow_redirects=False)
    assert answer.status_code in (302, 303, 401)
    assert client.get("/field-reports/stats.csv", follow_redirects=False).status_code != 200
