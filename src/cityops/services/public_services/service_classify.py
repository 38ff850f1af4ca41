"""Storing the deadline engine's classification on each dossier, and keeping it current.

The engine (``deadlines/``) is pure; this module feeds it the stored facts and writes the
result back only where it differs, so a rerun that agrees writes nothing (and audits
nothing). The kernel publishes no event when the calendar changes, so
:func:`refresh_classifications` (the ``public_services.reclassify`` job) keeps a
fingerprint of the calendar exceptions in ``ps_settings`` and reclassifies every dossier
when it changes; otherwise it refreshes unfinished dossiers, whose outcome moves with time
(in term → due soon → overdue).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cityops.kernel.calendar import CalendarException, WorkingCalendar, load_calendar
from cityops.services.public_services.models import Dossier, Setting

log = logging.getLogger(__name__)

FINISHED_STATES = frozenset({3, 7, 9, 10})
CHUNK = 1000
FINGERPRINT_KEY = "calendar_fingerprint"


def _engine() -> Any:
    # Imported lazily: the engine is a separate, pure package and large (numpy).
    from cityops.services.public_services.deadlines import model, rules

    return model, rules


def facts_for(dossier: Dossier) -> Any:
    model, _ = _engine()
    procedure = dossier.procedure
    history = tuple(model.StateChange(h.state, h.at)
                    for h in sorted(dossier.history, key=lambda h: (h.at, h.state)))
    return model.DossierFacts(
        received_at=dossier.received_at,
        statutory=model.Statutory(procedure.statutory_amount, procedure.statutory_unit),
        appointment_at=dossier.appointment_at, history=history,
        supplement_requests=dossier.supplement_requests)


def _store(dossier: Dossier, result: Any, now: datetime) -> bool:
    values = {
        "outcome": str(result.outcome),
        "due_at": result.due_at,
        "end_at": result.end_at,
        "paused_seconds": int(result.paused.total_seconds()),
        "late_seconds": int(result.late_by.total_seconds()) if result.late_by else 0,
    }
    changed = False
    for name, value in values.items():
        if getattr(dossier, name) != value:
            setattr(dossier, name, value)
            changed = True
    if changed:
        dossier.computed_at = now
    return changed


def classify_dossiers(session: Session, dossiers: Iterable[Dossier], *, now: datetime,
                      calendar: WorkingCalendar | None = None) -> int:
    """Classify and store; returns how many stored classifications changed. Flushes."""
    _, rules = _engine()
    calendar = calendar or load_calendar(session)
    changed = 0
    for dossier in dossiers:
        try:
            result = rules.classify(calendar, facts_for(dossier), as_of=now)
        except ValueError as exc:  # facts the engine refuses: keep the dossier, log why
            log.warning("dossier %s not classified: %s", dossier.code, exc)
            continue
        changed += _store(dossier, result, now)
    session.flush()
    return changed


def calendar_fingerprint(session: Session) -> str:
    rows = session.execute(select(CalendarException.day, CalendarException.kind)
                           .order_by(CalendarException.day)).all()
    text = ";".join(f"{day.isoformat()}={kind}" for day, kind in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def _chunks(session: Session, only_unfinished: bool) -> Iterable[Sequence[Dossier]]:
    last_id = 0
    while True:
        stmt = (select(Dossier).where(Dossier.id > last_id).order_by(Dossier.id).limit(CHUNK)
                .options(selectinload(Dossier.history), selectinload(Dossier.procedure)))
        if only_unfinished:
            stmt = stmt.where(Dossier.state.not_in(sorted(FINISHED_STATES)))
        rows = session.scalars(stmt).all()
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def reclassify_all(session: Session, *, now: datetime, only_unfinished: bool = False) -> int:
    """Reclassify every dossier (or every unfinished one) in chunks; flushes, caller commits."""
    calendar = load_calendar(session)
    return sum(classify_dossiers(session, rows, now=now, calendar=calendar)
               for rows in _chunks(session, only_unfinished))


def refresh_classifications(session: Session, *, now: datetime) -> dict[str, Any]:
    """Everything when the calendar changed, else the unfinished dossiers."""
    fingerprint = calendar_fingerprint(session)
    setting = session.get(Setting, FINGERPRINT_KEY)
    calendar_changed = setting is None or setting.value != fingerprint
    changed = reclassify_all(session, now=now, only_unfinished=not calendar_changed)
    if setting is None:
        session.add(Setting(key=FINGERPRINT_KEY, value=fingerprint))
    elif calendar_changed:
        setting.value = fingerprint
    return {"calendar_changed": calendar_changed, "changed": changed}
