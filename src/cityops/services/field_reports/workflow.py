"""The report state machine: verify, reject, duplicate, assign, work, resolve, close,
transfer and reopen. Every function takes a unit of work (its principal acts) and ``now``;
it checks permission and agency scope, refuses a transition the state does not allow with
:class:`Conflict` (HTTP 409, naming the allowed states), writes the timeline, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from cityops.kernel.calendar import load_calendar
from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.orgs import Agency, agency_by_code
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.access import report_for
from cityops.services.field_reports.models import Report
from cityops.services.field_reports.routing import route
from cityops.services.field_reports.sla import due_for
from cityops.services.field_reports.timeline import add_entry
from cityops.services.field_reports.vocab import (
    REOPENABLE,
    TRANSFERABLE,
    TRANSITION_PERMISSION,
    TRANSITIONS,
    allowed_sources,
)

NEEDS_REASON = frozenset({"rejected"})


def _refuse(report: Report, action: str, allowed: Sequence[str]) -> Conflict:
    return Conflict(f"cannot {action} a report that is {report.state}; "
                    f"allowed from: {', '.join(allowed)}")


def _agency(uow: UnitOfWork, code: str) -> Agency:
    agency = agency_by_code(uow.session, code)
    if agency is None:
        raise Invalid(f"no agency with code {code!r}")
    return agency


def _set_state(report: Report, to: str, now: datetime) -> str:
    previous, report.state = report.state, to
    stamp = {"verified": "verified_at", "assigned": "assigned_at", "resolved": "resolved_at",
             "closed": "closed_at"}.get(to)
    if stamp:
        setattr(report, stamp, now)
    if to in ("rejected", "duplicate"):
        report.closed_at = now
    return previous


def transition(uow: UnitOfWork, report_id: int, to: str, *, now: datetime, reason: str = "",
               duplicate_of: str | None = None, public_text: str = "") -> Report:
    """Move a report to ``to`` (not assign/transfer/reopen, which have their own functions)."""
    if to not in TRANSITIONS or to == "assigned":
        raise Invalid(f"unknown target state {to!r}; use assign, transfer or reopen for those")
    report = report_for(uow, report_id, TRANSITION_PERMISSION[to])
    if report.state not in TRANSITIONS[to]:
        raise _refuse(report, f"move to {to}", allowed_sources(to))
    reason = reason.strip()
    if to in NEEDS_REASON and not reason:
        raise Invalid("a rejection needs a reason, shown to the citizen")
    data: dict[str, object] = {}
    if to == "resolved":
        # The reason of a resolution is its result; it is published once the IOC approves.
        if not reason:
            raise Invalid("resolving needs the result: what was done")
        report.result_text, report.result_at = reason, now
        report.result_approved, report.result_approved_at = False, None
    if to == "duplicate":
        original = _original(uow, report, duplicate_of)
        report.duplicate_of = original
        data["duplicate_of"] = original.code
        add_entry(original, "merge", uow, now, text=f"{report.code}", public=False,
                  data={"merged": report.code})
    # The resolution's "reason" is the unpublished result: it must not become status notes.
    report.state_reason = "" if to == "resolved" else reason
    previous = _set_state(report, to, now)
    # A result stays private until the IOC approves it (approve_result publishes it).
    shown = public_text.strip() or ("" if to == "resolved" else reason)
    add_entry(report, "state", uow, now, from_state=previous, to_state=to, public=True,
              text=shown, data=data)
    uow.emit("field_report.transitioned", report_id=report.id, to=to)
    return report


def _original(uow: UnitOfWork, report: Report, code: str | None) -> Report:
    if not code:
        raise Invalid("give the tracking code of the report this one duplicates")
    original = uow.session.scalar(select(Report).where(Report.code == code))
    if original is None:
        raise NotFound(f"no field report with code {code!r}")
    if original.id == report.id:
        raise Invalid("a report cannot duplicate itself")
    if original.state == "duplicate":
        raise Invalid(f"{code} is itself a duplicate; merge into {original.duplicate_of.code}"
                      if original.duplicate_of else f"{code} is itself a duplicate")
    return original


def merge(uow: UnitOfWork, duplicate_id: int, into_code: str, *, now: datetime) -> Report:
    """Mark ``duplicate_id`` a duplicate of ``into_code``; its citizen follows the original."""
    return transition(uow, duplicate_id, "duplicate", now=now, duplicate_of=into_code,
                      reason=f"duplicate of {into_code}")


def assign(uow: UnitOfWork, report_id: int, *, now: datetime, agency_code: str | None = None,
           supporting_codes: Sequence[str] | None = None, note: str = "") -> Report:
    """IOC assigns a report to a lead agency (default: the routing table's choice)."""
    report = report_for(uow, report_id, "field_reports.triage")
    allowed = TRANSITIONS["assigned"]
    if report.state not in allowed:
        raise _refuse(report, "assign", sorted(allowed))
    if agency_code:
        lead = _agency(uow, agency_code)
    else:
        decision = route(uow.session, report.category, report.area)
        lead = decision.lead or report.lead_agency
        if supporting_codes is None:
            report.supporting = decision.supporting
    if lead is None:
        raise Invalid("no routing rule matches this report; name the lead agency")
    if supporting_codes is not None:
        report.supporting = [_agency(uow, c) for c in supporting_codes if c != lead.code]
    report.lead_agency = lead
    previous = _set_state(report, "assigned", now)
    add_entry(report, "assign", uow, now, from_state=previous, to_state="assigned", public=True,
              text=note.strip(), data={"lead": lead.code,
                                       "supporting": [a.code for a in report.supporting]})
    uow.emit("field_report.assigned", report_id=report.id, agency=lead.code)
    return report


def bulk_assign(uow: UnitOfWork, report_ids: Sequence[int], *, now: datetime,
                agency_code: str | None = None) -> list[Report]:
    """Assign many reports in one transaction: all or none (the first refusal aborts)."""
    if not report_ids:
        raise Invalid("give at least one report id")
    if len(report_ids) > 500:
        raise Invalid("at most 500 reports at once")
    return [assign(uow, rid, now=now, agency_code=agency_code) for rid in report_ids]


def transfer(uow: UnitOfWork, report_id: int, agency_code: str, reason: str, *,
             now: datetime) -> Report:
    """The lead agency (or the IOC) hands the report to another agency, with a reason."""
    report = report_for(uow, report_id, "field_reports.handle")
    if report.state not in TRANSFERABLE:
        raise _refuse(report, "transfer", sorted(TRANSFERABLE))
    if not reason.strip():
        raise Invalid("a transfer needs a reason")
    target = _agency(uow, agency_code)
    if report.lead_agency_id == target.id:
        raise Invalid("the report is already with that agency")
    previous_agency = report.lead_agency.code if report.lead_agency else None
    report.lead_agency = target
    previous = _set_state(report, "assigned", now)
    add_entry(report, "transfer", uow, now, from_state=previous, to_state="assigned",
              public=True, text=reason.strip(),
              data={"from": previous_agency, "to": target.code})
    uow.emit("field_report.transferred", report_id=report.id, agency=target.code)
    return report


def reopen_report(uow: UnitOfWork, report: Report, reason: str, *, now: datetime,
                  by_citizen: bool) -> Report:
    """Back to ``in_progress`` with a fresh SLA deadline; the result must be redone."""
    if report.state not in REOPENABLE:
        raise _refuse(report, "reopen", sorted(REOPENABLE))
    previous = _set_state(report, "in_progress" if report.lead_agency_id else "received", now)
    report.reopen_count += 1
    report.resolved_at = report.closed_at = None
    report.result_approved = False
    report.result_approved_at = None
    report.sla_alert = ""
    report.due_at = due_for(load_calendar(uow.session), now, report.category.sla_working_days)
    add_entry(report, "reopen", uow, now, from_state=previous, to_state=report.state,
              public=True, text=reason.strip(), data={"by_citizen": by_citizen})
    uow.emit("field_report.reopened", report_id=report.id)
    return report


def staff_reopen(uow: UnitOfWork, report_id: int, reason: str, *, now: datetime) -> Report:
    report = report_for(uow, report_id, "field_reports.triage")
    if not reason.strip():
        raise Invalid("reopening needs a reason")
    return reopen_report(uow, report, reason, now=now, by_citizen=False)
