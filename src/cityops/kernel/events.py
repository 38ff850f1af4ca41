"""Domain events: a small in-process publish/subscribe bus.

Services publish facts (``field_report.created``) and others react without importing each
other. :class:`EventBus` is the interface; :class:`InProcessBus` runs handlers in the
publishing process after the unit of work commits. A broker-backed bus (NATS, MQTT) can
implement the same two methods later.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cityops.kernel.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any]
    occurred_at: datetime = field(default_factory=utcnow)


Handler = Callable[[DomainEvent], None]


class EventBus(Protocol):
    def subscribe(self, pattern: str, handler: Handler) -> None: ...

    def publish(self, event: DomainEvent) -> None: ...


class InProcessBus:
    """Calls every handler whose pattern (``fnmatch`` style) matches the event name.

    A failing handler is logged and does not stop the others: the event already happened.
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []
        self.failures = 0

    def subscribe(self, pattern: str, handler: Handler) -> None:
        self._handlers.append((pattern, handler))

    def publish(self, event: DomainEvent) -> None:
        for pattern, handler in list(self._handlers):
            if fnmatch.fnmatchcase(event.name, pattern):
                try:
                    handler(event)
                except Exception:
                    self.failures += 1
                    log.exception("event handler %r failed for %s", handler, event.name)
