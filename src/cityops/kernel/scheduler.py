"""Periodic jobs that never run twice at once, even across processes sharing one database.

Each job has a ``scheduler_jobs`` row. A run takes the row's lock with one conditional
UPDATE (``rowcount == 1`` means this process won), so it works the same on SQLite and
PostgreSQL without advisory locks. The lock is a lease: if the holder dies, the lock
expires after ``lease_seconds`` and another process may take the job over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, String, Text, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kernel.db import Base, Database, UTCDateTime
from cityops.kernel.registry import JobSpec

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000


class JobState(Base):
    __tablename__ = "scheduler_jobs"
    # Changes on every tick and is not a user action; auditing it would flood the chain.
    __audited__ = False

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    locked_by: Mapped[str | None] = mapped_column(String(255))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str] = mapped_column(Text, default="")
    run_count: Mapped[int] = mapped_column(Integer, default=0)


def _error_text(exc: BaseException) -> str:
    # Only the exception line: the full traceback is in the log, the row is for an admin page.
    return "".join(traceback.format_exception_only(exc)).strip()[:MAX_ERROR_CHARS]


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


class Scheduler:
    """Runs the registered jobs when due; ``ctx`` only needs ``.db`` and ``.clock``."""

    def __init__(self, ctx: Any, jobs: Iterable[JobSpec], *, lease_seconds: float = 600,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.ctx = ctx
        self.db: Database = ctx.db
        self.clock: Callable[[], datetime] = clock if clock is not None else ctx.clock
        self.lease = timedelta(seconds=lease_seconds)
        self.jobs: dict[str, JobSpec] = {}
        for job in jobs:
            if job.name in self.jobs:
                raise ValueError(f"two scheduler jobs share the name {job.name!r}")
            self.jobs[job.name] = job
        # Unique per Scheduler, not per process: two schedulers in one process must not
        # release each other's locks.
        host = socket.gethostname()[:180]
        self.owner = f"{host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._known_rows: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- database steps, each its own short transaction ------------------------------------

    def _ensure_row(self, name: str) -> None:
        if name in self._known_rows:
            return
        with self.db.sessions() as session:
            if session.get(JobState, name) is None:
                session.add(JobState(name=name, run_count=0, last_error=""))
                try:
                    session.commit()
                except IntegrityError:
                    # Another process inserted it between our read and our insert: fine.
                    session.rollback()
        self._known_rows.add(name)

    def _acquire(self, name: str, now: datetime, force: bool) -> bool:
        stmt = (
            update(JobState)
            .where(JobState.name == name,
                   or_(JobState.locked_until.is_(None), JobState.locked_until < now))
            .values(locked_by=self.owner, locked_until=now + self.lease, last_started_at=now)
            .execution_options(synchronize_session=False)
        )
        if not force:
            # Re-checked inside the UPDATE: another process may have just finished this job
            # after we read the row, and it must not run again until its next slot.
            stmt = stmt.where(or_(JobState.next_run_at.is_(None), JobState.next_run_at <= now))
        with self.db.sessions() as session:
            won = _rowcount(session.execute(stmt)) == 1
            session.commit()
        return won

    def _release(self, job: JobSpec, started: datetime, status: str, error: str) -> None:
        stmt = (
            update(JobState)
            .where(JobState.name == job.name, JobState.locked_by == self.owner)
            .values(locked_by=None, locked_until=None, last_finished_at=self.clock(),
                    last_status=status, last_error=error,
                    next_run_at=started + timedelta(seconds=job.every_seconds),
                    run_count=JobState.run_count + 1)
            .execution_options(synchronize_session=False)
        )
        with self.db.sessions() as session:
            released = _rowcount(session.execute(stmt)) == 1
            session.commit()
        if not released:
            log.warning("job %s outlived its %s lease and was taken over; its result (%s) "
                        "is not recorded", job.name, self.lease, status)

    # -- running ---------------------------------------------------------------------------

    def _run(self, name: str, force: bool) -> bool:
        job = self.jobs[name]
        self._ensure_row(name)
        started = self.clock()
        if not self._acquire(name, started, force):
            return False
        # Pessimistic default so that a KeyboardInterrupt/SystemExit still frees the lock.
        status, error = "error", "interrupted"
        try:
            job.run(self.ctx)
            status, error = "ok", ""
        except Exception as exc:
            log.exception("scheduler job %s failed", name)
            error = _error_text(exc)
        finally:
            self._release(job, started, status, error)
        return True

    def run_job(self, name: str, force: bool = False) -> bool:
        """Run one job now if it is due (or always, with ``force``) and its lock is free.

        Returns whether it ran; a job's own exception is recorded, not raised.
        """
        if name not in self.jobs:
            raise KeyError(f"unknown scheduler job {name!r}")
        return self._run(name, force)

    def run_due(self) -> list[str]:
        """Run every due job whose lock this process gets; return the names that ran."""
        now = self.clock()
        with self.db.sessions() as session:
            rows = {row.name: row for row in session.scalars(
                select(JobState).where(JobState.name.in_(list(self.jobs))))}
        ran: list[str] = []
        for name in self.jobs:
            row = rows.get(name)
            if row is not None and row.next_run_at is not None and row.next_run_at > now:
                continue
            try:
                if self._run(name, force=False):
                    ran.append(name)
            except SQLAlchemyError:
                # A database hiccup around one job must not starve the others.
                log.exception("scheduler: database error around job %s", name)
        return ran

    # -- background thread -----------------------------------------------------------------

    def start(self, tick_seconds: float = 15.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("scheduler already started")
        # A fresh Event per start: a previous thread that outlived stop()'s join timeout
        # keeps its own, already set, Event and still exits.
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(tick_seconds, self._stop),
                                         name="cityops-scheduler", daemon=True)
        self._thread.start()

    def _loop(self, tick_seconds: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_due()
            except Exception:
                # Keep ticking: the database may come back, and a dead thread is silent.
                log.exception("scheduler tick failed")
            if stop.wait(tick_seconds):
                break

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop ticking; waits up to ``timeout`` for a job in progress to finish."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- admin -----------------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """One dict per registered job, sorted by name, for the admin page."""
        now = self.clock()
        with self.db.sessions() as session:
            rows = {row.name: row for row in session.scalars(
                select(JobState).where(JobState.name.in_(list(self.jobs))))}
        result: list[dict[str, Any]] = []
        for name in sorted(self.jobs):
            row = rows.get(name)
            locked_until = row.locked_until if row else None
            result.append({
                "name": name,
                "every_seconds": self.jobs[name].every_seconds,
                "running": locked_until is not None and locked_until >= now,
                "locked_by": row.locked_by if row else None,
                "locked_until": locked_until,
                "last_started_at": row.last_started_at if row else None,
                "last_finished_at": row.last_finished_at if row else None,
                "next_run_at": row.next_run_at if row else None,
                "last_status": row.last_status if row else None,
                "last_error": row.last_error if row else "",
                "run_count": row.run_count if row else 0,
            })
        return result
