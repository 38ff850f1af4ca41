"""Routing: point → commune → routing table → lead + supporting agencies, else IOC triage."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_routing_helpers import BMT_WARD, NOW, RURAL, new_report, point_in, reload

from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import area_by_code
from cityops.services.field_reports.intake import IntakeRequest, create_report
from cityops.services.field_reports.models import Category, RoutingRule
from cityops.services.field_reports.routing import load_defaults, locate_area, route


def test_point_decides_the_commune(demo_ctx: AppContext) -> None:
    lat, lon = point_in(demo_ctx, BMT_WARD)
    with demo_ctx.db.session() as session:
        area = locate_area(session, lat, lon)
        assert area is not None and area.code == BMT_WARD
        assert locate_area(session, 21.03, 105.85) is None  # Hà Nội


def test_area_rule_beats_the_commune_fallback(demo_ctx: AppContext) -> None:
    urban = reload(demo_ctx, new_report(demo_ctx, category="garbage", area=BMT_WARD).id)
    assert urban.area.code == BMT_WARD
    assert urban.lead_agency.code == "MTDT-DAKLAK"
    assert [a.code for a in urban.supporting] == [f"UBND-{BMT_WARD}"]
    rural = reload(demo_ctx, new_report(demo_ctx, category="garbage", area=RURAL).id)
    assert rural.lead_agency.code == f"UBND-{RURAL}"
    assert rural.supporting == []


def test_agency_rule_with_supporters(demo_ctx: AppContext) -> None:
    report = reload(demo_ctx, new_report(demo_ctx, category="fallen_tree", area=RURAL,
                                         attributes={"blocking": "yes"}).id)
    assert report.lead_agency.code == f"UBND-{RURAL}"
    assert [a.code for a in report.supporting] == ["CA-PC08"]


def test_no_matching_rule_goes_to_ioc_triage(demo_ctx: AppContext) -> None:
    other = reload(demo_ctx, new_report(demo_ctx, category="other").id)
    assert other.lead_agency is None and other.state == "received"
    # Water supply has rules only where a water company serves: elsewhere → triage.
    water = reload(demo_ctx, new_report(demo_ctx, category="water_supply", area=RURAL).id)
    assert water.lead_agency is None


def test_address_only_report_waits_for_triage(demo_ctx: AppContext) -> None:
    report = reload(demo_ctx, new_report(demo_ctx, category="garbage", lat=None, lon=None,
                                         address="12 Lê Duẩn").id)
    assert report.area is None and report.lead_agency is None


def test_priority_orders_rules_and_admin_rules_apply(demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow:
        session = uow.session
        category = session.scalar(select(Category).where(Category.code == "noise"))
        area = area_by_code(session, RURAL)
        from cityops.kernel.orgs import agency_by_code

        session.add(RoutingRule(category=category, area=area, priority=5,
                                lead_agency=agency_by_code(session, "CA-TINH")))
        session.flush()
        decision = route(session, category, area)
        assert decision.lead.code == "CA-TINH"
        other = area_by_code(session, BMT_WARD)
        assert route(session, category, other).lead.code == f"UBND-{BMT_WARD}"


def test_outside_province_is_refused_and_nothing_written(demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow, pytest.raises(Invalid, match="outside"):
        create_report(uow, IntakeRequest(category_code="garbage", channel="app",
                                         description="x", lat=21.03, lon=105.85,
                                         contact_phone="0905123456"), now=NOW)


def test_defaults_load_idempotently(demo_ctx: AppContext) -> None:
    with demo_ctx.uow() as uow:
        before = len(uow.session.scalars(select(RoutingRule)).all())
        assert before > 10
        assert load_defaults(uow.session) == {"categories": 0, "routing rules": 0,
                                              "templates": 0}
        assert len(uow.session.scalars(select(RoutingRule)).all()) == before
