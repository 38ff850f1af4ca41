"""A working calendar flattened into numpy arrays: the "working-time coordinate".

W(t) is the office time elapsed from the first day of the covered range to instant t:
``rank(local day) * day_length + office time already spent that day``. It is flat outside
office hours and on non-working days, and ``W(b) - W(a)`` equals the kernel's
``working_time_between(a, b)``. Adding office time is then integer addition, and going back
to an instant (``instant_at``) is the earliest instant whose W reaches the target, which is
what the kernel's ``add_working_hours`` returns. Every lookup is O(1) per value.

Instants are int64 microseconds since the Unix epoch (UTC). Only time zones with one UTC
offset over the covered range are supported (Asia/Ho_Chi_Minh has had +07:00 since 1975).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from cityops.kernel.calendar import WorkingCalendar

US_PER_DAY = 86_400_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NO_TIME = np.iinfo(np.int64).min  # "no instant" in an int64 column
_ONE_US = timedelta(microseconds=1)


class UnsupportedCalendar(ValueError):
    """The calendar cannot be flattened (its time zone changes offset in the range)."""


class RangeTooShort(LookupError):
    """A computed deadline falls beyond the covered years; the caller widens the range."""


def to_us(value: datetime) -> int:
    return (value - EPOCH) // _ONE_US


def from_us(value: int, tz: object) -> datetime:
    return (EPOCH + timedelta(microseconds=int(value))).astimezone(tz)  # type: ignore[arg-type]


def _us(delta: timedelta) -> int:
    return delta // _ONE_US


@dataclass(frozen=True)
class CalendarArrays:
    first_year: int
    last_year: int
    first_day: int  # days since the epoch of the first covered local day
    is_working: np.ndarray  # bool per covered day
    rank: np.ndarray  # int64 per covered day: index of the first working day on or after it
    working_days: np.ndarray  # int64 days since the epoch of each working day, ascending
    period_starts: np.ndarray  # int64 µs after midnight
    period_lengths: np.ndarray  # int64 µs
    office_before: np.ndarray  # int64 office µs in the periods before each period
    office_through: np.ndarray  # int64 office µs up to the end of each period
    day_us: int  # office µs in a working day
    offset_us: int  # the time zone's fixed UTC offset

    @classmethod
    def build(cls, calendar: WorkingCalendar, first_year: int, last_year: int) -> CalendarArrays:
        first, last = date(first_year, 1, 1), date(last_year, 12, 31)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        offsets = {
            datetime.combine(d, time(0), tzinfo=calendar.tz).utcoffset() for d in days
        } | {datetime.combine(last + timedelta(days=1), time(0), tzinfo=calendar.tz).utcoffset()}
        if len(offsets) != 1 or None in offsets:
            raise UnsupportedCalendar("the calendar's time zone changes UTC offset")
        (offset,) = offsets
        is_working = np.array([calendar.is_working_day(d) for d in days], dtype=bool)
        rank = np.concatenate(([0], np.cumsum(is_working)[:-1])).astype(np.int64)
        first_day = first.toordinal() - EPOCH_ORDINAL
        lengths = np.array([_us(e - s) for s, e in calendar.periods], dtype=np.int64)
        through = np.cumsum(lengths)
        return cls(
            first_year=first_year,
            last_year=last_year,
            first_day=first_day,
            is_working=is_working,
            rank=rank,
            working_days=np.flatnonzero(is_working).astype(np.int64) + first_day,
            period_starts=np.array([_us(s) for s, _ in calendar.periods], dtype=np.int64),
            period_lengths=lengths,
            office_before=through - lengths,
            office_through=through,
            day_us=_us(calendar.day_length),
            offset_us=_us(offset),  # type: ignore[arg-type]
        )

    def local_day(self, us: np.ndarray) -> np.ndarray:
        """Local calendar day (days since the epoch) of each instant."""
        return (us + self.offset_us) // US_PER_DAY

    def _index(self, day: np.ndarray) -> np.ndarray:
        index = day - self.first_day
        if index.size and (index.min() < 0 or index.max() >= self.is_working.size):
            raise RangeTooShort("an instant falls outside the covered years")
        return index

    def day_rank(self, us: np.ndarray) -> np.ndarray:
        """Index of the first working day on or after each instant's local day."""
        return self.rank[self._index(self.local_day(us))]

    def working_time(self, us: np.ndarray) -> np.ndarray:
        """W(t) in µs for each instant."""
        local = us + self.offset_us
        day = local // US_PER_DAY
        index = self._index(day)
        time_of_day = local - day * US_PER_DAY
        spent = np.zeros_like(us)
        for start, length in zip(self.period_starts, self.period_lengths, strict=True):
            spent += np.clip(time_of_day - start, 0, length)
        spent *= self.is_working[index]
        return self.rank[index] * self.day_us + spent

    def instant_at(self, target: np.ndarray) -> np.ndarray:
        """The earliest instant whose W reaches ``target`` (each target > 0)."""
        day_index = (target - 1) // self.day_us
        if target.size and day_index.max() >= self.working_days.size:
            raise RangeTooShort("a deadline falls after the covered years")
        rest = target - day_index * self.day_us  # in (0, day_us]
        period = np.searchsorted(self.office_through, rest, side="left")
        time_of_day = self.period_starts[period] + rest - self.office_before[period]
        return self.working_days[day_index] * US_PER_DAY + time_of_day - self.offset_us


# Flattening a calendar costs milliseconds; keep it while the calendar object lives.
_CACHE: weakref.WeakKeyDictionary[WorkingCalendar, CalendarArrays] = (
    weakref.WeakKeyDictionary()
)


def calendar_arrays(calendar: WorkingCalendar, first_year: int, last_year: int) -> CalendarArrays:
    """Arrays covering at least ``first_year..last_year``, reused when already built."""
    cached = _CACHE.get(calendar)
    if cached and cached.first_year <= first_year and cached.last_year >= last_year:
        return cached
    if cached:
        first_year, last_year = min(first_year, cached.first_year), max(last_year, cached.last_year)
    arrays = CalendarArrays.build(calendar, first_year, last_year)
    _CACHE[calendar] = arrays
    return arrays
