"""One demo dossier at a time as plain rows, then the whole lot classified at once.

The rows go straight to bulk inserts (see ``demo.py``). Times follow office hours: a
dossier is received during a working day, processed after a share of its statutory office
time (beyond it for the agency's late share), paused while the applicant completes a
supplement request, and returned a little after processing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from cityops.kernel.calendar import WorkingCalendar
from cityops.kernel.orgs import Agency
from cityops.services.public_services import demo_catalogue as catalogue
from cityops.services.public_services.deadlines import (
    DossierFacts,
    StateChange,
    Statutory,
    classify_many,
    statutory_due_at,
)
from cityops.services.public_services.intake import LOCAL
from cityops.services.public_services.models import Procedure

HOURS_PER_DAY = 8.0
REFUSED, WITHDRAWN = 0.012, 0.004  # shares of dossiers refused at reception / withdrawn


@dataclass(frozen=True)
class Profile:
    volume: float
    late: float
    online: float
    payment: float
    digitised: float
    e_result: float
    apology: float  # share of late dossiers that get an apology letter


def _office_time(day: date, rng: random.Random) -> datetime:
    """A moment of office hours (07:30–11:30, 13:30–17:00) on ``day``."""
    minute = rng.randrange(240 + 195)
    start = time(7, 30) if minute < 240 else time(13, 30)
    base = datetime.combine(day, start, LOCAL)
    return base + timedelta(minutes=minute if minute < 240 else minute - 240)


class DossierMaker:
    def __init__(self, calendar: WorkingCalendar, now: datetime, rng: random.Random,
                 profiles: dict[str, Profile], first_id: int) -> None:
        self.calendar, self.now, self.rng, self.profiles = calendar, now, rng, profiles
        self.next_id = first_id
        self.dossiers: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.supplements: list[dict[str, Any]] = []
        self.apologies: list[dict[str, Any]] = []
        self._facts: list[DossierFacts] = []
        self._sequence: dict[tuple[str, date], int] = {}

    def _code(self, agency: Agency, day: date) -> str:
        key = (agency.code, day)
        self._sequence[key] = self._sequence.get(key, 0) + 1
        return f"H12.{agency.code}-{day:%y%m%d}-{self._sequence[key]:04d}"

    def _work(self, start: datetime, hours: float) -> datetime:
        return self.calendar.add_working_hours(start, max(hours, 0.25))

    def add(self, day: date, procedure: Procedure, processing: Agency,
            receiving: Agency) -> None:
        rng, profile = self.rng, self.profiles[processing.code]
        received = _office_time(day, rng)
        if received > self.now:
            received -= timedelta(days=1)  # today's office hours are not over yet
        statutory = Statutory(procedure.statutory_amount,
                              procedure.statutory_unit)  # type: ignore[arg-type]
        hours = procedure.statutory_amount * (
            HOURS_PER_DAY if procedure.statutory_unit == "days" else 1)
        online = rng.random() < profile.online
        changes: list[tuple[int, datetime]] = []
        if online:  # registered on the portal, received by an officer later
            changes.append((1, received - timedelta(minutes=rng.randint(10, 900))))
        changes.append((2, received))
        late = rng.random() < profile.late
        supplements: list[tuple[datetime, datetime | None]] = []
        roll = rng.random()
        if roll < REFUSED:
            changes.append((3, received + timedelta(minutes=rng.randint(5, 90))))
        elif roll < REFUSED + WITHDRAWN:
            changes.append((4, received + timedelta(minutes=40)))
            changes.append((7, self._work(received, hours * rng.uniform(0.1, 0.6))))
        else:
            target = hours * (rng.uniform(1.05, 2.2) + 0.5 if late else rng.uniform(0.1, 0.97))
            at = received + timedelta(minutes=rng.randint(15, 120))
            changes.append((4, at))
            requests = 1 if rng.random() < 0.06 else 0
            requests += 1 if requests and rng.random() < 0.08 else 0
            done = 0.0
            for _ in range(requests):
                step = target * rng.uniform(0.15, 0.4)
                asked = self._work(at, step)
                back = self.calendar.add_working_days(asked, rng.randint(1, 6))
                supplements.append((asked, back if back <= self.now else None))  # type: ignore
                changes.append((5, asked))
                changes.append((4, back))  # type: ignore[arg-type]
                at, done = back, done + step  # type: ignore[assignment]
            processed = self._work(at, target - done)
            changes.append((9, processed))
            changes.append((10, self._work(processed, rng.uniform(0.5, 16))))
        history = sorted({c for c in changes if c[1] <= self.now}, key=lambda c: c[1])
        self._add_rows(procedure, processing, receiving, received, statutory, history,
                       supplements, online, late, profile)

    def _add_rows(self, procedure: Procedure, processing: Agency, receiving: Agency,
                  received: datetime, statutory: Statutory,
                  history: list[tuple[int, datetime]],
                  supplements: list[tuple[datetime, datetime | None]], online: bool,
                  late: bool, profile: Profile) -> None:
        rng, dossier_id = self.rng, self.next_id
        self.next_id += 1
        appointment = statutory_due_at(self.calendar, received, statutory)
        finished = any(state in (9, 10) for state, _at in history)
        asked = [s for s in supplements if s[0] <= self.now]
        self._facts.append(DossierFacts(received, statutory, appointment,
                                        tuple(StateChange(s, at) for s, at in history),
                                        len(asked)))
        self.dossiers.append({
            "id": dossier_id, "code": self._code(processing, received.date()),
            "procedure_id": procedure.id, "processing_agency_id": processing.id,
            "receiving_agency_id": receiving.id, "channel": 2 if online else
            (3 if rng.random() < 0.03 else 1),
            "applicant_type": rng.choices(("citizen", "business", "organisation"),
                                          (85, 12, 3))[0],
            "received_at": received, "received_month": received.year * 100 + received.month,
            "appointment_at": appointment, "state": history[-1][0], "state_at": history[-1][1],
            "payment_online": bool(procedure.fee) and rng.random() < profile.payment,
            "digitised": rng.random() < profile.digitised,
            "e_result": finished and rng.random() < profile.e_result * (1.2 if online else 0.7),
            "has_feedback": rng.random() < (0.05 if late else 0.01),
            "has_complaint": rng.random() < (0.03 if late else 0.003),
            "supplement_requests": len(asked), "source": "connector",
            "created_at": self.now, "updated_at": self.now, "computed_at": self.now,
        })
        self.history.extend({"dossier_id": dossier_id, "state": s, "at": at, "note": ""}
                            for s, at in history)
        self.supplements.extend({"dossier_id": dossier_id, "requested_at": a,
                                 "completed_at": b, "note": rng.choice(catalogue.SUPPLEMENT_NOTES)}
                                for a, b in asked)

    def classify(self) -> None:
        """Store the engine's judgement; late dossiers of careful agencies get an apology."""
        results = classify_many(self.calendar, self._facts, as_of=self.now)
        for row, result, facts in zip(self.dossiers, results, self._facts, strict=True):
            row["outcome"] = str(result.outcome)
            row["due_at"], row["end_at"] = result.due_at, result.end_at
            row["paused_seconds"] = int(result.paused.total_seconds())
            row["late_seconds"] = int(result.late_by.total_seconds()) if result.late_by else 0
            if row["outcome"] in ("late", "overdue"):
                self._apologise(row, facts, result.due_at)

    def _apologise(self, row: dict[str, Any], facts: DossierFacts, due: datetime) -> None:
        profile = self.profiles[self._agency_code(row["code"])]
        if self.rng.random() >= profile.apology:
            return  # flagged on the dossier page: late without an apology letter
        issued = max(facts.received_at, due - timedelta(hours=self.rng.uniform(2, 30)))
        if issued > self.now:
            return
        self.apologies.append({
            "dossier_id": row["id"], "issued_at": issued,
            "new_appointment_at": self.calendar.add_working_days(due, self.rng.randint(2, 10)),
            "reason": self.rng.choice(catalogue.APOLOGY_REASONS)})

    @staticmethod
    def _agency_code(code: str) -> str:
        return code.removeprefix("H12.").rsplit("-", 2)[0]
