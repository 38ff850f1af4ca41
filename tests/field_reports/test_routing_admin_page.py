"""The routing rules page at /field-reports/admin/routing: list, add, edit, delete through the
same checks as the API, audited, CSRF-protected and for admins only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import browser_login, csrf_of
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_routing_helpers import RURAL

from cityops.kernel.audit import AuditLog
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code
from cityops.services.field_reports.models import Category, RoutingRule

PAGE = "/field-reports/admin/routing"


@pytest.fixture
def admin(app, demo_ctx: AppContext) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        browser_login(client, "admin", next_path="/field-reports/staff")
        yield client


def _post(client: TestClient, action: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(PAGE).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def _rules(ctx: AppContext, category: str) -> list[RoutingRule]:
    with ctx.db.session() as session:
        rules = session.scalars(select(RoutingRule).join(Category).where(
            Category.code == category).order_by(RoutingRule.id)).all()
        for rule in rules:
            _ = (rule.area, rule.lead_agency, rule.supporting)
        return list(rules)


def test_admin_adds_edits_and_deletes_a_rule(admin: TestClient, demo_ctx: AppContext) -> None:
    queue = admin.get("/field-reports/staff").text
    assert f'href="{PAGE}"' in queue  # linked from the console for admins
    page = admin.get(PAGE)
    assert page.status_code == 200 and 'id="routing-rules"' in page.text
    before = len(_rules(demo_ctx, "noise"))
    added = _post(admin, PAGE, {"category": "noise", "area_code": RURAL, "lead": "SO-XD",
                                "supporting": ["PC-DAKLAK"], "supporting_commune": "1",
                                "priority": "5", "note": "thử <b>nghiệm</b>"})
    assert added.status_code == 303, added.text
    rules = _rules(demo_ctx, "noise")
    assert len(rules) == before + 1
    rule = rules[-1]
    assert rule.area is not None and rule.area.code == RURAL and rule.priority == 5
    assert rule.lead_agency is not None and rule.lead_agency.code == "SO-XD"
    assert [a.code for a in rule.supporting] == ["PC-DAKLAK"] and rule.supporting_commune
    listed = admin.get(PAGE).text
    assert "thử &lt;b&gt;nghiệm&lt;/b&gt;" in listed and "<b>nghiệm" not in listed
    edited = _post(admin, f"{PAGE}/{rule.id}", {"category": "noise", "area_code": "",
                                                 "lead": "commune", "priority": "50"})
    assert edited.status_code == 303
    rule = _rules(demo_ctx, "noise")[-1]
    assert rule.area is None and rule.lead_is_commune and rule.lead_agency is None
    assert rule.priority == 50 and rule.supporting == []
    with demo_ctx.db.session() as session:
        audited = session.scalars(select(AuditLog).where(
            AuditLog.object_id == str(rule.id), AuditLog.actor.contains("admin"))).all()
        assert len(audited) >= 2
    deleted = _post(admin, f"{PAGE}/{rule.id}/delete", {})
    assert deleted.status_code == 303
    assert len(_rules(demo_ctx, "noise")) == before


def test_bad_rule_is_refused_with_nothing_written(admin: TestClient,
                                                 demo_ctx: AppContext) -> None:
    before = len(_rules(demo_ctx, "noise"))
    for data in ({"category": "noise", "lead": "NO-SUCH-AGENCY"},
                 {"category": "noise", "lead": ""},
                 {"category": "noise", "lead": "commune", "priority": "lots"},
                 {"category": "no-such-category", "lead": "commune"}):
        refused = _post(admin, PAGE, data)
        assert refused.status_code in (400, 404), (data, refused.status_code)
        assert 'id="form-error"' in refused.text
    assert len(_rules(demo_ctx, "noise")) == before
    assert _post(admin, f"{PAGE}/999999/delete", {}).status_code == 404
    no_csrf = admin.post(PAGE, data={"category": "noise", "lead": "commune"},
                         follow_redirects=False)
    assert no_csrf.status_code in (400, 403)
    assert len(_rules(demo_ctx, "noise")) == before


def test_only_admins_may_open_or_change_rules(app, demo_ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as session:
        assert agency_by_code(session, "SO-XD") is not None
    with TestClient(app) as client:
        browser_login(client, "operator", next_path="/field-reports/staff")
        assert f'href="{PAGE}"' not in client.get("/field-reports/staff").text
        assert client.get(PAGE).status_code == 403
        token = csrf_of(client.get("/field-reports/staff").text)
        assert client.post(PAGE, data={"category": "noise", "lead": "commune",
                                       "csrf_token": token}).status_code == 403
