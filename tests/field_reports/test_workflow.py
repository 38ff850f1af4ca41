"""The report state machine: each transition, each refusal (409), scope, timeline, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from test_routing_helpers import BMT_WARD, NOW, RURAL, new_report, reload, uow_as

from cityops.alerts.notification_models import Delivery
from cityops.kernel.audit import AuditLog
from cityops.kernel.context import AppContext
from cityops.kernel.errors import Conflict, Invalid
from cityops.kernel.permissions import PermissionDenied
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.models import Moderation

LATER = NOW + timedelta(hours=1)
OFFICER = f"ubnd-{RURAL}"  # the commune committee that handles rural garbage


def _routed(ctx: AppContext, **fields: object) -> int:
    return new_report(ctx, category="garbage", area=RURAL,
                      contact_email="dan@example.vn", **fields).id


def _to_assigned(ctx: AppContext, report_id: int) -> None:
    with uow_as(ctx, "operator") as uow:
        workflow.transition(uow, report_id, "verified", now=LATER)
        workflow.assign(uow, report_id, now=LATER)
        uow.commit()


def test_full_loop_received_to_closed(demo_ctx: AppContext) -> None:
    rid = _routed(demo_ctx)
    _to_assigned(demo_ctx, rid)
    with uow_as(demo_ctx, OFFICER) as uow:
        workflow.transition(uow, rid, "in_progress", now=LATER)
        workflow.transition(uow, rid, "resolved", now=LATER, reason="Đã thu gom rác")
        uow.commit()
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.approve_result(uow, rid, now=LATER)
        workflow.transition(uow, rid, "closed", now=LATER)
        uow.commit()
    report = reload(demo_ctx, rid)
    assert report.state == "closed" and report.result_approved
    assert report.lead_agency.code == f"UBND-{RURAL}"
    states = [(e.from_state, e.to_state) for e in report.timeline if e.to_state]
    assert states == [(None, "received"), ("received", "verified"), ("verified", "assigned"),
                      ("assigned", "in_progress"), ("in_progress", "resolved"),
                      ("resolved", "closed")]
    with demo_ctx.db.session() as session:
        # The citizen is e-mailed through the alert center's outbox.
        mail = session.scalar(select(Delivery).where(Delivery.target == "dan@example.vn"))
        assert mail is not None and report.code in mail.subject
        # Every change is in the audit log, contact details redacted.
        rows = session.scalars(select(AuditLog).where(AuditLog.object_type == "fr_reports",
                                                      AuditLog.object_id == str(rid))).all()
        assert {r.action for r in rows} == {"create", "update"}
        created = next(r for r in rows if r.action == "create")
        assert created.after["contact_email"] == "***"
        assert "dan@example.vn" not in str([r.after for r in rows])


@pytest.mark.parametrize(("start", "target", "allowed"), [
    ("received", "in_progress", "assigned"),
    ("received", "resolved", "assigned, in_progress"),
    ("received", "closed", "resolved"),
    ("assigned", "verified", "received"),
    ("assigned", "rejected", "received, verified"),
])
def test_refused_transitions_name_the_allowed_states(demo_ctx: AppContext, start: str,
                                                      target: str, allowed: str) -> None:
    rid = _routed(demo_ctx)
    if start == "assigned":
        _to_assigned(demo_ctx, rid)
    with uow_as(demo_ctx, "admin") as uow, pytest.raises(Conflict) as refused:
        workflow.transition(uow, rid, target, now=LATER, reason="r")
    assert f"allowed from: {allowed}" in str(refused.value)
    assert reload(demo_ctx, rid).state == start


def test_reject_needs_a_reason_and_is_public(demo_ctx: AppContext) -> None:
    rid = _routed(demo_ctx)
    with uow_as(demo_ctx, "operator") as uow:
        with pytest.raises(Invalid, match="reason"):
            workflow.transition(uow, rid, "rejected", now=LATER)
        workflow.transition(uow, rid, "rejected", now=LATER, reason="Không đúng địa bàn")
        uow.commit()
    report = reload(demo_ctx, rid)
    assert report.state == "rejected" and report.closed_at is not None
    assert report.timeline[-1].public and report.timeline[-1].text == "Không đúng địa bàn"


def test_duplicate_and_merge(demo_ctx: AppContext) -> None:
    original = new_report(demo_ctx, category="garbage", area=RURAL)
    dup = _routed(demo_ctx)
    with uow_as(demo_ctx, "operator") as uow:
        with pytest.raises(Invalid, match="itself"):
            workflow.merge(uow, dup, reload(demo_ctx, dup).code, now=LATER)
        workflow.merge(uow, dup, original.code, now=LATER)
        uow.commit()
    report = reload(demo_ctx, dup)
    assert report.state == "duplicate" and report.duplicate_of.code == original.code
    assert any(e.kind == "merge" for e in reload(demo_ctx, original.id).timeline)


def test_officers_act_only_on_their_agency(demo_ctx: AppContext) -> None:
    rid = _routed(demo_ctx)
    _to_assigned(demo_ctx, rid)
    with uow_as(demo_ctx, f"ubnd-{BMT_WARD}") as uow, pytest.raises(PermissionDenied):
        workflow.transition(uow, rid, "in_progress", now=LATER)
    with uow_as(demo_ctx, OFFICER) as uow, pytest.raises(PermissionDenied):
        workflow.transition(uow, rid, "closed", now=LATER)  # closing is the IOC's
    with uow_as(demo_ctx, "leader") as uow, pytest.raises(PermissionDenied):
        workflow.assign(uow, rid, now=LATER)  # leaders read, they do not act


def test_triage_queue_belongs_to_the_ioc(demo_ctx: AppContext) -> None:
    rid = new_report(demo_ctx, category="other").id
    with uow_as(demo_ctx, OFFICER) as uow, pytest.raises(PermissionDenied):
        staff_tools.add_note(uow, rid, "x", public=False, now=LATER)
    with uow_as(demo_ctx, "operator") as uow:
        with pytest.raises(Invalid, match="name the lead agency"):
            workflow.assign(uow, rid, now=LATER)
        workflow.assign(uow, rid, now=LATER, agency_code="SO-XD",
                        supporting_codes=["CA-PC08"])
        uow.commit()
    report = reload(demo_ctx, rid)
    assert report.lead_agency.code == "SO-XD"
    assert [a.code for a in report.supporting] == ["CA-PC08"]


def test_transfer_with_reason(demo_ctx: AppContext) -> None:
    rid = _routed(demo_ctx)
    _to_assigned(demo_ctx, rid)
    with uow_as(demo_ctx, OFFICER) as uow:
        with pytest.raises(Invalid, match="reason"):
            workflow.transfer(uow, rid, "SO-XD", " ", now=LATER)
        workflow.transfer(uow, rid, "SO-XD", "Thuộc thẩm quyền Sở Xây dựng", now=LATER)
        uow.commit()
    report = reload(demo_ctx, rid)
    assert report.lead_agency.code == "SO-XD" and report.state == "assigned"
    assert report.timeline[-1].data == {"from": f"UBND-{RURAL}", "to": "SO-XD"}
    # The former agency has lost it.
    with uow_as(demo_ctx, OFFICER) as uow, pytest.raises(PermissionDenied):
        workflow.transition(uow, rid, "in_progress", now=LATER)


def test_bulk_assign_is_all_or_nothing(demo_ctx: AppContext) -> None:
    ids = [_routed(demo_ctx) for _ in range(3)]
    with uow_as(demo_ctx, "operator") as uow:
        workflow.transition(uow, ids[2], "rejected", now=LATER, reason="spam")
        uow.commit()
    with uow_as(demo_ctx, "operator") as uow, pytest.raises(Conflict):
        workflow.bulk_assign(uow, ids, now=LATER)
    assert reload(demo_ctx, ids[0]).state == "received"
    with uow_as(demo_ctx, "operator") as uow:
        workflow.bulk_assign(uow, ids[:2], now=LATER, agency_code="SO-XD")
        uow.commit()
    assert {reload(demo_ctx, i).lead_agency.code for i in ids[:2]} == {"SO-XD"}


def _resolved_and_published(ctx: AppContext) -> tuple[int, str]:
    rid = _routed(ctx)
    _to_assigned(ctx, rid)
    with uow_as(ctx, OFFICER) as uow:
        workflow.transition(uow, rid, "resolved", now=LATER, reason="Đã xử lý")
        uow.commit()
    with uow_as(ctx, "operator") as uow:
        staff_tools.approve_result(uow, rid, now=LATER)
        uow.commit()
    return rid, reload(ctx, rid).code


def test_citizen_low_rating_reopens_within_the_period(demo_ctx: AppContext) -> None:
    rid, code = _resolved_and_published(demo_ctx)
    with demo_ctx.uow() as uow:
        staff_tools.rate(uow, code.lower().replace("-", ""), 2, "Vẫn còn rác",
                         now=LATER + timedelta(days=3))
        uow.commit()
    report = reload(demo_ctx, rid)
    assert report.state == "in_progress" and report.reopen_count == 1
    assert report.rating == 2 and not report.result_approved
    assert report.due_at > LATER + timedelta(days=3)


def test_rating_after_the_period_does_not_reopen(demo_ctx: AppContext) -> None:
    rid, code = _resolved_and_published(demo_ctx)
    late = LATER + timedelta(days=45)
    with demo_ctx.uow() as uow:
        staff_tools.rate(uow, code, 1, now=late)
        with pytest.raises(Conflict, match="within 30 days"):
            staff_tools.rate(uow, code, 1, now=late, reopen=True)
        uow.commit()
    assert reload(demo_ctx, rid).state == "resolved"
    with demo_ctx.uow() as uow, pytest.raises(Invalid, match="1 to 5"):
        staff_tools.rate(uow, code, 6, now=late)


def test_rating_needs_a_published_result(demo_ctx: AppContext) -> None:
    rid = _routed(demo_ctx)
    with demo_ctx.uow() as uow, pytest.raises(Conflict, match="not published"):
        staff_tools.rate(uow, reload(demo_ctx, rid).code, 5, now=LATER)


def test_staff_reopen_and_explicit_citizen_reopen(demo_ctx: AppContext) -> None:
    rid, code = _resolved_and_published(demo_ctx)
    with demo_ctx.uow() as uow:
        staff_tools.rate(uow, code, 4, "Chưa sạch hẳn", now=LATER, reopen=True)
        uow.commit()
    assert reload(demo_ctx, rid).state == "in_progress"
    with uow_as(demo_ctx, "operator") as uow, pytest.raises(Conflict, match="reopen"):
        workflow.staff_reopen(uow, rid, "again", now=LATER)


def test_notes_moderation_and_history(demo_ctx: AppContext) -> None:
    rid = _routed(demo_ctx, contact_name="Nguyễn Văn Dân", show_name=True)
    _to_assigned(demo_ctx, rid)
    with uow_as(demo_ctx, OFFICER) as uow:
        staff_tools.add_note(uow, rid, "Gọi lại cho người dân", public=False, now=LATER)
        staff_tools.add_note(uow, rid, "Đã lên lịch thu gom", public=True, now=LATER)
        with pytest.raises(PermissionDenied):
            staff_tools.moderate(uow, rid, now=LATER, reason="x", hide_name=True)
        uow.commit()
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.moderate(uow, rid, now=LATER, reason="Lời lẽ không phù hợp",
                             description="Rác đổ trộm", hide_name=True)
        with pytest.raises(Invalid, match="nothing"):
            staff_tools.moderate(uow, rid, now=LATER, reason="x", hide_name=True)
        uow.commit()
    report = reload(demo_ctx, rid)
    assert report.description == "Rác đổ trộm" and report.public_name == ""
    kinds = [(e.kind, e.public) for e in report.timeline]
    assert ("note", False) in kinds and ("update", True) in kinds
    with demo_ctx.db.session() as session:
        history = session.scalars(select(Moderation).where(Moderation.report_id == rid)).all()
        assert {(m.field, m.before) for m in history} == {
            ("description", "Rác đổ trộm ở đầu hẻm"), ("name_hidden", "False")}
