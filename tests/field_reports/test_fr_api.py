"""Staff JSON API: create (app/hotline), queue filters, scope (403), transitions (409),
notes, assign/bulk, merge, moderation, nearby, routing rules CRUD (admin, audited)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from test_routing_helpers import BMT_WARD, RURAL, point_in

from cityops.kernel.audit import AuditLog
from cityops.kernel.context import AppContext

API = "/api/v1/field-reports"
Headers = Callable[[str], dict[str, str]]


def _create(client: TestClient, headers: dict[str, str], ctx: AppContext, *,
            category: str = "garbage", area: str = RURAL, **extra: object) -> dict:
    lat, lon = point_in(ctx, area)
    body = {"category": category, "lat": lat, "lon": lon, "description": "Rác ùn ứ",
            "contact_phone": "0905 111 222", **extra}
    response = client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_hotline_intake_records_caller_and_channel(client: TestClient, auth_headers: Headers,
                                                   demo_ctx: AppContext) -> None:
    out = _create(client, auth_headers("operator"), demo_ctx, channel="hotline",
                  contact_name="Trần Thị Gọi")
    assert out["channel"] == "hotline" and out["recorded_by"] == "operator"
    assert out["contact_phone"] == "0905111222" and out["state"] == "received"
    assert out["lead_agency"] == f"UBND-{RURAL}" and out["due_at"]
    assert out["timeline"][0]["kind"] == "created"
    # Officers may record app reports, but not act as hotline call-takers.
    lat, lon = point_in(demo_ctx, RURAL)
    refused = client.post(API, headers=auth_headers(f"ubnd-{RURAL}"), json={
        "category": "garbage", "channel": "hotline", "lat": lat, "lon": lon,
        "description": "x", "contact_phone": "0905111222"})
    assert refused.status_code == 403


def test_bad_input_is_a_clear_400(client: TestClient, auth_headers: Headers,
                                  demo_ctx: AppContext) -> None:
    headers = auth_headers("operator")
    lat, lon = point_in(demo_ctx, RURAL)
    cases = [
        ({"category": "garbage", "lat": lat, "lon": lon, "description": "x"}, "phone"),
        ({"category": "garbage", "lat": lat, "description": "x", "contact_phone": "0905111222"},
         "lat and lon"),
        ({"category": "pothole", "lat": lat, "lon": lon, "description": "x",
          "contact_phone": "0905111222"}, "size"),
        ({"category": "pothole", "lat": lat, "lon": lon, "description": "x",
          "contact_phone": "0905111222", "attributes": {"size": "huge"}}, "one of"),
        ({"category": "garbage", "lat": lat, "lon": lon, "description": "x",
          "contact_email": "not-an-email"}, "e-mail"),
    ]
    for body, words in cases:
        response = client.post(API, json=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert words in response.json()["detail"]
    assert client.post(API, json={"category": "nope", "lat": lat, "lon": lon,
                                  "description": "x", "contact_phone": "0905111222"},
                       headers=headers).status_code == 404
    assert client.get(API, headers=headers).json()["total"] == 0  # nothing half-written


def test_queue_filters_and_scope(client: TestClient, auth_headers: Headers,
                                 demo_ctx: AppContext) -> None:
    operator = auth_headers("operator")
    rural = _create(client, operator, demo_ctx)
    urban = _create(client, operator, demo_ctx, area=BMT_WARD)
    triage = _create(client, operator, demo_ctx, category="other")

    def codes(headers: dict[str, str], query: str = "") -> set[str]:
        response = client.get(f"{API}?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return {r["code"] for r in response.json()["items"]}

    assert codes(operator) == {rural["code"], urban["code"], triage["code"]}
    assert codes(operator, "triage=true") == {triage["code"]}
    assert codes(operator, f"area={BMT_WARD}") == {urban["code"]}
    assert codes(operator, "agency=MTDT-DAKLAK") == {urban["code"]}
    assert codes(operator, "category=other&state=received") == {triage["code"]}
    assert codes(operator, "overdue=true") == set()
    # An officer sees its own reports, and those it supports (the ward supports MTĐT).
    assert codes(auth_headers(f"ubnd-{RURAL}")) == {rural["code"]}
    assert codes(auth_headers(f"ubnd-{BMT_WARD}")) == {urban["code"]}
    other = auth_headers("so-xd")
    assert codes(other) == set()
    assert client.get(f"{API}/{rural['id']}", headers=other).status_code == 403
    assert client.post(f"{API}/{rural['id']}/notes", json={"text": "x"},
                       headers=other).status_code == 403
    assert client.get(f"{API}?state=bogus", headers=operator).status_code == 400
    assert client.get(API).status_code == 401


def test_transitions_over_http(client: TestClient, auth_headers: Headers,
                               demo_ctx: AppContext) -> None:
    operator, officer = auth_headers("operator"), auth_headers(f"ubnd-{RURAL}")
    report = _create(client, operator, demo_ctx, contact_email="dan@example.vn")
    url = f"{API}/{report['id']}"
    refused = client.post(f"{url}/transition", json={"to": "resolved", "reason": "x"},
                          headers=officer)
    assert refused.status_code == 409 and "allowed from: assigned, in_progress" in \
        refused.json()["detail"]
    assert client.post(f"{url}/transition", json={"to": "verified"},
                       headers=operator).json()["state"] == "verified"
    assert client.post(f"{url}/assign", json={}, headers=operator).json()["state"] == "assigned"
    for step in ({"to": "in_progress"}, {"to": "resolved", "reason": "Đã thu gom"}):
        response = client.post(f"{url}/transition", json=step, headers=officer)
        assert response.status_code == 200, response.text
    note = client.post(f"{url}/notes", json={"text": "Nội bộ"}, headers=officer)
    assert note.status_code == 201 and note.json()["public"] is False
    approved = client.post(f"{url}/approve", headers=operator)
    assert approved.status_code == 200 and approved.json()["result_approved"]
    assert client.post(f"{url}/approve", headers=operator).status_code == 409
    assert client.post(f"{url}/approve", headers=officer).status_code == 403
    reopened = client.post(f"{url}/reopen", json={"reason": "Chưa xong"}, headers=operator)
    assert reopened.json()["state"] == "in_progress" and reopened.json()["reopen_count"] == 1
    transfer = client.post(f"{url}/transfer", json={"agency": "SO-XD", "reason": "Sai đơn vị"},
                           headers=officer)
    assert transfer.json()["lead_agency"] == "SO-XD"
    assert client.post(f"{url}/transition", json={"to": "bogus"},
                       headers=operator).status_code == 422


def test_merge_bulk_assign_moderation_nearby(client: TestClient, auth_headers: Headers,
                                             demo_ctx: AppContext) -> None:
    operator = auth_headers("operator")
    first = _create(client, operator, demo_ctx)
    second = _create(client, operator, demo_ctx)
    lat, lon = point_in(demo_ctx, RURAL)
    near = client.get(f"{API}/nearby", params={"lat": lat, "lon": lon + 0.0003,
                                               "category": "garbage"}, headers=operator)
    assert near.status_code == 200
    assert {r["code"] for r in near.json()} == {first["code"], second["code"]}
    assert all(20 < r["distance_m"] <= 50 for r in near.json())  # radius 50 m
    far = client.get(f"{API}/nearby", params={"lat": lat, "lon": lon + 0.001,
                                              "category": "garbage"}, headers=operator)
    assert far.json() == []  # about 100 m away: outside the radius
    assert client.get(f"{API}/nearby", params={"lat": lat, "lon": lon, "category": "noise"},
                      headers=operator).json() == []

    merged = client.post(f"{API}/{second['id']}/merge", json={"into": first["code"]},
                         headers=operator)
    assert merged.json()["state"] == "duplicate"
    assert merged.json()["duplicate_of"] == first["code"]
    third = _create(client, operator, demo_ctx)
    bulk = client.post(f"{API}/bulk-assign", json={"report_ids": [first["id"], third["id"]],
                                                   "agency": "SO-XD"}, headers=operator)
    assert bulk.status_code == 200 and {r["lead_agency"] for r in bulk.json()} == {"SO-XD"}
    moderated = client.post(f"{API}/{first['id']}/moderate",
                            json={"reason": "Thông tin cá nhân", "description": "Rác"},
                            headers=operator)
    assert moderated.json()["description"] == "Rác"
    history = client.get(f"{API}/{first['id']}/moderation", headers=operator).json()
    assert history[0]["before"] == "Rác ùn ứ" and history[0]["after"] == "Rác"


def test_routing_rules_crud_by_admin_only(client: TestClient, auth_headers: Headers,
                                          demo_ctx: AppContext) -> None:
    admin, operator = auth_headers("admin"), auth_headers("operator")
    rules = client.get(f"{API}/routing-rules?category=noise", headers=operator).json()
    assert [r["lead_is_commune"] for r in rules] == [True]
    body = {"category": "noise", "area_code": RURAL, "lead_agency": "CA-TINH",
            "supporting": ["CA-PC08"], "priority": 5}
    assert client.post(f"{API}/routing-rules", json=body, headers=operator).status_code == 403
    created = client.post(f"{API}/routing-rules", json=body, headers=admin)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    report = _create(client, operator, demo_ctx, category="noise")
    assert report["lead_agency"] == "CA-TINH" and report["supporting_agencies"] == ["CA-PC08"]
    bad = client.post(f"{API}/routing-rules", json={**body, "lead_is_commune": True},
                      headers=admin)
    assert bad.status_code == 400
    updated = client.put(f"{API}/routing-rules/{rule_id}", json={**body, "priority": 7},
                         headers=admin)
    assert updated.json()["priority"] == 7
    assert client.delete(f"{API}/routing-rules/{rule_id}", headers=admin).status_code == 204
    assert client.delete(f"{API}/routing-rules/{rule_id}", headers=admin).status_code == 404
    with demo_ctx.db.session() as session:
        actions = session.scalars(select(AuditLog.action).where(
            AuditLog.object_type == "fr_routing_rules",
            AuditLog.object_id == str(rule_id))).all()
    assert sorted(actions) == ["create", "delete", "update"]


def test_templates_bans_and_photo_moderation(client: TestClient, auth_headers: Headers,
                                             demo_ctx: AppContext) -> None:
    operator, officer = auth_headers("operator"), auth_headers(f"ubnd-{RURAL}")
    templates = client.get(f"{API}/templates?state=resolved", headers=officer)
    assert templates.status_code == 200
    assert [t["state"] for t in templates.json()] == ["resolved"]
    assert "đánh giá" in templates.json()[0]["text_vi"]
    assert client.get(f"{API}/templates?state=nope", headers=officer).status_code == 400

    ban = {"kind": "phone", "value": "0905 999 000", "reason": "Gọi quấy rối"}
    assert client.post(f"{API}/bans", json=ban, headers=officer).status_code == 403
    created = client.post(f"{API}/bans", json=ban, headers=operator)
    assert created.status_code == 201 and "0905" not in created.text
    assert client.post(f"{API}/bans", json=ban, headers=operator).status_code == 409
    lat, lon = point_in(demo_ctx, RURAL)
    refused = client.post(API, headers=operator, json={
        "category": "garbage", "lat": lat, "lon": lon, "description": "x",
        "contact_phone": "0905.999.000"})
    assert refused.status_code == 400 and "1022" in refused.json()["detail"]

    report = _create(client, operator, demo_ctx)
    from cityops.services.field_reports.models import Media, Moderation

    with demo_ctx.uow() as uow:
        media = Media(report_id=report["id"], stored_name="abc.jpg", content_type="image/jpeg",
                      size=10, width=1, height=1)
        uow.session.add(media)
        uow.commit()
    url = f"{API}/media/{media.id}/moderate"
    body = {"reason": "Lộ biển số xe", "redacted": True}
    assert client.post(url, json=body, headers=officer).status_code == 403
    moderated = client.post(url, json=body, headers=operator)
    assert moderated.json() == {"id": media.id, "hidden": False, "redacted": True}
    assert client.post(f"{API}/media/999999/moderate", json=body,
                       headers=operator).status_code == 404
    with demo_ctx.db.session() as session:
        history = session.scalars(select(Moderation).where(
            Moderation.media_id == media.id)).all()
    assert [(m.field, m.before, m.after) for m in history] == [("media.redacted", "False",
                                                                "True")]
