"""SLA in working days across holidays, and deadline alerts with escalation and clearing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from test_routing_helpers import RURAL, new_report, reload, uow_as

from cityops.alerts.escalation import run_due
from cityops.alerts.models import Alert
from cityops.kernel.calendar import WorkingCalendar
from cityops.kernel.context import AppContext
from cityops.services.field_reports import workflow
from cityops.services.field_reports.public import local_iso
from cityops.services.field_reports.sla import check_deadlines, due_for, sla_level

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def vn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VN)


def test_deadline_skips_tet_and_weekends() -> None:
    # Fri 13 Feb 2026 15:00; 16–20 Feb are Tết, 21–22 the weekend: Mon 23 (1), Tue 24 (2),
    # Wed 25 (3).
    assert due_for(CAL, vn(2026, 2, 13, 15), 3) == vn(2026, 2, 25, 15)
    assert due_for(CAL, vn(2026, 2, 13, 15), 1) == vn(2026, 2, 23, 15)


def test_weekend_receipt_counts_from_monday() -> None:
    # Sat 7 Mar 2026 → counted from Mon 9: two working days → Wed 11, same time of day.
    assert due_for(CAL, vn(2026, 3, 7, 20), 2) == vn(2026, 3, 11, 20)


def test_levels_near_and_overdue() -> None:
    due = vn(2026, 3, 11, 10)
    assert sla_level(CAL, due, vn(2026, 3, 9, 9)) == ""
    assert sla_level(CAL, due, vn(2026, 3, 10, 11)) == "near"  # under a working day left
    assert sla_level(CAL, due, vn(2026, 3, 11, 10)) == "overdue"
    # Friday afternoon with the deadline on Monday morning: near, the weekend does not count.
    assert sla_level(CAL, vn(2026, 3, 16, 9), vn(2026, 3, 13, 10)) == "near"
    assert sla_level(CAL, None, vn(2026, 3, 13, 10)) == ""


def test_report_due_at_uses_category_sla_over_tet(demo_ctx: AppContext) -> None:
    received = vn(2026, 2, 13, 15)
    report = new_report(demo_ctx, category="flooding", area=RURAL, now=received)  # 3 days
    assert report.due_at == vn(2026, 2, 25, 15)
    # The citizen sees it in local time with the offset.
    assert local_iso(report.due_at) == "2026-02-25T15:00:00+07:00"


def _alerts(ctx: AppContext, code: str) -> list[Alert]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Alert).where(
            Alert.service == "field_reports", Alert.source_key == code)))


def test_deadline_alerts_escalate_and_clear(demo_ctx: AppContext) -> None:
    received = vn(2026, 3, 10, 9)  # Tuesday; garbage: 2 working days → Thu 12 09:00
    report = new_report(demo_ctx, category="garbage", area=RURAL, now=received)
    assert report.due_at == vn(2026, 3, 12, 9)
    with demo_ctx.uow() as uow:
        assert check_deadlines(uow, now=vn(2026, 3, 10, 10)) == {"raised": 0, "cleared": 0}
        uow.commit()
    assert _alerts(demo_ctx, report.code) == []

    near = vn(2026, 3, 11, 14)
    for _ in range(2):  # idempotent: the second run raises nothing new
        with demo_ctx.uow() as uow:
            check_deadlines(uow, now=near)
            uow.commit()
    [alert] = _alerts(demo_ctx, report.code)
    assert alert.severity == "warning" and alert.status == "new"
    assert alert.agency_id == reload(demo_ctx, report.id).lead_agency_id

    late = vn(2026, 3, 12, 10)
    with demo_ctx.uow() as uow:
        assert check_deadlines(uow, now=late)["raised"] == 1
        uow.commit()
    [alert] = _alerts(demo_ctx, report.code)
    assert alert.severity == "major" and alert.occurrences == 2

    # The alert center escalates it: agency → the agency's head → the IOC leadership.
    with demo_ctx.uow() as uow:
        run_due(uow.session, near + timedelta(minutes=61))
        uow.commit()
    with demo_ctx.uow() as uow:
        run_due(uow.session, near + timedelta(minutes=61 + 121))
        uow.commit()
    [alert] = _alerts(demo_ctx, report.code)
    assert alert.escalation_level == 2

    with uow_as(demo_ctx, "operator") as uow:
        workflow.transition(uow, report.id, "rejected", now=late, reason="Không xác minh được")
        uow.commit()
    with demo_ctx.uow() as uow:
        assert check_deadlines(uow, now=late)["cleared"] == 1
        assert check_deadlines(uow, now=late)["cleared"] == 0
        uow.commit()
    [alert] = _alerts(demo_ctx, report.code)
    assert alert.status == "resolved" and alert.active_key is None


def test_the_scheduler_job_runs_the_check(demo_ctx: AppContext) -> None:
    from cityops.services.field_reports.manifest import manifest

    [job] = [j for j in manifest.jobs if j.name == "field_reports.deadlines"]
    report = new_report(demo_ctx, category="garbage", area=RURAL, now=vn(2026, 3, 10, 9))
    demo_ctx.clock = lambda: vn(2026, 3, 13, 9)  # a day past its deadline
    assert job.run(demo_ctx)["raised"] >= 1
    assert job.run(demo_ctx) == {"raised": 0, "cleared": 0}  # idempotent
    assert reload(demo_ctx, report.id).sla_alert == "overdue"
    assert [a.severity for a in _alerts(demo_ctx, report.code)] == ["major"]
