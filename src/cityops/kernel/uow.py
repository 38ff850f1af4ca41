"""Unit of work: one transaction, its audit context, and the events it releases on commit."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from cityops.kernel.audit import AuditContext, set_audit_context
from cityops.kernel.db import IMMEDIATE, Database
from cityops.kernel.events import DomainEvent, EventBus
from cityops.kernel.permissions import SYSTEM, Principal


class UnitOfWork:
    """``with UnitOfWork(db, bus, principal) as uow: ...; uow.commit()``.

    Leaving the block without ``commit()`` rolls back. Events added with :meth:`emit`
    are published only after a successful commit, so subscribers never see a change
    that did not happen.
    """

    def __init__(self, db: Database, bus: EventBus | None = None,
                 principal: Principal | None = None, client_addr: str = "",
                 info: dict[str, object] | None = None, write: bool = True) -> None:
        self._db = db
        self._write = write
        self._info = info or {}
        self._bus = bus
        self.principal = principal or SYSTEM
        self._client_addr = client_addr
        self._events: list[DomainEvent] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        if self._write and self._db.engine.dialect.name == "sqlite":
            # The transaction starts (BEGIN IMMEDIATE) at the first statement, not here, so
            # that work done before it in other sessions (an API key's last use) can commit.
            engine = self._db.engine.execution_options(**{IMMEDIATE: True})
            self.session = self._db.sessions(bind=engine)
        else:
            self.session = self._db.sessions()
        self.session.info.update(self._info)
        set_audit_context(self.session, AuditContext(
            actor=self.principal.label,
            actor_user_id=self.principal.user_id,
            client_addr=self._client_addr,
        ))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() rolls back whatever was not committed without expiring loaded objects, so
        # an error page can still show who is signed in.
        self.session.close()

    def emit(self, name: str, **payload: object) -> None:
        self._events.append(DomainEvent(name, dict(payload)))

    def commit(self) -> None:
        self.session.commit()
        events, self._events = self._events, []
        if self._bus is not None:
            for event in events:
                self._bus.publish(event)
