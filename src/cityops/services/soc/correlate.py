"""Correlation rules (Sigma v2) over a stream: `import` and `receive` with
``--correlations PATH``, and the stored custom correlations (``correlation_runtime.py``) that
the HTTP ingest and the receiver feed.

Correlations keep state in memory between events (windows per group), so each process has its
own windows. Their base rules only feed the correlations (they raise nothing on their own); the
rules stored in the database still run as usual. Request threads share one correlator, so its
methods take a lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cityops.services.soc.correlations import correlation_hit
from cityops.services.soc.detections import Hit
from cityops.services.soc.engine import Engine
from cityops.services.soc.engine.correlation import CorrelationEngine, CorrelationMatch
from cityops.services.soc.engine.correlation_loader import RuleSet, load_ruleset
from cityops.services.soc.prepare import Prepared, event_time, host_of

EventHost = tuple[str | None, str | None]


class CorrelationError(ValueError):
    """The correlation rules cannot be used; the message lists why."""


class Correlator:
    def __init__(self, paths: list[Path] | None = None, *,
                 ruleset: RuleSet | None = None) -> None:
        """From rule files (all must load), or from an already loaded ``ruleset``."""
        if ruleset is None:
            ruleset = load_ruleset(list(paths or ()))
            if ruleset.failed:
                raise CorrelationError("; ".join(f"{where}: {why}"
                                                 for where, why in ruleset.failed))
        if not ruleset.correlations:
            raise CorrelationError(f"no correlation rule in {', '.join(map(str, paths or ()))}")
        self._lock = threading.Lock()
        self.base = Engine(ruleset.base)
        self.engine = CorrelationEngine(ruleset.correlations)
        self.authors = {spec.rule_id: spec.author or "" for spec in ruleset.correlations}
        self._pending: list[tuple[CorrelationMatch, EventHost]] = []

    @property
    def rule_count(self) -> int:
        return len(self.engine.specs)

    def observe(self, event: Prepared, index: int) -> None:
        matched = self.base.match_fields(event.sigma, event.keys)
        when = event_time(event).timestamp()
        with self._lock:
            fired = self.engine.observe(matched, event.sigma, index, when)
            if fired:
                host = host_of(event)
                self._pending += [(match, host) for match in fired]

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def finish(self) -> None:
        """End of the stream: judge the windows still open."""
        with self._lock:
            self._pending += [(match, (None, None)) for match in self.engine.flush()]

    def take_hits(self, source: str) -> list[Hit]:
        with self._lock:
            pending, self._pending = self._pending, []
        return [correlation_hit(match, source=source, author=self.authors.get(match.rule_id, ""),
                                event_host=host) for match, host in pending]
