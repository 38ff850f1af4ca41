"""Dashboard figures computed from known dossiers, and their scoping to the reader."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_dashboard_support import KNOWN, load_known

from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import SYSTEM, Principal
from cityops.services.public_services import dashboard
from cityops.services.public_services.dashboard import Period
from cityops.services.public_services.models import Dossier

MARCH, Q1 = Period.parse("2026-03"), Period.parse("2026-Q1")


@pytest.fixture
def ctx(empty_ctx: AppContext) -> AppContext:
    load_known(empty_ctx)
    return empty_ctx


def officer_of(ctx: AppContext, code: str) -> Principal:
    with ctx.db.session() as session:
        agency = agency_by_code(session, code)
        assert agency is not None
        return Principal(label=code.lower(), roles=frozenset({"officer"}),
                         permissions=frozenset({"public_services.read"}),
                         agency_id=agency.id, agency_scope=frozenset({agency.id}))


def test_the_engine_gave_each_known_dossier_its_expected_outcome(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        stored = dict(session.execute(select(Dossier.code, Dossier.outcome)).all())
    assert stored == {item["code"]: outcome for item, outcome in KNOWN}


def test_province_figures_for_march(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        tally = dashboard.province_tally(session, SYSTEM, MARCH)
    f, c = tally.figures, tally.counts
    assert (f.received, f.early, f.on_time, f.late, f.overdue) == (8, 1, 1, 1, 2)
    assert (c.in_term, c.due_soon, c.paused, c.cancelled) == (1, 1, 1, 0)
    assert tally.in_progress == 4
    assert f.online == 7 and f.digitised == 1 and f.flagged == 1
    assert (f.finished, f.e_results) == (3, 1)
    # Procedures used: 1.001193 (full online) and 1.002408 (partial) → 1 of 2.
    assert (f.procedures, f.procedures_full_online) == (2, 1)
    # Only 1.002408 has a fee; its one dossier was paid online.
    assert (f.fee_dossiers, f.paid_online) == (1, 1)
    assert tally.scores.on_time_rate == pytest.approx(40.0)  # 2 of 5 judged


def test_monthly_trend_has_every_month_of_the_quarter(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        months = dashboard.monthly(session, SYSTEM, Q1)
    assert [(m, t.figures.received) for m, t in months] == [
        (202601, 0), (202602, 1), (202603, 8)]


def test_ranking_by_on_time_rate_then_score(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        ranked = dashboard.ranking(session, SYSTEM, Q1)
    # Both 50 %: the department 2 of 4 judged, the ward 1 of 2; the 766 score breaks the tie.
    assert [r.on_time_rate for r in ranked] == [50.0, 50.0]
    assert ranked[0].score > ranked[1].score
    assert [r.rank for r in ranked] == [1, 2]
    with ctx.db.session() as session:
        march = dashboard.ranking(session, SYSTEM, MARCH)
    # In March alone the ward has only its overdue dossier: 0 %, ranked last.
    assert [(r.agency.code, r.on_time_rate) for r in march] == [("SO-TP", 50.0),
                                                                ("UBND-22015", 0.0)]


def test_report_lines_for_the_period(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        lines = dashboard.report(session, SYSTEM, MARCH)
    # Overdue processed: 1 finished late of 1 late + 2 still overdue.
    assert lines["overdue_processed"] == {"part": 1, "whole": 3, "percent": 33.33}
    assert lines["tickets_checked"]["whole"] == 0


def test_an_officer_sees_only_their_agency(ctx: AppContext) -> None:
    officer = officer_of(ctx, "UBND-22015")
    with ctx.db.session() as session:
        tally = dashboard.province_tally(session, officer, Q1)
        ranked = dashboard.ranking(session, officer, Q1)
    assert tally.figures.received == 2
    assert [r.agency.code for r in ranked] == ["UBND-22015"]


def test_an_empty_period_has_no_figures(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        tally = dashboard.province_tally(session, SYSTEM, Period.parse("2025"))
        assert dashboard.ranking(session, SYSTEM, Period.parse("2025")) == []
    assert tally.figures.received == 0 and tally.scores.total is None


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26", "2026-1", "x", "1999"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(Invalid):
        Period.parse(text)


def test_period_bounds_and_months() -> None:
    q4 = Period.parse("2025-Q4")
    start, end = q4.bounds()
    assert (start.isoformat(), end.isoformat()) == ("2025-10-01T00:00:00+07:00",
                                                    "2026-01-01T00:00:00+07:00")
    assert q4.months() == [202510, 202511, 202512]


def test_overview_tiles(ctx: AppContext) -> None:
    from test_models_support import NOW

    ctx.clock = lambda: NOW
    # March 2026: 2 of 5 judged dossiers early or on time; TP-OVER and W-OVER overdue now.
    assert dashboard.tile_on_time_this_month(ctx) == 40.0
    assert dashboard.tile_overdue_now(ctx) == 2
    ctx.clock = lambda: NOW.replace(year=2024)
    assert dashboard.tile_on_time_this_month(ctx) == "—"
