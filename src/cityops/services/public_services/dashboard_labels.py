"""Labels of dossier states, outcomes and channels (English msgids, translated when shown)."""

from __future__ import annotations

from cityops.web.i18n import gettext as _


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


OUTCOME_LABELS = {
    "early": N_("Finished early"),
    "on_time": N_("Finished on time"),
    "late": N_("Finished late"),
    "in_term": N_("In progress, within term"),
    "due_soon": N_("In progress, due soon"),
    "overdue": N_("In progress, overdue"),
    "paused": N_("Paused"),
    "cancelled": N_("Refused or withdrawn"),
}
STATE_LABELS = {
    1: N_("Newly registered"), 2: N_("Received at the one-stop shop"),
    3: N_("Refused at reception"),
    4: N_("Processing"), 5: N_("Additional documents requested"),
    6: N_("Fees or taxes requested"), 7: N_("Withdrawn by the applicant"),
    8: N_("Processing stopped"), 9: N_("Processed"), 10: N_("Result returned"),
}
CHANNEL_LABELS = {1: N_("In person"), 2: N_("Online"), 3: N_("Public postal service")}
UNIT_LABELS = {"days": N_("working days"), "hours": N_("working hours")}


def outcome(key: str | None) -> str:
    return _(OUTCOME_LABELS[key]) if key in OUTCOME_LABELS else _("Not classified yet")


def state(code: int) -> str:
    return _(STATE_LABELS[code]) if code in STATE_LABELS else str(code)


def channel(code: int) -> str:
    return _(CHANNEL_LABELS[code]) if code in CHANNEL_LABELS else str(code)


def unit(key: str) -> str:
    return _(UNIT_LABELS[key]) if key in UNIT_LABELS else key
