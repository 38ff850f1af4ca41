"""SOC service layer: ingest → quarantine / detections → alerts, dedupe and throttling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cityops.alerts.models import Alert
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import PermissionDenied, Principal
from cityops.services.soc import rules_store
from cityops.services.soc.assets import AssetInput, create_asset
from cityops.services.soc.detections import severity_for, window_start
from cityops.services.soc.models import SocDetection, SocIngestCounter, SocQuarantine
from cityops.services.soc.prepare import Refused
from cityops.services.soc.service import ingest_batch
from cityops.services.soc.settings import SocSettings

NOW = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
RULE_ID = "9f1e3c52-7a55-4c7e-9d0e-1a2b3c4d5e01"
WHOAMI_RULE = f"""
title: Whoami run by a service account
id: {RULE_ID}
status: test
author: CityOps tests
level: high
tags: [attack.discovery, attack.t1033]
logsource: {{product: windows, category: process_creation}}
detection:
  sel: {{Image|endswith: '\\whoami.exe'}}
  condition: sel
"""

# The demo data has detections and alerts of its own: tests look at their rule's rows only.
MINE = select(SocDetection).where(SocDetection.rule_id == RULE_ID)
MY_ALERTS = select(Alert).where(Alert.dedupe_key.like(f"sigma|{RULE_ID}|%"))


def sysmon_event(host: str = "web01.daklak.gov.vn", image: str = "C:\\Windows\\whoami.exe",
                 at: datetime = NOW, record: int = 1) -> dict[str, Any]:
    return {"Event": {
        "System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                   "Computer": host, "EventRecordID": record,
                   "TimeCreated": {"#attributes": {
                       "SystemTime": at.isoformat().replace("+00:00", "Z")}}},
        "EventData": {"Image": image, "CommandLine": "whoami /all", "User": "svc"}}}


def user_principal(ctx: AppContext, username: str) -> Principal:
    from cityops.kernel.auth import User, principal_for_user
    from cityops.kernel.permissions import permission_registry
    from cityops.services.soc.manifest import manifest

    for permission, roles in manifest.permissions.items():  # as the app does at start
        permission_registry.grant(permission, roles)
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        return principal_for_user(session, user)


def analyst(ctx: AppContext) -> Principal:
    return user_principal(ctx, "soc")


def add_rule(ctx: AppContext, text: str = WHOAMI_RULE) -> None:
    with ctx.uow(analyst(ctx)) as uow:
        rules_store.create_custom(uow, text, NOW)
        uow.commit()


def ingest(ctx: AppContext, events: list[Any], principal: Principal | None = None,
           now: datetime = NOW, window: int = 60):  # type: ignore[no-untyped-def]
    with ctx.uow(principal or analyst(ctx)) as uow:
        report = ingest_batch(uow, list(enumerate(events)), source="test", kind="auto", now=now,
                              settings=SocSettings(alert_window_minutes=window))
        uow.commit()
    return report


def add_asset(ctx: AppContext, agency: str, criticality: str = "medium",
              hostname: str | None = None, ip: str | None = None) -> None:
    with ctx.uow(analyst(ctx)) as uow:
        create_asset(uow, AssetInput(agency_code=agency, hostname=hostname, ip=ip,
                                     criticality=criticality), NOW)
        uow.commit()


def test_a_burst_on_one_host_is_one_detection_and_one_alert(demo_ctx: AppContext) -> None:
    add_rule(demo_ctx)
    add_asset(demo_ctx, "SO-NNMT", hostname="web01.daklak.gov.vn")
    burst = [sysmon_event(at=NOW + timedelta(seconds=i % 50), record=i) for i in range(1000)]
    # Split over two batches: the second adds to the same row instead of a new alert.
    first = ingest(demo_ctx, burst[:600])
    second = ingest(demo_ctx, [*burst[600:], sysmon_event(image="C:\\notepad.exe")])
    assert (first.accepted, first.matches, first.detections.created) == (600, 600, 1)
    assert (second.accepted, second.matches, second.detections.updated) == (401, 400, 1)
    with demo_ctx.db.session() as session:
        rows = session.scalars(MINE).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.count == 1000 and row.host == "web01.daklak.gov.vn"
        assert row.soc_category == "abnormal" and row.severity == "major"
        assert row.tags == ["attack.discovery", "attack.t1033"]
        assert row.first_seen == NOW and row.last_seen == NOW + timedelta(seconds=49)
        alerts = session.scalars(MY_ALERTS).all()
        assert len(alerts) == 1 and alerts[0].id == row.alert_id
        assert alerts[0].occurrences == 1000 and alerts[0].category == "Security"
        assert alerts[0].agency is not None and alerts[0].agency.code == "SO-NNMT"
        assert "attack.t1033" in alerts[0].tags and "CityOps tests" in alerts[0].description


def test_new_window_or_other_host_makes_a_new_detection(demo_ctx: AppContext) -> None:
    add_rule(demo_ctx)
    ingest(demo_ctx, [sysmon_event(), sysmon_event(host="db01"),
                      sysmon_event(at=NOW + timedelta(hours=1))])
    with demo_ctx.db.session() as session:
        keys = sorted(session.scalars(select(SocDetection.dedupe_key)
                                      .where(SocDetection.rule_id == RULE_ID)))
        assert len(keys) == 3
        assert session.scalar(select(func.count()).select_from(Alert)
                              .where(MY_ALERTS.whereclause)) == 3


def test_malformed_events_are_quarantined_and_never_stop_the_stream(
        demo_ctx: AppContext) -> None:
    add_rule(demo_ctx)
    events: list[Any] = ["{not json", [1, 2], sysmon_event(),
                         Refused("x" * 40_000, "line 4: invalid JSON"), 42]
    report = ingest(demo_ctx, events)
    assert report.accepted == 1 and report.matches == 1 and report.quarantined == 4
    assert [r["index"] for r in report.refused] == [0, 1, 3, 4]
    with demo_ctx.db.session() as session:
        rows = session.scalars(select(SocQuarantine).where(SocQuarantine.source == "test")
                               .order_by(SocQuarantine.id)).all()
        assert [r.source for r in rows] == ["test"] * 4
        assert rows[0].raw == "{not json" and rows[0].reason
        big = rows[2]
        assert big.truncated and big.raw_size == 40_000 and len(big.raw) == 16 * 1024
        counter = session.scalars(select(SocIngestCounter)
                                  .where(SocIngestCounter.source == "test")).one()
        assert (counter.received, counter.parsed, counter.quarantined) == (5, 1, 4)
        assert counter.minute == NOW.replace(second=0)


def test_counters_add_up_per_source_and_minute(demo_ctx: AppContext) -> None:
    ingest(demo_ctx, [sysmon_event()])
    ingest(demo_ctx, [sysmon_event(), "bad"])
    ingest(demo_ctx, [sysmon_event()], now=NOW + timedelta(minutes=1))
    with demo_ctx.db.session() as session:
        rows = session.scalars(select(SocIngestCounter).where(SocIngestCounter.source == "test")
                               .order_by(SocIngestCounter.minute)).all()
        assert [(r.received, r.parsed, r.quarantined) for r in rows] == [(3, 2, 1), (1, 1, 0)]


def test_asset_criticality_and_cidr_set_agency_and_severity(demo_ctx: AppContext) -> None:
    add_rule(demo_ctx)
    add_asset(demo_ctx, "CA-PC08", criticality="critical", ip="10.20.0.0/16")
    event = sysmon_event(host="10.20.3.4")
    ingest(demo_ctx, [event])
    with demo_ctx.db.session() as session:
        row = session.scalars(MINE).one()
        # A bare IP as the host name is looked up by address in the asset's CIDR block.
        agency = session.get(Agency, row.agency_id)
        assert agency is not None and agency.code == "CA-PC08"
        assert row.severity == "critical"  # high rule, critical asset: two steps up
        alert = session.get(Alert, row.alert_id)
        assert alert is not None and alert.agency_id == row.agency_id


def test_severity_mapping_and_windows() -> None:
    assert severity_for("informational", None) == "warning"
    assert severity_for("medium", "low") == "minor"
    assert severity_for("medium", "high") == "major"
    assert severity_for("high", "critical") == "critical"
    assert severity_for("critical", "critical") == "critical"
    assert window_start(NOW, 60) == NOW.replace(minute=0)
    assert window_start(NOW, 15) == NOW.replace(minute=30)


def test_only_ingest_permission_may_send_events(demo_ctx: AppContext) -> None:
    leader = user_principal(demo_ctx, "leader")
    with pytest.raises(PermissionDenied):
        ingest(demo_ctx, [sysmon_event()], principal=leader)


def test_events_json_round_trip_of_refused_reason(demo_ctx: AppContext) -> None:
    report = ingest(demo_ctx, [json.dumps({"Event": "x"})])
    assert report.quarantined == 1 and "event" in report.refused[0]["reason"].lower()
