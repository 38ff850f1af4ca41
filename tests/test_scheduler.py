"""Scheduler: due-ness, error recording, the cross-process lock, lease takeover, the thread.

Every test runs on a SQLite file and, when ``CITYOPS_DATABASE_URL`` names PostgreSQL, on
PostgreSQL too (each test in its own throwaway schema).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cityops.kernel.db import Base, Database
from cityops.kernel.registry import JobSpec
from cityops.kernel.scheduler import JobState, Scheduler

PG_ENV = "CITYOPS_DATABASE_URL"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
WAIT = 10.0  # upper bound for every Event wait, so a bug fails the test instead of hanging


class FakeClock:
    """A clock the test moves by hand, so intervals and leases need no sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Ctx:
    """Stands in for AppContext: the scheduler only uses ``.db`` and ``.clock``."""

    db: Database
    clock: Callable[[], datetime]


class Concurrency:
    """Counts how many runs of a job are inside it at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = 0
        self.max = 0
        self.total = 0

    def __enter__(self) -> None:
        with self._lock:
            self.current += 1
            self.total += 1
            self.max = max(self.max, self.current)

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self.current -= 1


def _postgres_url(base: str, schema: str) -> str:
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 is the test extra
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cityops.db'}"
        admin = None
    else:
        base = os.environ.get(PG_ENV, "")
        base = base if base.startswith("postgresql") else ""
        if not base:
            pytest.skip(f"{PG_ENV} does not name PostgreSQL; .ci/run sets it for this variant")
        schema = f"cityops_sched_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_postgres_url(base, "public"))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _postgres_url(base, schema)
    setup = Database(url)
    # Only our table: other engineers' models are not this test's concern.
    Base.metadata.create_all(setup.engine, tables=[JobState.__table__])
    setup.dispose()
    try:
        yield url
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture
def new_db(db_url: str) -> Iterator[Callable[[], Database]]:
    """Each call is a separate Database on the same store, as a separate process would hold."""
    made: list[Database] = []

    def make() -> Database:
        db = Database(db_url)
        with db.engine.connect():
            pass  # open the pooled connection now, not inside a racing thread
        made.append(db)
        return db

    yield make
    for db in made:
        db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _scheduler(new_db: Callable[[], Database], clock: FakeClock, *jobs: JobSpec,
               lease_seconds: float = 600) -> Scheduler:
    return Scheduler(Ctx(new_db(), clock), jobs, lease_seconds=lease_seconds)


def _state(sched: Scheduler, name: str) -> dict[str, Any]:
    return next(s for s in sched.status() if s["name"] == name)


def test_due_job_runs_and_waits_for_its_interval(new_db: Any, clock: FakeClock) -> None:
    calls: list[datetime] = []
    sched = _scheduler(new_db, clock, JobSpec("tick", 60, lambda ctx: calls.append(ctx.clock())))

    assert sched.run_due() == ["tick"]
    assert sched.run_due() == []
    clock.advance(59)
    assert sched.run_due() == []
    clock.advance(1)
    assert sched.run_due() == ["tick"]
    assert calls == [T0, T0 + timedelta(seconds=60)]

    state = _state(sched, "tick")
    assert state["run_count"] == 2
    assert state["last_status"] == "ok"
    assert state["next_run_at"] == T0 + timedelta(seconds=120)
    assert state["locked_by"] is None and not state["running"]


def test_forced_run_ignores_the_interval(new_db: Any, clock: FakeClock) -> None:
    sched = _scheduler(new_db, clock, JobSpec("tick", 60, lambda ctx: None))
    assert sched.run_job("tick") is True
    assert sched.run_job("tick") is False
    assert sched.run_job("tick", force=True) is True
    with pytest.raises(KeyError):
        sched.run_job("nope")


def test_failing_job_is_recorded_and_others_still_run(new_db: Any, clock: FakeClock) -> None:
    ran: list[str] = []

    def bad(_ctx: Any) -> None:
        ran.append("bad")
        raise ValueError("sensor feed unreachable")

    sched = _scheduler(new_db, clock, JobSpec("a_bad", 300, bad),
                       JobSpec("b_good", 300, lambda _ctx: ran.append("good")))
    assert sched.run_due() == ["a_bad", "b_good"]
    assert ran == ["bad", "good"]

    bad_state, good_state = sched.status()
    assert bad_state["last_status"] == "error"
    assert bad_state["last_error"] == "ValueError: sensor feed unreachable"
    assert bad_state["locked_by"] is None  # the lock is released even on failure
    assert bad_state["next_run_at"] == T0 + timedelta(seconds=300)
    assert good_state["last_status"] == "ok" and good_state["last_error"] == ""

    # A later success clears the old error.
    clock.advance(300)
    ran.clear()
    sched.jobs["a_bad"] = JobSpec("a_bad", 300, lambda _ctx: None)
    assert sched.run_due() == ["a_bad", "b_good"]
    assert _state(sched, "a_bad")["last_error"] == ""


def test_second_process_does_not_run_a_held_job(new_db: Any, clock: FakeClock) -> None:
    entered, release = threading.Event(), threading.Event()
    concurrency = Concurrency()

    def blocker(_ctx: Any) -> None:
        with concurrency:
            entered.set()
            assert release.wait(WAIT)

    first = _scheduler(new_db, clock, JobSpec("sync", 60, blocker))
    second = _scheduler(new_db, clock, JobSpec("sync", 60, blocker))
    holder = threading.Thread(target=first.run_job, args=("sync",))
    holder.start()
    try:
        assert entered.wait(WAIT)
        assert second.run_due() == []
        assert second.run_job("sync", force=True) is False  # force skips due-ness, not the lock
        assert _state(second, "sync")["running"] is True
    finally:
        release.set()
        holder.join(WAIT)
    assert concurrency.max == 1 and concurrency.total == 1
    assert _state(second, "sync")["run_count"] == 1


def test_racing_processes_run_a_due_job_once(new_db: Any, clock: FakeClock) -> None:
    racers = 4
    entered, release = threading.Event(), threading.Event()
    concurrency = Concurrency()

    def blocker(_ctx: Any) -> None:
        with concurrency:
            entered.set()
            assert release.wait(WAIT)

    schedulers = [_scheduler(new_db, clock, JobSpec("sync", 60, blocker)) for _ in range(racers)]
    barrier = threading.Barrier(racers)
    results: dict[int, list[str]] = {}
    results_lock = threading.Lock()
    losers_done = threading.Event()

    def race(i: int) -> None:
        barrier.wait(WAIT)
        ran = schedulers[i].run_due()
        with results_lock:
            results[i] = ran
            if sum(1 for r in results.values() if not r) == racers - 1:
                losers_done.set()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    try:
        assert entered.wait(WAIT)
        # Every loser gives up while the winner is still inside the job.
        assert losers_done.wait(WAIT)
        assert concurrency.current == 1
    finally:
        release.set()
        for thread in threads:
            thread.join(WAIT)
    assert sorted(len(r) for r in results.values()) == [0] * (racers - 1) + [1]
    assert concurrency.max == 1 and concurrency.total == 1


def test_job_finished_elsewhere_after_our_read_is_not_rerun(new_db: Any,
                                                           clock: FakeClock) -> None:
    sync_runs: list[str] = []
    other = _scheduler(new_db, clock, JobSpec("b_sync", 60, lambda _ctx: sync_runs.append("o")))
    # Runs first within our tick: another process completes b_sync after our read saw it due.
    ours = _scheduler(new_db, clock,
                      JobSpec("a_first", 60, lambda _ctx: other.run_job("b_sync")),
                      JobSpec("b_sync", 60, lambda _ctx: sync_runs.append("ours")))
    assert ours.run_due() == ["a_first"]
    assert sync_runs == ["o"]
    assert _state(ours, "b_sync")["run_count"] == 1


def test_expired_lease_is_taken_over(new_db: Any, clock: FakeClock) -> None:
    sched = _scheduler(new_db, clock, JobSpec("sync", 60, lambda _ctx: None), lease_seconds=600)
    # A holder that crashed mid-run: its lock stays until the lease runs out.
    with sched.db.sessions() as session:
        session.add(JobState(name="sync", locked_by="deadhost:1:abc", run_count=0,
                             locked_until=T0 + timedelta(seconds=600), last_started_at=T0))
        session.commit()

    assert sched.run_due() == []
    assert sched.run_job("sync", force=True) is False
    clock.advance(600)
    assert sched.run_due() == []  # "until" is exclusive: the lease still holds at its end
    clock.advance(1)
    assert sched.run_due() == ["sync"]
    state = _state(sched, "sync")
    assert state["locked_by"] is None
    assert state["last_status"] == "ok" and state["run_count"] == 1


def test_overrun_holder_does_not_clobber_the_new_holder(new_db: Any, clock: FakeClock) -> None:
    inner: list[bool] = []
    late = _scheduler(new_db, clock, JobSpec("sync", 60, lambda _ctx: None), lease_seconds=60)
    fresh = _scheduler(new_db, clock, JobSpec("sync", 60, lambda _ctx: None), lease_seconds=60)

    def overrun(_ctx: Any) -> None:
        clock.advance(61)  # ran past its lease, so another process may take over
        inner.append(fresh.run_job("sync", force=True))
        raise RuntimeError("late failure")

    late.jobs["sync"] = JobSpec("sync", 60, overrun)
    assert late.run_job("sync") is True
    assert inner == [True]
    state = _state(fresh, "sync")
    assert state["last_status"] == "ok"  # the late holder's release matched no row
    assert state["run_count"] == 1 and state["locked_by"] is None


def test_concurrent_row_insert_is_tolerated(new_db: Any, clock: FakeClock,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = _scheduler(new_db, clock, JobSpec("sync", 60, lambda _ctx: None))
    second = _scheduler(new_db, clock, JobSpec("sync", 60, lambda _ctx: None))
    assert first.run_due() == ["sync"]
    # Make the second one miss the row on read, as if the first inserted it just after.
    with monkeypatch.context() as patch:
        patch.setattr(Session, "get", lambda *_a, **_k: None)
        second._ensure_row("sync")
    assert second.run_due() == []  # the row survived and still says "not due"
    assert _state(second, "sync")["run_count"] == 1


def test_thread_runs_due_jobs_until_stopped(new_db: Any, clock: FakeClock) -> None:
    ticks, daily = [], []
    enough = threading.Event()

    def tick(_ctx: Any) -> None:
        ticks.append(1)
        if len(ticks) >= 5:
            enough.set()

    sched = _scheduler(new_db, clock, JobSpec("every_tick", 0, tick),
                       JobSpec("daily", 86400, lambda _ctx: daily.append(1)))
    sched.start(tick_seconds=0.01)
    try:
        with pytest.raises(RuntimeError):
            sched.start()
        assert enough.wait(WAIT)
    finally:
        sched.stop(timeout=WAIT)
    assert not sched.running
    assert daily == [1]  # many ticks, but the clock never reached its next slot


def test_stop_is_prompt_between_long_ticks(new_db: Any, clock: FakeClock) -> None:
    ran = threading.Event()
    sched = _scheduler(new_db, clock, JobSpec("once", 3600, lambda _ctx: ran.set()))
    sched.start(tick_seconds=3600)
    assert ran.wait(WAIT)
    began = time.monotonic()
    sched.stop(timeout=WAIT)
    assert not sched.running
    assert time.monotonic() - began < 2


def test_duplicate_job_names_are_rejected(new_db: Any, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="sync"):
        _scheduler(new_db, clock, JobSpec("sync", 60, lambda _ctx: None),
                   JobSpec("sync", 30, lambda _ctx: None))


def test_status_lists_jobs_that_never_ran(new_db: Any, clock: FakeClock) -> None:
    sched = _scheduler(new_db, clock, JobSpec("b", 60, lambda _ctx: None),
                       JobSpec("a", 30, lambda _ctx: None))
    status = sched.status()
    assert [s["name"] for s in status] == ["a", "b"]
    assert status[0] == {
        "name": "a", "every_seconds": 30, "running": False, "locked_by": None,
        "locked_until": None, "last_started_at": None, "last_finished_at": None,
        "next_run_at": None, "last_status": None, "last_error": "", "run_count": 0,
    }
