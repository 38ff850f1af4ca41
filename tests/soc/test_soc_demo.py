"""SOC demo data: real agencies' servers, a year of detections in the article's mix, alerts,
quarantine and ingest counters; loading twice changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from cityops.alerts.models import Alert
from cityops.alerts.vocab import ACTIVE_STATES
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency
from cityops.services.soc.demo import load_demo
from cityops.services.soc.demo_history import ARTICLE_MIX
from cityops.services.soc.models import (
    SocAsset,
    SocDetection,
    SocIngestCounter,
    SocQuarantine,
    SocRule,
)


def table_counts(ctx: AppContext) -> dict[str, int]:
    with ctx.db.session() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (SocAsset, SocRule, SocDetection, SocQuarantine, SocIngestCounter,
                              Alert)}


def test_demo_servers_belong_to_real_agencies(demo_ctx: AppContext) -> None:
    with demo_ctx.db.session() as session:
        rows = session.execute(select(SocAsset.hostname, SocAsset.network, Agency.code)
                               .join(Agency, Agency.id == SocAsset.agency_id)).all()
    owners = {hostname: code for hostname, _network, code in rows}
    assert owners["dichvucong.daklak.gov.vn"] == "TTPVHCC-TINH"
    assert {"mail.daklak.gov.vn", "ns1.daklak.gov.vn", "daklak.gov.vn"} <= set(owners)
    assert any(code.startswith("UBND-") for code in owners.values())  # commune servers
    assert all(network and network.startswith("10.66.") for _h, network, _c in rows)


def test_a_year_of_detections_in_the_articles_mix(demo_ctx: AppContext) -> None:
    now = demo_ctx.clock()
    with demo_ctx.db.session() as session:
        rows = session.execute(select(SocDetection.soc_category, SocDetection.first_seen,
                                      SocDetection.alert_id, SocDetection.rule_id,
                                      SocDetection.tags, SocDetection.agency_id)
                               .where(SocDetection.source == "demo")).all()
        rule_ids = set(session.scalars(select(SocRule.rule_id)
                                       .where(SocRule.origin == "bundled")))
        statuses = Counter(session.scalars(select(Alert.status).where(Alert.service == "soc")))
    mix = Counter(category for category, *_rest in rows)
    total = sum(mix.values())
    assert total >= 250
    article = sum(ARTICLE_MIX.values())
    for category, count in ARTICLE_MIX.items():
        # Within a few points of the article's share (145 / 1,130 / 5 / 253 of 1,533).
        assert abs(mix[category] / total - count / article) < 0.03, (category, mix)
        assert mix[category] >= 1
    oldest = min(seen for _c, seen, *_rest in rows)
    assert now - oldest > timedelta(days=300) and now - oldest <= timedelta(days=366)
    # Every detection fired a bundled rule, carries ATT&CK tags and has its alert.
    assert all(alert_id is not None for _c, _s, alert_id, *_rest in rows)
    assert {rule_id for *_a, rule_id, _t, _g in rows} <= rule_ids
    assert all(any(t.startswith("attack.") for t in tags) for *_a, tags, _g in rows)
    assert all(agency is not None for *_a, agency in rows)
    # Recent ones are still open; the year's history was handled and closed.
    assert sum(statuses[s] for s in ACTIVE_STATES) >= 1 and statuses["closed"] >= 200


def test_quarantine_and_ingest_counters_for_the_last_hours(demo_ctx: AppContext) -> None:
    now = demo_ctx.clock()
    with demo_ctx.db.session() as session:
        sources = set(session.scalars(select(SocIngestCounter.source).distinct()))
        recent = session.scalar(select(func.sum(SocIngestCounter.received)).where(
            SocIngestCounter.minute >= now - timedelta(hours=24))) or 0
        dropped = session.scalar(select(func.sum(SocIngestCounter.dropped))) or 0
        reasons = list(session.scalars(select(SocQuarantine.reason)))
    assert {"syslog:udp", "syslog:tcp"} <= sources
    assert recent > 100_000 and dropped > 0
    assert len(reasons) >= 3 and all(reasons)


def test_loading_twice_changes_nothing(demo_ctx: AppContext) -> None:
    before = table_counts(demo_ctx)
    again = load_demo(demo_ctx)
    assert again == {"rules": 0, "assets": 0, "detections": 0, "ingest counters": 0}
    assert table_counts(demo_ctx) == before
