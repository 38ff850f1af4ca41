"""`cityops soc receive`: the ingest package's syslog receivers feeding the SOC service.

Messages are stored in batches (every second or every ``batch_size`` messages) in a worker
thread, so database work never blocks the event loop that reads the sockets; drops counted by
the receiver (queue full) and the deepest the queue got (from ``snapshot()`` at each flush and
the depth seen as each message is taken) go into the per-minute counters as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable

from cityops.kernel.context import AppContext
from cityops.services.soc.correlate import Correlator
from cityops.services.soc.correlation_runtime import shared_correlator
from cityops.services.soc.ingest import IngestedEvent, Quarantined
from cityops.services.soc.ingest.receivers import SyslogReceiver
from cityops.services.soc.service import add_counts, ingest_batch
from cityops.services.soc.settings import SocSettings

SOURCE = "syslog"
FLUSH_SECONDS = 1.0


class BatchWriter:
    def __init__(self, ctx: AppContext, settings: SocSettings, receiver: SyslogReceiver,
                 correlator: Correlator | None = None) -> None:
        self.ctx, self.settings, self.receiver = ctx, settings, receiver
        self.correlator = correlator
        self.pending: list[IngestedEvent | Quarantined] = []
        self.dropped_seen = 0
        self.stored = 0
        # Deepest queue since the last flush: the consumer takes messages as fast as it can,
        # so a one-off snapshot at flush time would mostly see an empty queue.
        self.depth_max = 0

    def add(self, result: IngestedEvent | Quarantined) -> None:
        self.pending.append(result)
        # +1: the message just taken was in the queue a moment ago.
        self.depth_max = max(self.depth_max, self.receiver.queue.qsize() + 1)

    def take(self) -> tuple[list[IngestedEvent | Quarantined], int, int]:
        """Called on the event loop thread, so no message is appended while we swap."""
        batch, self.pending = self.pending, []
        dropped = self.receiver.counters.dropped - self.dropped_seen
        self.dropped_seen += dropped
        depth = max(self.depth_max, int(self.receiver.snapshot()["queue_depth"]))
        self.depth_max = 0
        return batch, dropped, depth

    def store(self, batch: list[IngestedEvent | Quarantined], dropped: int,
              depth: int = 0) -> None:
        # Windows close as newer events arrive (event time, not wall-clock time: a replayed
        # stream would otherwise find every window already closed), and at stop.
        correlated = self.correlator is not None and self.correlator.has_pending
        if not batch and not dropped and not depth and not correlated:
            return
        with self.ctx.uow() as uow:
            if batch or correlated:
                # --correlations files, else the stored correlations (shared with HTTP ingest
                # in this process, rebuilt when they change).
                correlator = self.correlator or shared_correlator(uow.session)
                ingest_batch(uow, list(enumerate(batch, start=self.stored)), source=SOURCE,
                             kind="syslog", now=self.ctx.clock(), settings=self.settings,
                             correlator=correlator)
            add_counts(uow.session, SOURCE, self.ctx.clock(), dropped=dropped,
                       queue_depth=depth, queue_size=self.receiver.queue.maxsize)
            uow.commit()
        self.stored += len(batch)


async def run_receivers(ctx: AppContext, settings: SocSettings, *, host: str,
                        udp_port: int | None, tcp_port: int | None, seconds: float | None = None,
                        announce: Callable[[str], None] = print,
                        started: asyncio.Event | None = None,
                        receiver_out: list[SyslogReceiver] | None = None,
                        correlator: Correlator | None = None) -> int:
    """Receive until ``seconds`` pass or SIGINT/SIGTERM; returns how many messages were stored.

    A port of None switches that transport off; 0 lets the system pick a free port.
    """
    receiver = SyslogReceiver(host=host, udp_port=udp_port, tcp_port=tcp_port, kind="syslog")
    await receiver.start()
    if receiver_out is not None:
        receiver_out.append(receiver)
    snap = receiver.snapshot()
    announce(f"listening on {host}: udp={snap['udp_port']} tcp={snap['tcp_port']}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    writer = BatchWriter(ctx, settings, receiver, correlator)
    consumer = asyncio.create_task(receiver.consume(writer.add))
    if started is not None:
        started.set()
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
        if (len(writer.pending) or receiver.counters.dropped > writer.dropped_seen
                or not receiver.queue.empty()):
            await asyncio.to_thread(writer.store, *writer.take())
    await receiver.stop()
    await consumer  # drains what is still queued
    if correlator is not None:
        correlator.finish()
    await asyncio.to_thread(writer.store, *writer.take())
    announce(f"stopped: {writer.stored} messages stored; {receiver.snapshot()}")
    return writer.stored
