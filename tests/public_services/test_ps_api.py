"""POST /api/v1/public-services/dossiers:batch and the scoped reads."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from api_key_support import api_key_headers
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_models_support import dossier, own_app, seed, snapshot

from cityops.kernel.context import AppContext
from cityops.services.public_services.api import MAX_BATCH_ITEMS
from cityops.services.public_services.models import Dossier, IntakeBatch

URL = "/api/v1/public-services/dossiers:batch"
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def app(demo_ctx: AppContext):  # type: ignore[no-untyped-def]
    return own_app(demo_ctx)


@pytest.fixture
def seeded(demo_ctx: AppContext) -> AppContext:
    seed(demo_ctx)
    return demo_ctx


def api_key(ctx: AppContext, agency_code: str) -> dict[str, str]:
    return api_key_headers(ctx, agency_code, f"dossier system {agency_code}")


def test_integrator_sends_a_batch_twice_and_nothing_changes(
        seeded: AppContext, client: TestClient) -> None:
    key = api_key(seeded, "UBND-TINH")
    body = {"dossiers": [dossier("API-1"), dossier("API-2", processing_agency_code="UBND-22015"),
                         dossier("API-3", procedure_code="0.000000")]}
    first = client.post(URL, json=body, headers=key)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["created"], answer["failed"]) == (2, 1)
    assert answer["errors"] == [{"index": 2, "code": "API-3", "field": "procedure_code",
                                 "problem": answer["errors"][0]["problem"]}]
    before = snapshot(seeded)
    again = client.post(URL, json=body, headers=key).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    after = snapshot(seeded)
    # Only the intake batch row (and its audit row) is new; dossiers are identical.
    assert after["dossiers"] == before["dossiers"] and after["history"] == before["history"]
    assert after["audit"] == before["audit"] + 1
    with seeded.db.session() as session:
        batches = session.scalars(select(IntakeBatch).order_by(IntakeBatch.id)).all()
        assert [(b.source, b.created, b.unchanged, b.failed) for b in batches] == \
            [("api", 2, 0, 1), ("api", 0, 2, 1)]
        assert batches[0].actor.startswith("apikey:")


def test_integrator_is_limited_to_its_agencies(seeded: AppContext, client: TestClient) -> None:
    key = api_key(seeded, "SO-TP")
    answer = client.post(URL, json={"dossiers": [dossier("OWN"), dossier(
        "OTHER", processing_agency_code="UBND-22015")]}, headers=key).json()
    assert (answer["created"], answer["failed"]) == (1, 1)
    assert answer["errors"][0]["code"] == "OTHER" and answer["errors"][0]["field"] == "agency"


def test_refusals(seeded: AppContext, client: TestClient, auth_headers: Headers) -> None:
    assert client.post(URL, json={"dossiers": []}).status_code == 401
    for user in ("leader", "so-tp"):  # readers, not senders
        assert client.post(URL, json={"dossiers": []},
                           headers=auth_headers(user)).status_code == 403
    admin = auth_headers("admin")
    not_json = client.post(URL, content=b"{nope", headers={**admin,
                                                            "Content-Type": "application/json"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["detail"]
    assert client.post(URL, json=[dossier()], headers=admin).status_code == 400
    many = {"dossiers": [{"code": str(i)} for i in range(MAX_BATCH_ITEMS + 1)]}
    assert client.post(URL, json=many, headers=admin).status_code == 413
    huge = json.dumps({"dossiers": [{"code": "x" * 1000}] * 6000}).encode()
    assert client.post(URL, content=huge, headers={**admin, "Content-Type":
                                                   "application/json"}).status_code == 413
    with seeded.db.session() as session:
        assert session.scalars(select(Dossier)).all() == []


def test_officer_reads_only_its_agencys_dossiers(seeded: AppContext, client: TestClient,
                                                 auth_headers: Headers) -> None:
    admin = auth_headers("admin")
    body = {"dossiers": [dossier("TP-1"), dossier("W-1", processing_agency_code="UBND-22015")]}
    assert client.post(URL, json=body, headers=admin).json()["created"] == 2
    officer = auth_headers("so-tp")
    listed = client.get("/api/v1/public-services/dossiers", headers=officer).json()
    assert [d["code"] for d in listed["items"]] == ["TP-1"]
    assert client.get("/api/v1/public-services/dossiers/TP-1", headers=officer).status_code == 200
    assert client.get("/api/v1/public-services/dossiers/W-1", headers=officer).status_code == 403
    assert client.get("/api/v1/public-services/dossiers/NONE", headers=officer).status_code == 404
    everything = client.get("/api/v1/public-services/dossiers", headers=auth_headers("leader"))
    assert everything.json()["total"] == 2
    one = client.get("/api/v1/public-services/dossiers/TP-1", headers=admin).json()
    assert [h["state"] for h in one["history"]] == [2, 4] and one["outcome"] is not None


def test_procedure_catalogue_batch(seeded: AppContext, client: TestClient,
                                   auth_headers: Headers) -> None:
    url = "/api/v1/public-services/procedures:batch"
    admin = auth_headers("admin")
    row = {"code": "2.000001", "name": "Thủ tục thử", "field": "Hộ tịch", "level": "commune",
           "statutory_amount": 4, "statutory_unit": "hours", "online_level": "full", "fee": 0}
    assert client.post(url, json={"procedures": [row]}, headers=admin).json() == \
        {"created": 1, "updated": 0, "unchanged": 0}
    assert client.post(url, json={"procedures": [row]}, headers=admin).json()["unchanged"] == 1
    bad = client.post(url, json={"procedures": [{**row, "code": "2.000002"},
                                                 {**row, "level": "district"}]}, headers=admin)
    assert bad.status_code == 400 and "level" in bad.json()["detail"]
    assert client.post(url, json={"procedures": [row]},
                       headers=auth_headers("so-tp")).status_code == 403
    from cityops.services.public_services.models import Procedure

    with seeded.db.session() as session:  # the refused batch stored nothing
        assert session.scalars(select(Procedure).where(Procedure.code == "2.000002")).all() == []
