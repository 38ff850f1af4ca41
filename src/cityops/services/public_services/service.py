"""Idempotent dossier upsert shared by the API, file uploads and the connector.

The dossier code is the key. A field is assigned only when its value differs, so a re-sent
dossier leaves the session clean: no audit rows, no ``updated_at`` change. Histories are
merged (unique on dossier, state, time) and never shortened; a record whose newest state
change is older than what is stored only adds the history it lacks, so late or partial data
never erases newer facts. Each dossier is written inside a SAVEPOINT: it is stored whole or
not at all, and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import PermissionDenied, authorize
from cityops.kernel.text import fold
from cityops.kernel.uow import UnitOfWork
from cityops.services.public_services.intake import (
    LOCAL,
    DossierRecord,
    HistoryItem,
    Problem,
    normalise,
)
from cityops.services.public_services.models import (
    ApologyLetter,
    Dossier,
    IntakeBatch,
    Procedure,
    StateChange,
    SupplementRequest,
)
from cityops.services.public_services.service_classify import classify_dossiers

INTAKE_PERMISSION = "public_services.intake"
_COPIED = ("channel", "applicant_type", "received_at", "appointment_at", "payment_online",
           "digitised", "e_result", "has_feedback", "has_complaint")


@dataclass
class ItemResult:
    index: int
    code: str
    status: str  # created | updated | unchanged | failed
    problems: list[Problem] = field(default_factory=list)


@dataclass
class BatchResult:
    items: list[ItemResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    def errors(self) -> list[dict[str, Any]]:
        return [{"index": i.index, "code": i.code, "field": p.field, "problem": p.problem}
                for i in self.items for p in i.problems]


class _Lookups:
    """Procedures and agencies by code (agencies also by folded name), loaded once."""

    def __init__(self, session: Session) -> None:
        self.procedures = {p.code: p for p in session.scalars(select(Procedure))}
        self.agencies: dict[str, Agency] = {}
        for agency in session.scalars(select(Agency)):
            self.agencies[agency.code.upper()] = agency
            self.agencies.setdefault(agency.search_name, agency)

    def agency(self, code: str) -> Agency | None:
        return self.agencies.get(code.upper()) or self.agencies.get(fold(code))


def received_month(at: datetime) -> int:
    local = at.astimezone(LOCAL)
    return local.year * 100 + local.month


def _set(obj: Any, name: str, value: Any) -> bool:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        return True
    return False


def _resolve(record: DossierRecord, lookups: _Lookups, existing: Dossier | None
             ) -> tuple[dict[str, Any], list[Problem]]:
    values, problems = dict(record.values), []
    if "procedure_code" in values:
        procedure = lookups.procedures.get(values.pop("procedure_code"))
        if procedure is None:
            problems.append(Problem("procedure_code", "unknown procedure code; add it to the "
                                    "procedure catalogue first"))
        values["procedure"] = procedure
    for role in ("receiving", "processing"):
        key = f"{role}_agency_code"
        if key in values:
            agency = lookups.agency(values.pop(key))
            if agency is None:
                problems.append(Problem(key, "unknown agency code"))
            values[f"{role}_agency"] = agency
    if existing is None:
        if "processing_agency" in values and "receiving_agency" not in values:
            values["receiving_agency"] = values["processing_agency"]
        for needed, label in (("procedure", "procedure_code"),
                              ("processing_agency", "processing_agency_code"),
                              ("received_at", "received_at")):
            if needed not in values and not any(p.field == label for p in problems):
                problems.append(Problem(label, "required for a new dossier"))
        if "state" not in values and not record.history:
            problems.append(Problem("state", "required for a new dossier (or give history)"))
    if "state" in values and "state_at" not in values:
        current = existing.state if existing else None
        if values["state"] in (1, 2) and "received_at" in values:
            values["state_at"] = values["received_at"]
        elif values["state"] != current:
            problems.append(Problem("state_at", "the time of the state is needed when the "
                                    "state changes"))
    return values, problems


def _merge_lists(dossier: Dossier, record: DossierRecord, values: dict[str, Any]) -> bool:
    changed = False
    history = list(record.history)
    if "state" in values and "state_at" in values:
        history.append(HistoryItem(state=values["state"], at=values["state_at"]))
    held = {(h.state, h.at) for h in dossier.history}
    for item in history:
        if (item.state, item.at) not in held:
            dossier.history.append(StateChange(state=item.state, at=item.at, note=item.note))
            held.add((item.state, item.at))
            changed = True
    asked = {s.requested_at: s for s in dossier.supplements}
    for sup in record.supplements:
        row = asked.get(sup.requested_at)
        if row is None:
            row = SupplementRequest(requested_at=sup.requested_at, completed_at=sup.completed_at,
                                    note=sup.note)
            dossier.supplements.append(row)
            asked[sup.requested_at] = row
            changed = True
        elif row.completed_at is None and sup.completed_at is not None:
            row.completed_at = sup.completed_at
            changed = True
    issued = {a.issued_at for a in dossier.apologies}
    for apology in record.apologies:
        if apology.issued_at not in issued:
            dossier.apologies.append(ApologyLetter(
                issued_at=apology.issued_at, reason=apology.reason,
                new_appointment_at=apology.new_appointment_at))
            issued.add(apology.issued_at)
            changed = True
    return changed


def _apply(dossier: Dossier, record: DossierRecord, values: dict[str, Any],
           stale: bool) -> bool:
    changed = _merge_lists(dossier, record, values)
    if not stale:
        for name in ("procedure", "receiving_agency", "processing_agency", *_COPIED):
            if name in values:
                changed |= _set(dossier, name, values[name])
    if dossier.received_at is not None:
        changed |= _set(dossier, "received_month", received_month(dossier.received_at))
    latest = max(dossier.history, key=lambda h: h.at, default=None)
    if latest is not None:
        changed |= _set(dossier, "state", latest.state)
        changed |= _set(dossier, "state_at", latest.at)
    # The count never goes down: an older record must not erase a known request.
    count = max(dossier.supplement_requests or 0, len(dossier.supplements),
                values.get("supplement_count", 0))
    changed |= _set(dossier, "supplement_requests", count)
    return changed


def _upsert_one(uow: UnitOfWork, lookups: _Lookups, record: DossierRecord, source: str,
                now: datetime) -> tuple[str, Dossier | None, list[Problem]]:
    session = uow.session
    existing = session.scalar(select(Dossier).where(Dossier.code == record.code).options(
        selectinload(Dossier.history), selectinload(Dossier.supplements),
        selectinload(Dossier.apologies)))
    values, problems = _resolve(record, lookups, existing)
    if problems:
        return "failed", None, problems
    for agency in {values.get("processing_agency"), values.get("receiving_agency"),
                   existing.processing_agency if existing else None}:
        if agency is not None:
            authorize(uow.principal, INTAKE_PERMISSION, agency_id=agency.id)
    with session.begin_nested():
        if existing is None:
            dossier = Dossier(code=record.code, source=source, supplement_requests=0,
                              created_at=now, updated_at=now, outcome=None, paused_seconds=0,
                              late_seconds=0)
            dossier.history, dossier.supplements, dossier.apologies = [], [], []
            _apply(dossier, record, values, stale=False)
            session.add(dossier)
            session.flush()
            return "created", dossier, []
        latest = record.latest_change()
        stale = latest is not None and latest < existing.state_at
        if not _apply(existing, record, values, stale):
            return "unchanged", existing, []
        existing.updated_at = now
        session.flush()
        return "updated", existing, []


def upsert_dossiers(uow: UnitOfWork, raw_items: Sequence[Any], *, source: str,
                    now: datetime, classify: bool = True) -> BatchResult:
    """Store every valid item; each is all-or-nothing. Does not commit."""
    authorize(uow.principal, INTAKE_PERMISSION)
    lookups = _Lookups(uow.session)
    result, seen, touched = BatchResult(), {}, []
    for index, raw in enumerate(raw_items):
        record, problems = normalise(raw)
        code = record.code if record else str((raw or {}).get("code", "")
                                               if isinstance(raw, dict) else "")[:80]
        if record is not None and record.code in seen:
            problems = [Problem("code", f"duplicate code; already given at index "
                                        f"{seen[record.code]}")]
            record = None
        if record is None:
            result.items.append(ItemResult(index, code, "failed", problems))
            continue
        seen[record.code] = index
        try:
            status, dossier, problems = _upsert_one(uow, lookups, record, source, now)
        except PermissionDenied as exc:
            status, dossier, problems = "failed", None, [Problem("agency", str(exc))]
        except IntegrityError as exc:
            status, dossier = "failed", None
            problems = [Problem("", f"rejected by the database: {exc.orig}"[:300])]
        result.items.append(ItemResult(index, record.code, status, problems))
        if dossier is not None and status in ("created", "updated"):
            touched.append(dossier)
    if classify and touched:
        classify_dossiers(uow.session, touched, now=now)
    return result


def record_batch(uow: UnitOfWork, result: BatchResult, *, source: str, now: datetime,
                 filename: str = "", report: list[dict[str, Any]] | None = None,
                 batch: IntakeBatch | None = None) -> IntakeBatch:
    """Who sent what, when, and the validation report; part of the same transaction."""
    batch = batch or IntakeBatch(source=source, actor=uow.principal.label[:200],
                                 user_id=uow.principal.user_id, received_at=now,
                                 filename=filename[:300])
    batch.status = "done"
    batch.total = len(result.items)
    for status in ("created", "updated", "unchanged", "failed"):
        setattr(batch, status, result.count(status))
    batch.report = report if report is not None else result.errors()
    batch.pending_rows = None
    uow.session.add(batch)
    uow.session.flush()
    return batch
