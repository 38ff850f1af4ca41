"""The facts a deadline is judged from and the judgement, as plain immutable values.

These names are the contract the dossier store codes against; keep them stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Literal


class DossierState(IntEnum):
    """National dossier state codes used when syncing with the public service portal."""

    NEW = 1
    RECEIVED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FINANCIAL_OBLIGATION = 6
    WITHDRAWN = 7
    STOPPED = 8
    PROCESSED = 9
    RETURNED = 10


# Reports group these as "paused" (tạm dừng): the clock does not run while in them.
PAUSED_STATES: frozenset[int] = frozenset({5, 6, 8})
# A dossier that last reached one of these (and was never processed) is out of the count.
CANCELLING_STATES: frozenset[int] = frozenset({3, 7})
# Two or more supplement requests make a dossier late whatever its times say.
LATE_SUPPLEMENT_REQUESTS = 2


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


@dataclass(frozen=True)
class Statutory:
    """Statutory processing time: whole working days, or working (office) hours."""

    amount: float
    unit: Literal["days", "hours"]

    def __post_init__(self) -> None:
        if self.unit not in ("days", "hours"):
            raise ValueError(f"statutory unit must be 'days' or 'hours', not {self.unit!r}")
        if not math.isfinite(self.amount) or self.amount < 0:
            raise ValueError("statutory time must be a finite number >= 0")
        # Half a day has no agreed meaning on the day rule; the catalogue states it in hours.
        if self.unit == "days" and self.amount != int(self.amount):
            raise ValueError("statutory days must be a whole number; give part days in hours")
        if self.unit == "hours" and self.amount == 0:
            raise ValueError("statutory hours must be > 0")

    @property
    def duration(self) -> timedelta:
        """The office time of an hour-based procedure (exactly as timedelta rounds it)."""
        return timedelta(hours=self.amount)


@dataclass(frozen=True)
class StateChange:
    state: int
    at: datetime  # aware


@dataclass(frozen=True)
class DossierFacts:
    received_at: datetime
    statutory: Statutory
    appointment_at: datetime | None
    history: tuple[StateChange, ...]  # ordered by time
    supplement_requests: int  # how many supplement requests were made

    def __post_init__(self) -> None:
        _require_aware(self.received_at, "received_at")
        if self.appointment_at is not None:
            _require_aware(self.appointment_at, "appointment_at")
        if self.supplement_requests < 0:
            raise ValueError("supplement_requests must be >= 0")
        previous: datetime | None = None
        for change in self.history:
            if change.state not in DossierState._value2member_map_:
                raise ValueError(f"unknown dossier state {change.state!r}; expected 1-10")
            _require_aware(change.at, "a state change time")
            if previous is not None and change.at < previous:
                raise ValueError("history must be ordered by time")
            previous = change.at


class Outcome(StrEnum):
    EARLY = "early"  # processed on a calendar day before the due day
    ON_TIME = "on_time"  # processed on the due day, at or before the due time
    LATE = "late"  # processed after the due time, or after two or more supplement requests
    IN_TERM = "in_term"  # unfinished, due later than the due-soon window
    DUE_SOON = "due_soon"  # unfinished, due within the next due_soon_days working days
    OVERDUE = "overdue"  # unfinished and past due (or two or more supplement requests)
    PAUSED = "paused"  # unfinished and now in state 5, 6 or 8: the clock is stopped
    CANCELLED = "cancelled"  # refused at reception or withdrawn: out of the on-time count


FINISHED_OUTCOMES = frozenset({Outcome.EARLY, Outcome.ON_TIME, Outcome.LATE})


@dataclass(frozen=True)
class Classification:
    outcome: Outcome
    due_at: datetime  # in the calendar's time zone
    end_at: datetime | None  # processed / returned / refused / withdrawn time
    paused: timedelta  # office time spent paused, which moved due_at later
    late_by: timedelta | None  # wall-clock lateness for LATE and OVERDUE, else None


def check_judgement_time(as_of: datetime, due_soon_days: int) -> None:
    """The arguments ``classify`` and ``classify_batch`` share; ValueError when they are off."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be a timezone-aware datetime")
    if due_soon_days < 0:
        raise ValueError("due_soon_days must be >= 0")
