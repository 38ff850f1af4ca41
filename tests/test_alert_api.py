"""REST API of the alert center: /api/v1/alerts, /api/v1/incidents, /api/v1/alert-silences."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_key_support import api_key_headers
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import ColumnElement, and_, select
from test_alert_engine import OTHER, OWN

from cityops.alerts.models import Alert
from cityops.alerts.policies import sop_template
from cityops.alerts.vocab import SEVERITY_RANK
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency, Area, agency_by_code, agency_subtree_ids
from cityops.kernel.text import fold

Headers = Callable[[str], dict[str, str]]
ALERTS = "/api/v1/alerts"


# -- helpers ----------------------------------------------------------------------------------

def integrator_headers(ctx: AppContext, agency_code: str) -> dict[str, str]:
    return api_key_headers(ctx, agency_code, f"gateway {agency_code}")


def alert_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dedupe_key": "api-aqi-1", "service": "environment",
        "title": "Chỉ số VN_AQI vượt 150 tại trạm Ea Kar", "severity": "major",
        "category": "Env", "agency_code": OWN,
    }
    body.update(overrides)
    return body


def post_alert(client: TestClient, headers: dict[str, str], **overrides: Any) -> Response:
    return client.post(ALERTS, json=alert_body(**overrides), headers=headers)


def created(client: TestClient, headers: dict[str, str], **overrides: Any) -> int:
    response = post_alert(client, headers, **overrides)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def transition(client: TestClient, headers: dict[str, str], alert_id: int, to: str,
               comment: str = "") -> Response:
    return client.post(f"{ALERTS}/{alert_id}/transition", json={"to": to, "comment": comment},
                       headers=headers)


def status_of(ctx: AppContext, alert_id: int) -> str:
    with ctx.db.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert.status


def db_ids(ctx: AppContext, *conditions: ColumnElement[bool]) -> set[int]:
    with ctx.db.session() as session:
        return set(session.scalars(select(Alert.id).where(and_(True, *conditions))))


def agency_ids(ctx: AppContext, code: str) -> set[int]:
    with ctx.db.session() as session:
        agency = agency_by_code(session, code)
        assert agency is not None
        return agency_subtree_ids(session, agency.id)


def listed(client: TestClient, headers: dict[str, str], params: dict[str, Any],
           page_size: int = 500) -> tuple[list[dict[str, Any]], int]:
    """Every item of a filtered list, walking the pages; checks the page arithmetic."""
    items: list[dict[str, Any]] = []
    page, total = 1, None
    while True:
        response = client.get(ALERTS, params={**params, "page": page, "page_size": page_size},
                              headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        total = body["total"] if total is None else total
        assert body["total"] == total, "the total changed between pages"
        assert body["pages"] == math.ceil(total / page_size)
        if not body["items"]:
            break
        items += body["items"]
        page += 1
    assert len(items) == total
    assert len({item["id"] for item in items}) == total, "an item appeared on two pages"
    return items, total


def listed_ids(client: TestClient, headers: dict[str, str], **params: Any) -> set[int]:
    return {item["id"] for item in listed(client, headers, params)[0]}


# -- raising ----------------------------------------------------------------------------------

def test_raise_is_201_then_200_for_the_same_key(client: TestClient,
                                                auth_headers: Headers) -> None:
    operator = auth_headers("operator")
    first = post_alert(client, operator)
    assert first.status_code == 201
    body = first.json()
    assert isinstance(body["id"], int)
    assert (body["status"], body["occurrences"], body["agency_code"]) == ("new", 1, OWN)
    again = post_alert(client, operator, severity="critical")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert (again.json()["occurrences"], again.json()["severity"]) == (2, "critical")


def test_integrator_key_raises_for_its_own_agency_only(client: TestClient,
                                                       demo_ctx: AppContext) -> None:
    key = integrator_headers(demo_ctx, OWN)
    assert post_alert(client, key).status_code == 201
    refused = post_alert(client, key, dedupe_key="other-agency", agency_code=OTHER)
    assert refused.status_code == 403
    assert db_ids(demo_ctx, Alert.dedupe_key == "other-agency") == set()


@pytest.mark.parametrize(("who", "status"), [("so-yt", 403), ("so-nnmt", 403),
                                             ("leader", 403), (None, 401)])
def test_who_may_not_raise(client: TestClient, auth_headers: Headers, who: str | None,
                           status: int) -> None:
    headers = auth_headers(who) if who else {}
    assert post_alert(client, headers).status_code == status


def test_an_unknown_api_key_is_401(client: TestClient) -> None:
    assert post_alert(client, {"X-API-Key": "cok_not-a-real-key"}).status_code == 401


@pytest.mark.parametrize(("body", "status", "complaint"), [
    (b'{"dedupe_key": "x", ', 422, "invalid request"),
    (b"[]", 422, "invalid request"),
    (alert_body(colour="red"), 422, "colour"),
    (alert_body(severity="high"), 422, "severity"),
    (alert_body(service="Môi trường"), 422, "service"),
    (alert_body(title=""), 422, "title"),
    (alert_body(lat=95.0, lon=108.0), 422, "lat"),
    (alert_body(category="Environment"), 400, "CAP category"),
    (alert_body(lat=12.7), 400, "both lat and lon"),
    (alert_body(is_ticket=True, agency_code=None), 400, "agency"),
    (alert_body(agency_code="SO-KHONG-CO"), 400, "no agency"),
])
def test_bad_requests(client: TestClient, auth_headers: Headers, demo_ctx: AppContext,
                      body: Any, status: int, complaint: str) -> None:
    headers = auth_headers("operator")
    if isinstance(body, bytes):
        response = client.post(ALERTS, content=body,
                               headers={**headers, "Content-Type": "application/json"})
    else:
        response = client.post(ALERTS, json=body, headers=headers)
    assert response.status_code == status, response.text
    assert complaint in response.json()["detail"]
    assert db_ids(demo_ctx, Alert.dedupe_key == "api-aqi-1") == set()


def test_source_clear(client: TestClient, auth_headers: Headers, demo_ctx: AppContext) -> None:
    key = integrator_headers(demo_ctx, OWN)
    alert_id = created(client, key)
    body = {"service": "environment", "dedupe_key": "api-aqi-1", "note": "VN_AQI 70"}
    cleared = client.post(f"{ALERTS}:clear", json=body, headers=key)
    assert cleared.status_code == 200
    assert (cleared.json()["id"], cleared.json()["status"]) == (alert_id, "resolved")
    again = client.post(f"{ALERTS}:clear", json=body, headers=key)
    assert (again.status_code, again.json()) == (200, None)
    detail = client.get(f"{ALERTS}/{alert_id}", headers=auth_headers("operator")).json()
    assert detail["timeline"][-1]["data"] == {"auto": True}
    assert detail["timeline"][-1]["text"] == "VN_AQI 70"


# -- reading ----------------------------------------------------------------------------------

def test_anonymous_list_is_401(client: TestClient) -> None:
    assert client.get(ALERTS).status_code == 401


def _demo_area(ctx: AppContext) -> str:
    with ctx.db.session() as session:
        code = session.scalar(select(Area.code).join(Alert, Alert.area_id == Area.id)
                              .order_by(Alert.id).limit(1))
        assert code is not None
        return code


def _agency_is(code: str) -> ColumnElement[bool]:
    return Alert.agency_id.in_(select(Agency.id).where(Agency.code == code))


DEMO_NOW = datetime.now(UTC)
SINCE, UNTIL = DEMO_NOW - timedelta(days=120), DEMO_NOW - timedelta(days=60)
RECENT = DEMO_NOW - timedelta(days=30)
FILTERS: list[Any] = [
    pytest.param({"service": "environment"}, Alert.service == "environment", id="service"),
    pytest.param({"severity": ["critical", "major"]},
                 Alert.severity.in_(["critical", "major"]), id="severity-multi"),
    pytest.param({"status": ["new"]}, Alert.status == "new", id="status"),
    pytest.param({"status": ["resolved", "closed"]}, Alert.status.in_(["resolved", "closed"]),
                 id="status-multi"),
    pytest.param({"agency": "CA-PC08"}, _agency_is("CA-PC08"), id="agency"),
    pytest.param({"is_ticket": "true"}, Alert.is_ticket.is_(True), id="tickets"),
    pytest.param({"is_ticket": "false"}, Alert.is_ticket.is_(False), id="not-tickets"),
    pytest.param({"since": SINCE.isoformat(), "until": UNTIL.isoformat()},
                 and_(Alert.raised_at >= SINCE, Alert.raised_at < UNTIL), id="since-until"),
    pytest.param({"service": "public_services", "status": ["acknowledged"],
                  "since": SINCE.isoformat()},
                 and_(Alert.service == "public_services", Alert.status == "acknowledged",
                      Alert.raised_at >= SINCE), id="combined"),
]


@pytest.mark.parametrize(("params", "condition"), FILTERS)
def test_list_filters_match_the_database(client: TestClient, auth_headers: Headers,
                                         demo_ctx: AppContext, params: dict[str, Any],
                                         condition: ColumnElement[bool]) -> None:
    expected = db_ids(demo_ctx, condition)
    assert expected, "the filter should select some demo alerts"
    assert listed_ids(client, auth_headers("operator"), **params) == expected


def test_area_filter(client: TestClient, auth_headers: Headers, demo_ctx: AppContext) -> None:
    code = _demo_area(demo_ctx)
    expected = db_ids(demo_ctx, Alert.area_id.in_(select(Area.id).where(Area.code == code)))
    assert expected
    assert listed_ids(client, auth_headers("operator"), area=code) == expected


def test_naive_since_is_refused(client: TestClient, auth_headers: Headers) -> None:
    response = client.get(ALERTS, params={"since": "2026-01-01T00:00:00"},
                          headers=auth_headers("operator"))
    assert response.status_code == 422
    assert "since" in response.json()["detail"]


def _search_ids(ctx: AppContext, needle: str) -> set[int]:
    """What a diacritic-insensitive substring search must find, computed in Python."""
    with ctx.db.session() as session:
        rows = session.execute(select(Alert.id, Alert.search_text, Alert.dedupe_key)).all()
    return {row.id for row in rows
            if fold(needle) in (row.search_text or "") or row.dedupe_key == needle.strip()}


@pytest.mark.parametrize("q", ["chi so vn_aqi", "CHỈ SỐ VN_AQI", "buon ma thuot",
                               "Quốc lộ 14", "demo-live-4", "%", "_", "100%"])
def test_search_is_diacritic_insensitive_and_literal(client: TestClient, auth_headers: Headers,
                                                     demo_ctx: AppContext, q: str) -> None:
    assert listed_ids(client, auth_headers("operator"), q=q) == _search_ids(demo_ctx, q)


def test_search_finds_the_aqi_alert(client: TestClient, auth_headers: Headers) -> None:
    items, _ = listed(client, auth_headers("operator"), {"q": "chi so vn_aqi"})
    assert any(item["title"].startswith("Chỉ số VN_AQI") for item in items)


SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "-raised_at": lambda i: (-datetime.fromisoformat(i["raised_at"]).timestamp(), -i["id"]),
    "raised_at": lambda i: (datetime.fromisoformat(i["raised_at"]).timestamp(), -i["id"]),
    "-severity": lambda i: (-SEVERITY_RANK[i["severity"]],
                            -datetime.fromisoformat(i["raised_at"]).timestamp(), -i["id"]),
    "severity": lambda i: (SEVERITY_RANK[i["severity"]],
                           -datetime.fromisoformat(i["raised_at"]).timestamp(), -i["id"]),
}


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_pagination_is_consistent(client: TestClient, auth_headers: Headers,
                                  demo_ctx: AppContext, sort: str) -> None:
    """Small pages over many ties (tickets raised at the same 07:30) cover each item once."""
    params = {"since": RECENT.isoformat(), "sort": sort}
    items, total = listed(client, auth_headers("operator"), params, page_size=7)
    assert {i["id"] for i in items} == db_ids(demo_ctx, Alert.raised_at >= RECENT)
    assert total > 7 * 3
    keys = [SORT_KEYS[sort](item) for item in items]
    assert keys == sorted(keys)


def test_pages_past_the_end_are_empty(client: TestClient, auth_headers: Headers) -> None:
    body = client.get(ALERTS, params={"page": 10_000, "page_size": 50},
                      headers=auth_headers("operator")).json()
    assert body["items"] == [] and body["total"] > 0


def test_bad_sort_and_page_size_are_422(client: TestClient, auth_headers: Headers) -> None:
    operator = auth_headers("operator")
    assert client.get(ALERTS, params={"sort": "title"}, headers=operator).status_code == 422
    assert client.get(ALERTS, params={"page_size": 501}, headers=operator).status_code == 422


@pytest.mark.parametrize("officer", ["so-nnmt", "ca-pc08", "so-yt"])
def test_officers_list_only_their_agencys_alerts(client: TestClient, auth_headers: Headers,
                                                 demo_ctx: AppContext, officer: str) -> None:
    expected = db_ids(demo_ctx, Alert.agency_id.in_(agency_ids(demo_ctx, officer.upper())))
    assert expected
    assert listed_ids(client, auth_headers(officer)) == expected
    # A filter for another agency cannot widen the scope.
    assert listed_ids(client, auth_headers(officer), agency="SO-KHCN") == set()


def test_get_one_alert(client: TestClient, auth_headers: Headers, demo_ctx: AppContext) -> None:
    alert_id = created(client, auth_headers("operator"))
    detail = client.get(f"{ALERTS}/{alert_id}", headers=auth_headers("so-nnmt"))
    assert detail.status_code == 200
    body = detail.json()
    assert body["allowed_transitions"] == ["acknowledged", "in_progress", "resolved"]
    assert body["timeline"][0]["kind"] == "raised"
    assert client.get(f"{ALERTS}/{alert_id}", headers=auth_headers("leader")).status_code == 200
    assert client.get(f"{ALERTS}/{alert_id}", headers=auth_headers("so-yt")).status_code == 403
    assert client.get(f"{ALERTS}/987654", headers=auth_headers("operator")).status_code == 404
    assert client.get(f"{ALERTS}/{alert_id}").status_code == 401


# -- working on alerts ------------------------------------------------------------------------

def test_transitions(client: TestClient, auth_headers: Headers, demo_ctx: AppContext) -> None:
    alert_id = created(client, auth_headers("operator"))
    officer = auth_headers("so-nnmt")
    refused = transition(client, officer, alert_id, "closed")
    assert refused.status_code == 409
    assert refused.json()["detail"] == \
        "cannot go from new to closed; allowed: acknowledged, in_progress, resolved"
    assert transition(client, officer, alert_id, "done").status_code == 422
    assert transition(client, auth_headers("so-yt"), alert_id, "acknowledged").status_code == 403
    assert transition(client, auth_headers("leader"), alert_id,
                      "acknowledged").status_code == 403
    assert transition(client, officer, 987654, "acknowledged").status_code == 404
    assert status_of(demo_ctx, alert_id) == "new"

    done = transition(client, officer, alert_id, "acknowledged", "Đã tiếp nhận")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "acknowledged"
    assert body["allowed_transitions"] == ["in_progress", "resolved"]
    assert body["timeline"][-1]["text"] == "Đã tiếp nhận"
    assert body["timeline"][-1]["actor"] == "so-nnmt"


def test_comments_and_assignment(client: TestClient, auth_headers: Headers) -> None:
    alert_id = created(client, auth_headers("operator"))
    officer = auth_headers("so-nnmt")
    path = f"{ALERTS}/{alert_id}/comments"
    posted = client.post(path, json={"text": "Đã cử cán bộ"}, headers=officer)
    assert posted.status_code == 201
    assert (posted.json()["kind"], posted.json()["actor"]) == ("comment", "so-nnmt")
    assert client.post(path, json={"text": ""}, headers=officer).status_code == 422
    assert client.post(path, json={"text": "   "}, headers=officer).status_code == 400
    assert client.post(path, json={"text": "x"}, headers=auth_headers("so-yt")).status_code == 403
    comments = client.get(path, headers=auth_headers("leader"))
    assert [c["text"] for c in comments.json()] == ["Đã cử cán bộ"]

    assign = f"{ALERTS}/{alert_id}/assign"
    assigned = client.post(assign, json={"username": "so-nnmt"}, headers=auth_headers("operator"))
    assert (assigned.status_code, assigned.json()["assignee"]) == (200, "so-nnmt")
    unknown = client.post(assign, json={"username": "ai-do"}, headers=auth_headers("operator"))
    assert unknown.status_code == 400


def test_ticket_check_and_answer(client: TestClient, auth_headers: Headers) -> None:
    ticket = created(client, auth_headers("operator"), dedupe_key="ticket-api",
                     service="public_services", category="Other", severity="warning",
                     is_ticket=True, title="Phiếu cảnh báo: 3 hồ sơ trễ hạn")
    officer = auth_headers("so-nnmt")
    base = f"{ALERTS}/{ticket}/ticket"
    assert client.post(f"{base}/check", headers=auth_headers("so-yt")).status_code == 403
    checked = client.post(f"{base}/check", headers=officer)
    assert checked.status_code == 200
    assert checked.json()["status"] == "acknowledged"
    assert checked.json()["ticket_checked_at"] is not None
    assert client.post(f"{base}/answer", json={"response": ""}, headers=officer).status_code == 422
    answered = client.post(f"{base}/answer", json={"response": "Đã xử lý"}, headers=officer)
    assert answered.status_code == 200
    assert answered.json()["status"] == "resolved"
    twice = client.post(f"{base}/answer", json={"response": "Lần nữa"}, headers=officer)
    assert twice.status_code == 409
    assert "already been answered" in twice.json()["detail"]


def test_bulk_acknowledge_reports_what_it_refused(client: TestClient, auth_headers: Headers,
                                                  demo_ctx: AppContext) -> None:
    operator = auth_headers("operator")
    own = [created(client, operator, dedupe_key=f"bulk-{i}") for i in range(3)]
    foreign = created(client, operator, dedupe_key="bulk-foreign", agency_code=OTHER)
    assert transition(client, operator, own[2], "acknowledged").status_code == 200
    ids = [own[0], foreign, own[1], 987654, own[2], own[0]]
    response = client.post(f"{ALERTS}/bulk/acknowledge", json={"ids": ids, "comment": "hàng loạt"},
                           headers=auth_headers("so-nnmt"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["done"] == [own[0], own[1]]
    assert set(body["refused"]) == {str(foreign), "987654", str(own[2])}
    assert "another agency" in body["refused"][str(foreign)]
    assert "987654" in body["refused"]["987654"]
    assert "cannot go from acknowledged" in body["refused"][str(own[2])]
    assert [status_of(demo_ctx, i) for i in (*own, foreign)] == \
        ["acknowledged", "acknowledged", "acknowledged", "new"]
    assert client.post(f"{ALERTS}/bulk/acknowledge", json={"ids": []},
                       headers=operator).status_code == 422


# -- incidents --------------------------------------------------------------------------------

def test_incident_api(client: TestClient, auth_headers: Headers) -> None:
    operator = auth_headers("operator")
    alerts = [created(client, operator, dedupe_key=f"fire-{i}", category="Fire",
                      severity="critical") for i in range(2)]
    body = {"title": "Cháy rừng phòng hộ Ea Súp", "category": "Fire", "alert_ids": alerts}
    assert client.post("/api/v1/incidents", json=body,
                       headers=auth_headers("so-nnmt")).status_code == 403
    assert client.post("/api/v1/incidents", json={**body, "category": "Wildfire"},
                       headers=operator).status_code == 400
    response = client.post("/api/v1/incidents", json=body, headers=operator)
    assert response.status_code == 201, response.text
    incident = response.json()
    assert incident["alert_ids"] == alerts
    assert [s["title"] for s in incident["steps"]] == [r["title"] for r in sop_template("Fire")]
    path = f"/api/v1/incidents/{incident['id']}"
    assert client.get(path, headers=auth_headers("so-nnmt")).status_code == 200
    assert client.get(path, headers=auth_headers("so-yt")).status_code == 403
    assert client.get("/api/v1/incidents/987654", headers=operator).status_code == 404
    assert client.patch(f"{path}/steps/987654", json={"done": True},
                        headers=operator).status_code == 404

    for step in incident["steps"]:
        patched = client.patch(f"{path}/steps/{step['id']}", json={"done": True},
                               headers=auth_headers("so-nnmt"))
        assert patched.status_code == 200, patched.text
    final = client.get(path, headers=operator).json()
    assert final["status"] == "closed" and final["closed_at"] is not None
    assert all(s["done_by"] == "so-nnmt" for s in final["steps"])
    reopened = client.patch(f"{path}/steps/{final['steps'][0]['id']}",
                            json={"done": False, "assignee": "so-nnmt"}, headers=operator)
    assert reopened.json()["status"] == "open"
    assert reopened.json()["steps"][0]["assignee"] == "so-nnmt"


# -- silences ---------------------------------------------------------------------------------

def silence_body(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"service": "environment", "max_severity": "major", "comment": "bảo trì trạm",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat()}
    body.update(overrides)
    return body


@pytest.mark.parametrize(("overrides", "status"), [
    ({"starts_at": "2026-03-04T08:00:00"}, 422),
    ({"ends_at": "2026-03-04T08:00:00"}, 422),
    ({"starts_at": "2026-03-04T10:00:00+07:00", "ends_at": "2026-03-04T09:00:00+07:00"}, 400),
    ({"starts_at": "2026-03-04T10:00:00+07:00", "ends_at": "2026-03-04T03:00:00Z"}, 400),
    ({"max_severity": "extreme"}, 422),
    ({"agency_code": "SO-KHONG-CO"}, 400),
    ({"owner": "me"}, 422),
])
def test_bad_silences(client: TestClient, auth_headers: Headers, overrides: dict[str, Any],
                      status: int) -> None:
    response = client.post("/api/v1/alert-silences", json=silence_body(**overrides),
                           headers=auth_headers("operator"))
    assert response.status_code == status, response.text


def test_silence_api(client: TestClient, auth_headers: Headers) -> None:
    operator = auth_headers("operator")
    assert client.post("/api/v1/alert-silences", json=silence_body(),
                       headers=auth_headers("so-nnmt")).status_code == 403
    made = client.post("/api/v1/alert-silences", json=silence_body(agency_code=OWN),
                       headers=operator)
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "operator"
    listing = client.get("/api/v1/alert-silences", headers=auth_headers("leader"))
    assert made.json()["id"] in [s["id"] for s in listing.json()]
    assert post_alert(client, operator).json()["silenced"] is True
    loud = post_alert(client, operator, dedupe_key="too-severe", severity="critical")
    assert loud.json()["silenced"] is False
    elsewhere = post_alert(client, operator, dedupe_key="other-agency", agency_code=OTHER)
    assert elsewhere.json()["silenced"] is False
