"""The live alert stream (SSE) against a real uvicorn server on its own thread.

Each stream is read by a background thread into a queue, so every wait in the test has a
deadline and a stuck stream fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import DEMO_PASSWORD

from cityops.alerts import live, service
from cityops.kernel.context import AppContext
from cityops.kernel.permissions import SYSTEM
from cityops.kernel.uow import UnitOfWork
from cityops.web.app import create_app

WAIT = 8.0  # seconds an expected event may take; polling is every second


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base_url: str
    app: Any


@pytest.fixture
def server(demo_ctx: AppContext) -> Iterator[Server]:
    app = create_app(demo_ctx)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=2)
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base_url + "/healthz", timeout=1, trust_env=False).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.1)
    yield Server(base_url, app)
    runner.should_exit = True
    thread.join(timeout=10)


def browser(base_url: str, username: str) -> httpx.Client:
    """A client signed in through the login form, holding the session cookie."""
    client = httpx.Client(base_url=base_url, timeout=10, trust_env=False)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                           "next": "/alerts", "csrf_token": token.group(1)})
    assert response.status_code == 303, response.text
    return client


def bearer(base_url: str, username: str) -> dict[str, str]:
    response = httpx.post(base_url + "/api/v1/auth/token", trust_env=False, timeout=10,
                          data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Stream:
    """Reads one SSE response on a thread; ``events`` receives (event, id, data) tuples."""

    client: httpx.Client
    headers: dict[str, str] = field(default_factory=dict)
    events: queue.Queue[tuple[str, str, Any]] = field(default_factory=queue.Queue)
    status: queue.Queue[int] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        self.response: httpx.Response | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.status_code = self.status.get(timeout=WAIT)

    def _read(self) -> None:
        try:
            timeout = httpx.Timeout(10, read=30)
            with self.client.stream("GET", "/alerts/stream", headers=self.headers,
                                    timeout=timeout) as response:
                self.response = response
                self.status.put(response.status_code)
                name, event_id, data = "message", "", []
                for line in response.iter_lines():
                    if line == "":
                        if data:
                            self.events.put((name, event_id, json.loads("\n".join(data))))
                        name, data = "message", []
                    elif line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
        except (httpx.HTTPError, RuntimeError):  # closed by the test
            pass
        finally:
            self.status.put(0)

    def wait_for(self, predicate: Any, seconds: float = WAIT) -> tuple[list[Any], str]:
        """Every alert payload received until one matches; fails after ``seconds``."""
        seen: list[Any] = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {seconds}s; got {seen}")
            try:
                name, event_id, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if name == "alert":
                seen.append(data)
                if predicate(data):
                    return seen, event_id

    def drain(self, seconds: float) -> list[Any]:
        time.sleep(seconds)
        found = []
        while not self.events.empty():
            found.append(self.events.get_nowait()[2])
        return found

    def close(self) -> None:
        # Closing the client does not interrupt a read blocked in another thread; shutting
        # the socket down does, and the server sees the disconnect at once.
        network = self.response.extensions.get("network_stream") if self.response else None
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.client.close()
        assert not self.thread.is_alive(), "the stream reader did not stop"


def raise_alert(base_url: str, headers: dict[str, str], key: str, title: str,
                agency: str) -> dict[str, Any]:
    response = httpx.post(base_url + "/api/v1/alerts", headers=headers, trust_env=False,
                          timeout=10, json={
                              "dedupe_key": key, "service": "environment", "title": title,
                              "severity": "major", "category": "Env", "agency_code": agency,
                              "lat": 12.68, "lon": 108.05})
    assert response.status_code == 201, response.text
    return response.json()


def test_anonymous_stream_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, trust_env=False, timeout=5) as client:
        response = client.get("/alerts/stream")
    assert response.status_code == 401


def test_new_alert_reaches_the_stream(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # A slow poll proves the in-process bus wakes the stream at once.
    monkeypatch.setattr(live, "POLL_SECONDS", 30.0)
    stream = Stream(browser(server.base_url, "operator"))
    try:
        assert stream.status_code == 200
        title = "Cháy rừng thử nghiệm tại Vườn quốc gia Yok Đôn"
        started = time.monotonic()
        created = raise_alert(server.base_url, bearer(server.base_url, "operator"),
                              "live-test-fire", title, "SO-NNMT")
        seen, event_id = stream.wait_for(lambda d: d["title"] == title, seconds=5)
        assert time.monotonic() - started < 5
        event = seen[-1]
        assert event["id"] == created["id"] and event["created"] is True
        assert title in event["html"] and event["status"] == "new"
        assert event["lat"] == pytest.approx(12.68) and event["color"].startswith("#")
        assert re.fullmatch(r"\d+:\d+", event_id)
    finally:
        stream.close()


def test_change_from_another_process_is_found_by_polling(server: Server,
                                                         demo_ctx: AppContext) -> None:
    stream = Stream(browser(server.base_url, "operator"))
    try:
        # No bus: as if another server process had written the row.
        with UnitOfWork(demo_ctx.db, None, SYSTEM) as uow:
            alert = service.raise_alert(uow, service.RaiseRequest(
                dedupe_key="other-process", service="traffic", title="Ngập úng đường Lê Duẩn",
                severity="minor", category="Transport", agency_code="CA-PC08"),
                now=demo_ctx.clock()).alert
            uow.commit()
            new_id = alert.id
        seen, _ = stream.wait_for(lambda d: d["id"] == new_id)
        assert seen[-1]["title"] == "Ngập úng đường Lê Duẩn"
    finally:
        stream.close()


def test_officer_stream_shows_only_their_agency(server: Server) -> None:
    stream = Stream(browser(server.base_url, "so-nnmt"))
    try:
        headers = bearer(server.base_url, "operator")
        raise_alert(server.base_url, headers, "live-other", "Sự cố của PC08", "CA-PC08")
        mine = raise_alert(server.base_url, headers, "live-mine", "Sự cố của Sở NN&MT",
                           "SO-NNMT")
        seen, _ = stream.wait_for(lambda d: d["id"] == mine["id"])
        later = stream.drain(1.5)
        assert all("PC08" not in d["title"] for d in seen + later)
    finally:
        stream.close()


def test_reconnect_with_last_event_id_catches_up(server: Server) -> None:
    headers = bearer(server.base_url, "operator")
    first = Stream(browser(server.base_url, "operator"))
    try:
        created = raise_alert(server.base_url, headers, "live-resume", "Cảnh báo nối lại",
                              "SO-NNMT")
        _, event_id = first.wait_for(lambda d: d["id"] == created["id"])
    finally:
        first.close()
    # Changed while the client was away.
    done = httpx.post(f"{server.base_url}/api/v1/alerts/{created['id']}/transition",
                      headers=headers, json={"to": "acknowledged"}, trust_env=False,
                      timeout=30)
    assert done.status_code == 200, done.text
    again = Stream(browser(server.base_url, "operator"), headers={"Last-Event-ID": event_id})
    try:
        seen, _ = again.wait_for(lambda d: d["id"] == created["id"])
        assert seen[-1]["status"] == "acknowledged"
    finally:
        again.close()


def test_disconnect_releases_the_stream(server: Server) -> None:
    stream = Stream(browser(server.base_url, "operator"))
    hub = live.hub_for(server.app)
    deadline = time.monotonic() + WAIT
    while hub.listeners < 1:
        assert time.monotonic() < deadline, "the stream never registered"
        time.sleep(0.05)
    stream.close()
    deadline = time.monotonic() + WAIT
    while hub.listeners > 0:
        assert time.monotonic() < deadline, "the stream kept running after the disconnect"
        time.sleep(0.1)
