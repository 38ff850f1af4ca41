"""Timeline entries: every change of a report leaves one (the audit log has the rows too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.models import Report, TimelineEntry


def add_entry(report: Report, kind: str, uow: UnitOfWork, now: datetime, *, text: str = "",
              public: bool = False, from_state: str | None = None,
              to_state: str | None = None, data: dict[str, Any] | None = None) -> TimelineEntry:
    entry = TimelineEntry(kind=kind, from_state=from_state, to_state=to_state, public=public,
                          text=text, actor=uow.principal.label,
                          actor_user_id=uow.principal.user_id, at=now, data=data or {})
    report.timeline.append(entry)
    report.updated_at = now
    if public:
        # Imported here: followers needs intake, which itself imports this module.
        from cityops.services.field_reports.followers import notify_followers

        notify_followers(uow, report, entry, now)
    return entry
