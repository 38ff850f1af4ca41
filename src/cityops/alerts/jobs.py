"""Periodic jobs of the alert center, run by the kernel scheduler."""

from __future__ import annotations

from typing import Any

from cityops.alerts import escalation


def escalation_job(ctx: Any) -> int:
    with ctx.uow() as uow:
        acted = escalation.run_due(uow.session, ctx.clock())
        uow.commit()
    return acted
