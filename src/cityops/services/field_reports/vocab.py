"""Field-report vocabulary: states, allowed transitions, channels, Open311 status mapping."""

from __future__ import annotations

STATES: tuple[str, ...] = (
    "received",
    "verified",
    "rejected",
    "duplicate",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
)
# States in which the report still needs work (for queues, overdue checks, duplicates).
OPEN_STATES = frozenset({"received", "verified", "assigned", "in_progress"})
# States counted as "finished" for Open311's open/closed.
CLOSED_STATES = frozenset({"rejected", "duplicate", "resolved", "closed"})

# target state -> states it may be entered from. `transferred` and `reopened` are actions,
# not states: a transfer lands in `assigned` (the new agency), a reopen in `in_progress`.
TRANSITIONS: dict[str, frozenset[str]] = {
    "verified": frozenset({"received"}),
    "rejected": frozenset({"received", "verified"}),
    "duplicate": frozenset({"received", "verified", "assigned"}),
    "assigned": frozenset({"received", "verified", "assigned"}),
    "in_progress": frozenset({"assigned"}),
    "resolved": frozenset({"assigned", "in_progress"}),
    "closed": frozenset({"resolved"}),
}
TRANSFERABLE = frozenset({"verified", "assigned", "in_progress"})
REOPENABLE = frozenset({"resolved", "closed"})

# Who may move a report into each state: IOC staff (`field_reports.triage`) verify, reject,
# mark duplicates, assign and close; the handling agency (`field_reports.handle`) works it.
TRANSITION_PERMISSION: dict[str, str] = {
    "verified": "field_reports.triage",
    "rejected": "field_reports.triage",
    "duplicate": "field_reports.triage",
    "assigned": "field_reports.triage",
    "in_progress": "field_reports.handle",
    "resolved": "field_reports.handle",
    "closed": "field_reports.triage",
}

CHANNELS: tuple[str, ...] = ("app", "portal", "hotline", "email", "social", "walk_in",
                             "open311")
# Channels a call-taker records on a caller's behalf.
ASSISTED_CHANNELS = frozenset({"hotline", "email", "social", "walk_in"})
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
MEDIA_KINDS: tuple[str, ...] = ("before", "after")
BAN_KINDS: tuple[str, ...] = ("phone", "email", "ip")
TIMELINE_KINDS: tuple[str, ...] = (
    "created", "state", "note", "update", "assign", "transfer", "reopen", "merge",
    "moderation", "result", "approval", "rating", "notified",
)

# Our states -> mySociety's extended Open311 statuses (servicerequestupdates).
OPEN311_EXTENDED_STATUS: dict[str, str] = {
    "received": "OPEN",
    "verified": "INVESTIGATING",
    "assigned": "ACTION_SCHEDULED",
    "in_progress": "IN_PROGRESS",
    "resolved": "FIXED",
    "closed": "CLOSED",
    "rejected": "NO_FURTHER_ACTION",
    "duplicate": "DUPLICATE",
}


def open311_status(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def allowed_sources(target: str) -> list[str]:
    return sorted(TRANSITIONS.get(target, frozenset()))
