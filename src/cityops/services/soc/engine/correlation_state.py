"""Per-rule window state: groups of hits, how each correlation type counts them, expiry, caps.

A *hit* is one referenced rule matching one event (or one chained correlation match). Hits are
kept per group, sorted by event time. Two ways a window is judged:

* gt/gte conditions (and extended temporal conditions) can only become true as hits arrive, so
  they are judged on arrival over the window that ends at the group's newest hit; when one fires,
  the group's hits are consumed (the next match needs a fresh set, as Wazuh's frequency rules do).
* lt/lte/eq/neq can only be judged once nothing more can enter the window: the window starts at
  the group's first hit and is judged when event time has passed its end (or at ``flush``).
"""

from __future__ import annotations

import heapq
import itertools
from bisect import insort
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .correlation_rules import CorrelationSpec

GroupKey = tuple[Any, ...]


@dataclass(slots=True, order=True)
class Hit:
    time: float
    seq: int  # arrival number of the event: hits of one event share it
    ref_pos: int  # position of the referenced rule in the correlation's list
    ref: str = field(compare=False)
    event_index: int | None = field(compare=False)
    value: Any = field(compare=False, default=None)


@dataclass(slots=True)
class Group:
    key: GroupKey
    values: dict[str, Any]
    hits: list[Hit] = field(default_factory=list)


@dataclass(slots=True)
class Verdict:
    """A window that satisfied its rule: what the engine turns into a CorrelationMatch."""

    group: Group
    hits: list[Hit]
    measure: int
    completed_by: int | None


@dataclass
class RuleState:
    spec: CorrelationSpec
    max_groups: int
    max_hits: int
    groups: OrderedDict[GroupKey, Group] = field(default_factory=OrderedDict)
    evictions: int = 0
    expired: int = 0
    late: int = 0
    hits_dropped: int = 0
    _deadlines: list[tuple[float, int, Group]] = field(default_factory=list)
    _tiebreak: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]

    @property
    def hit_count(self) -> int:
        return sum(len(g.hits) for g in self.groups.values())

    @property
    def scheduled(self) -> int:
        """Deadline entries held, stale ones included (bounded by _compact)."""
        return len(self._deadlines)

    # -- counting ------------------------------------------------------------------------------
    def measure(self, hits: list[Hit]) -> int:
        """The number the condition is compared with, for this correlation type."""
        kind = self.spec.kind
        if kind == "event_count":
            return len({h.seq for h in hits})
        if kind == "value_count":
            return len({h.value for h in hits if h.value is not None})
        if kind == "temporal":
            return len({h.ref for h in hits})
        return self._ordered_prefix(hits)

    def _ordered_prefix(self, hits: list[Hit]) -> int:
        """Longest r1..rk of the referenced rules seen in that order (hits are time-sorted)."""
        reached = 0
        for h in hits:
            if h.ref_pos == reached:
                reached += 1
        return reached

    def holds(self, hits: list[Hit]) -> tuple[bool, int]:
        if self.spec.expression is not None:
            seen = frozenset(h.ref for h in hits)
            return self.spec.expression(seen), len(seen)
        n = self.measure(hits)
        return self.spec.threshold.holds(n), n

    # -- arrival -------------------------------------------------------------------------------
    def add(
        self, hit: Hit, key: GroupKey, values: dict[str, Any], watermark: float
    ) -> Verdict | None:
        span = self.spec.timespan
        if hit.time < watermark - span:
            self.late += 1  # older than any window still open: it can change nothing
            return None
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= self.max_groups:
                self.groups.popitem(last=False)  # least recently updated group goes first
                self.evictions += 1
            group = self.groups[key] = Group(key, values, [hit])
            self._schedule(group)
        else:
            self.groups.move_to_end(key)
            insort(group.hits, hit)
        if len(group.hits) > self.max_hits:
            del group.hits[0]
            self.hits_dropped += 1
        if not self.spec.fires_on_arrival:
            return None
        newest = group.hits[-1].time
        if group.hits[0].time < newest - span:  # slide: drop hits before the window
            group.hits = [h for h in group.hits if h.time >= newest - span]
        ok, n = self.holds(group.hits)
        if not ok:
            return None
        del self.groups[key]  # consumed; its deadline entry goes stale
        return Verdict(group, group.hits, n, hit.event_index)

    # -- time passing ----------------------------------------------------------------------------
    def _deadline(self, group: Group) -> float:
        if self.spec.fires_on_arrival:  # nothing can count once the newest hit is out of reach
            return group.hits[-1].time + self.spec.timespan if group.hits else float("-inf")
        return group.hits[0].time + self.spec.timespan if group.hits else float("-inf")

    def _schedule(self, group: Group) -> None:
        heapq.heappush(self._deadlines, (self._deadline(group), next(self._tiebreak), group))
        if len(self._deadlines) > 4 * self.max_groups + 64:
            self._compact()

    def _compact(self) -> None:
        """Drop entries of groups that fired or were evicted; keeps the heap bounded."""
        live = {id(g) for g in self.groups.values()}
        self._deadlines = [e for e in self._deadlines if id(e[2]) in live]
        heapq.heapify(self._deadlines)

    def expire(self, watermark: float, final: bool = False) -> list[Verdict]:
        """Free groups whose window has passed; judge closed lt/lte/eq/neq windows."""
        out: list[Verdict] = []
        heap = self._deadlines
        while heap and (final or heap[0][0] < watermark):
            _, _, group = heapq.heappop(heap)
            if self.groups.get(group.key) is not group:
                continue  # fired or evicted earlier
            deadline = self._deadline(group)
            if not final and deadline >= watermark:
                heapq.heappush(heap, (deadline, next(self._tiebreak), group))
                continue
            if self.spec.fires_on_arrival:
                del self.groups[group.key]
                self.expired += 1
                continue
            out += self._close_window(group, watermark, final)
        return out

    def _close_window(self, group: Group, watermark: float, final: bool) -> list[Verdict]:
        out: list[Verdict] = []
        while group.hits and (final or group.hits[0].time + self.spec.timespan < watermark):
            end = group.hits[0].time + self.spec.timespan
            window = [h for h in group.hits if h.time <= end]
            group.hits = group.hits[len(window):]
            ok, n = self.holds(window)
            if ok:
                out.append(Verdict(group, window, n, window[-1].event_index))
        if group.hits:
            heapq.heappush(self._deadlines, (self._deadline(group), next(self._tiebreak), group))
        else:
            del self.groups[group.key]
            self.expired += 1
        return out
