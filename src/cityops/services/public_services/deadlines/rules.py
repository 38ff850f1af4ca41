"""The deadline and on-time rules, one dossier at a time, on the kernel working calendar.

This is the reference implementation: every step is a kernel ``WorkingCalendar`` call, so
the calendar stays the single source of what a working day or hour is. ``fast.py`` computes
the same answers for millions of dossiers at once and is tested against this module.
The rules, with examples, are in docs/public-services-deadlines.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from cityops.kernel.calendar import WorkingCalendar

from .model import (
    CANCELLING_STATES,
    LATE_SUPPLEMENT_REQUESTS,
    PAUSED_STATES,
    Classification,
    DossierFacts,
    DossierState,
    Outcome,
    StateChange,
    Statutory,
    check_judgement_time,
)

Interval = tuple[datetime, datetime]


def closing_time(calendar: WorkingCalendar) -> time:
    """Wall time at which the last office period of a working day ends."""
    return (datetime.min + calendar.periods[-1][1]).time()


def end_of_day(calendar: WorkingCalendar, day: date) -> datetime:
    return datetime.combine(day, closing_time(calendar), tzinfo=calendar.tz)


def first_counted_day(calendar: WorkingCalendar, received_at: datetime) -> date:
    """Day 0 of a day-based deadline: the receipt day, or the next working day when the
    dossier arrived on a non-working day or at/after closing time (nothing can be done
    with it that day)."""
    local = received_at.astimezone(calendar.tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=calendar.tz)
    if calendar.working_time_between(midnight, local) >= calendar.day_length:
        return local.date() + timedelta(days=1)  # add_working_days rolls it forward
    return local.date()


def statutory_due_at(
    calendar: WorkingCalendar, received_at: datetime, statutory: Statutory
) -> datetime:
    """Due time before pauses: end of the Nth working day after day 0, or N office hours."""
    if statutory.unit == "hours":
        return calendar.add_working_hours(received_at, statutory.duration)
    start = first_counted_day(calendar, received_at)
    due_day = calendar.add_working_days(start, int(statutory.amount))
    return end_of_day(calendar, due_day)


def _clip(value: datetime, low: datetime, high: datetime | None) -> datetime:
    value = max(value, low)
    return value if high is None else min(value, high)


def paused_working_time(
    calendar: WorkingCalendar,
    intervals: Iterable[Interval],
    *,
    not_before: datetime,
    not_after: datetime | None = None,
) -> timedelta:
    """Office time inside the union of ``intervals``, counted only within the bounds."""
    total = timedelta()
    merged_end: datetime | None = None
    for start, stop in sorted(intervals):
        if stop < start:
            raise ValueError("a paused interval ends before it starts")
        if merged_end is not None and start < merged_end:  # overlap: count each instant once
            start = merged_end
        if stop <= start:
            continue
        merged_end = stop
        low = _clip(start, not_before, not_after)
        total += calendar.working_time_between(low, _clip(stop, not_before, not_after))
    return total


def _move_by_pause(calendar: WorkingCalendar, base: datetime, paused: timedelta) -> datetime:
    if not paused:
        return base.astimezone(calendar.tz)
    return calendar.add_working_hours(base, paused)


def due_at(
    calendar: WorkingCalendar,
    received_at: datetime,
    statutory: Statutory,
    paused_intervals: Iterable[Interval] = (),
    *,
    appointment_at: datetime | None = None,
) -> datetime:
    """When the dossier is due: the appointment date if there is one, else the statutory
    due time; either moves later by the office time spent in ``paused_intervals``."""
    paused = paused_working_time(calendar, paused_intervals, not_before=received_at)
    base = appointment_at or statutory_due_at(calendar, received_at, statutory)
    return _move_by_pause(calendar, base, paused)


def _first_reaching(history: Iterable[StateChange], state: int) -> datetime | None:
    return next((change.at for change in history if change.state == state), None)


def paused_segments(history: list[StateChange], as_of: datetime) -> list[Interval]:
    """Each stay in a paused state, from entering it to the next change (or ``as_of``)."""
    segments = []
    for i, change in enumerate(history):
        if change.state in PAUSED_STATES:
            stop = history[i + 1].at if i + 1 < len(history) else as_of
            segments.append((change.at, stop))
    return segments


def classify(
    calendar: WorkingCalendar, facts: DossierFacts, *, as_of: datetime, due_soon_days: int = 1
) -> Classification:
    """Judge one dossier as it stood at ``as_of`` (later state changes are ignored)."""
    check_judgement_time(as_of, due_soon_days)
    tz = calendar.tz
    seen = [change for change in facts.history if change.at <= as_of]
    end = _first_reaching(seen, DossierState.PROCESSED) or _first_reaching(
        seen, DossierState.RETURNED
    )
    cancelled = end is None and bool(seen) and seen[-1].state in CANCELLING_STATES
    if cancelled:
        end = seen[-1].at
    paused = paused_working_time(
        calendar, paused_segments(seen, as_of), not_before=facts.received_at, not_after=end or as_of
    )
    base = facts.appointment_at or statutory_due_at(calendar, facts.received_at, facts.statutory)
    due = _move_by_pause(calendar, base, paused)
    end_local = end.astimezone(tz) if end is not None else None

    if cancelled:
        return Classification(Outcome.CANCELLED, due, end_local, paused, None)
    forced_late = facts.supplement_requests >= LATE_SUPPLEMENT_REQUESTS
    if end_local is not None:
        if end_local > due or forced_late:
            late_by = max(end_local - due, timedelta())
            return Classification(Outcome.LATE, due, end_local, paused, late_by)
        outcome = Outcome.EARLY if end_local.date() < due.date() else Outcome.ON_TIME
        return Classification(outcome, due, end_local, paused, None)
    if forced_late or as_of > due:
        return Classification(Outcome.OVERDUE, due, None, paused, max(as_of - due, timedelta()))
    if seen and seen[-1].state in PAUSED_STATES:
        return Classification(Outcome.PAUSED, due, None, paused, None)
    window_end = calendar.add_working_days(as_of.astimezone(tz).date(), due_soon_days)
    if due <= end_of_day(calendar, window_end):
        return Classification(Outcome.DUE_SOON, due, None, paused, None)
    return Classification(Outcome.IN_TERM, due, None, paused, None)
