"""The HTTP JSON connector against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import browser_login, post_form
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_models_support import NOW, own_app, seed, snapshot

from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.services.public_services.connector import (
    extract,
    run_connector,
    run_due_connectors,
    save_connector,
)
from cityops.services.public_services.models import Connector, Dossier, SyncRun

TOKEN = "s3cret-token"
MAPPING = {
    "code": "hoSo.maHoSo", "procedure_code": "hoSo.maTTHC",
    "processing_agency_code": "donVi", "received_at": "ngayTiepNhan", "channel": "kenh",
    "history": "lichSu", "history.state": "trangThai", "history.at": "thoiGian",
}


def source_item(n: int, state: int = 4) -> dict[str, Any]:
    history = [{"trangThai": 2, "thoiGian": "2026-03-16T08:00:00+07:00"},
               {"trangThai": state, "thoiGian": "2026-03-16T09:00:00+07:00"}]
    return {"hoSo": {"maHoSo": f"C-{n:03d}", "maTTHC": "1.001193"}, "donVi": "SO-TP",
            "ngayTiepNhan": "2026-03-16T08:00:00+07:00", "kenh": 2, "lichSu": history}


class _Handler(BaseHTTPRequestHandler):
    server: _Source

    def do_GET(self) -> None:
        state = self.server
        state.requests.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"error": "unauthorised"})
            return
        if state.fail_with:
            self._send(state.fail_with, {"error": "down"})
            return
        query = parse_qs(urlsplit(self.path).query)
        page, size = int(query["page"][0]), int(query["page_size"][0])
        chunk = state.items[(page - 1) * size: page * size]
        self._send(200, {"data": {"items": chunk}})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Source(ThreadingHTTPServer):
    items: list[Any]
    requests: list[str]
    fail_with: int


@pytest.fixture
def source() -> Iterator[_Source]:
    server = _Source(("127.0.0.1", 0), _Handler)
    server.items, server.requests, server.fail_with = [source_item(n) for n in range(5)], [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def url_of(server: _Source) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/api/hoso"


@pytest.fixture
def ctx(empty_ctx: AppContext) -> AppContext:
    seed(empty_ctx)
    empty_ctx.clock = lambda: NOW
    return empty_ctx


def make_connector(ctx: AppContext, url: str, **overrides: Any) -> int:
    values: dict[str, Any] = {"name": "Hệ thống một cửa", "url": url, "auth_kind": "bearer",
                              "auth_secret": TOKEN, "items_path": "data.items",
                              "page_param": "page", "page_size": 2, "max_pages": 10,
                              "every_minutes": 30, "enabled": True, "field_mapping": MAPPING}
    values.update(overrides)
    with ctx.uow() as uow:
        connector = save_connector(uow.session, values)
        uow.commit()
        return connector.id


def test_pulls_every_page_and_is_idempotent(ctx: AppContext, source: _Source) -> None:
    connector_id = make_connector(ctx, url_of(source))
    run_id = run_connector(ctx, connector_id)
    assert len(source.requests) == 3  # pages of 2, 2 and 1
    with ctx.db.session() as session:
        run = session.get(SyncRun, run_id)
        assert (run.status, run.pages, run.received, run.created) == ("ok", 3, 5, 5)
        assert session.get(Connector, connector_id).last_success_at == NOW
        stored = session.scalars(select(Dossier).where(Dossier.code == "C-000")).one()
        assert stored.state == 4 and stored.channel == 2 and stored.source == "connector"
    before = snapshot(ctx)
    run_connector(ctx, connector_id)
    after = snapshot(ctx)
    assert after["dossiers"] == before["dossiers"] and after["history"] == before["history"]
    # A newer state at the source updates the dossier.
    source.items[0]["lichSu"].append({"trangThai": 9, "thoiGian": "2026-03-17T10:00:00+07:00"})
    run_connector(ctx, connector_id)
    with ctx.db.session() as session:
        assert session.scalars(select(Dossier.state).where(Dossier.code == "C-000")).one() == 9


def test_errors_are_recorded_and_visible(ctx: AppContext, source: _Source) -> None:
    source.items.append({"hoSo": {"maHoSo": "C-BAD", "maTTHC": "0.0"}, "donVi": "SO-TP"})
    connector_id = make_connector(ctx, url_of(source), page_size=100)
    with ctx.db.session() as session:
        run = session.get(SyncRun, run_connector(ctx, connector_id))
        assert run.status == "partial" and run.failed == 1 and run.created == 5
        assert {p["field"] for p in run.problems} >= {"procedure_code", "received_at"}
    source.fail_with = 503
    with ctx.db.session() as session:
        run = session.get(SyncRun, run_connector(ctx, connector_id))
        assert run.status == "error" and "HTTP 503" in run.error
        assert "HTTP 503" in session.get(Connector, connector_id).last_error
    wrong = make_connector(ctx, url_of(source), name="Sai mật khẩu", auth_secret="nope")
    with ctx.db.session() as session:
        assert "HTTP 401" in session.get(SyncRun, run_connector(ctx, wrong)).error
    unreachable = make_connector(ctx, "http://127.0.0.1:9/none", name="Tắt")
    with ctx.db.session() as session:
        assert "cannot reach" in session.get(SyncRun, run_connector(ctx, unreachable)).error


def test_schedule_runs_only_due_connectors(ctx: AppContext, source: _Source) -> None:
    make_connector(ctx, url_of(source))
    assert run_due_connectors(ctx) == {"ran": 1}
    assert run_due_connectors(ctx) == {"ran": 0}  # ran at NOW, every 30 minutes
    ctx.clock = lambda: NOW + timedelta(minutes=31)
    assert run_due_connectors(ctx) == {"ran": 1}


def test_connector_settings_are_checked(ctx: AppContext) -> None:
    with pytest.raises(Invalid, match="http"):
        make_connector(ctx, "ftp://example/")
    with pytest.raises(Invalid, match="unknown fields"):
        make_connector(ctx, "http://x/", field_mapping={"code": "a", "colour": "b"})
    with pytest.raises(Invalid, match="code"):
        make_connector(ctx, "http://x/", field_mapping={"state": "a"})
    with pytest.raises(Invalid, match="header"):
        make_connector(ctx, "http://x/", auth_kind="header", auth_header="")


def test_extract_paths() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert extract(data, "a.b.1.c") == 2 and extract(data, "$.a.b.0.c") == 1
    assert extract(data, "a.x") is None and extract(data, "") == data


def test_admin_page_configures_and_shows_errors(demo_ctx: AppContext, source: _Source) -> None:
    seed(demo_ctx)
    with TestClient(own_app(demo_ctx)) as client:
        browser_login(client, "operator", next_path="/overview")
        assert client.get("/public-services/connectors").status_code == 403
        client.cookies.clear()
        browser_login(client, "admin", next_path="/public-services/connectors")
        form = {"name": "Một cửa", "url": url_of(source), "auth_kind": "bearer",
                "auth_secret": "wrong", "items_path": "data.items", "page_param": "page",
                "every_minutes": "15", "enabled": "1", "field_mapping": json.dumps(MAPPING)}
        bad = post_form(client, "/public-services/connectors", "/public-services/connectors",
                        {**form, "field_mapping": "{not json"})
        assert bad.status_code == 400 and "not JSON" in bad.text
        saved = post_form(client, "/public-services/connectors", "/public-services/connectors",
                          form)
        assert saved.status_code == 303
        with demo_ctx.db.session() as session:
            connector = session.scalars(select(Connector)).one()
        ran = post_form(client, "/public-services/connectors",
                        f"/public-services/connectors/{connector.id}/run", {})
        assert ran.status_code == 303
        page = client.get("/public-services/connectors").text
        assert "HTTP 401" in page and "wrong" not in page  # the error shows, the secret not


def test_basic_and_header_authentication(ctx: AppContext) -> None:
    import base64

    from cityops.services.public_services.connector import _headers

    basic = Connector(auth_kind="basic", auth_username="ioc", auth_secret="mật-khẩu")
    expected = base64.b64encode("ioc:mật-khẩu".encode()).decode()
    assert _headers(basic) == {"Authorization": f"Basic {expected}"}
    header = Connector(auth_kind="header", auth_header="X-Api-Key", auth_secret="k-1")
    assert _headers(header) == {"X-Api-Key": "k-1"}
