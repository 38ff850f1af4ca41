"""Receiver queue depth: sampled by the batch writer, kept per source and minute as the
deepest level seen (with drops), and shown in the SOC page's ingest health."""

from __future__ import annotations

from conftest import browser_login
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityops.kernel.context import AppContext
from cityops.services.soc import stats
from cityops.services.soc.ingest.receivers import SyslogReceiver
from cityops.services.soc.models import SocIngestCounter
from cityops.services.soc.receive import SOURCE, BatchWriter
from cityops.services.soc.settings import SocSettings

LINE = b"<38>Nov 29 10:00:00 srv01 sshd[42]: Accepted password for ops from 10.0.0.9"


def filled_receiver(capacity: int, offered: int) -> SyslogReceiver:
    # Never started: offer() only queues, as the socket callbacks would.
    receiver = SyslogReceiver(udp_port=None, tcp_port=None, queue_size=capacity)
    for _ in range(offered):
        receiver.offer(LINE, "syslog-udp")
    return receiver


def counter_row(ctx: AppContext) -> SocIngestCounter:
    with ctx.db.session() as session:
        [row] = session.scalars(select(SocIngestCounter).where(
            SocIngestCounter.source == SOURCE)).all()
        session.expunge(row)
        return row


def test_writer_keeps_the_deepest_queue_and_the_drops(demo_ctx: AppContext) -> None:
    receiver = filled_receiver(capacity=5, offered=8)
    writer = BatchWriter(demo_ctx, SocSettings(), receiver)
    batch, dropped, depth = writer.take()
    assert (batch, dropped, depth) == ([], 3, 5)
    writer.store(batch, dropped, depth)
    row = counter_row(demo_ctx)
    assert (row.queue_depth_max, row.queue_size, row.dropped) == (5, 5, 3)
    # The consumer catches up: two messages taken, one left; the minute keeps its peak of 5.
    for _ in range(2):
        writer.add(receiver._normalise(receiver.queue.get_nowait()))
    writer.store(*writer.take())
    row = counter_row(demo_ctx)
    assert (row.queue_depth_max, row.dropped, row.received) == (5, 3, 2)


def test_soc_page_shows_queue_depth(client: TestClient, demo_ctx: AppContext) -> None:
    receiver = filled_receiver(capacity=10, offered=9)
    writer = BatchWriter(demo_ctx, SocSettings(), receiver)
    writer.store(*writer.take())
    with demo_ctx.db.session() as session:
        health = stats.ingest_health(session, demo_ctx.clock())
    [syslog] = [s for s in health.sources if s.source == SOURCE]
    assert (syslog.queue_depth_max, syslog.queue_size, syslog.queue_fill) == (9, 10, 90.0)
    browser_login(client, "soc", next_path="/soc")
    page = client.get("/soc")
    assert page.status_code == 200
    assert 'data-queue-depth="9"' in page.text and "9 / 10" in page.text


def test_health_api_reports_queue_depth(client: TestClient, demo_ctx: AppContext,
                                        auth_headers: object) -> None:
    writer = BatchWriter(demo_ctx, SocSettings(), filled_receiver(capacity=4, offered=6))
    writer.store(*writer.take())
    response = client.get("/api/v1/soc/health", headers=auth_headers("soc"))  # type: ignore[operator]
    assert response.status_code == 200
    [syslog] = [s for s in response.json()["sources"] if s["source"] == SOURCE]
    assert (syslog["queue_depth_max"], syslog["queue_size"], syslog["dropped"]) == (4, 4, 2)
