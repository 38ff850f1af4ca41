"""SLA deadlines on the working calendar and escalation driven by a controllable clock.

Nothing sleeps: deadlines are computed from fixed local instants, and the escalation job
runs with ``ctx.clock`` replaced, minute by minute.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from test_alert_engine import (
    add_silence,
    alert_request,
    kinds,
    load,
    local,
    new_alert,
    run,
    timeline,
    transition,
)

from cityops.alerts import escalation, service
from cityops.alerts.jobs import escalation_job
from cityops.alerts.models import EscalationPolicy, SlaPolicy
from cityops.alerts.policies import defaults, ensure_default_policies
from cityops.alerts.sla import deadline, policy_for
from cityops.kernel.calendar import WorkingCalendar, add_exception
from cityops.kernel.context import AppContext
from cityops.kernel.permissions import SYSTEM

T0 = local(2026, 3, 4, 9, 0)  # Wednesday 09:00


@pytest.fixture
def ctx(empty_ctx: AppContext) -> AppContext:
    """An empty province with only the shipped SLA and escalation policies."""
    with empty_ctx.uow() as uow:
        ensure_default_policies(uow.session)
        uow.commit()
    return empty_ctx


def unaddressed(ctx: AppContext, *, now: datetime = T0, **fields: Any) -> int:
    values: dict[str, Any] = {"agency_code": None, "category": "Env", **fields}
    return new_alert(ctx, now=now, **values)


def minutes_after(start: datetime, at: datetime) -> int:
    return round((at - start).total_seconds() / 60)


# -- SLA --------------------------------------------------------------------------------------

SLA_CASES = [
    # severity, category, raised (local), ack due, resolve due (local)
    pytest.param("minor", "Env", local(2026, 3, 6, 16), local(2026, 3, 9, 10),
                 local(2026, 3, 11, 16), id="minor-friday-16h-over-the-weekend"),
    pytest.param("minor", "Env", local(2026, 2, 13, 16), local(2026, 2, 23, 10),
                 local(2026, 2, 25, 16), id="minor-friday-before-tet-2026"),
    pytest.param("minor", "Env", local(2026, 3, 6, 12), local(2026, 3, 6, 17, 30),
                 local(2026, 3, 11, 11, 30), id="minor-raised-over-lunch"),
    pytest.param("minor", "Env", local(2026, 3, 7, 10), local(2026, 3, 9, 11, 30),
                 local(2026, 3, 11, 17, 30), id="minor-raised-on-saturday"),
    pytest.param("warning", "Env", local(2026, 2, 13, 16), local(2026, 2, 23, 16),
                 local(2026, 2, 27, 16), id="warning-working-days-across-tet"),
    pytest.param("warning", "Env", local(2026, 3, 7, 10), local(2026, 3, 10, 10),
                 local(2026, 3, 16, 10), id="warning-saturday-counts-from-monday"),
    pytest.param("warning", "Other", local(2026, 3, 4, 9), local(2026, 3, 5, 9),
                 local(2026, 3, 9, 9), id="ticket-policy-other-warning"),
    pytest.param("info", "Env", local(2026, 3, 4, 9), local(2026, 3, 9, 9),
                 local(2026, 3, 18, 9), id="info-working-days"),
    pytest.param("critical", "Env", local(2026, 3, 7, 2), local(2026, 3, 7, 2, 15),
                 local(2026, 3, 7, 6), id="critical-minutes-round-the-clock"),
    pytest.param("major", "Env", local(2026, 2, 17, 12), local(2026, 2, 17, 13),
                 local(2026, 2, 18, 12), id="major-minutes-on-a-holiday"),
    pytest.param("critical", "Security", local(2026, 3, 4, 23, 55), local(2026, 3, 5, 0, 5),
                 local(2026, 3, 5, 1, 55), id="security-critical-overrides-the-default"),
]


@pytest.mark.parametrize(("severity", "category", "raised", "ack_due", "resolve_due"),
                         SLA_CASES)
def test_sla_deadlines(ctx: AppContext, severity: str, category: str, raised: datetime,
                       ack_due: datetime, resolve_due: datetime) -> None:
    alert = load(ctx, unaddressed(ctx, now=raised, severity=severity, category=category))
    assert (alert.ack_due_at, alert.resolve_due_at) == (ack_due, resolve_due)


def test_sla_uses_the_provinces_calendar_exceptions(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        add_exception(uow.session, date(2026, 3, 9), "day_off", "Nghỉ bù địa phương")
        uow.commit()
    alert = load(ctx, unaddressed(ctx, now=local(2026, 3, 6, 16), severity="minor"))
    assert alert.ack_due_at == local(2026, 3, 10, 10)


def test_fractional_working_days_are_working_hours() -> None:
    calendar = WorkingCalendar()
    friday = local(2026, 3, 6, 16)
    assert deadline(friday, 0.5, "working_days", calendar) == local(2026, 3, 9, 10)
    assert deadline(friday, 4, "working_hours", calendar) == local(2026, 3, 9, 10)
    assert deadline(friday, 90, "minutes", calendar) == friday + timedelta(minutes=90)
    with pytest.raises(ValueError, match="unknown SLA unit"):
        deadline(friday, 1, "fortnights", calendar)


def test_most_specific_policy_wins(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        def picked(category: str, severity: str) -> tuple[str, str]:
            policy = policy_for(session, category, severity)
            assert policy is not None
            return policy.category, policy.severity

        assert picked("Security", "critical") == ("Security", "critical")
        assert picked("Fire", "critical") == ("*", "critical")
        assert picked("Other", "warning") == ("Other", "warning")
        assert picked("Env", "warning") == ("*", "warning")
        ticket_policy = policy_for(session, "Other", "warning")
        assert ticket_policy is not None
        assert session.get(EscalationPolicy,
                           ticket_policy.escalation_policy_id).name == "warning-ticket"


def test_default_policies_load_once(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        assert ensure_default_policies(uow.session) == 0
        count = len(uow.session.scalars(select(SlaPolicy)).all())
    assert count == len(defaults()["sla_policies"])


def test_an_alert_without_any_policy_has_no_deadline(empty_ctx: AppContext) -> None:
    alert = load(empty_ctx, unaddressed(empty_ctx, severity="critical"))
    assert (alert.ack_due_at, alert.resolve_due_at, alert.next_escalation_at) == \
        (None, None, None)


def test_raising_severity_recomputes_the_sla_from_the_first_raise(ctx: AppContext) -> None:
    alert_id = unaddressed(ctx, now=local(2026, 3, 6, 16), severity="minor")
    run(ctx, SYSTEM, service.raise_alert, alert_request(agency_code=None, severity="critical"),
        now=local(2026, 3, 6, 16, 5))
    alert = load(ctx, alert_id)
    assert alert.ack_due_at == local(2026, 3, 6, 16, 15)


# -- escalation -------------------------------------------------------------------------------

def run_job_until(ctx: AppContext, start: datetime, minutes: int) -> list[int]:
    """Run the escalation job once a minute from ``start``; returns what each run acted on."""
    acted = []
    for minute in range(minutes + 1):
        ctx.clock = lambda minute=minute: start + timedelta(minutes=minute)
        acted.append(escalation_job(ctx))
    return acted


def escalation_log(ctx: AppContext, alert_id: int) -> list[tuple[int, str, int, str]]:
    """(minute after raising, kind, level, target) of each reminder and escalation."""
    alert = load(ctx, alert_id)
    return [(minutes_after(alert.raised_at, e.at), e.kind, e.data["level"], e.text)
            for e in timeline(alert) if e.kind in ("reminder", "escalated")]


def expected_log(policy_name: str, horizon: int) -> list[tuple[int, str, int, str]]:
    """The schedule the escalation rules give for a policy from defaults.yaml, built
    independently of the implementation: remind every N minutes (at most max_reminders
    times per level), go to the next level when the level's after_minutes are up."""
    policy = next(p for p in defaults()["escalation_policies"] if p["name"] == policy_name)
    levels, every, most = policy["levels"], policy["reminder_every_minutes"], \
        policy["max_reminders"]
    log: list[tuple[int, str, int, str]] = []
    level, entered = 0, 0
    while True:
        last = level == len(levels) - 1
        reminders = [entered + every * k for k in range(1, most + 1)]
        move_at = None if last else entered + levels[level]["after_minutes"]
        for at in reminders:
            if (move_at is None or at < move_at) and at <= horizon:
                log.append((at, "reminder", level, levels[level]["target"]))
        if move_at is None or move_at > horizon:
            return log
        level, entered = level + 1, move_at
        log.append((move_at, "escalated", level, levels[level]["target"]))


@pytest.mark.parametrize(("severity", "policy_name", "horizon"), [
    ("critical", "critical", 180),
    ("major", "default", 360),
])
def test_escalation_schedule(ctx: AppContext, severity: str, policy_name: str,
                             horizon: int) -> None:
    alert_id = unaddressed(ctx, severity=severity)
    started = load(ctx, alert_id)
    assert (started.escalation_level, started.reminders_sent) == (0, 0)
    assert started.next_escalation_at is not None

    acted = run_job_until(ctx, T0, horizon)

    expected = expected_log(policy_name, horizon)
    assert escalation_log(ctx, alert_id) == expected
    assert sum(acted) == len(expected)  # one action per due run, nothing twice
    alert = load(ctx, alert_id)
    assert alert.escalation_level == expected[-1][2] == 2
    assert alert.next_escalation_at is None  # the last level has had all its reminders


def test_the_critical_schedule_in_plain_words(ctx: AppContext) -> None:
    """The same rules, spelled out for the critical policy (10-minute reminders, 6 at most,
    levels after 15 and 30 minutes), so a wrong generator cannot hide a wrong engine."""
    alert_id = unaddressed(ctx, severity="critical")
    run_job_until(ctx, T0, 120)
    assert escalation_log(ctx, alert_id) == [
        (10, "reminder", 0, "agency"),
        (15, "escalated", 1, "agency_head"),
        (25, "reminder", 1, "agency_head"),
        (35, "reminder", 1, "agency_head"),
        (45, "escalated", 2, "role:leader"),
        *[(45 + 10 * k, "reminder", 2, "role:leader") for k in range(1, 7)],
    ]


def test_acknowledging_stops_escalation(ctx: AppContext) -> None:
    alert_id = unaddressed(ctx, severity="critical")
    run_job_until(ctx, T0, 12)
    assert [kind for _, kind, _, _ in escalation_log(ctx, alert_id)] == ["reminder"]
    transition(ctx, SYSTEM, alert_id, "acknowledged", now=T0 + timedelta(minutes=13))
    assert load(ctx, alert_id).next_escalation_at is None
    assert set(run_job_until(ctx, T0 + timedelta(minutes=13), 120)) == {0}
    alert = load(ctx, alert_id)
    assert (alert.escalation_level, alert.reminders_sent) == (0, 1)
    assert kinds(alert) == ["raised", "reminder", "state"]


def test_a_late_job_acts_once_per_run(ctx: AppContext) -> None:
    """After the scheduler was down, one run does one step; it does not replay history."""
    alert_id = unaddressed(ctx, severity="critical")
    later = T0 + timedelta(hours=5)
    with ctx.uow() as uow:
        assert escalation.run_due(uow.session, later) == 1
        assert escalation.run_due(uow.session, later) == 0
        uow.commit()
    alert = load(ctx, alert_id)
    assert alert.escalation_level == 1
    assert alert.level_entered_at == later
    assert alert.next_escalation_at == later + timedelta(minutes=10)


def test_silenced_and_resolved_alerts_are_not_escalated(ctx: AppContext) -> None:
    add_silence(ctx, max_severity="critical", starts_at=T0 - timedelta(hours=1),
                ends_at=T0 + timedelta(hours=1))
    silenced = unaddressed(ctx, severity="critical")
    resolved = unaddressed(ctx, severity="critical", dedupe_key="resolved", service="traffic")
    transition(ctx, SYSTEM, resolved, "resolved", now=T0 + timedelta(minutes=1))
    assert set(run_job_until(ctx, T0, 60)) == {0}
    for alert_id in (silenced, resolved):
        assert escalation_log(ctx, alert_id) == []


def test_the_job_only_sees_alerts_that_are_due(ctx: AppContext) -> None:
    first = unaddressed(ctx, severity="critical")
    second = unaddressed(ctx, severity="critical", dedupe_key="second",
                         now=T0 + timedelta(minutes=5))
    ctx.clock = lambda: T0 + timedelta(minutes=10)
    assert escalation_job(ctx) == 1
    ctx.clock = lambda: T0 + timedelta(minutes=15)
    assert escalation_job(ctx) == 2  # first escalates, second has its first reminder
    assert [k for _, k, _, _ in escalation_log(ctx, first)] == ["reminder", "escalated"]
    assert [k for _, k, _, _ in escalation_log(ctx, second)] == ["reminder"]
