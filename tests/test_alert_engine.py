"""The alert center's service layer: raising, lifecycle, tickets, incidents, permissions.

Every call runs in a unit of work with an explicit principal and a fixed local ``now``; the
helpers here are shared with the other ``test_alert_*`` modules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from cityops.alerts import incidents, service, tickets
from cityops.alerts.manifest import manifest as alerts_manifest
from cityops.alerts.models import Alert, AlertEvent, Incident, Silence
from cityops.alerts.notifications import InAppNotification
from cityops.alerts.policies import sop_template
from cityops.alerts.service import AlertConflict, AlertError, AlertNotFound, RaiseRequest
from cityops.alerts.vocab import STATES, TRANSITIONS, allowed_targets
from cityops.kernel.auth import User, create_api_key, principal_for_api_key, principal_for_user
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import SYSTEM, PermissionDenied, Principal, permission_registry

T = TypeVar("T")
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL)


NOW = local(2026, 3, 4)  # Wednesday 09:00, an ordinary working day
OWN, OTHER = "SO-NNMT", "SO-YT"  # the alert's agency and a foreign one

# The way to reach each state from "new" along the lifecycle.
PATHS: dict[str, tuple[str, ...]] = {
    "new": (),
    "acknowledged": ("acknowledged",),
    "in_progress": ("acknowledged", "in_progress"),
    "resolved": ("acknowledged", "in_progress", "resolved"),
    "closed": ("acknowledged", "in_progress", "resolved", "closed"),
}


# -- shared helpers ---------------------------------------------------------------------------

def grant_alert_permissions() -> None:
    """What create_app does at start; service-level tests build principals without an app."""
    for permission, roles in alerts_manifest.permissions.items():
        permission_registry.grant(permission, roles)


def principal_of(ctx: AppContext, username: str) -> Principal:
    grant_alert_permissions()
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None, f"no user {username}"
        return principal_for_user(session, user)


def api_key_principal(ctx: AppContext, agency_code: str) -> Principal:
    """An integrator's API key for the agency, resolved the way the web layer does."""
    grant_alert_permissions()
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, agency_code)
        assert agency is not None
        _, raw = create_api_key(uow.session, agency, f"sensor gateway {agency_code}")
        principal = principal_for_api_key(uow.session, raw)
        uow.commit()
    assert principal is not None
    return principal


def alert_request(**overrides: Any) -> RaiseRequest:
    fields: dict[str, Any] = {
        "dedupe_key": "aqi-bmt-station-1", "service": "environment",
        "title": "Chỉ số VN_AQI vượt 150 tại trạm quan trắc", "severity": "major",
        "category": "Env", "agency_code": OWN, "description": "VN_AQI 165",
    }
    fields.update(overrides)
    return RaiseRequest(**fields)


def run(ctx: AppContext, who: Principal, action: Callable[..., T], *args: Any,
        **kwargs: Any) -> T:
    """``action(uow, *args, **kwargs)`` in one committed unit of work."""
    with ctx.uow(who) as uow:
        result = action(uow, *args, **kwargs)
        uow.commit()
    return result


def raise_alert(ctx: AppContext, who: Principal = SYSTEM, *, now: datetime = NOW,
                **fields: Any) -> service.RaiseResult:
    return run(ctx, who, service.raise_alert, alert_request(**fields), now=now)


def new_alert(ctx: AppContext, who: Principal = SYSTEM, *, now: datetime = NOW,
              **fields: Any) -> int:
    result = raise_alert(ctx, who, now=now, **fields)
    assert result.created
    return result.alert.id


def transition(ctx: AppContext, who: Principal, alert_id: int, to: str, *,
               now: datetime = NOW, comment: str = "") -> Alert:
    return run(ctx, who, service.transition, alert_id, to, comment, now=now)


def drive_to(ctx: AppContext, alert_id: int, state: str, *, now: datetime = NOW) -> None:
    for step, target in enumerate(PATHS[state], start=1):
        transition(ctx, SYSTEM, alert_id, target, now=now + timedelta(minutes=step))


def load(ctx: AppContext, alert_id: int) -> Alert:
    """A detached snapshot of the alert with its timeline."""
    with ctx.db.session() as session:
        alert = session.scalar(select(Alert).options(selectinload(Alert.events))
                               .where(Alert.id == alert_id))
        assert alert is not None
        return alert


def timeline(alert: Alert) -> list[AlertEvent]:
    """The alert's own events; delivery records ("notified") belong to notifications."""
    return [event for event in alert.events if event.kind != "notified"]


def kinds(alert: Alert) -> list[str]:
    return [event.kind for event in timeline(alert)]


def in_app_count(ctx: AppContext, alert_id: int) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(InAppNotification)
                              .where(InAppNotification.alert_id == alert_id)) or 0


@pytest.fixture
def operator(demo_ctx: AppContext) -> Principal:
    return principal_of(demo_ctx, "operator")


# -- lifecycle --------------------------------------------------------------------------------

LIFECYCLE = [(source, target) for source in STATES for target in STATES]


@pytest.mark.parametrize(("source", "target"), LIFECYCLE,
                         ids=[f"{s}->{t}" for s, t in LIFECYCLE])
def test_every_transition_is_allowed_or_refused_per_the_table(
        demo_ctx: AppContext, operator: Principal, source: str, target: str) -> None:
    alert_id = new_alert(demo_ctx)
    drive_to(demo_ctx, alert_id, source)
    later = NOW + timedelta(hours=1)
    if source in TRANSITIONS[target]:
        alert = transition(demo_ctx, operator, alert_id, target, now=later, comment=" ok ")
        assert alert.status == target
        stored = load(demo_ctx, alert_id)
        assert stored.status == target
        last = timeline(stored)[-1]
        assert (last.kind, last.from_state, last.to_state, last.actor, last.text) == \
            ("state", source, target, "operator", "ok")
    else:
        with pytest.raises(AlertConflict) as refused:
            transition(demo_ctx, operator, alert_id, target, now=later)
        message = str(refused.value)
        assert f"cannot go from {source} to {target}" in message
        for allowed in allowed_targets(source):
            assert allowed in message
        assert load(demo_ctx, alert_id).status == source


def test_unknown_target_state_is_invalid_not_a_conflict(demo_ctx: AppContext,
                                                        operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    with pytest.raises(AlertError) as refused:
        transition(demo_ctx, operator, alert_id, "done")
    assert not isinstance(refused.value, AlertConflict)
    assert "acknowledged" in str(refused.value)


def test_unknown_alert_is_not_found(demo_ctx: AppContext, operator: Principal) -> None:
    with pytest.raises(AlertNotFound):
        transition(demo_ctx, operator, 987654, "acknowledged")


def test_each_state_records_its_timestamp(demo_ctx: AppContext, operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    times = {state: NOW + timedelta(minutes=10 * i) for i, state in enumerate(PATHS["closed"], 1)}
    for state, when in times.items():
        transition(demo_ctx, operator, alert_id, state, now=when)
    alert = load(demo_ctx, alert_id)
    assert alert.raised_at == NOW
    assert alert.acknowledged_at == times["acknowledged"]
    assert alert.in_progress_at == times["in_progress"]
    assert alert.resolved_at == times["resolved"]
    assert alert.closed_at == times["closed"]
    assert alert.active_key is None
    assert alert.updated_at == times["closed"]
    assert [(e.from_state, e.to_state) for e in timeline(alert) if e.kind == "state"] == \
        list(zip(("new", *PATHS["closed"][:-1]), PATHS["closed"], strict=True))


def test_resolving_straight_from_new_counts_as_acknowledged(demo_ctx: AppContext,
                                                            operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    transition(demo_ctx, operator, alert_id, "resolved", now=NOW + timedelta(minutes=7))
    alert = load(demo_ctx, alert_id)
    assert alert.acknowledged_at == alert.resolved_at == NOW + timedelta(minutes=7)
    assert alert.next_escalation_at is None


def test_reopen_resets_acknowledgement_and_recomputes_sla(demo_ctx: AppContext,
                                                          operator: Principal) -> None:
    alert_id = new_alert(demo_ctx, severity="critical")  # 15 / 240 minutes round the clock
    drive_to(demo_ctx, alert_id, "closed")
    reopened = NOW + timedelta(days=2)
    transition(demo_ctx, operator, alert_id, "new", now=reopened, comment="tái diễn")
    alert = load(demo_ctx, alert_id)
    assert alert.status == "new"
    assert alert.reopened_at == reopened
    assert (alert.acknowledged_at, alert.in_progress_at, alert.resolved_at,
            alert.closed_at) == (None, None, None, None)
    assert alert.ack_due_at == reopened + timedelta(minutes=15)
    assert alert.resolve_due_at == reopened + timedelta(minutes=240)
    assert alert.active_key is not None
    assert alert.escalation_level == 0 and alert.reminders_sent == 0
    assert alert.next_escalation_at is not None and alert.next_escalation_at > reopened


def test_reopen_refused_while_another_alert_holds_the_key(demo_ctx: AppContext,
                                                          operator: Principal) -> None:
    first = new_alert(demo_ctx)
    drive_to(demo_ctx, first, "resolved")
    second = new_alert(demo_ctx, now=NOW + timedelta(hours=1))
    with pytest.raises(AlertConflict) as refused:
        transition(demo_ctx, operator, first, "new", now=NOW + timedelta(hours=2))
    assert f"#{second}" in str(refused.value)
    assert load(demo_ctx, first).status == "resolved"


# -- raising ----------------------------------------------------------------------------------

def test_raising_the_same_key_updates_the_active_alert(demo_ctx: AppContext) -> None:
    first = raise_alert(demo_ctx, severity="major", description="VN_AQI 165")
    later = NOW + timedelta(minutes=20)
    again = raise_alert(demo_ctx, now=later, severity="critical", description="VN_AQI 240")
    assert first.created and not again.created
    assert again.alert.id == first.alert.id
    alert = load(demo_ctx, first.alert.id)
    assert alert.occurrences == 2
    assert alert.severity == "critical"
    assert alert.description == "VN_AQI 240"
    assert alert.last_seen_at == later
    assert alert.raised_at == NOW
    # Escalated severity: the SLA follows the critical policy, counted from the first raise.
    assert alert.ack_due_at == NOW + timedelta(minutes=15)
    updated = timeline(alert)[-1]
    assert updated.kind == "updated"
    assert updated.data == {"occurrences": 2, "severity": ["major", "critical"]}

    lower = raise_alert(demo_ctx, now=later + timedelta(minutes=5), severity="minor")
    assert lower.alert.id == first.alert.id and not lower.created
    alert = load(demo_ctx, first.alert.id)
    assert (alert.occurrences, alert.severity) == (3, "critical")
    assert timeline(alert)[-1].data == {"occurrences": 3}
    assert kinds(alert) == ["raised", "updated", "updated"]


def test_same_key_from_another_service_is_a_separate_alert(demo_ctx: AppContext) -> None:
    environment = new_alert(demo_ctx, service="environment")
    health = new_alert(demo_ctx, service="health", category="Health")
    assert environment != health
    assert load(demo_ctx, environment).occurrences == load(demo_ctx, health).occurrences == 1


def test_after_resolution_the_same_key_raises_a_new_alert(demo_ctx: AppContext) -> None:
    old = new_alert(demo_ctx)
    drive_to(demo_ctx, old, "resolved")
    result = raise_alert(demo_ctx, now=NOW + timedelta(hours=3))
    assert result.created and result.alert.id != old
    assert load(demo_ctx, old).status == "resolved"
    assert load(demo_ctx, result.alert.id).status == "new"


def test_source_clear_auto_resolves_and_keeps_the_timeline(demo_ctx: AppContext,
                                                           operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    run(demo_ctx, operator, service.add_comment, alert_id, "Đã cử cán bộ kiểm tra",
        now=NOW + timedelta(minutes=5))
    cleared_at = NOW + timedelta(hours=2)
    cleared = run(demo_ctx, SYSTEM, service.clear_from_source, "environment",
                  "aqi-bmt-station-1", now=cleared_at, note="VN_AQI 80")
    assert cleared is not None and cleared.id == alert_id
    alert = load(demo_ctx, alert_id)
    assert alert.status == "resolved"
    assert alert.cleared_by_source_at == alert.resolved_at == cleared_at
    assert alert.active_key is None and alert.next_escalation_at is None
    assert kinds(alert) == ["raised", "comment", "state"]
    last = timeline(alert)[-1]
    assert (last.from_state, last.to_state, last.text, last.data) == \
        ("new", "resolved", "VN_AQI 80", {"auto": True})
    # Nothing active is left to clear.
    assert run(demo_ctx, SYSTEM, service.clear_from_source, "environment",
               "aqi-bmt-station-1", now=cleared_at) is None


def test_search_text_is_folded(demo_ctx: AppContext) -> None:
    alert = load(demo_ctx, new_alert(demo_ctx, title="Đường Lê Duẩn ngập sâu",
                                     title_en="Flooding on Lê Duẩn street",
                                     dedupe_key="Ngập-01"))
    assert alert.search_text == "duong le duan ngap sau flooding on le duan street ngap-01"


@pytest.mark.parametrize(("fields", "complaint"), [
    ({"severity": "high"}, "severity"),
    ({"urgency": "Now"}, "urgency"),
    ({"certainty": "Sure"}, "certainty"),
    ({"category": "Environment"}, "CAP category"),
    ({"lat": 12.68}, "both lat and lon"),
    ({"lon": 108.05}, "both lat and lon"),
    ({"lat": 112.0, "lon": 12.0}, "WGS 84"),
    ({"is_ticket": True, "agency_code": None}, "agency"),
    ({"agency_code": "SO-KHONG-CO"}, "no agency"),
    ({"area_code": "99999"}, "no area"),
    ({"title": "   "}, "must not be empty"),
    ({"dedupe_key": ""}, "must not be empty"),
])
def test_invalid_requests_are_refused_with_a_reason(demo_ctx: AppContext,
                                                    fields: dict[str, Any],
                                                    complaint: str) -> None:
    with pytest.raises(AlertError) as refused:
        raise_alert(demo_ctx, **fields)
    assert complaint in str(refused.value)
    with demo_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(
            Alert.dedupe_key == "aqi-bmt-station-1")) == 0


# -- comments and assignment ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "complaint"), [
    ("", "needs text"), ("   \n ", "needs text"), ("x" * 4001, "4,000"),
])
def test_comment_validation(demo_ctx: AppContext, operator: Principal, text: str,
                            complaint: str) -> None:
    alert_id = new_alert(demo_ctx)
    with pytest.raises(AlertError, match=complaint):
        run(demo_ctx, operator, service.add_comment, alert_id, text, now=NOW)


def test_comment_is_added_to_the_timeline(demo_ctx: AppContext, operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    run(demo_ctx, operator, service.add_comment, alert_id, "  Đã liên hệ trạm  ",
        now=NOW + timedelta(minutes=3))
    event = timeline(load(demo_ctx, alert_id))[-1]
    assert (event.kind, event.actor, event.text, event.at) == \
        ("comment", "operator", "Đã liên hệ trạm", NOW + timedelta(minutes=3))


def test_assignment(demo_ctx: AppContext, operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    with pytest.raises(AlertError, match="no active user"):
        run(demo_ctx, operator, service.assign, alert_id, "khong-ton-tai", now=NOW)
    run(demo_ctx, operator, service.assign, alert_id, "so-nnmt", now=NOW)
    with demo_ctx.db.session() as session:
        officer = session.scalar(select(User).where(User.username == "so-nnmt"))
        assert officer is not None
        assert session.get(Alert, alert_id).assignee_id == officer.id  # type: ignore[union-attr]
    # An officer cannot hand the alert to another agency's staff.
    with pytest.raises(AlertError, match="within their agency"):
        run(demo_ctx, principal_of(demo_ctx, "so-nnmt"), service.assign, alert_id, "so-yt",
            now=NOW)
    run(demo_ctx, operator, service.assign, alert_id, None, now=NOW)
    alert = load(demo_ctx, alert_id)
    assert alert.assignee_id is None
    assert [e.data for e in timeline(alert) if e.kind == "assigned"] == \
        [{"assignee": "so-nnmt"}, {"assignee": None}]


# -- warning tickets --------------------------------------------------------------------------

def new_ticket(ctx: AppContext, **fields: Any) -> int:
    # Other/warning: 1 and 3 working days; raised Wednesday 09:00 -> due Monday 09:00.
    values = {"dedupe_key": "late-dossiers-2026-03", "service": "public_services",
              "title": "Phiếu cảnh báo: 4 hồ sơ trễ hạn", "severity": "warning",
              "category": "Other", "is_ticket": True, **fields}
    return new_alert(ctx, **values)


TICKET_DUE = local(2026, 3, 9)


def test_ticket_due_date_follows_the_working_day_sla(demo_ctx: AppContext) -> None:
    alert = load(demo_ctx, new_ticket(demo_ctx))
    assert alert.ticket_due_at == alert.resolve_due_at == TICKET_DUE
    assert alert.ack_due_at == local(2026, 3, 5)


@pytest.mark.parametrize(("answered_at", "on_time"), [
    (TICKET_DUE - timedelta(days=1), True),
    (TICKET_DUE, True),
    (TICKET_DUE + timedelta(minutes=1), False),
])
def test_ticket_check_then_answer(demo_ctx: AppContext, answered_at: datetime,
                                  on_time: bool) -> None:
    ticket = new_ticket(demo_ctx)
    officer = principal_of(demo_ctx, "so-nnmt")
    checked_at = NOW + timedelta(hours=1)
    run(demo_ctx, officer, tickets.check_ticket, ticket, now=checked_at)
    alert = load(demo_ctx, ticket)
    assert (alert.status, alert.ticket_checked_at, alert.acknowledged_at) == \
        ("acknowledged", checked_at, checked_at)
    # Checking again changes nothing.
    run(demo_ctx, officer, tickets.check_ticket, ticket, now=checked_at + timedelta(hours=1))
    assert load(demo_ctx, ticket).ticket_checked_at == checked_at

    run(demo_ctx, officer, tickets.answer_ticket, ticket, " Đã xử lý xong 4 hồ sơ ",
        "cv-123.pdf", now=answered_at)
    alert = load(demo_ctx, ticket)
    assert alert.status == "resolved"
    assert alert.ticket_answered_at == alert.resolved_at == answered_at
    assert (alert.ticket_response, alert.ticket_attachment) == \
        ("Đã xử lý xong 4 hồ sơ", "cv-123.pdf")
    answer = timeline(alert)[-1]
    assert answer.kind == "ticket" and answer.data["answered"] is True
    assert answer.data["on_time"] is on_time

    with pytest.raises(AlertConflict, match="already been answered"):
        run(demo_ctx, officer, tickets.answer_ticket, ticket, "lần hai", now=answered_at)


def test_answering_a_ticket_unchecked_checks_it_too(demo_ctx: AppContext) -> None:
    ticket = new_ticket(demo_ctx)
    run(demo_ctx, principal_of(demo_ctx, "so-nnmt"), tickets.answer_ticket, ticket, "Xong",
        now=NOW + timedelta(hours=2))
    alert = load(demo_ctx, ticket)
    assert alert.ticket_checked_at == alert.ticket_answered_at == NOW + timedelta(hours=2)


def test_ticket_rules(demo_ctx: AppContext) -> None:
    ticket = new_ticket(demo_ctx)
    plain = new_alert(demo_ctx)
    officer = principal_of(demo_ctx, "so-nnmt")
    with pytest.raises(AlertError, match="response"):
        run(demo_ctx, officer, tickets.answer_ticket, ticket, "  ", now=NOW)
    with pytest.raises(AlertError, match="not a warning ticket"):
        run(demo_ctx, officer, tickets.check_ticket, plain, now=NOW)
    with pytest.raises(AlertError, match="not a warning ticket"):
        run(demo_ctx, officer, tickets.answer_ticket, plain, "Xong", now=NOW)
    foreign = principal_of(demo_ctx, "so-yt")
    with pytest.raises(PermissionDenied):
        run(demo_ctx, foreign, tickets.check_ticket, ticket, now=NOW)
    with pytest.raises(PermissionDenied):
        run(demo_ctx, foreign, tickets.answer_ticket, ticket, "Xong", now=NOW)
    alert = load(demo_ctx, ticket)
    assert alert.ticket_checked_at is None and alert.ticket_answered_at is None


# -- incidents --------------------------------------------------------------------------------

def new_incident(ctx: AppContext, who: Principal, alert_ids: list[int],
                 category: str = "Fire") -> Incident:
    return run(ctx, who, incidents.create_incident, "Cháy rừng tại Ea Súp", category,
               alert_ids, now=NOW)


def step_done(ctx: AppContext, who: Principal, incident_id: int, step_id: int,
              done: bool) -> None:
    run(ctx, who, incidents.update_step, incident_id, step_id, done=done,
        now=NOW + timedelta(minutes=30))


def stored_incident(ctx: AppContext, incident_id: int) -> Incident:
    with ctx.db.session() as session:
        incident = session.scalar(select(Incident).options(selectinload(Incident.steps))
                                  .where(Incident.id == incident_id))
        assert incident is not None
        return incident


def test_incident_starts_with_the_fire_sop(demo_ctx: AppContext, operator: Principal) -> None:
    alerts = [new_alert(demo_ctx, dedupe_key=f"fire-{i}", service="environment",
                        category="Fire", severity="critical") for i in range(2)]
    incident = new_incident(demo_ctx, operator, alerts)
    template = sop_template("Fire")
    stored = stored_incident(demo_ctx, incident.id)
    assert (stored.status, stored.category, stored.created_at) == ("open", "Fire", NOW)
    assert stored.agency_id is not None  # both alerts belong to SO-NNMT
    assert [s.title for s in stored.steps] == [row["title"] for row in template]
    assert [s.position for s in stored.steps] == list(range(1, len(template) + 1))
    assert [s.due_at for s in stored.steps] == \
        [NOW + timedelta(minutes=row["due_minutes"]) for row in template]
    for alert_id in alerts:
        alert = load(demo_ctx, alert_id)
        assert alert.incident_id == incident.id
        assert timeline(alert)[-1].kind == "incident"
    with pytest.raises(AlertError, match="already in an incident"):
        new_incident(demo_ctx, operator, alerts[:1])


def test_incident_closes_when_every_step_is_done(demo_ctx: AppContext,
                                                 operator: Principal) -> None:
    incident = new_incident(demo_ctx, operator, [new_alert(demo_ctx, category="Fire")])
    steps = [s.id for s in stored_incident(demo_ctx, incident.id).steps]
    for step_id in steps[:-1]:
        step_done(demo_ctx, operator, incident.id, step_id, True)
        assert stored_incident(demo_ctx, incident.id).status == "open"
    step_done(demo_ctx, operator, incident.id, steps[-1], True)
    closed = stored_incident(demo_ctx, incident.id)
    assert (closed.status, closed.closed_at) == ("closed", NOW + timedelta(minutes=30))
    assert all(s.done_by == "operator" for s in closed.steps)
    step_done(demo_ctx, operator, incident.id, steps[0], False)
    reopened = stored_incident(demo_ctx, incident.id)
    assert (reopened.status, reopened.closed_at) == ("open", None)
    assert (reopened.steps[0].done_at, reopened.steps[0].done_by) == (None, "")


def test_incident_rules(demo_ctx: AppContext, operator: Principal) -> None:
    alert_id = new_alert(demo_ctx)
    with pytest.raises(AlertError, match="CAP category"):
        new_incident(demo_ctx, operator, [alert_id], category="Wildfire")
    with pytest.raises(AlertError, match="at least one alert"):
        new_incident(demo_ctx, operator, [])
    with pytest.raises(AlertNotFound):
        new_incident(demo_ctx, operator, [alert_id, 987654])
    with pytest.raises(PermissionDenied):
        new_incident(demo_ctx, principal_of(demo_ctx, "so-nnmt"), [alert_id])
    # A category without its own SOP starts with the generic one.
    incident = new_incident(demo_ctx, operator, [alert_id], category="Met")
    assert [s.title for s in stored_incident(demo_ctx, incident.id).steps] == \
        [row["title"] for row in sop_template("Other")]
    with pytest.raises(incidents.IncidentNotFound):
        step_done(demo_ctx, operator, incident.id, 987654, True)


# -- silences ---------------------------------------------------------------------------------

def add_silence(ctx: AppContext, **fields: Any) -> None:
    values = {"service": "environment", "max_severity": "major", "created_by": "operator",
              "starts_at": NOW - timedelta(hours=1), "ends_at": NOW + timedelta(hours=1),
              "comment": "bảo trì trạm quan trắc", **fields}
    with ctx.uow() as uow:
        uow.session.add(Silence(**values))
        uow.commit()


def test_a_matching_silence_records_without_notifying_or_escalating(
        demo_ctx: AppContext) -> None:
    add_silence(demo_ctx)
    alert = load(demo_ctx, new_alert(demo_ctx, severity="major"))
    assert alert.silenced is True
    assert alert.next_escalation_at is None
    assert timeline(alert)[0].data == {"silenced": True}
    assert in_app_count(demo_ctx, alert.id) == 0


@pytest.mark.parametrize("fields", [
    {"severity": "critical"},            # above the silence's max_severity
    {"service": "traffic"},              # another service
    {"now": NOW + timedelta(hours=1)},   # the window has ended (ends_at is exclusive)
    {"now": NOW - timedelta(hours=2)},   # the window has not started
])
def test_alerts_outside_the_silence_are_notified(demo_ctx: AppContext,
                                                 fields: dict[str, Any]) -> None:
    add_silence(demo_ctx)
    alert = load(demo_ctx, new_alert(demo_ctx, **fields))
    assert alert.silenced is False
    assert alert.next_escalation_at is not None
    assert in_app_count(demo_ctx, alert.id) > 0


def test_reopening_after_the_silence_ended_notifies_and_escalates(demo_ctx: AppContext) -> None:
    add_silence(demo_ctx)
    alert_id = new_alert(demo_ctx)
    drive_to(demo_ctx, alert_id, "resolved")
    reopened = NOW + timedelta(days=1)  # the one-hour window is long over
    transition(demo_ctx, SYSTEM, alert_id, "new", now=reopened)
    alert = load(demo_ctx, alert_id)
    assert alert.silenced is False
    assert alert.next_escalation_at is not None and alert.next_escalation_at > reopened
    assert in_app_count(demo_ctx, alert_id) > 0


# -- permissions ------------------------------------------------------------------------------

def test_officers_work_only_on_their_agencys_alerts(demo_ctx: AppContext) -> None:
    alert_id = new_alert(demo_ctx)
    foreign = principal_of(demo_ctx, "so-yt")
    with pytest.raises(PermissionDenied):
        run(demo_ctx, foreign, service.visible_alert, alert_id)
    with pytest.raises(PermissionDenied):
        transition(demo_ctx, foreign, alert_id, "acknowledged")
    with pytest.raises(PermissionDenied):
        run(demo_ctx, foreign, service.add_comment, alert_id, "không phải việc của tôi", now=NOW)
    with pytest.raises(PermissionDenied):
        run(demo_ctx, foreign, service.assign, alert_id, "so-yt", now=NOW)
    assert kinds(load(demo_ctx, alert_id)) == ["raised"]

    own = principal_of(demo_ctx, "so-nnmt")
    transition(demo_ctx, own, alert_id, "acknowledged")
    run(demo_ctx, own, service.add_comment, alert_id, "Đã tiếp nhận", now=NOW)
    assert kinds(load(demo_ctx, alert_id)) == ["raised", "state", "comment"]


def test_officers_do_not_see_the_unaddressed_triage_queue(demo_ctx: AppContext) -> None:
    alert_id = new_alert(demo_ctx, agency_code=None)
    with pytest.raises(PermissionDenied):
        run(demo_ctx, principal_of(demo_ctx, "so-nnmt"), service.visible_alert, alert_id)
    assert run(demo_ctx, principal_of(demo_ctx, "operator"), service.visible_alert,
               alert_id).id == alert_id


def test_leaders_read_but_do_not_work_alerts(demo_ctx: AppContext) -> None:
    alert_id = new_alert(demo_ctx)
    leader = principal_of(demo_ctx, "leader")
    assert run(demo_ctx, leader, service.visible_alert, alert_id).id == alert_id
    with pytest.raises(PermissionDenied):
        transition(demo_ctx, leader, alert_id, "acknowledged")
    with pytest.raises(PermissionDenied):
        run(demo_ctx, leader, service.add_comment, alert_id, "?", now=NOW)
    with pytest.raises(PermissionDenied):
        raise_alert(demo_ctx, leader, dedupe_key="leader-raises")


def test_integrator_raises_only_for_its_own_agency(demo_ctx: AppContext) -> None:
    key = api_key_principal(demo_ctx, OWN)
    created = raise_alert(demo_ctx, key)
    assert created.created
    assert timeline(load(demo_ctx, created.alert.id))[0].actor == key.label
    with pytest.raises(PermissionDenied):
        raise_alert(demo_ctx, key, dedupe_key="for-another-agency", agency_code=OTHER)
    # It may clear what it raised but not another agency's alert.
    foreign = new_alert(demo_ctx, dedupe_key="foreign", agency_code=OTHER)
    with pytest.raises(PermissionDenied):
        run(demo_ctx, key, service.clear_from_source, "environment", "foreign", now=NOW)
    assert load(demo_ctx, foreign).status == "new"
    assert run(demo_ctx, key, service.clear_from_source, "environment",
               "aqi-bmt-station-1", now=NOW) is not None
    # Integrators feed alerts; they do not work them.
    with pytest.raises(PermissionDenied):
        transition(demo_ctx, key, created.alert.id, "new")


def test_integrator_cannot_update_another_agencys_alert_through_its_key(
        demo_ctx: AppContext) -> None:
    """Deduplication must not let agency Y's key touch agency X's active alert.

    Same service and dedupe key, addressed to the key's own agency: the request passes the
    check against *its* agency, and the update path then modifies X's alert.
    """
    victim = new_alert(demo_ctx, agency_code=OWN, severity="minor")
    intruder = api_key_principal(demo_ctx, OTHER)
    with pytest.raises(PermissionDenied):
        raise_alert(demo_ctx, intruder, agency_code=OTHER, severity="critical",
                    description="ghi đè")
    alert = load(demo_ctx, victim)
    assert (alert.occurrences, alert.severity, alert.description) == (1, "minor", "VN_AQI 165")


def test_a_cross_agency_incident_is_hidden_from_uninvolved_officers(
        demo_ctx: AppContext, operator: Principal) -> None:
    """Alerts of two agencies give an incident with no agency; an officer of a third agency
    must neither read it (alert ids, titles) nor tick its steps."""
    ids = [new_alert(demo_ctx, dedupe_key="own"),
           new_alert(demo_ctx, dedupe_key="other", agency_code=OTHER)]
    incident = new_incident(demo_ctx, operator, ids)
    assert incident.agency_id is None
    stranger = principal_of(demo_ctx, "ca-pc08")
    with pytest.raises(PermissionDenied):
        run(demo_ctx, stranger, incidents.get_incident, incident.id)
    step_id = stored_incident(demo_ctx, incident.id).steps[0].id
    with pytest.raises(PermissionDenied):
        step_done(demo_ctx, stranger, incident.id, step_id, True)
    assert stored_incident(demo_ctx, incident.id).steps[0].done_at is None
