"""Human labels for the field-report vocabulary (English msgids, shown translated)."""

from __future__ import annotations

from cityops.services.field_reports.media import N_
from cityops.web.i18n import gettext

STATE_LABELS: dict[str, str] = {
    "received": N_("Received"),
    "verified": N_("Verified"),
    "rejected": N_("Rejected"),
    "duplicate": N_("Duplicate"),
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
CHANNEL_LABELS: dict[str, str] = {
    "hotline": N_("Hotline 1022"),
    "email": N_("E-mail"),
    "social": N_("Social media"),
    "walk_in": N_("Walk-in"),
    "portal": N_("Web portal"),
    "app": N_("Mobile app"),
    "open311": N_("Open311 integrator"),
}
PRIORITY_LABELS: dict[str, str] = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
STEP_LABELS: dict[str, str] = {
    "created": N_("Report received"),
    "state": N_("Status changed"),
    "update": N_("Update"),
    "assign": N_("Assigned to an agency"),
    "transfer": N_("Transferred to another agency"),
    "reopen": N_("Reopened"),
    "approval": N_("Result published"),
    "rating": N_("Rated by the citizen"),
}


def state_label(state: str) -> str:
    return gettext(STATE_LABELS[state]) if state in STATE_LABELS else state


def channel_label(channel: str) -> str:
    return gettext(CHANNEL_LABELS[channel]) if channel in CHANNEL_LABELS else channel


def step_label(kind: str) -> str:
    return gettext(STEP_LABELS[kind]) if kind in STEP_LABELS else kind


def priority_label(priority: str) -> str:
    return gettext(PRIORITY_LABELS[priority]) if priority in PRIORITY_LABELS else priority


LABELS = {"state": state_label, "channel": channel_label, "step": step_label,
          "priority": priority_label}
