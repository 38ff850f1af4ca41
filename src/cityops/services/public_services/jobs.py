"""Scheduled jobs of the public-services service (run by the kernel scheduler as system)."""

from __future__ import annotations

from typing import Any

from cityops.services.public_services import tickets
from cityops.services.public_services.service_classify import refresh_classifications


def reclassify_job(ctx: Any) -> dict[str, Any]:
    """Keep stored classifications current (all of them after a calendar change)."""
    with ctx.uow() as uow:
        result = refresh_classifications(uow.session, now=ctx.clock())
        uow.commit()
    return result


def warning_tickets_job(ctx: Any) -> dict[str, int]:
    """Daily warning tickets, once the configured local time has passed."""
    now = ctx.clock()
    with ctx.uow() as uow:
        if not tickets.due_for_run(uow.session, now):
            return {"sent": 0, "skipped": 1}
        # Fresh outcomes first, so "overdue" in the ticket is true as of now.
        refresh_classifications(uow.session, now=now)
        run = tickets.issue_warning_tickets(uow, now=now)
        tickets.mark_run(uow.session, now)
        uow.commit()
    return {"sent": run.sent, "already_sent": run.already_sent, "agencies": run.agencies}


def connectors_job(ctx: Any) -> dict[str, int]:
    from cityops.services.public_services.connector import run_due_connectors

    return run_due_connectors(ctx)
