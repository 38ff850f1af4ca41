"""A year of demo detections and their alert-center alerts, in the article's category mix.

The last days go through the real path: the SOC's ``DetectionRecorder`` groups the matches
and raises each alert through the alert center, and ``alerts.service.transition`` works them.
Older, long-closed history is written in bulk with the same fields the recorder writes (as the
alert center's own demo writes its year of tickets): raising and closing some 280 alerts one
by one, with notifications and escalation for each, would take a minute on a small server.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cityops.alerts import service as alerts
from cityops.alerts.models import Alert, AlertEvent
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import SYSTEM
from cityops.kernel.text import fold
from cityops.services.soc.assets import AssetIndex
from cityops.services.soc.detections import (
    CATEGORY_LABELS,
    SERVICE_KEY,
    DetectionRecorder,
    Hit,
    dedupe_key,
    severity_for,
    window_start,
)
from cityops.services.soc.models import SocDetection

DEMO_SOURCE = "demo"
SCALE = 5  # one demo detection for about five in the article
ARTICLE_MIX = {"malware": 145, "vulnerability": 1130, "exploitation": 5, "abnormal": 253}
WINDOW_MINUTES = 60
LIVE_DAYS = 4  # detections newer than this go through the recorder and the alert center
RESOLUTION = "Đã xử lý: chặn địa chỉ nguồn, vá lỗi và rà soát máy chủ."


@dataclass(frozen=True)
class DemoRule:
    rule_id: str
    title: str
    level: str | None
    tags: tuple[str, ...]
    author: str
    category: str
    role: str  # the kind of server it fits: web, linux, windows, dns, mail


class DemoCatalog:
    """The synced demo rules and the demo servers (hostname, ip, agency, criticality, role)."""

    def __init__(self, rules: list[DemoRule],
                 assets: tuple[tuple[str, str, str, str, str], ...]) -> None:
        self.rules = rules
        self.assets = assets

    def pick(self, rng: random.Random, category: str) -> tuple[DemoRule, str, str] | None:
        candidates = [r for r in self.rules if r.category == category
                      and any(a[4] == r.role for a in self.assets)]
        if not candidates:
            return None
        rule = rng.choice(candidates)
        hostname, ip, *_rest = rng.choice([a for a in self.assets if a[4] == rule.role])
        return rule, hostname, ip


def demo_hits(rng: random.Random, catalog: DemoCatalog, now: datetime
              ) -> list[tuple[Hit, int]]:
    """(hit, matches) pairs: the article's mix spread over a year, the newest days busiest."""
    hits: list[tuple[Hit, int]] = []
    for category, article in ARTICLE_MIX.items():
        for _ in range(max(1, round(article / SCALE))):
            picked = catalog.pick(rng, category)
            if picked is None:
                continue
            rule, hostname, ip = picked
            age = timedelta(days=365 * rng.random() ** 1.6, minutes=rng.randint(0, 1439))
            seen = now - max(age, timedelta(minutes=rng.randint(2, 90)))
            hit = Hit(kind="sigma", rule_id=rule.rule_id, title=rule.title, level=rule.level,
                      tags=rule.tags, author=rule.author, category=rule.category,
                      hostname=hostname, ip=ip, seen_at=seen, source=DEMO_SOURCE,
                      sample={"raw": f"demo event on {hostname}",
                              "fields": {"host.name": hostname, "host.ip": ip}})
            hits.append((hit, rng.choice((1, 1, 2, 3, 5, 8, 20, 140))))
    return sorted(hits, key=lambda pair: pair[0].seen_at)


def _history_rows(assets: AssetIndex, hit: Hit, matches: int, rng: random.Random,
                  agency_codes: dict[int, str]) -> tuple[SocDetection, Alert]:
    """A long-closed detection and its alert, with the fields the recorder would write."""
    asset = assets.by_hostname(hit.hostname) or assets.by_ip(hit.ip)
    start = window_start(hit.seen_at, WINDOW_MINUTES)
    key = dedupe_key(hit.kind, hit.rule_id, hit.host, start)
    last = hit.seen_at + timedelta(minutes=rng.randint(0, 50) if matches > 1 else 0)
    row = SocDetection(
        dedupe_key=key, kind=hit.kind, rule_id=hit.rule_id, rule_title=hit.title,
        rule_author=hit.author, level=hit.level,
        severity=severity_for(hit.level, asset.criticality if asset else None),
        soc_category=hit.category, tags=list(hit.tags), host=hit.host,
        asset_id=asset.asset_id if asset else None,
        agency_id=asset.agency_id if asset else None, source=hit.source, window_start=start,
        first_seen=hit.seen_at, last_seen=last, count=matches, sample_event=hit.sample)
    label = CATEGORY_LABELS.get(row.soc_category, row.soc_category)
    resolved = last + timedelta(hours=rng.uniform(1, 40))
    closed = resolved + timedelta(days=7)
    alert = Alert(
        service=SERVICE_KEY, dedupe_key=key, active_key=None,
        title=f"[{label}] {row.rule_title} — {row.host}"[:300],
        title_en=f"[{row.soc_category}] {row.rule_title} on {row.host}"[:300],
        description=f"Quy tắc Sigma {row.rule_id} (mức {row.level}) khớp trên máy {row.host}.",
        description_en=f"Sigma rule {row.rule_id} (level {row.level}) matched on {row.host}.",
        category="Security", severity=row.severity, certainty="Likely",
        urgency="Immediate" if row.severity in ("major", "critical") else "Expected",
        agency_id=row.agency_id, tags=[f"soc:{row.soc_category}", *row.tags][:30],
        occurrences=matches, status="closed", raised_at=hit.seen_at, last_seen_at=last,
        acknowledged_at=resolved, resolved_at=resolved, closed_at=closed, updated_at=closed)
    alert.search_text = fold(" ".join((alert.title, alert.title_en, key)))
    actor = agency_codes.get(row.agency_id or 0, "soc").lower()
    alert.events = [
        AlertEvent(kind="raised", at=hit.seen_at, actor="system", to_state="new"),
        AlertEvent(kind="state", at=resolved, actor=actor, from_state="new",
                   to_state="resolved", text=RESOLUTION),
        AlertEvent(kind="state", at=closed, actor="soc", from_state="resolved",
                   to_state="closed")]
    return row, alert


def _add_history(session: Any, pairs: list[tuple[SocDetection, Alert]]) -> None:
    """Written in three flushes, not two per row: ids first, then the links between them."""
    have = set(session.scalars(select(SocDetection.dedupe_key)))
    kept = []
    for row, alert in pairs:  # two hits in one rule/host window make one detection
        if row.dedupe_key not in have:
            have.add(row.dedupe_key)
            kept.append((row, alert))
    pairs = kept
    session.add_all([row for row, _alert in pairs])
    session.flush()
    for row, alert in pairs:
        alert.source_key = f"detection:{row.id}"
    session.add_all([alert for _row, alert in pairs])
    session.flush()
    for row, alert in pairs:
        row.alert_id = alert.id
    session.flush()


def _work_live(uow: Any, rng: random.Random, ids: list[int], now: datetime) -> None:
    """Within the last days: the older ones resolved, a few acknowledged, the rest new."""
    for detection in uow.session.scalars(select(SocDetection).where(SocDetection.id.in_(ids))):
        if detection.alert_id is None:
            continue
        age = now - detection.last_seen
        if age > timedelta(days=2):
            alerts.transition(uow, detection.alert_id, "resolved", RESOLUTION,
                              now=min(detection.last_seen + timedelta(hours=6), now))
        elif rng.random() < 0.3:
            alerts.transition(uow, detection.alert_id, "acknowledged",
                              now=min(detection.last_seen + timedelta(minutes=20), now))


def load_detections(ctx: Any, rng: random.Random, catalog: DemoCatalog, now: datetime) -> int:
    with ctx.uow(SYSTEM) as uow:
        session = uow.session
        if session.scalar(select(SocDetection.id).where(SocDetection.source == DEMO_SOURCE)
                          .limit(1)) is not None:
            return 0  # loaded before
        assets = AssetIndex.load(session)
        codes = {i: c for i, c in session.execute(select(Agency.id, Agency.code))}
        recorder = DetectionRecorder(WINDOW_MINUTES)
        live: list[int] = []
        created = 0
        history: list[tuple[SocDetection, Alert]] = []
        for hit, matches in demo_hits(rng, catalog, now):
            if now - hit.seen_at > timedelta(days=LIVE_DAYS):
                history.append(_history_rows(assets, hit, matches, rng, codes))
                continue
            for _ in range(matches):
                recorder.add(hit)
            # One flush per hit, stamped at its time: the alert is raised when it was seen.
            report = recorder.flush(uow, hit.seen_at, assets)
            live.extend(report.detection_ids)
            created += report.created
        _add_history(session, history)
        created += len(history)
        _work_live(uow, rng, live, now)
        uow.commit()
    return created
