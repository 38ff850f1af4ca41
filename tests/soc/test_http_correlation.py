"""Stored correlation rules: validated against the stored rules, and fed by HTTP ingest (one
process-wide correlator per rules revision), so an event_count fires after N posts."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from test_api_soc import EVENTS, RULE, RULE_ID, event

from cityops.alerts.models import Alert
from cityops.kernel.context import AppContext
from cityops.services.soc.models import SocDetection

Headers = Callable[[str], dict[str, str]]
CORR_ID = "0c8e4a12-5b7d-4f3e-9a61-2d4c6e8f0a13"
CORRELATION = f"""
title: Whoami run three times on one host
id: {CORR_ID}
status: test
level: high
tags: [attack.discovery, attack.t1033]
correlation:
  type: event_count
  rules: [{RULE_ID}]
  group-by: [Computer]
  timespan: 10m
  condition: {{gte: 3}}
"""
CORRELATIONS = "/api/v1/soc/correlations"


def test_event_count_fires_through_the_http_api(client: TestClient, demo_ctx: AppContext,
                                                auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    assert client.post("/api/v1/soc/rules", json={"yaml": RULE}, headers=soc).status_code == 201
    created = client.post(CORRELATIONS, json={"yaml": CORRELATION}, headers=soc)
    assert created.status_code == 201, created.text
    assert created.json()["rule_id"] == CORR_ID and created.json()["enabled"] is True
    fired = []
    for record in range(1, 5):
        response = client.post(EVENTS, json=[event("corr-host", record)], headers=soc)
        assert response.status_code == 200, response.text
        assert response.json()["matches"] == 1  # the stored rule itself, every time
        fired.append(response.json()["correlations"])
    # Three whoami runs on corr-host complete the count on the third post (gte fires on
    # arrival); the fourth is in the same window and group: no second firing yet.
    assert fired[:3] == [0, 0, 1]
    with demo_ctx.db.session() as session:
        [row] = session.scalars(select(SocDetection).where(SocDetection.rule_id == CORR_ID))
        assert (row.kind, row.host, row.level) == ("correlation", "corr-host", "high")
        assert row.alert_id is not None and session.get(Alert, row.alert_id) is not None
        assert row.sample_event["count"] >= 3


def test_disabled_correlation_stops_firing(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    client.post("/api/v1/soc/rules", json={"yaml": RULE}, headers=soc)
    assert client.post(CORRELATIONS, json={"yaml": CORRELATION}, headers=soc).status_code == 201
    off = client.post(f"{CORRELATIONS}/{CORR_ID}/disable", headers=soc)
    assert off.status_code == 200 and off.json()["enabled"] is False
    counts = [client.post(EVENTS, json=[event("quiet-host", n)], headers=soc).json()
              ["correlations"] for n in range(1, 5)]
    assert counts == [0, 0, 0, 0]
    assert client.delete(f"{CORRELATIONS}/{CORR_ID}", headers=soc).status_code == 204
    assert client.get(f"{CORRELATIONS}/{CORR_ID}", headers=soc).status_code == 404


def test_correlations_are_validated_and_for_managers(client: TestClient,
                                                     auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    unknown = CORRELATION.replace(RULE_ID, "11111111-2222-4333-8444-555555555555")
    response = client.post(CORRELATIONS, json={"yaml": unknown}, headers=soc)
    assert response.status_code == 400
    assert "11111111-2222-4333-8444-555555555555" in response.json()["detail"]
    response = client.post(CORRELATIONS, json={"yaml": RULE}, headers=soc)
    assert response.status_code == 400 and "correlation" in response.json()["detail"]
    response = client.post(CORRELATIONS, json={"yaml": "a: [unclosed"}, headers=soc)
    assert response.status_code == 400 and "YAML" in response.json()["detail"]
    response = client.post(CORRELATIONS, json={"yaml": CORRELATION},
                           headers=auth_headers("leader"))
    assert response.status_code == 403
    assert client.get(CORRELATIONS, headers=auth_headers("leader")).json() == []


def test_receiver_feeds_the_stored_correlations(demo_ctx: AppContext) -> None:
    """`cityops soc receive` without --correlations uses the same stored correlations."""
    from test_service_cli import SSH_RULE, SSH_RULE_ID, add_rule

    from cityops.services.soc.correlation_store import create_correlation
    from cityops.services.soc.ingest import normalise
    from cityops.services.soc.ingest.receivers import SyslogReceiver
    from cityops.services.soc.receive import BatchWriter
    from cityops.services.soc.settings import SocSettings

    add_rule(demo_ctx, SSH_RULE)
    corr_id = "0c8e4a12-5b7d-4f3e-9a61-2d4c6e8f0a14"
    with demo_ctx.uow() as uow:
        create_correlation(uow, CORRELATION.replace(CORR_ID, corr_id).replace(RULE_ID,
                           SSH_RULE_ID).replace("gte: 3", "gte: 5"), demo_ctx.clock())
        uow.commit()
    writer = BatchWriter(demo_ctx, SocSettings(),
                         SyslogReceiver(udp_port=None, tcp_port=None))
    for second in range(5):
        line = (f"<38>Nov 29 10:00:0{second} srv07 sshd[42]: Failed password for root from "
                "203.0.113.9 port 4242 ssh2")
        writer.add(normalise(line.encode(), source="syslog-udp", kind="syslog"))
    writer.store(*writer.take())
    with demo_ctx.db.session() as session:
        [row] = session.scalars(select(SocDetection).where(SocDetection.rule_id == corr_id))
        assert (row.kind, row.host) == ("correlation", "srv07")
