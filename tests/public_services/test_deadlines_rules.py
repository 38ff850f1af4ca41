"""Deadline and on-time rules, hand-checked against the Vietnamese calendar.

Office hours are the kernel defaults: 07:30-11:30 and 13:30-17:30, Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityops.kernel.calendar import WorkingCalendar
from cityops.services.public_services.deadlines import (
    DossierFacts,
    Outcome,
    StateChange,
    Statutory,
    classify,
    classify_many,
    due_at,
    statutory_due_at,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def days(n: int) -> Statutory:
    return Statutory(n, "days")


def hours(n: float) -> Statutory:
    return Statutory(n, "hours")


def dossier(
    received: datetime,
    statutory: Statutory,
    *changes: tuple[int, datetime],
    appointment: datetime | None = None,
    supplements: int = 0,
) -> DossierFacts:
    history = (StateChange(2, received), *(StateChange(s, at) for s, at in changes))
    return DossierFacts(received, statutory, appointment, history, supplements)


def judge(facts: DossierFacts, as_of: datetime, calendar: WorkingCalendar = CAL):
    """classify, checked against the fast path on the same dossier."""
    result = classify(calendar, facts, as_of=as_of)
    assert classify_many(calendar, [facts], as_of=as_of) == [result]
    return result


# -- due times on the day rule -------------------------------------------------------------
@pytest.mark.parametrize(
    ("received", "n", "due"),
    [
        (vn(2025, 3, 7, 9), 1, vn(2025, 3, 10, 17, 30)),  # Friday -> Monday, over the weekend
        (vn(2025, 3, 8, 10), 1, vn(2025, 3, 11, 17, 30)),  # Saturday receipt counts from Monday
        (vn(2025, 3, 7, 17, 29), 1, vn(2025, 3, 10, 17, 30)),  # still inside office hours
        (vn(2025, 3, 7, 17, 30), 1, vn(2025, 3, 11, 17, 30)),  # at closing: day 0 is Monday
        (vn(2025, 3, 7, 20, 0), 1, vn(2025, 3, 11, 17, 30)),  # evening online submission
        (vn(2025, 3, 5, 6, 0), 0, vn(2025, 3, 5, 17, 30)),  # before opening: same day
        (vn(2025, 3, 5, 9, 0), 0, vn(2025, 3, 5, 17, 30)),  # "within the day" procedures
        (vn(2025, 3, 3, 9, 0), 10, vn(2025, 3, 17, 17, 30)),  # two full weeks
    ],
)
def test_day_rule_counts_working_days_from_day_zero(
    received: datetime, n: int, due: datetime
) -> None:
    assert statutory_due_at(CAL, received, days(n)) == due


def test_tet_2026_holidays_are_skipped() -> None:
    # Tết 2026: Monday 16 to Friday 20 February are off; Friday 13 is worked.
    assert statutory_due_at(CAL, vn(2026, 2, 13, 10), days(3)) == vn(2026, 2, 25, 17, 30)
    assert statutory_due_at(CAL, vn(2026, 2, 17, 9), days(1)) == vn(2026, 2, 24, 17, 30)
    assert statutory_due_at(CAL, vn(2026, 2, 13, 16, 30), hours(4)) == vn(2026, 2, 23, 10, 30)


def test_2025_swap_days_work_saturday_and_rest_friday() -> None:
    # 2025: Saturday 26 April worked in exchange for Friday 2 May off (30/4 and 1/5 holidays).
    assert statutory_due_at(CAL, vn(2025, 4, 25, 9), days(2)) == vn(2025, 4, 28, 17, 30)
    assert statutory_due_at(CAL, vn(2025, 4, 25, 9), days(1)) == vn(2025, 4, 26, 17, 30)
    assert statutory_due_at(CAL, vn(2025, 4, 29, 9), days(1)) == vn(2025, 5, 5, 17, 30)
    assert statutory_due_at(CAL, vn(2025, 4, 25, 16, 30), hours(2)) == vn(2025, 4, 26, 8, 30)


def test_make_up_saturday_2026_is_a_working_day() -> None:
    # Saturday 22 August 2026 is worked for Monday 31 August off (then National Day 1-2/9).
    assert statutory_due_at(CAL, vn(2026, 8, 21, 10), days(1)) == vn(2026, 8, 22, 17, 30)
    assert statutory_due_at(CAL, vn(2026, 8, 22, 8), days(0)) == vn(2026, 8, 22, 17, 30)
    assert statutory_due_at(CAL, vn(2026, 8, 28, 10), days(1)) == vn(2026, 9, 3, 17, 30)


@pytest.mark.parametrize(
    ("received", "h", "due"),
    [
        (vn(2025, 3, 10, 10), 4, vn(2025, 3, 10, 16, 0)),  # across the lunch break
        (vn(2025, 3, 10, 16, 30), 2, vn(2025, 3, 11, 8, 30)),  # into the next morning
        (vn(2025, 3, 7, 7, 30), 8, vn(2025, 3, 7, 17, 30)),  # a full day ends at closing
        (vn(2025, 3, 7, 12, 0), 1, vn(2025, 3, 7, 14, 30)),  # received during lunch
        (vn(2025, 3, 7, 9, 30), 2, vn(2025, 3, 7, 11, 30)),  # ends at the break, not 13:30
        (vn(2025, 3, 8, 9, 0), 0.5, vn(2025, 3, 10, 8, 0)),  # Saturday: counts from Monday
        (vn(2025, 3, 7, 16, 0), 16, vn(2025, 3, 11, 16, 0)),  # 2 working days, over a weekend
    ],
)
def test_hour_rule_counts_office_hours(received: datetime, h: float, due: datetime) -> None:
    assert statutory_due_at(CAL, received, hours(h)) == due


# -- pauses ---------------------------------------------------------------------------------
def test_pause_moves_the_due_time_by_its_office_time() -> None:
    received = vn(2025, 3, 10, 8)  # Monday; 5 days -> Monday 17 March 17:30
    assert due_at(CAL, received, days(5)) == vn(2025, 3, 17, 17, 30)
    # Tuesday 09:00 to Thursday 09:00 is two working days of office time.
    pause = [(vn(2025, 3, 11, 9), vn(2025, 3, 13, 9))]
    assert due_at(CAL, received, days(5), pause) == vn(2025, 3, 19, 17, 30)
    # Friday 16:30 to Monday 08:30: one office hour each side of the weekend.
    weekend = [(vn(2025, 3, 14, 16, 30), vn(2025, 3, 17, 8, 30))]
    assert due_at(CAL, received, days(5), weekend) == vn(2025, 3, 18, 9, 30)
    # Overlapping intervals count each instant once; a pause before receipt does not count.
    overlapping = [*pause, (vn(2025, 3, 12, 9), vn(2025, 3, 13, 9)), (vn(2025, 3, 1), received)]
    assert due_at(CAL, received, days(5), overlapping) == vn(2025, 3, 19, 17, 30)


def test_paused_dossier_is_judged_after_its_pause() -> None:
    facts = dossier(
        vn(2025, 3, 10, 8), days(5),
        (4, vn(2025, 3, 10, 9)), (5, vn(2025, 3, 11, 9)), (4, vn(2025, 3, 13, 9)),
        (9, vn(2025, 3, 19, 15)), supplements=1,
    )
    result = judge(facts, vn(2025, 4, 1))
    assert result.outcome == Outcome.ON_TIME  # without the pause it would be two days late
    assert result.paused == timedelta(hours=16)
    assert result.due_at == vn(2025, 3, 19, 17, 30)


def test_fees_and_stopped_states_pause_too_and_chain() -> None:
    facts = dossier(
        vn(2025, 3, 10, 8), days(1),
        (6, vn(2025, 3, 10, 9)), (8, vn(2025, 3, 10, 10)), (4, vn(2025, 3, 10, 11)),
        (9, vn(2025, 3, 11, 19)),
    )
    result = judge(facts, vn(2025, 4, 1))
    assert result.paused == timedelta(hours=2)
    assert result.due_at == vn(2025, 3, 12, 9, 30)
    assert result.outcome == Outcome.EARLY  # done the evening before the (moved) due day


def test_open_supplement_request_stops_the_clock() -> None:
    facts = dossier(vn(2025, 3, 10, 8), days(1), (5, vn(2025, 3, 10, 9)), supplements=1)
    result = judge(facts, vn(2025, 3, 20, 10))  # long after the statutory due time
    assert result.outcome == Outcome.PAUSED
    assert result.due_at > vn(2025, 3, 20, 10)  # the due time keeps moving with the pause
    assert result.end_at is None and result.late_by is None


def test_two_supplement_requests_make_a_dossier_late() -> None:
    finished = dossier(
        vn(2025, 3, 10, 8), days(5),
        (5, vn(2025, 3, 10, 9)), (4, vn(2025, 3, 10, 10)),
        (5, vn(2025, 3, 10, 11)), (4, vn(2025, 3, 10, 11, 15)), (9, vn(2025, 3, 11, 9)),
        supplements=2,
    )
    result = judge(finished, vn(2025, 4, 1))
    assert result.outcome == Outcome.LATE and result.late_by == timedelta()
    still_open = dossier(
        vn(2025, 3, 10, 8), days(5), (5, vn(2025, 3, 10, 9)), supplements=2
    )
    assert judge(still_open, vn(2025, 3, 11, 9)).outcome == Outcome.OVERDUE
    single = dossier(vn(2025, 3, 10, 8), days(5), (9, vn(2025, 3, 11, 9)), supplements=1)
    assert judge(single, vn(2025, 4, 1)).outcome == Outcome.EARLY


# -- the on-time rule -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("end", "outcome", "late_by"),
    [
        (vn(2025, 3, 7, 15), Outcome.EARLY, None),  # due Monday, done Friday
        (vn(2025, 3, 10, 17, 30), Outcome.ON_TIME, None),  # at the due time exactly
        (vn(2025, 3, 10, 8), Outcome.ON_TIME, None),  # on the due day
        (vn(2025, 3, 10, 17, 45), Outcome.LATE, timedelta(minutes=15)),
        (vn(2025, 3, 12, 17, 30), Outcome.LATE, timedelta(days=2)),
    ],
)
def test_finished_dossiers_without_appointment(
    end: datetime, outcome: Outcome, late_by: timedelta | None
) -> None:
    facts = dossier(vn(2025, 3, 7, 9), days(1), (4, vn(2025, 3, 7, 10)), (9, end))
    result = judge(facts, vn(2025, 4, 1))
    assert (result.outcome, result.late_by, result.end_at) == (outcome, late_by, end)
    assert result.due_at == vn(2025, 3, 10, 17, 30)


def test_end_is_first_processed_else_first_returned() -> None:
    returned_only = dossier(vn(2025, 3, 7, 9), days(1), (10, vn(2025, 3, 11, 9)))
    assert judge(returned_only, vn(2025, 4, 1)).end_at == vn(2025, 3, 11, 9)
    both = dossier(
        vn(2025, 3, 7, 9), days(1), (9, vn(2025, 3, 10, 9)), (10, vn(2025, 3, 12, 9))
    )
    result = judge(both, vn(2025, 4, 1))
    assert (result.end_at, result.outcome) == (vn(2025, 3, 10, 9), Outcome.ON_TIME)


def test_appointment_date_is_the_yardstick_when_present() -> None:
    # Statutory due is Friday 14 March, but the applicant was promised Wednesday 12, 10:00.
    facts = dossier(
        vn(2025, 3, 7, 9), days(5), (9, vn(2025, 3, 12, 15)),
        appointment=vn(2025, 3, 12, 10),
    )
    result = judge(facts, vn(2025, 4, 1))
    assert result.due_at == vn(2025, 3, 12, 10)
    assert (result.outcome, result.late_by) == (Outcome.LATE, timedelta(hours=5))
    # A pause moves the appointment later by its office time, too.
    paused = dossier(
        vn(2025, 3, 7, 9), days(5), (5, vn(2025, 3, 10, 8)), (4, vn(2025, 3, 10, 17, 30)),
        (9, vn(2025, 3, 12, 15)), appointment=vn(2025, 3, 12, 10), supplements=1,
    )
    moved = judge(paused, vn(2025, 4, 1))
    assert moved.due_at == vn(2025, 3, 13, 9, 30) and moved.outcome == Outcome.EARLY


@pytest.mark.parametrize(("state", "when"), [(3, vn(2025, 3, 7, 9, 5)), (7, vn(2025, 3, 9))])
def test_refused_and_withdrawn_are_cancelled(state: int, when: datetime) -> None:
    result = judge(dossier(vn(2025, 3, 7, 9), days(1), (state, when)), vn(2025, 4, 1))
    assert (result.outcome, result.end_at, result.late_by) == (Outcome.CANCELLED, when, None)


@pytest.mark.parametrize(
    ("as_of", "outcome", "late_by"),
    [
        (vn(2025, 3, 3, 9), Outcome.IN_TERM, None),  # due Friday 7: four days ahead
        (vn(2025, 3, 6, 9), Outcome.DUE_SOON, None),  # due the next working day
        (vn(2025, 3, 7, 17, 30), Outcome.DUE_SOON, None),  # due now
        (vn(2025, 3, 7, 18), Outcome.OVERDUE, timedelta(minutes=30)),
    ],
)
def test_unfinished_dossiers_are_judged_at_as_of(
    as_of: datetime, outcome: Outcome, late_by: timedelta | None
) -> None:
    facts = dossier(vn(2025, 3, 3, 8), days(4), (4, vn(2025, 3, 3, 8, 30)))
    result = judge(facts, as_of)
    assert (result.outcome, result.late_by, result.end_at) == (outcome, late_by, None)


def test_due_soon_window_counts_working_days() -> None:
    facts = dossier(vn(2025, 3, 3, 8), days(4), (4, vn(2025, 3, 3, 8, 30)))  # due Fri 7
    # Seen on Wednesday: Friday is two working days away.
    assert classify(CAL, facts, as_of=vn(2025, 3, 5, 9)).outcome == Outcome.IN_TERM
    assert classify(CAL, facts, as_of=vn(2025, 3, 5, 9), due_soon_days=2).outcome == (
        Outcome.DUE_SOON
    )
    assert classify(CAL, facts, as_of=vn(2025, 3, 7, 9), due_soon_days=0).outcome == (
        Outcome.DUE_SOON
    )


def test_changes_after_as_of_are_ignored() -> None:
    facts = dossier(vn(2025, 3, 7, 9), days(1), (9, vn(2025, 3, 12, 9)))
    assert judge(facts, vn(2025, 3, 10, 9)).outcome == Outcome.DUE_SOON
    assert judge(facts, vn(2025, 3, 11, 9)).outcome == Outcome.OVERDUE
    assert judge(facts, vn(2025, 3, 12, 9)).outcome == Outcome.LATE


def test_recomputed_when_the_calendar_changes() -> None:
    facts = dossier(vn(2025, 3, 7, 9), days(1), (9, vn(2025, 3, 11, 10)))
    assert judge(facts, vn(2025, 4, 1)).outcome == Outcome.LATE
    # The province declares Monday 10 March a day off: the same facts are now on time.
    with_day_off = WorkingCalendar(extra_days_off={date(2025, 3, 10): "Bão"})
    result = judge(facts, vn(2025, 4, 1), with_day_off)
    assert (result.outcome, result.due_at) == (Outcome.ON_TIME, vn(2025, 3, 11, 17, 30))


# -- bad input --------------------------------------------------------------------------------
def test_statutory_time_is_checked() -> None:
    with pytest.raises(ValueError, match="whole number"):
        Statutory(1.5, "days")
    with pytest.raises(ValueError, match="hours must be > 0"):
        Statutory(0, "hours")
    with pytest.raises(ValueError, match="'days' or 'hours'"):
        Statutory(1, "weeks")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        Statutory(float("nan"), "days")


def test_facts_are_checked() -> None:
    received = vn(2025, 3, 7, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        DossierFacts(datetime(2025, 3, 7, 9), days(1), None, (), 0)
    with pytest.raises(ValueError, match="ordered by time"):
        dossier(received, days(1), (4, vn(2025, 3, 7, 8)))
    with pytest.raises(ValueError, match="unknown dossier state"):
        dossier(received, days(1), (11, vn(2025, 3, 7, 10)))
    with pytest.raises(ValueError, match="supplement_requests"):
        dossier(received, days(1), supplements=-1)
    facts = dossier(received, days(1))
    with pytest.raises(ValueError, match="as_of"):
        classify(CAL, facts, as_of=datetime(2025, 4, 1))
    with pytest.raises(ValueError, match="due_soon_days"):
        classify(CAL, facts, as_of=vn(2025, 4, 1), due_soon_days=-1)
    with pytest.raises(ValueError, match="ends before"):
        due_at(CAL, received, days(1), [(vn(2025, 3, 8), vn(2025, 3, 7))])
