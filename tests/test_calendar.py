"""Working-day calendar: hand-checked Vietnamese cases plus arithmetic properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cityops.cli import calendar_cmd
from cityops.kernel.calendar import (
    CalendarException,
    WorkingCalendar,
    add_exception,
    derived_makeup_days,
    load_calendar,
    remove_exception,
)
from cityops.kernel.db import Base, Database

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN)


# -- explicit cases, expected values counted by hand on a 2025/2026 wall calendar ---------


def test_tet_2026_dossier_received_friday_before_tet() -> None:
    # 16–20 Feb are Tết, 21–22 the weekend: Mon 23 (1), Tue 24 (2), Wed 25 (3).
    assert CAL.add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert CAL.add_working_days(vn(2026, 2, 13, 15), 3) == vn(2026, 2, 25, 15)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 25)) == 3
    assert CAL.working_days_between(date(2026, 2, 25), date(2026, 2, 13)) == -3
    assert [CAL.is_working_day(date(2026, 2, d)) for d in range(16, 21)] == [False] * 5


def test_2025_reunification_swap() -> None:
    assert CAL.is_working_day(date(2025, 4, 26))  # Saturday worked in exchange
    assert not CAL.is_working_day(date(2025, 5, 2))  # the Friday given off
    assert CAL.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)
    # Tue 29 Apr, then 30/4, 1/5, 2/5 off and the weekend: next is Mon 5 May.
    assert CAL.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    assert CAL.working_days_between(date(2025, 4, 25), date(2025, 5, 5)) == 4  # 25,26,28,29
    assert derived_makeup_days(2025) == {date(2025, 4, 26): date(2025, 5, 2)}
    plain = WorkingCalendar(derive_makeup_days=False)
    assert not plain.is_working_day(date(2025, 4, 26))


def test_makeup_day_across_new_year() -> None:
    # 31 Dec 2018 was given off for Saturday 5 Jan 2019; the swap is listed under 2018.
    assert CAL.is_working_day(date(2019, 1, 5))
    assert not CAL.is_working_day(date(2018, 12, 31))
    assert CAL.working_weekend_days(2019)[0][0] == date(2019, 1, 5)


def test_national_day_2025() -> None:
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    assert CAL.add_working_days(date(2025, 8, 29), 1) == date(2025, 9, 3)


def test_vietnam_culture_day_from_2026() -> None:
    assert not CAL.is_working_day(date(2026, 11, 24))
    assert CAL.is_working_day(date(2025, 11, 24))  # only a holiday from 2026
    assert CAL.add_working_days(date(2026, 11, 23), 1) == date(2026, 11, 25)
    assert (date(2026, 11, 24), "Ngày Văn hóa Việt Nam") in CAL.non_working_weekdays(2026)


def test_year_listings_2026() -> None:
    off = [d for d, _ in CAL.non_working_weekdays(2026)]
    assert off == [
        date(2026, 1, 1),
        *(date(2026, 2, d) for d in range(16, 21)),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2026, 11, 24),
    ]
    assert CAL.working_weekend_days(2026) == [
        (date(2026, 8, 22), "Làm bù cho ngày nghỉ 31/08/2026")
    ]


def test_extra_day_off_and_extra_working_saturday() -> None:
    cal = WorkingCalendar(
        extra_days_off={date(2026, 3, 6): "Lễ hội cà phê Buôn Ma Thuột"},
        extra_working_days={date(2026, 3, 14)},
    )
    assert not cal.is_working_day(date(2026, 3, 6))
    assert cal.add_working_days(date(2026, 3, 5), 1) == date(2026, 3, 9)
    assert cal.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 14)
    assert CAL.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 16)
    assert (date(2026, 3, 6), "Lễ hội cà phê Buôn Ma Thuột") in cal.non_working_weekdays(2026)
    assert (date(2026, 3, 14), "Ngày làm việc bù") in cal.working_weekend_days(2026)
    with pytest.raises(ValueError, match="both off and working"):
        WorkingCalendar(extra_days_off={date(2026, 3, 7)}, extra_working_days={date(2026, 3, 7)})


def test_received_on_non_working_day_counts_from_next_working_day() -> None:
    saturday = vn(2026, 3, 7, 9)
    assert CAL.add_working_days(saturday, 0) == vn(2026, 3, 9, 9)
    assert CAL.add_working_days(saturday, 1) == vn(2026, 3, 10, 9)
    assert CAL.working_days_between(date(2026, 3, 7), date(2026, 3, 10)) == 1
    assert CAL.add_working_days(date(2026, 3, 9), 0) == date(2026, 3, 9)
    # A UTC instant is judged by its local date: 18:00 UTC Friday is Saturday in Vietnam.
    assert CAL.add_working_days(datetime(2026, 3, 6, 18, tzinfo=UTC), 1) == vn(2026, 3, 10, 1)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (vn(2026, 3, 2, 10, 30), 2, vn(2026, 3, 2, 14, 30)),  # across lunch
        (vn(2026, 3, 2, 7, 30), 4, vn(2026, 3, 2, 11, 30)),  # ends at, not after, lunch
        (vn(2026, 3, 2, 12), 1, vn(2026, 3, 2, 14, 30)),  # starts during lunch
        (vn(2026, 3, 2, 6), 8, vn(2026, 3, 2, 17, 30)),  # a full day ends that evening
        (vn(2026, 3, 6, 16, 30), 3, vn(2026, 3, 9, 9, 30)),  # across a weekend
        (vn(2026, 3, 6, 18), 0.5, vn(2026, 3, 9, 8)),  # after hours on Friday
        (vn(2026, 3, 7, 10), 1, vn(2026, 3, 9, 8, 30)),  # received on Saturday
        (vn(2026, 2, 13, 16), 4, vn(2026, 2, 23, 10)),  # across Tết
        (vn(2026, 3, 2, 8), 16, vn(2026, 3, 4, 8)),  # whole days skipped
        (vn(2026, 3, 2, 8), timedelta(minutes=90), vn(2026, 3, 2, 9, 30)),
        (datetime(2026, 3, 2, 3, 30, tzinfo=UTC), 2, vn(2026, 3, 2, 14, 30)),
    ],
)
def test_add_working_hours(start: datetime, hours: float | timedelta, due: datetime) -> None:
    assert CAL.add_working_hours(start, hours) == due
    spent = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    assert CAL.working_time_between(start, due) == spent
    assert CAL.working_time_between(due, start) == -spent


def test_working_time_between_examples() -> None:
    assert CAL.working_time_between(vn(2026, 3, 6, 17), vn(2026, 3, 9, 8)) == timedelta(hours=1)
    assert CAL.working_time_between(vn(2026, 3, 2), vn(2026, 3, 9)) == timedelta(hours=40)
    assert CAL.working_time_between(vn(2026, 3, 2, 12), vn(2026, 3, 2, 13)) == timedelta()


def test_custom_office_hours_and_timezone() -> None:
    cal = WorkingCalendar(office_hours=[(time(8), time(12))], timezone="UTC")
    assert cal.day_length == timedelta(hours=4)
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert cal.add_working_hours(start, 5) == datetime(2026, 3, 3, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="overlap"):
        WorkingCalendar(office_hours=[(time(8), time(12)), (time(11), time(13))])
    with pytest.raises(ValueError, match="end after"):
        WorkingCalendar(office_hours=[(time(12), time(8))])


def test_rejects_naive_and_negative() -> None:
    naive = datetime(2026, 3, 2, 8)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.working_time_between(naive, vn(2026, 3, 2))
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 3, 2), -1)
    with pytest.raises(ValueError):
        CAL.add_working_hours(vn(2026, 3, 2), -1)


def test_thousand_working_days_matches_day_by_day_walk() -> None:
    start, n = date(2025, 1, 2), 1000  # a Thursday, so no roll-forward is involved
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        counted += CAL.is_working_day(day)
    assert CAL.add_working_days(start, n) == day
    # New Year's Day is off, so receipt on it counts from 2 January.
    assert CAL.add_working_days(date(2025, 1, 1), n) == day


# -- properties ---------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
counts = st.integers(min_value=0, max_value=700)
instants = st.builds(
    lambda d, minute: datetime.combine(d, time(), tzinfo=VN) + timedelta(minutes=minute),
    days,
    st.integers(min_value=0, max_value=24 * 60 - 1),
)
durations = st.integers(min_value=0, max_value=60 * 8 * 400).map(lambda m: timedelta(minutes=m))


@given(days, counts)
def test_add_working_days_lands_on_working_day_and_inverts(start: date, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.is_working_day(due)
    assert due >= start
    assert CAL.working_days_between(start, due) == n


@given(days, counts, counts)
def test_add_working_days_is_monotonic(start: date, n: int, m: int) -> None:
    lo, hi = sorted((n, m))
    assert CAL.add_working_days(start, lo) <= CAL.add_working_days(start, hi)
    if lo < hi:
        assert CAL.add_working_days(start, lo) < CAL.add_working_days(start, hi)


@given(days, days)
def test_working_days_between_is_antisymmetric_and_counts(a: date, b: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    if a <= b and (b - a).days < 60:
        expected = sum(CAL.is_working_day(a + timedelta(days=i)) for i in range((b - a).days))
        assert CAL.working_days_between(a, b) == expected


@settings(max_examples=300)
@given(instants, durations)
def test_add_working_hours_round_trip(start: datetime, spent: timedelta) -> None:
    due = CAL.add_working_hours(start, spent)
    assert due >= start
    assert CAL.working_time_between(start, due) == spent
    if spent:
        local = due.astimezone(VN)
        assert CAL.is_working_day(local.date())
        assert any(
            s < local.time() <= e
            for s, e in ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 30)))
        )


@given(instants, instants)
def test_working_time_between_inverts_add(a: datetime, b: datetime) -> None:
    spent = CAL.working_time_between(a, b)
    assert spent == -CAL.working_time_between(b, a)
    if b >= a:
        reached = CAL.add_working_hours(a, spent)
        assert reached <= b
        assert CAL.working_time_between(reached, b) == timedelta()


# -- persistence and CLI ------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'calendar.db'}")
    Base.metadata.create_all(database.engine)
    return database


def test_exceptions_round_trip_through_database(db: Database) -> None:
    with db.session() as session:
        add_exception(session, date(2026, 3, 10), "day_off", " Lễ hội cà phê ")
        add_exception(session, date(2026, 3, 14), "working_day", "Làm bù")
        session.commit()
    with db.session() as session:
        cal = load_calendar(session)
        assert session.get(CalendarException, 1) is not None
    assert not cal.is_working_day(date(2026, 3, 10))
    assert cal.is_working_day(date(2026, 3, 14))
    assert (date(2026, 3, 10), "Lễ hội cà phê") in cal.non_working_weekdays(2026)
    with db.session() as session:
        remove_exception(session, date(2026, 3, 10))
        session.commit()
        assert load_calendar(session).is_working_day(date(2026, 3, 10))
        with pytest.raises(ValueError, match="no calendar exception"):
            remove_exception(session, date(2026, 3, 10))


@pytest.mark.parametrize(
    ("day", "kind", "message"),
    [
        (date(2026, 3, 10), "holiday", "kind must be one of"),
        (date(2026, 3, 10), "working_day", "ordinary weekday"),  # a Tuesday
        (date(2026, 3, 14), "day_off", "must be a weekday"),  # a Saturday
        (date(2026, 9, 2), "day_off", "already a public holiday"),
        (date(2026, 3, 14), "working_day", "already exists"),  # duplicate of the fixture row
    ],
)
def test_add_exception_validation(db: Database, day: date, kind: str, message: str) -> None:
    with db.session() as session:
        add_exception(session, date(2026, 3, 14), "working_day", "Làm bù")
        with pytest.raises(ValueError, match=message):
            add_exception(session, day, kind, "x")


def test_add_exception_accepts_holiday_worked_and_cancelled_makeup(db: Database) -> None:
    with db.session() as session:
        add_exception(session, date(2026, 9, 1), "working_day", "Trực lễ")
        add_exception(session, date(2026, 8, 22), "day_off", "Hủy làm bù")
        cal = load_calendar(session)
    assert cal.is_working_day(date(2026, 9, 1))
    assert not cal.is_working_day(date(2026, 8, 22))


def test_cli_show_uses_database_exceptions(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.session() as session:
        add_exception(session, date(2026, 3, 10), "day_off", "Lễ hội cà phê")
        add_exception(session, date(2026, 3, 14), "working_day", "Làm bù lễ hội")
        session.commit()
    monkeypatch.setattr(calendar_cmd, "open_database", lambda: db)
    result = CliRunner().invoke(calendar_cmd.app, ["show", "2026"])
    assert result.exit_code == 0, result.output
    assert "2026-11-24  Thứ Ba    Ngày Văn hóa Việt Nam" in result.output
    assert "2026-03-10  Thứ Ba    Lễ hội cà phê" in result.output
    assert "2026-03-14  Thứ Bảy   Làm bù lễ hội" in result.output
    assert "2026-08-22  Thứ Bảy   Làm bù cho ngày nghỉ 31/08/2026" in result.output


def test_cli_show_without_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Database:
        raise RuntimeError("no database configured")

    monkeypatch.setattr(calendar_cmd, "open_database", broken)
    result = CliRunner().invoke(calendar_cmd.app, ["show", "2025"])
    assert result.exit_code == 0, result.output
    assert "national calendar only" in result.output
    assert "2025-05-02  Thứ Sáu" in result.output
    assert "2025-04-26  Thứ Bảy" in result.output


@pytest.mark.parametrize("year", ["1989", "2101"])
def test_cli_rejects_out_of_range_year(year: str) -> None:
    result = CliRunner().invoke(calendar_cmd.app, ["show", year])
    assert result.exit_code != 0
    assert "between 1990 and 2100" in result.output
