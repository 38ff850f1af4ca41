"""Dossier storage: idempotent upsert, merged histories, stored classification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from test_models_support import NOW, dossier, seed, send, snapshot

from cityops.kernel.calendar import add_exception
from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.services.public_services.models import Dossier, StateChange
from cityops.services.public_services.service_classify import (
    reclassify_all,
    refresh_classifications,
)
from cityops.services.public_services.service_procedures import upsert_procedures


@pytest.fixture
def ctx(empty_ctx: AppContext) -> AppContext:
    seed(empty_ctx)
    return empty_ctx


def _one(ctx: AppContext, code: str = "HS-0001") -> Dossier:
    with ctx.db.session() as session:
        found = session.scalars(select(Dossier).where(Dossier.code == code)).one()
        _ = found.history, found.supplements, found.apologies
        return found


def test_create_stores_every_field_and_classifies(ctx: AppContext) -> None:
    result = send(ctx, [dossier(appointment_at="2026-03-17T17:00:00+07:00",
                                supplements=[{"requested_at": "2026-03-16T10:00:00+07:00",
                                              "completed_at": "2026-03-16T15:00:00+07:00"}],
                                apologies=[{"issued_at": "2026-03-17T16:00:00+07:00",
                                            "new_appointment_at": "2026-03-24T17:00:00+07:00",
                                            "reason": "Chờ xác minh"}])])
    assert [i.status for i in result.items] == ["created"]
    stored = _one(ctx)
    assert stored.state == 4 and stored.channel == 2 and stored.payment_online
    assert stored.received_month == 202603
    assert stored.receiving_agency_id == stored.processing_agency_id  # defaults to processing
    assert [h.state for h in stored.history] == [2, 4]
    assert stored.supplement_requests == 1 and stored.supplements[0].completed_at is not None
    assert stored.apologies[0].reason == "Chờ xác minh"
    # 17/03 17:00 appointment, unfinished on 20/03, so overdue once the engine classified it.
    assert stored.outcome == "overdue" and stored.due_at is not None
    assert stored.computed_at == NOW


def test_resend_changes_nothing(ctx: AppContext) -> None:
    send(ctx, [dossier(), dossier("HS-0002")])
    before = snapshot(ctx)
    for _ in range(2):
        result = send(ctx, [dossier(), dossier("HS-0002")], now=NOW + timedelta(hours=1))
        assert [i.status for i in result.items] == ["unchanged", "unchanged"]
    assert snapshot(ctx) == before  # no new rows, no audit rows, same updated_at


def test_newer_history_updates_and_older_data_never_erases(ctx: AppContext) -> None:
    send(ctx, [dossier()])
    newer = dossier(history=[{"state": 9, "at": "2026-03-17T10:00:00+07:00"}])
    later = NOW + timedelta(hours=2)
    assert send(ctx, [newer], now=later).items[0].status == "updated"
    stored = _one(ctx)
    assert stored.state == 9 and len(stored.history) == 3 and stored.updated_at == later
    assert stored.outcome in ("early", "on_time")
    # An older snapshot (state 4, in person, no online payment) only adds what is missing.
    older = dossier(channel=1, payment_online=False,
                    history=[{"state": 4, "at": "2026-03-16T09:00:00+07:00"}])
    assert send(ctx, [older], now=later + timedelta(hours=1)).items[0].status == "unchanged"
    stored = _one(ctx)
    assert stored.state == 9 and stored.channel == 2 and stored.payment_online


def test_partial_record_updates_only_what_it_carries(ctx: AppContext) -> None:
    send(ctx, [dossier()])
    result = send(ctx, [{"code": "HS-0001", "has_complaint": "có"}])
    assert result.items[0].status == "updated"
    stored = _one(ctx)
    assert stored.has_complaint and stored.state == 4 and stored.payment_online


def test_bad_items_are_reported_and_the_rest_stored(ctx: AppContext) -> None:
    items = [
        dossier("OK-1"),
        dossier("BAD-1", procedure_code="9.999999"),
        dossier("BAD-2", received_at="31/02/2026"),
        dossier("OK-1"),
        {"procedure_code": "1.001193"},
        "not an object",
        dossier("BAD-3", processing_agency_code="NO-SUCH"),
        dossier("BAD-4", history=[{"state": 11, "at": "2026-03-16T08:00:00+07:00"}]),
    ]
    result = send(ctx, items)
    assert [i.status for i in result.items] == ["created"] + ["failed"] * 7
    fields = {(e["index"], e["field"]) for e in result.errors()}
    assert {(1, "procedure_code"), (2, "received_at"), (3, "code"), (4, "code"),
            (5, ""), (6, "processing_agency_code"), (7, "history[0]")} <= fields
    with ctx.db.session() as session:
        assert session.scalars(select(Dossier.code)).all() == ["OK-1"]


def test_state_change_without_time_is_refused(ctx: AppContext) -> None:
    send(ctx, [dossier()])
    result = send(ctx, [{"code": "HS-0001", "state": 9}])
    assert result.items[0].status == "failed"
    assert result.errors()[0]["field"] == "state_at"
    # Repeating the current state needs no time: nothing changes.
    assert send(ctx, [{"code": "HS-0001", "state": 4}]).items[0].status == "unchanged"


def test_history_is_unique_per_dossier_state_and_time(ctx: AppContext) -> None:
    send(ctx, [dossier()])
    stored = _one(ctx)
    with ctx.db.session() as session, pytest.raises(IntegrityError):
        first = stored.history[0]
        session.add(StateChange(dossier_id=stored.id, state=first.state, at=first.at))
        session.flush()


def test_calendar_change_reclassifies(ctx: AppContext) -> None:
    # Received Monday 16/03 on a 3-day procedure: due Thursday 19/03 end of day.
    send(ctx, [dossier(procedure_code="1.001612", history=[
        {"state": 2, "at": "2026-03-16T08:00:00+07:00"},
        {"state": 9, "at": "2026-03-19T16:00:00+07:00"}])])
    with ctx.uow() as uow:
        assert refresh_classifications(uow.session, now=NOW)["calendar_changed"] is True
        uow.commit()
    due_before = _one(ctx).due_at
    with ctx.uow() as uow:
        add_exception(uow.session, due_before.astimezone().date() - timedelta(days=1),
                      "day_off", "Nghỉ đột xuất")
        result = refresh_classifications(uow.session, now=NOW)
        uow.commit()
    assert result == {"calendar_changed": True, "changed": 1}
    assert _one(ctx).due_at > due_before
    with ctx.uow() as uow:
        assert refresh_classifications(uow.session, now=NOW)["calendar_changed"] is False
        assert reclassify_all(uow.session, now=NOW) == 0  # already current: nothing written


def test_procedure_catalogue_is_checked(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        with pytest.raises(Invalid, match="whole days"):
            upsert_procedures(uow.session, [{"code": "X", "name": "X", "level": "commune",
                                             "statutory_amount": "1.5"}])
        counts = upsert_procedures(uow.session, [{"code": "1.001193", "name": "Đăng ký khai sinh",
                                                  "field": "Hộ tịch", "level": "commune",
                                                  "statutory_amount": 2,
                                                  "statutory_unit": "days",
                                                  "online_level": "full", "fee": 0}])
        assert counts == {"created": 0, "updated": 1, "unchanged": 0}


def test_reclassify_job_moves_unfinished_dossiers_with_time(ctx: AppContext) -> None:
    from cityops.services.public_services.jobs import reclassify_job

    # Appointment Monday 23/03: in term on Friday 20/03, overdue on Tuesday 24/03.
    send(ctx, [dossier(appointment_at="2026-03-23T17:00:00+07:00")])
    assert _one(ctx).outcome in ("in_term", "due_soon")
    ctx.clock = lambda: NOW + timedelta(days=4)
    assert reclassify_job(ctx)["changed"] == 1
    assert _one(ctx).outcome == "overdue"
