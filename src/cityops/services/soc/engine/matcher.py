"""Logsource-indexed rule set: an event is only tested against rules that can apply to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .compiler import CompiledRule
from .event import Event
from .gate import GateIndex
from .pipelines import PIPELINES, LogsourceKey, Pipeline


class Engine:
    def __init__(self, rules: Iterable[CompiledRule], pipeline: str | Pipeline = "windows") -> None:
        self.pipeline: Pipeline = PIPELINES[pipeline] if isinstance(pipeline, str) else pipeline
        self.rules = list(rules)
        self._index: dict[LogsourceKey, list[CompiledRule]] = {}
        for r in self.rules:
            self._index.setdefault(r.logsource_key, []).append(r)
        # Same key list recurs for every event of a kind; cache the merged candidate list.
        self._cache: dict[tuple[Any, ...], GateIndex] = {}
        # Only fields some rule reads are lower-cased per event; None when a rule is opaque.
        self._wanted: frozenset[str] | None = None
        if all(r.fields is not None for r in self.rules):
            self._wanted = frozenset().union(*(r.fields for r in self.rules))  # type: ignore[arg-type]

    def index_for(self, keys: list[LogsourceKey]) -> GateIndex:
        ck = tuple(keys)
        got = self._cache.get(ck)
        if got is None:
            seen: dict[int, CompiledRule] = {}
            for k in keys:
                for r in self._index.get(k, ()):
                    seen.setdefault(id(r), r)
            got = self._cache[ck] = GateIndex(list(seen.values()))
        return got

    def match(self, raw_event: dict[str, Any]) -> list[CompiledRule]:
        fields, keys = self.pipeline(raw_event)
        return self.match_fields(fields, keys)

    def match_fields(self, fields: dict[str, Any], keys: list[LogsourceKey]) -> list[CompiledRule]:
        """Match an event that ingest has already normalised to Sigma field names."""
        ev = Event(fields, self._wanted)
        return [r for r in self.index_for(keys).candidates(ev) if r.predicate(ev)]
