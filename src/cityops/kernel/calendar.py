"""Vietnamese working-day calendar: public holidays, make-up days and office hours.

Rules (numpy ``busday_offset(roll="forward")`` / ``busday_count`` semantics):

* A day is a working day when it is Mon–Fri and not a public holiday, unless overridden.
  Precedence: explicit extra day off > explicit make-up working day > make-up day derived
  from ``holidays`` > public holiday > weekend.
* ``add_working_days(d, n)``: a start on a non-working day is deemed to be on the next
  working day (receipt on Saturday counts from Monday); the result is then ``n`` working
  days later, so ``n == 0`` only rolls forward. A Friday receipt with n=1 is due Monday.
* ``working_days_between(a, b)`` counts working days in ``[a, b)``, negative when ``b < a``,
  hence ``working_days_between(d, add_working_days(d, n)) == n`` for every ``d``.
* Office time: a working day holds the configured periods (default 07:30–11:30 and
  13:30–17:30, i.e. 8 hours); hour arithmetic walks only those periods, in local time.

``holidays`` lists swap days off ("Ngày nghỉ (thay cho ngày 26/04/2025)") but not the
Saturday worked in exchange; we parse that date out of the name so every past and future
swap published in the package becomes a working day without a hard-coded list.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import CheckConstraint, Date, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityops.kernel.db import Base, UTCDateTime, utcnow

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17, 30)),
)
EXCEPTION_KINDS: tuple[str, ...] = ("day_off", "working_day")

# (pattern, order of the captured groups): the Vietnamese name is what we request, the
# English one is what the package returns under an English locale; accept both.
SUBSTITUTED_FROM_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"thay cho ngày (\d{1,2})/(\d{1,2})/(\d{4})"), "dmy"),
    (re.compile(r"substituted from (\d{1,2})/(\d{1,2})/(\d{4})"), "mdy"),
)
_WEEKDAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def weekday_name(d: date) -> str:
    return _WEEKDAY_NAMES[d.weekday()]


class CalendarException(Base):
    """An operator-declared deviation from the national calendar for this province."""

    __tablename__ = "calendar_exceptions"
    __table_args__ = (CheckConstraint("kind IN ('day_off', 'working_day')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@lru_cache(maxsize=512)
def public_holidays(year: int) -> Mapping[date, str]:
    """Vietnamese public holidays of ``year`` with Vietnamese names; shared, do not mutate."""
    return dict(holidays.VN(years=year, language="vi").items())


def _substituted_dates(name: str) -> list[date]:
    found = []
    for pattern, order in SUBSTITUTED_FROM_PATTERNS:
        for a, b, y in pattern.findall(name):
            day, month = (int(a), int(b)) if order == "dmy" else (int(b), int(a))
            found.append(date(int(y), month, day))
    return found


@lru_cache(maxsize=512)
def derived_makeup_days(year: int) -> Mapping[date, date]:
    """Make-up working days in ``year`` mapped to the swap day off they pay for.

    Swaps can cross New Year (2018-12-31 off for 2019-01-05), so neighbours are scanned.
    """
    result: dict[date, date] = {}
    for y in (year - 1, year, year + 1):
        for off_day, name in public_holidays(y).items():
            for worked in _substituted_dates(name):
                if worked.year == year:
                    result[worked] = off_day
    return result


def _as_dates(days: Mapping[date, str] | Iterable[date]) -> dict[date, str]:
    return dict(days) if isinstance(days, Mapping) else dict.fromkeys(days, "")


def _td(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


class WorkingCalendar:
    """Pure, cached working-day arithmetic; see the module docstring for the rules."""

    def __init__(
        self,
        extra_days_off: Mapping[date, str] | Iterable[date] = (),
        extra_working_days: Mapping[date, str] | Iterable[date] = (),
        office_hours: Sequence[tuple[time, time]] = DEFAULT_OFFICE_HOURS,
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
        derive_makeup_days: bool = True,
    ) -> None:
        self.extra_days_off = _as_dates(extra_days_off)
        self.extra_working_days = _as_dates(extra_working_days)
        clash = sorted(self.extra_days_off.keys() & self.extra_working_days.keys())
        if clash:
            raise ValueError(f"days both off and working: {', '.join(map(str, clash))}")
        self.tz: tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self.derive_makeup_days = derive_makeup_days
        periods = sorted((_td(s), _td(e)) for s, e in office_hours)
        if not periods:
            raise ValueError("office_hours needs at least one period")
        for (_s1, e1), (s2, _e2) in pairwise(periods):
            if e1 > s2:
                raise ValueError("office hour periods overlap")
        if any(s >= e for s, e in periods):
            raise ValueError("each office hour period must end after it starts")
        self.periods: list[tuple[timedelta, timedelta]] = periods
        self.day_length: timedelta = sum((e - s for s, e in periods), timedelta())
        # Per year: sorted ordinals of its working days; bisect makes every query O(log n).
        self._years: dict[int, list[int]] = {}

    # -- days -------------------------------------------------------------------------------
    def _working(self, year: int) -> list[int]:
        ords = self._years.get(year)
        if ords is None:
            ords = [
                o
                for o in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1)
                if self._compute_is_working(date.fromordinal(o))
            ]
            self._years[year] = ords
        return ords

    def _compute_is_working(self, d: date) -> bool:
        if d in self.extra_days_off:
            return False
        if d in self.extra_working_days:
            return True
        if self.derive_makeup_days and d in derived_makeup_days(d.year):
            return True
        return d.weekday() < 5 and d not in public_holidays(d.year)

    def _local_date(self, d: date) -> date:
        return self._local(d).date() if isinstance(d, datetime) else d

    def _local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError("naive datetime given; pass a timezone-aware instant")
        return dt.astimezone(self.tz)

    def is_working_day(self, d: date) -> bool:
        d = self._local_date(d)
        ords = self._working(d.year)
        i = bisect_left(ords, d.toordinal())
        return i < len(ords) and ords[i] == d.toordinal()

    def _rank(self, d: date) -> tuple[int, int]:
        """(year, index of the first working day >= d within that year's list)."""
        return d.year, bisect_left(self._working(d.year), d.toordinal())

    def _add_days(self, d: date, n: int) -> date:
        if n < 0:
            raise ValueError("n must be >= 0")
        year, idx = self._rank(d)
        idx += n  # rolling forward is idx itself: the first working day >= d
        while idx >= len(ords := self._working(year)):
            idx -= len(ords)
            year += 1
        return date.fromordinal(ords[idx])

    def add_working_days(self, start: date | datetime, n: int) -> date | datetime:
        """``n`` working days after ``start``; a datetime keeps its local time of day.

        Only the local date of a datetime matters: 20:00 on a Friday is still a Friday.
        Datetimes are returned in the calendar's timezone.
        """
        if isinstance(start, datetime):
            local = self._local(start)
            due = self._add_days(local.date(), n)
            return datetime.combine(due, local.time(), tzinfo=self.tz)
        return self._add_days(start, n)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``[a, b)``; ``-working_days_between(b, a)`` when ``b < a``."""
        a, b = self._local_date(a), self._local_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        (ya, ia), (yb, ib) = self._rank(a), self._rank(b)
        return sum(len(self._working(y)) for y in range(ya, yb)) + ib - ia

    # -- hours ------------------------------------------------------------------------------
    def _elapsed(self, local: datetime) -> timedelta:
        """Office time already spent on ``local``'s day at that instant (0 off working days)."""
        if not self.is_working_day(local.date()):
            return timedelta()
        tod = _td(local.time())
        return sum((min(max(tod - s, timedelta()), e - s) for s, e in self.periods), timedelta())

    def _time_at(self, spent: timedelta) -> time:
        """Wall time at which ``spent`` (0 < spent <= day_length) of office time is reached.

        Ending exactly at a period's end yields that end (11:30), not the next start (13:30).
        """
        cumulative = timedelta()
        for s, e in self.periods:
            if spent <= cumulative + (e - s):
                return (datetime.min + s + (spent - cumulative)).time()
            cumulative += e - s
        raise AssertionError("spent exceeds the day length")  # guarded by the caller

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The instant when ``hours`` of office time after ``start`` have elapsed.

        Time before the first period or on a non-working day is skipped; zero returns
        ``start`` unchanged. Whole days are jumped arithmetically.
        """
        amount = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
        if amount < timedelta():
            raise ValueError("hours must be >= 0")
        local = self._local(start)
        if not amount:
            return local
        offset = self._elapsed(local) + amount
        whole_days, rest = divmod(offset, self.day_length)
        if not rest:  # finish at the end of a day, not at the start of the next one
            whole_days, rest = whole_days - 1, self.day_length
        due = self._add_days(local.date(), whole_days)
        return datetime.combine(due, self._time_at(rest), tzinfo=self.tz)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Office time between two instants; negative when ``b < a``."""
        la, lb = self._local(a), self._local(b)
        days = self.working_days_between(la.date(), lb.date())
        return days * self.day_length + self._elapsed(lb) - self._elapsed(la)

    # -- listings for people ----------------------------------------------------------------
    def non_working_weekdays(self, year: int) -> list[tuple[date, str]]:
        """Mon–Fri days of ``year`` that are not worked, with the reason."""
        working = set(self._working(year))
        out = []
        for o in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1):
            d = date.fromordinal(o)
            if d.weekday() < 5 and o not in working:
                note = self.extra_days_off.get(d) or public_holidays(year).get(d)
                out.append((d, note or "Ngày nghỉ bổ sung"))
        return out

    def working_weekend_days(self, year: int) -> list[tuple[date, str]]:
        """Saturdays and Sundays of ``year`` that are worked, with the reason."""
        out = []
        for o in self._working(year):
            d = date.fromordinal(o)
            if d.weekday() < 5:
                continue
            reason = self.extra_working_days.get(d, "")
            makeup_for = derived_makeup_days(year).get(d) if self.derive_makeup_days else None
            if not reason and makeup_for:
                reason = f"Làm bù cho ngày nghỉ {makeup_for:%d/%m/%Y}"
            out.append((d, reason or "Ngày làm việc bù"))
        return out


# -- persistence --------------------------------------------------------------------------
def load_calendar(
    session: Session,
    office_hours: Sequence[tuple[time, time]] = DEFAULT_OFFICE_HOURS,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
) -> WorkingCalendar:
    """A calendar that includes the exceptions stored in this database."""
    days_off: dict[date, str] = {}
    working: dict[date, str] = {}
    for row in session.scalars(select(CalendarException)):
        (days_off if row.kind == "day_off" else working)[row.day] = row.note
    return WorkingCalendar(days_off, working, office_hours=office_hours, timezone=timezone)


def add_exception(session: Session, day: date, kind: str, note: str = "") -> CalendarException:
    """Declare an exception after checking it changes something; flushes, caller commits.

    ``working_day`` must fall on a weekend or public holiday. ``day_off`` must fall on a
    day that would otherwise be worked: a weekday that is not a holiday, or a derived
    make-up Saturday (so a cancelled swap can be undone).
    """
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError("day must be a date")
    if kind not in EXCEPTION_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EXCEPTION_KINDS)}, not {kind!r}")
    holiday = public_holidays(day.year).get(day)
    weekend = day.weekday() >= 5
    if kind == "working_day" and not (weekend or holiday):
        raise ValueError(
            f"{day} is an ordinary weekday; a working_day must be a weekend or holiday"
        )
    if kind == "day_off":
        if holiday:
            raise ValueError(f"{day} is already a public holiday ({holiday})")
        if weekend and day not in derived_makeup_days(day.year):
            raise ValueError(f"{day} is a {day:%A}; a day_off must be a weekday")
    if session.scalar(select(CalendarException.id).where(CalendarException.day == day)):
        raise ValueError(f"an exception already exists for {day}")
    row = CalendarException(day=day, kind=kind, note=note.strip(), created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def remove_exception(session: Session, day: date) -> None:
    """Delete the exception declared for ``day``; flushes, caller commits."""
    row = session.scalar(select(CalendarException).where(CalendarException.day == day))
    if row is None:
        raise ValueError(f"no calendar exception for {day}")
    session.delete(row)
    session.flush()
