"""Warning tickets per agency through the alert center, the daily job, the report lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_models_support import NOW, dossier, own_app, seed, send

from cityops.alerts import escalation
from cityops.alerts.models import Alert, EscalationPolicy
from cityops.alerts.tickets import answer_ticket, check_ticket
from cityops.kernel.context import AppContext
from cityops.services.public_services.jobs import warning_tickets_job
from cityops.services.public_services.models import Setting
from cityops.services.public_services.tickets import issue_warning_tickets, report_lines

H = "+07:00"


def history(*pairs: tuple[int, str]) -> list[dict[str, object]]:
    return [{"state": s, "at": f"2026-03-{at}{H}"} for s, at in pairs]


def load_dossiers(ctx: AppContext) -> None:
    send(ctx, [
        # SO-TP: overdue (appointment passed), due soon (today), in term, paused, finished late.
        dossier("TP-OVER", appointment_at=f"2026-03-18T17:00:00{H}"),
        dossier("TP-SOON", appointment_at=f"2026-03-20T17:00:00{H}"),
        dossier("TP-LATER", procedure_code="1.002408"),
        dossier("TP-PAUSED", procedure_code="1.001193",
                history=history((2, "16T08:00:00"), (5, "16T09:00:00"))),
        dossier("TP-DONE", appointment_at=f"2026-03-17T17:00:00{H}",
                history=history((2, "16T08:00:00"), (9, "19T10:00:00"))),
        # The ward: one overdue dossier.
        dossier("W-OVER", processing_agency_code="UBND-22015",
                appointment_at=f"2026-03-19T17:00:00{H}"),
    ])


@pytest.fixture
def ctx(empty_ctx: AppContext) -> AppContext:
    seed(empty_ctx)
    load_dossiers(empty_ctx)
    return empty_ctx


def tickets(ctx: AppContext) -> list[Alert]:
    with ctx.db.session() as session:
        found = list(session.scalars(select(Alert).where(Alert.service == "public_services")
                                     .order_by(Alert.dedupe_key)))
        for alert in found:
            _ = alert.agency  # loaded while the session is open
        return found


def test_one_ticket_per_agency_listing_its_dossiers(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        run = issue_warning_tickets(uow, now=NOW, days=1)
        uow.commit()
    assert (run.agencies, run.sent) == (2, 2)
    so_tp, ward = tickets(ctx)
    assert so_tp.is_ticket and so_tp.agency.code == "SO-TP" and ward.agency.code == "UBND-22015"
    assert "TP-OVER" in so_tp.description and "TP-SOON" in so_tp.description
    for absent in ("TP-LATER", "TP-PAUSED", "TP-DONE", "W-OVER"):
        assert absent not in so_tp.description
    assert so_tp.severity == "major" and "1 quá hạn, 1 sắp đến hạn" in so_tp.title
    assert [link["title"] for link in so_tp.links] == ["TP-OVER", "TP-SOON"]


def test_rerun_the_same_day_sends_nothing_new(ctx: AppContext) -> None:
    for hours in (0, 3):
        with ctx.uow() as uow:
            issue_warning_tickets(uow, now=NOW + timedelta(hours=hours), days=1)
            uow.commit()
    found = tickets(ctx)
    assert len(found) == 2 and all(t.occurrences == 1 for t in found)
    with ctx.uow() as uow:  # the next working day: new tickets
        assert issue_warning_tickets(uow, now=NOW + timedelta(days=3), days=1).sent == 2


def test_daily_job_waits_for_the_configured_time(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        uow.session.add(Setting(key="warning_time", value="11:00"))
        uow.commit()
    ctx.clock = lambda: NOW  # 10:00 local
    assert warning_tickets_job(ctx)["sent"] == 0 and tickets(ctx) == []
    ctx.clock = lambda: NOW + timedelta(hours=1, minutes=5)
    assert warning_tickets_job(ctx)["sent"] == 2
    assert warning_tickets_job(ctx) == {"sent": 0, "skipped": 1}  # done for today
    ctx.clock = lambda: NOW + timedelta(days=3, hours=2)  # Monday, after 11:00
    assert warning_tickets_job(ctx)["sent"] == 2


def test_unanswered_ticket_escalates(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        uow.session.add(EscalationPolicy(name="default", levels=[
            {"target": "agency", "after_minutes": 60}, {"target": "role:leader"}],
            reminder_every_minutes=600, max_reminders=1))
        issue_warning_tickets(uow, now=NOW, days=1)
        uow.commit()
    with ctx.uow() as uow:
        assert escalation.run_due(uow.session, NOW + timedelta(minutes=61)) == 2
        uow.commit()
    assert {t.escalation_level for t in tickets(ctx)} == {1}


def test_report_lines(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        issue_warning_tickets(uow, now=NOW, days=1)
        uow.commit()
    so_tp = tickets(ctx)[0]
    with ctx.uow() as uow:
        check_ticket(uow, so_tp.id, now=NOW + timedelta(hours=1))
        answer_ticket(uow, so_tp.id, "Đã xử lý", now=NOW + timedelta(hours=2))
        uow.commit()
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    with ctx.db.session() as session:
        lines = report_lines(session, start, end)
    assert lines["tickets_checked"] == {"part": 1, "whole": 2, "percent": 50.0}
    # Late-finished TP-DONE of the three overdue ones (TP-OVER, W-OVER still open).
    assert lines["overdue_processed"]["part"] == 1
    assert lines["overdue_processed"]["whole"] == 3


def test_online_reception_line(empty_ctx: AppContext) -> None:
    seed(empty_ctx)
    send(empty_ctx, [
        # Registered Monday 08:00; received Wednesday: over one working day → late, received.
        dossier("ON-1", history=history((1, "16T08:00:00"), (2, "18T08:00:00"))),
        # Received within the day: not late.
        dossier("ON-2", history=history((1, "16T08:00:00"), (2, "16T14:00:00"))),
        # Never received: late, not received.
        dossier("ON-3", history=history((1, "16T08:00:00"))),
        # In person: not counted.
        dossier("IP-1", channel=1, history=history((1, "16T08:00:00"))),
    ])
    with empty_ctx.db.session() as session:
        line = report_lines(session, datetime(2026, 3, 1, tzinfo=UTC),
                            datetime(2026, 4, 1, tzinfo=UTC))["overdue_online_received"]
    assert (line["part"], line["whole"]) == (1, 2)


def test_officer_sees_only_its_agencys_tickets(demo_ctx: AppContext) -> None:
    seed(demo_ctx)
    load_dossiers(demo_ctx)
    with demo_ctx.uow() as uow:
        issue_warning_tickets(uow, now=NOW, days=1)
        uow.commit()
    with TestClient(own_app(demo_ctx)) as client:
        from conftest import token_for

        headers: Callable[[str], dict[str, str]] = lambda user: token_for(client, user)  # noqa: E731
        # The alert demo has public-services alerts of its own; ours carry this key.
        query = {"service": "public_services", "q": "deadline-warning", "page_size": 500}
        mine = client.get("/api/v1/alerts", params=query,
                          headers=headers("so-tp")).json()["items"]
        assert [a["dedupe_key"].split(":")[1] for a in mine] == ["SO-TP"]
        everyone = client.get("/api/v1/alerts", params=query,
                              headers=headers("leader")).json()["items"]
        assert len(everyone) == 2


def test_admin_sets_the_daily_time(demo_ctx: AppContext) -> None:
    from conftest import browser_login, post_form

    from cityops.services.public_services.tickets import setting

    with TestClient(own_app(demo_ctx)) as client:
        browser_login(client, "admin", next_path="/public-services/connectors")
        page = "/public-services/connectors"
        bad = post_form(client, page, "/public-services/warning-settings",
                        {"warning_time": "25:99", "warning_days": "2"})
        assert bad.status_code == 400 and "HH:MM" in bad.text
        assert post_form(client, page, "/public-services/warning-settings",
                         {"warning_time": "06:45", "warning_days": "3"}).status_code == 303
        client.cookies.clear()
        browser_login(client, "operator", next_path="/overview")
        assert client.post("/public-services/warning-settings",
                           data={"warning_time": "01:00", "warning_days": "1"}).status_code == 403
    with demo_ctx.db.session() as session:
        assert (setting(session, "warning_time"), setting(session, "warning_days")) == \
            ("06:45", "3")
