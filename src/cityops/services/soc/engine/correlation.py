"""Sigma v2 correlations over a stream of base-rule matches.

Feed :meth:`CorrelationEngine.observe` with the rules an event matched, the event's fields and
its index; it returns the correlations that the event completed. Time comes from the event
(``time_fields``) or, for events without a timestamp, from the clock.

Out-of-order events: the engine keeps a watermark, the newest event time seen. An event older
than ``watermark - timespan`` can no longer fall in an open window of that rule and is dropped
(counted as ``late`` in :meth:`stats`); a younger late event is inserted in time order and counts
for the window that ends at its group's newest event. ``temporal_ordered`` compares event times,
not arrival order.

Memory: groups whose newest hit is more than a timespan behind the watermark are freed as time
advances (:meth:`advance` lets a live stream move time without events); each rule tracks at most
``max_groups`` groups, evicting the least recently updated one (counted as ``evictions``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .correlation_rules import CorrelationSpec
from .correlation_state import GroupKey, Hit, RuleState, Verdict
from .correlation_time import DEFAULT_TIME_FIELDS, Clock, SystemClock, event_time


@dataclass(frozen=True, slots=True)
class CorrelationMatch:
    rule_id: str
    title: str
    level: str | None
    tags: list[str]
    group: dict[str, Any]  # group-by name -> value (None when the events lacked the field)
    first_seen: float  # event times, seconds since the epoch
    last_seen: float
    count: int  # what the condition compared: events, distinct values or distinct rules
    event_indexes: tuple[int, ...]  # the events in the window (chained: their completions)
    event_index_of_completion: int | None
    source: str = field(default="", compare=False)


def _lookup(fields: Mapping[str, Any], name: str) -> Any:
    if name in fields:
        return fields[name]
    low = name.lower()  # Sigma field names are case-insensitive
    for k, v in fields.items():
        if k.lower() == low:
            return v
    return None


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


class CorrelationEngine:
    def __init__(
        self,
        specs: Iterable[CorrelationSpec],
        clock: Clock | None = None,
        time_fields: Sequence[str] = DEFAULT_TIME_FIELDS,
        max_groups_per_rule: int = 10_000,
        max_hits_per_group: int = 10_000,
    ) -> None:
        if max_groups_per_rule < 1 or max_hits_per_group < 1:
            raise ValueError("max_groups_per_rule and max_hits_per_group must be at least 1")
        self.clock: Clock = clock or SystemClock()
        self.time_fields = tuple(time_fields)
        self._states = [RuleState(s, max_groups_per_rule, max_hits_per_group) for s in specs]
        self._listeners: dict[str, list[tuple[RuleState, int]]] = {}
        for state in self._states:
            for pos, ref in enumerate(state.spec.refs):
                self._listeners.setdefault(ref, []).append((state, pos))
        self.watermark = float("-inf")
        self._seq = 0

    @property
    def specs(self) -> list[CorrelationSpec]:
        return [s.spec for s in self._states]

    def referenced(self, rule_id: str) -> bool:
        return rule_id in self._listeners

    def observe(
        self,
        matched: Iterable[str | Any],
        fields: Mapping[str, Any],
        event_index: int | None = None,
        timestamp: float | None = None,
    ) -> list[CorrelationMatch]:
        """One event: the rules it matched (ids or objects with ``rule_id``) and its fields."""
        when = timestamp if timestamp is not None else event_time(
            fields, self.time_fields, self.clock
        )[0]
        out = self._advance_to(when)
        self._seq += 1
        for item in matched:
            rule_id = item if isinstance(item, str) else item.rule_id
            out += self._feed(rule_id, fields, when, self._seq, event_index)
        return out

    def advance(self, now: float | None = None) -> list[CorrelationMatch]:
        """Move time without an event (live streams): frees groups and closes windows."""
        return self._advance_to(self.clock.now() if now is None else now)

    def flush(self) -> list[CorrelationMatch]:
        """End of the stream: judge every open lt/lte/eq/neq window and free all state."""
        out: list[CorrelationMatch] = []
        for state in self._states:
            for verdict in state.expire(self.watermark, final=True):
                out += self._emit(state, verdict)
        return out

    def stats(self) -> dict[str, Any]:
        per_rule = {
            s.spec.rule_id: {"groups": len(s.groups), "evictions": s.evictions,
                             "expired": s.expired, "late": s.late, "hits_dropped": s.hits_dropped,
                             "hits": s.hit_count, "scheduled": s.scheduled}
            for s in self._states
        }
        totals = {k: sum(r[k] for r in per_rule.values())
                  for k in ("groups", "evictions", "expired", "late", "hits_dropped", "hits")}
        return {"correlations": len(self._states), **totals, "rules": per_rule}

    # -- internals -------------------------------------------------------------------------------
    def _advance_to(self, when: float) -> list[CorrelationMatch]:
        if when <= self.watermark:
            return []
        self.watermark = when
        out: list[CorrelationMatch] = []
        for state in self._states:
            for verdict in state.expire(when):
                out += self._emit(state, verdict)
        return out

    def _feed(
        self, rule_id: str, fields: Mapping[str, Any], when: float, seq: int, index: int | None
    ) -> list[CorrelationMatch]:
        out: list[CorrelationMatch] = []
        for state, pos in self._listeners.get(rule_id, ()):
            spec = state.spec
            values = {g: _hashable(_lookup(fields, spec.field_of(rule_id, g)))
                      for g in spec.group_by}
            key: GroupKey = tuple(values.values())
            value = None
            if spec.value_field:
                value = _hashable(_lookup(fields, spec.field_of(rule_id, spec.value_field)))
            verdict = state.add(Hit(when, seq, pos, rule_id, index, value), key, values,
                                self.watermark)
            if verdict is not None:
                out += self._emit(state, verdict)
        return out

    def _emit(self, state: RuleState, verdict: Verdict) -> list[CorrelationMatch]:
        spec = state.spec
        hits = verdict.hits
        indexes = sorted({h.event_index for h in hits if h.event_index is not None})
        match = CorrelationMatch(
            rule_id=spec.rule_id, title=spec.title, level=spec.level, tags=list(spec.tags),
            group=dict(verdict.group.values), first_seen=hits[0].time, last_seen=hits[-1].time,
            count=verdict.measure, event_indexes=tuple(indexes),
            event_index_of_completion=verdict.completed_by, source=spec.source,
        )
        # Chains: a correlation's match is a hit for the correlations that refer to it; its
        # fields are its group, so the outer rule groups by (aliases of) the inner group-by.
        self._seq += 1
        chained = self._feed(spec.rule_id, match.group, match.last_seen, self._seq,
                             match.event_index_of_completion)
        return [match, *chained]
