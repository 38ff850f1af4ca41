"""Properties of the deadline engine, and the fast path agreeing with the rules exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.kernel.calendar import WorkingCalendar
from cityops.services.public_services.deadlines import (
    DossierBatch,
    DossierFacts,
    Outcome,
    StateChange,
    Statutory,
    classify,
    classify_batch,
    classify_many,
    due_at,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()
# The range covers Tết 2025 and 2026, the 2025 swap and the 2026 make-up Saturday.
START = datetime(2024, 12, 1, tzinfo=VN)
SPAN_MINUTES = 60 * 24 * 600


def in_office_hours(calendar: WorkingCalendar, instant: datetime) -> bool:
    local = instant.astimezone(calendar.tz)
    since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    return calendar.is_working_day(local.date()) and any(
        start < since_midnight <= end for start, end in calendar.periods
    )


instants = st.integers(0, SPAN_MINUTES).map(lambda m: START + timedelta(minutes=m))
statutes = st.one_of(
    st.integers(0, 40).map(lambda n: Statutory(n, "days")),
    st.sampled_from([0.25, 0.5, 1, 2, 3.5, 4, 8, 16, 24, 40]).map(lambda h: Statutory(h, "hours")),
)
pauses = st.lists(
    st.tuples(st.integers(0, SPAN_MINUTES), st.integers(0, 60 * 24 * 20)).map(
        lambda p: (START + timedelta(minutes=p[0]), START + timedelta(minutes=p[0] + p[1]))
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(received=instants, statutory=statutes, paused=pauses)
def test_deadline_is_a_working_day_and_in_office_hours(
    received: datetime, statutory: Statutory, paused: list[tuple[datetime, datetime]]
) -> None:
    due = due_at(CAL, received, statutory, paused)
    assert CAL.is_working_day(due.date())
    assert in_office_hours(CAL, due)
    assert due >= received


@settings(max_examples=300, deadline=None)
@given(received=instants, statutory=statutes, paused=pauses, extra=pauses)
def test_pausing_never_makes_a_dossier_earlier(
    received: datetime,
    statutory: Statutory,
    paused: list[tuple[datetime, datetime]],
    extra: list[tuple[datetime, datetime]],
) -> None:
    before = due_at(CAL, received, statutory, paused)
    assert due_at(CAL, received, statutory, paused + extra) >= before
    assert before >= due_at(CAL, received, statutory)


@st.composite
def dossiers(draw: st.DrawFn) -> DossierFacts:
    received = draw(instants)
    at, history = received, [StateChange(draw(st.sampled_from([1, 2])), received)]
    for _ in range(draw(st.integers(0, 6))):
        at += timedelta(minutes=draw(st.integers(0, 60 * 24 * 12)))
        history.append(StateChange(draw(st.sampled_from([4, 4, 5, 6, 8, 9, 10, 3, 7])), at))
    offset = draw(st.none() | st.integers(0, 60 * 24 * 40))
    appointment = None if offset is None else received + timedelta(minutes=offset)
    return DossierFacts(
        received, draw(statutes), appointment, tuple(history), draw(st.integers(0, 3))
    )


calendars = st.sampled_from([
    CAL,
    WorkingCalendar(
        extra_days_off={date(2025, 3, 10): "Bão"}, extra_working_days=[date(2025, 3, 15)]
    ),
    WorkingCalendar(derive_makeup_days=False),
])


@settings(max_examples=150, deadline=None)
@given(
    calendar=calendars,
    facts=st.lists(dossiers(), min_size=1, max_size=25),
    as_of=instants,
    due_soon_days=st.integers(0, 3),
)
def test_classify_many_equals_classify(
    calendar: WorkingCalendar, facts: list[DossierFacts], as_of: datetime, due_soon_days: int
) -> None:
    expected = [classify(calendar, f, as_of=as_of, due_soon_days=due_soon_days) for f in facts]
    assert classify_many(calendar, facts, as_of=as_of, due_soon_days=due_soon_days) == expected


def test_fast_path_widens_past_the_data_years() -> None:
    facts = [DossierFacts(datetime(2025, 3, 7, 9, tzinfo=VN), Statutory(2000, "days"), None,
                          (), 0)]
    as_of = datetime(2025, 4, 1, tzinfo=VN)
    (result,) = classify_many(CAL, facts, as_of=as_of)
    assert result == classify(CAL, facts[0], as_of=as_of)
    assert result.due_at.year >= 2032 and result.outcome == Outcome.IN_TERM


def test_time_zone_with_daylight_saving_falls_back_to_the_rules() -> None:
    paris = WorkingCalendar(timezone="Europe/Paris")
    received = datetime(2025, 3, 28, 16, tzinfo=ZoneInfo("Europe/Paris"))  # DST on 30 March
    facts = [DossierFacts(received, Statutory(2, "days"), None,
                          (StateChange(9, received + timedelta(days=4)),), 0)]
    as_of = datetime(2025, 5, 1, tzinfo=VN)
    assert classify_many(paris, facts, as_of=as_of) == [classify(paris, facts[0], as_of=as_of)]
    with pytest.raises(ValueError, match="UTC offset"):
        classify_batch(paris, DossierBatch.from_facts(facts), as_of=as_of)


def test_empty_input() -> None:
    assert classify_many(CAL, [], as_of=datetime(2025, 4, 1, tzinfo=VN)) == []


def _batch(**changes: np.ndarray) -> DossierBatch:
    received = datetime(2025, 3, 7, 9, tzinfo=VN)
    facts = [
        DossierFacts(received, Statutory(1, "days"), None,
                     (StateChange(2, received), StateChange(9, received + timedelta(days=1))), 0),
        DossierFacts(received, Statutory(4, "hours"), None, (StateChange(7, received),), 0),
    ]
    batch = DossierBatch.from_facts(facts)
    return DossierBatch(**{**batch.__dict__, **changes})


def test_batch_counts_and_columns() -> None:
    result = classify_batch(CAL, _batch(), as_of=datetime(2025, 4, 1, tzinfo=VN))
    counts = result.counts()
    assert counts[Outcome.EARLY] == 1 and counts[Outcome.CANCELLED] == 1 and len(result) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"statutory_amount": np.array([1.5, 4.0])}, "whole"),
        ({"statutory_amount": np.array([1.0, 0.0])}, "hours > 0"),
        ({"statutory_amount": np.array([-1.0, 4.0])}, ">= 0"),
        ({"history_states": np.array([2, 11, 7], dtype=np.int8)}, "1-10"),
        ({"supplement_requests": np.array([0, -1])}, "supplement"),
        ({"history_offsets": np.array([0, 4, 3])}, "non-decreasing"),
        ({"history_offsets": np.array([0, 1, 2])}, "from 0 to"),
        ({"appointment_us": np.array([0])}, "one value per dossier"),
        ({"history_us": np.array([10, 5, 7])}, "ordered by time"),
    ],
)
def test_bad_batches_are_refused(changes: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        classify_batch(CAL, _batch(**changes), as_of=datetime(2025, 4, 1, tzinfo=VN))
