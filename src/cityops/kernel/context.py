"""The application context: what a request handler, a job or a CLI command works with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cityops.kernel.auth import TokenSigner
from cityops.kernel.config import Settings
from cityops.kernel.db import Database, utcnow
from cityops.kernel.events import EventBus, InProcessBus
from cityops.kernel.permissions import Principal
from cityops.kernel.registry import ServiceRegistry
from cityops.kernel.uow import UnitOfWork


@dataclass
class AppContext:
    settings: Settings
    db: Database
    registry: ServiceRegistry
    bus: EventBus = field(default_factory=InProcessBus)
    # Injected so that SLA, escalation and scheduler tests can move time without sleeping.
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        self.tokens = TokenSigner(self.settings.secret_key,
                                  self.settings.token_ttl_minutes * 60)

    def uow(self, principal: Principal | None = None, client_addr: str = "",
            write: bool = True) -> UnitOfWork:
        # base_url lets engines build absolute links (e-mails, webhooks) inside a transaction.
        return UnitOfWork(self.db, self.bus, principal, client_addr,
                          info={"base_url": self.settings.base_url}, write=write)
