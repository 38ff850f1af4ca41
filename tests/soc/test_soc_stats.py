"""SOC page figures: scoped counts, time buckets, top rules and hosts, ingest health, tiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_views_support import QUIET_AGENCY, add_detections, agency_id, day, principal_of

from cityops.kernel.context import AppContext
from cityops.kernel.permissions import SYSTEM
from cityops.services.soc import stats, views_hooks
from cityops.services.soc.models import SocIngestCounter


def quiet_filter(ctx: AppContext, period: str = "30d", category: str | None = None
                 ) -> stats.SocFilter:
    return stats.make_filter(period, ctx.clock(), category, agency_id(ctx, QUIET_AGENCY))


def test_counts_series_and_tops(demo_ctx: AppContext) -> None:
    add_detections(demo_ctx, QUIET_AGENCY, [
        ("malware", "h1", "Rule A", day(1)), ("malware", "h1", "Rule A", day(2)),
        ("abnormal", "h2", "Rule A", day(2.5)),
    ], rule_id="rule-a", count=4)
    add_detections(demo_ctx, QUIET_AGENCY, [("vulnerability", "h2", "Rule B", day(45))],
                   rule_id="rule-b", severity="critical", count=10)
    with demo_ctx.db.session() as session:
        month = stats.counts(session, SYSTEM, quiet_filter(demo_ctx))
        quarter = stats.counts(session, SYSTEM, quiet_filter(demo_ctx, "90d"))
        malware = stats.counts(session, SYSTEM, quiet_filter(demo_ctx, "90d", "malware"))
        rules = stats.top_rules(session, SYSTEM, quiet_filter(demo_ctx, "90d"))
        hosts = stats.top_hosts(session, SYSTEM, quiet_filter(demo_ctx, "90d"))
    assert (month.total, month.matches) == (3, 12)
    assert month.by_category == {"malware": 2, "abnormal": 1}
    assert quarter.total == 4 and quarter.by_severity == {"major": 3, "critical": 1}
    assert malware.total == 2 and set(malware.by_category) == {"malware"}
    # One bucket per day of the period (quiet days are zero), summing to the total.
    assert len(month.series) in (30, 31)
    assert sum(sum(c.values()) for c in month.series.values()) == 3
    assert [(r["rule_id"], r["detections"], r["matches"]) for r in rules] == [
        ("rule-a", 3, 12), ("rule-b", 1, 10)]
    assert rules[0]["title"] == "Rule A"  # not a stored rule: the title it fired with
    assert [(h["host"], h["detections"]) for h in hosts] == [("h1", 2), ("h2", 2)]


def test_periods_and_buckets(demo_ctx: AppContext) -> None:
    now = demo_ctx.clock()
    assert stats.make_filter("24h", now).bucket == "hour"
    assert stats.make_filter("365d", now).bucket == "month"
    fallback = stats.make_filter("forever", now, "not-a-category")
    assert fallback.period == stats.DEFAULT_PERIOD and fallback.category is None
    with demo_ctx.db.session() as session:
        year = stats.counts(session, SYSTEM, stats.make_filter("365d", now))
    assert 12 <= len(year.series) <= 13
    assert all(len(label) == 7 for label in year.series)  # YYYY-MM


def test_officer_counts_are_scoped(demo_ctx: AppContext) -> None:
    add_detections(demo_ctx, QUIET_AGENCY, [("malware", "mine", "R", day(1))])
    add_detections(demo_ctx, "SO-YT", [("malware", "theirs", "R", day(1))])
    add_detections(demo_ctx, None, [("malware", "nobodys", "R", day(1))])
    officer = principal_of(demo_ctx, QUIET_AGENCY.lower())
    now = demo_ctx.clock()
    with demo_ctx.db.session() as session:
        mine = stats.counts(session, officer, stats.make_filter("30d", now))
        hosts = {h["host"] for h in stats.top_hosts(session, officer,
                                                    stats.make_filter("30d", now))}
        recent = {d.host for d, _alert in stats.recent(session, officer, 50)}
        everyone = stats.counts(session, SYSTEM, stats.make_filter("30d", now))
    assert mine.total == 1 and hosts == {"mine"} and recent == {"mine"}
    assert everyone.total >= 3


def test_ingest_health_rates(empty_ctx: AppContext) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with empty_ctx.uow() as uow:
        for minutes_ago in range(1, 61):
            uow.session.add(SocIngestCounter(
                source="syslog:udp", minute=now - timedelta(minutes=minutes_ago),
                received=600, parsed=590, quarantined=10, dropped=6 if minutes_ago == 3 else 0))
        uow.session.add(SocIngestCounter(source="old", minute=now - timedelta(hours=5),
                                         received=99))
        uow.commit()
    with empty_ctx.db.session() as session:
        health = stats.ingest_health(session, now, window_minutes=60, recent_minutes=5)
    [udp] = health.sources  # the five-hour-old source is outside the window
    assert (udp.received, udp.parsed, udp.quarantined, udp.dropped) == (36_000, 35_400, 600, 6)
    assert udp.eps_window == pytest.approx(10.0) and udp.eps_recent == pytest.approx(10.0)
    assert udp.drop_rate == pytest.approx(0.02, abs=0.01)


def test_overview_tiles(demo_ctx: AppContext) -> None:
    add_detections(demo_ctx, QUIET_AGENCY, [
        ("exploitation", "tile-host", "R", timedelta(minutes=5)),
        ("exploitation", "tile-host", "R", timedelta(minutes=6))])
    with demo_ctx.db.session() as session:
        since = views_hooks.month_start(demo_ctx.clock())
        month = stats.counts(session, SYSTEM, stats.SocFilter(
            "30d", since, demo_ctx.clock() + timedelta(seconds=1)))
        open_alerts = stats.open_soc_alerts(session)
    values = views_hooks.month_by_category(demo_ctx)
    assert values[views_hooks.MONTH_CATEGORIES.index("exploitation")] >= 2
    assert values == tuple(month.by_category[k] for k in views_hooks.MONTH_CATEGORIES)
    assert views_hooks.open_alerts(demo_ctx) == open_alerts >= 1
    keys = [tile.key for tile in views_hooks.tiles()]
    assert keys == ["soc_month", "soc_open"]
