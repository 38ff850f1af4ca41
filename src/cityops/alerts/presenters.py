"""How alert-center values read on a page: labels in the UI language, local times, numbers.

Shared by the pages (views, views_stats) and the live stream (live), which renders the same
row fragments outside a normal request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from cityops.alerts.channels import REASON_LABELS
from cityops.alerts.vocab import SEVERITY_LABELS, STATE_LABELS
from cityops.kernel.permissions import ROLES
from cityops.kernel.registry import ServiceRegistry
from cityops.web.i18n import gettext as _

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SEVERITY_COLORS = {"critical": "#b3261e", "major": "#e8710a", "minor": "#f2b705",
                   "warning": "#3a7bd5", "info": "#6b7785"}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


CATEGORY_LABELS = {
    "Geo": N_("Geophysical"), "Met": N_("Weather"), "Safety": N_("Public safety"),
    "Security": N_("Security"), "Rescue": N_("Rescue"), "Fire": N_("Fire"),
    "Health": N_("Health"), "Env": N_("Environment"), "Transport": N_("Transport"),
    "Infra": N_("Infrastructure"), "CBRNE": N_("CBRNE"), "Other": N_("Other"),
}
EVENT_LABELS = {
    "raised": N_("Raised"), "updated": N_("Raised again"), "state": N_("Status changed"),
    "comment": N_("Comment"), "assigned": N_("Assigned"), "ticket": N_("Warning ticket"),
    "notified": N_("Notified"), "escalated": N_("Escalated"), "reminder": N_("Reminder"),
    "incident": N_("Incident"),
}
# Services without a manifest of their own yet (they raise alerts through the API).
SERVICE_LABELS = {
    "environment": N_("Environmental monitoring"), "traffic": N_("Traffic"),
    "soc": N_("Cyber security (SOC)"), "field_reports": N_("Field reports"),
    "health": N_("Public health"), "public_services": N_("Public services"),
}
URGENCY_LABELS = {"Immediate": N_("Immediate"), "Expected": N_("Expected"),
                  "Future": N_("Future"), "Past": N_("Past"), "Unknown": N_("Unknown")}
CERTAINTY_LABELS = {"Observed": N_("Observed"), "Likely": N_("Likely"),
                    "Possible": N_("Possible"), "Unlikely": N_("Unlikely"),
                    "Unknown": N_("Unknown")}
TARGET_LABELS = {"assignee": N_("the assignee"),
                 "agency": N_("officers of the responsible agency"),
                 "agency_head": N_("officers of the parent agency")}


class Presenter:
    """Formats for one reader: their language and the request's notion of "now"."""

    def __init__(self, lang: str, now: datetime, registry: ServiceRegistry | None = None) -> None:
        self.lang = lang
        self.now = now
        self._registry = registry

    def _pick(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.lang == "en" else pair[0]

    def num(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.lang)

    def pct(self, value: float | None) -> str:
        return "—" if value is None else self.num(value, 1) + " %"

    def duration(self, minutes: float | None) -> str:
        if minutes is None:
            return "—"
        if minutes < 90:
            return _("%(n)s min") % {"n": self.num(minutes, 0)}
        if minutes < 48 * 60:
            return _("%(n)s h") % {"n": self.num(minutes / 60, 1)}
        return _("%(n)s days") % {"n": self.num(minutes / 1440, 1)}

    def dt(self, value: datetime | None) -> str:
        return "—" if value is None else value.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M")

    def day(self, value: datetime | None) -> str:
        return "" if value is None else value.astimezone(LOCAL).strftime("%Y-%m-%d")

    def severity(self, key: str) -> str:
        return self._pick(SEVERITY_LABELS[key]) if key in SEVERITY_LABELS else key

    def state(self, key: str | None) -> str:
        return self._pick(STATE_LABELS[key]) if key in STATE_LABELS else (key or "")

    def category(self, key: str) -> str:
        return _(CATEGORY_LABELS[key]) if key in CATEGORY_LABELS else key

    def event(self, kind: str) -> str:
        return _(EVENT_LABELS[kind]) if kind in EVENT_LABELS else kind

    def service(self, key: str) -> str:
        manifest = self._registry.get(key) if self._registry is not None else None
        if manifest is not None:
            return manifest.title(self.lang)
        return _(SERVICE_LABELS[key]) if key in SERVICE_LABELS else key.replace("_", " ")

    def urgency(self, key: str) -> str:
        return _(URGENCY_LABELS[key]) if key in URGENCY_LABELS else key

    def certainty(self, key: str) -> str:
        return _(CERTAINTY_LABELS[key]) if key in CERTAINTY_LABELS else key

    def reason(self, key: str) -> str:
        """Why a notification was sent (the labels the notification channels use)."""
        return self._pick(REASON_LABELS[key]) if key in REASON_LABELS else key

    def target(self, key: str) -> str:
        """Who an escalation level addresses: ``agency``, ``role:leader``, ..."""
        if key.startswith("role:") and key[5:] in ROLES:
            return self._pick(ROLES[key[5:]])
        return _(TARGET_LABELS[key]) if key in TARGET_LABELS else key

    def agency(self, agency: Any) -> str:
        if agency is None:
            return ""
        return agency.name_en if self.lang == "en" and agency.name_en else agency.name

    def title(self, alert: Any) -> str:
        return alert.title_en if self.lang == "en" and alert.title_en else alert.title

    def description(self, alert: Any) -> str:
        if self.lang == "en" and alert.description_en:
            return str(alert.description_en)
        return str(alert.description)

    def overdue(self, due: datetime | None, done: datetime | None = None) -> bool:
        """Past its deadline: done late, or not done and the deadline has passed."""
        if due is None:
            return False
        return done > due if done is not None else self.now > due

    def color(self, severity: str) -> str:
        return SEVERITY_COLORS.get(severity, "#6b7785")
