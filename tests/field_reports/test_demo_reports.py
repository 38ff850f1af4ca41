"""The demo's field reports: through the real workflow, in every state, placed in their
commune, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shapely.geometry import Point, shape
from sqlalchemy import func, select

from cityops.kernel.audit import AuditLog
from cityops.kernel.context import AppContext
from cityops.services.field_reports.demo import (
    AUDIT_ACTOR,
    DEFAULT_COUNT,
    demo_reports_wanted,
    load_demo_reports,
)
from cityops.services.field_reports.manifest import manifest
from cityops.services.field_reports.models import Report
from cityops.services.field_reports.vocab import STATES

NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)


def test_demo_reports_tell_a_realistic_story(demo_ctx: AppContext) -> None:
    assert load_demo_reports(demo_ctx, count=220, now=NOW) == {"reports": 220}
    with demo_ctx.db.session() as session:
        reports = session.scalars(select(Report)).all()
        assert len(reports) == 220
        assert {r.state for r in reports} >= set(STATES) - {"verified"}
        assert all(NOW - timedelta(days=151) <= r.created_at <= NOW for r in reports)
        assert any(r.reopen_count for r in reports) and any(r.rating for r in reports)
        late = [r for r in reports if r.resolved_at and r.due_at and r.resolved_at > r.due_at]
        on_time = [r for r in reports if r.resolved_at and r.due_at and r.resolved_at <= r.due_at]
        assert late and len(on_time) > len(late)
        assert len({r.area_id for r in reports}) > 20 and len({r.category_id for r in reports}) > 8
        for report in reports:
            # Every point lies inside the commune the kernel placed it in.
            assert report.area is not None and report.lat is not None
            assert shape(report.area.geometry).covers(Point(report.lon, report.lat))
            # In id order the steps are in time order, except the note a merge leaves on the
            # original (the original's own story was played first); pages sort by time.
            steps = [e.at for e in report.timeline if e.kind != "merge"]
            assert steps == sorted(steps) and max(e.at for e in report.timeline) <= NOW
            assert report.timeline[0].kind == "created"
            if report.state == "duplicate":
                assert report.duplicate_of is not None
        actors = {e.actor for r in reports for e in r.timeline}
        assert "operator" in actors and any(a.startswith("ubnd-") for a in actors)
        audited = session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.actor == AUDIT_ACTOR))
        assert audited and audited >= 220


def test_demo_loader_adds_reports_once(demo_ctx: AppContext) -> None:
    """The manifest's loader with ``demo_volume=records`` (not the test suite's setting) adds
    the reports after the categories; a second load adds nothing."""
    with demo_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 0
    assert manifest.demo_loader is not None and not demo_reports_wanted(demo_ctx)
    demo_ctx.settings = demo_ctx.settings.model_copy(update={"demo_volume": "records"})
    first = manifest.demo_loader(demo_ctx)
    assert isinstance(first, dict) and first["reports"] == DEFAULT_COUNT
    assert first["categories"] == 0  # already loaded with the demo database
    again = manifest.demo_loader(demo_ctx)
    assert isinstance(again, dict) and again["reports"] == 0
    with demo_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == DEFAULT_COUNT
