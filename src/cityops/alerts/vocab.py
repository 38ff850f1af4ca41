"""Controlled vocabularies of the alert center (CAP 1.2 where CAP has one)."""

from __future__ import annotations

SEVERITIES = ("info", "warning", "minor", "major", "critical")  # ascending
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
SEVERITY_LABELS = {
    "critical": ("Nghiêm trọng", "Critical"),
    "major": ("Cao", "Major"),
    "minor": ("Trung bình", "Minor"),
    "warning": ("Cảnh báo", "Warning"),
    "info": ("Thông tin", "Info"),
}
# CAP severity for the public feed.
CAP_SEVERITY = {"critical": "Extreme", "major": "Severe", "minor": "Moderate",
                "warning": "Minor", "info": "Unknown"}

CAP_CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                  "Transport", "Infra", "CBRNE", "Other")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

STATES = ("new", "acknowledged", "in_progress", "resolved", "closed")
ACTIVE_STATES = frozenset({"new", "acknowledged", "in_progress"})
STATE_LABELS = {
    "new": ("Mới", "New"),
    "acknowledged": ("Đã tiếp nhận", "Acknowledged"),
    "in_progress": ("Đang xử lý", "In progress"),
    "resolved": ("Đã xử lý", "Resolved"),
    "closed": ("Đã đóng", "Closed"),
}
# to-state -> states it may be reached from. "Reopen" is resolved/closed -> new.
TRANSITIONS: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"new"}),
    "in_progress": frozenset({"new", "acknowledged"}),
    "resolved": frozenset({"new", "acknowledged", "in_progress"}),
    "closed": frozenset({"resolved"}),
    "new": frozenset({"resolved", "closed"}),
}


def allowed_targets(state: str) -> list[str]:
    return [target for target, sources in TRANSITIONS.items() if state in sources]
