"""asyncio syslog receivers (UDP and TCP) feeding one bounded queue, with health counters.

Receiving only copies bytes into the queue; normalising happens when the consumer takes an
item, so a burst costs no CPU before it is known whether the queue has room for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from .records import IngestedEvent, Quarantined, normalise
from .syslog import Rfc6587Decoder

Result = IngestedEvent | Quarantined


@dataclass
class IngestCounters:
    received: int = 0  # messages (datagrams or TCP frames) taken off the wire
    parsed: int = 0
    quarantined: int = 0
    dropped: int = 0  # queue full
    oversized: int = 0  # frames over the size limit, skipped before queueing
    bytes: int = 0
    connections_refused: int = 0


class _RateMeter:
    """Messages per second over the last `window` seconds, in one-second buckets."""

    def __init__(self, window: int = 60) -> None:
        self.window = window
        self._buckets: deque[list[int]] = deque()

    def tick(self, now: float) -> None:
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([second, 1])
        while self._buckets and self._buckets[0][0] <= second - self.window:
            self._buckets.popleft()

    def rate(self, now: float) -> float:
        recent = sum(n for s, n in self._buckets if s > int(now) - self.window)
        return round(recent / self.window, 2)


class SyslogReceiver:
    """UDP and/or TCP syslog on configurable ports; None disables a transport, 0 = any port."""

    def __init__(
        self,
        *,
        host: str = "0.0.0.0",
        udp_port: int | None = 514,
        tcp_port: int | None = 514,
        queue_size: int = 10_000,
        max_connections: int = 256,
        max_frame: int = 64 * 1024,
        kind: str = "syslog",
    ) -> None:
        self.host, self.udp_port, self.tcp_port = host, udp_port, tcp_port
        self.max_connections, self.max_frame, self.kind = max_connections, max_frame, kind
        self.queue: asyncio.Queue[tuple[bytes, str, datetime]] = asyncio.Queue(queue_size)
        self.counters = IngestCounters()
        self._rate = _RateMeter()
        self._started_at = 0.0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._started_at = time.monotonic()
        if self.udp_port is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.udp_port))
            self._udp = transport
            self.udp_port = transport.get_extra_info("sockname")[1]
        if self.tcp_port is not None:
            self._tcp = await asyncio.start_server(self._serve, self.host, self.tcp_port)
            self.tcp_port = self._tcp.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, close open connections; what is queued can still be consumed."""
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for writer in list(self._connections):
            writer.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()
        self._stopped.set()

    def offer(self, data: bytes, source: str) -> None:
        """Queue one message; counted as dropped when the queue is full."""
        now = time.monotonic()
        self.counters.received += 1
        self._rate.tick(now)
        try:
            self.queue.put_nowait((data, source, datetime.now(UTC)))
        except asyncio.QueueFull:
            self.counters.dropped += 1

    async def get(self) -> Result:
        """The next message, normalised (quarantined with a reason if it is bad)."""
        return self._normalise(await self.queue.get())

    def _normalise(self, item: tuple[bytes, str, datetime]) -> Result:
        data, source, received_at = item
        result = normalise(data, source=source, kind=self.kind, received_at=received_at)
        if isinstance(result, Quarantined):
            self.counters.quarantined += 1
        else:
            self.counters.parsed += 1
        return result

    async def results(self) -> AsyncIterator[Result]:
        """Yield normalised messages until stop(); what was queued by then is drained first."""
        while not self._stopped.is_set():
            getter = asyncio.ensure_future(self.queue.get())
            stopper = asyncio.ensure_future(self._stopped.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()  # a get() cancelled while waiting has taken nothing
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
            if getter.done() and not getter.cancelled():
                yield self._normalise(getter.result())
        while not self.queue.empty():
            yield self._normalise(self.queue.get_nowait())

    async def consume(self, handler: Callable[[Result], Awaitable[None] | None]) -> None:
        """Hand every message to ``handler`` (sync or async) until stopped and drained."""
        async for result in self.results():
            outcome = handler(result)
            if asyncio.iscoroutine(outcome):
                await outcome

    def snapshot(self) -> dict[str, Any]:
        """Ingest health: counters, queue depth, open connections, recent messages per second."""
        now = time.monotonic()
        return {
            **asdict(self.counters),
            "queue_depth": self.queue.qsize(),
            "queue_size": self.queue.maxsize,
            "connections": len(self._connections),
            "eps": self._rate.rate(now),
            "uptime_s": round(now - self._started_at, 1) if self._started_at else 0.0,
            "udp_port": self.udp_port if self._udp is not None else None,
            "tcp_port": self.tcp_port if self._tcp is not None else None,
        }

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= self.max_connections:
            self.counters.connections_refused += 1
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._connections.add(writer)
        decoder = Rfc6587Decoder(self.max_frame)
        try:
            while chunk := await reader.read(65536):
                self.counters.bytes += len(chunk)
                skipped = decoder.oversized
                frames = decoder.feed(chunk)
                self.counters.oversized += decoder.oversized - skipped
                for frame in frames:
                    self.offer(frame, "syslog-tcp")
            for frame in decoder.flush():
                self.offer(frame, "syslog-tcp")
        except (ConnectionError, asyncio.CancelledError):
            pass  # the peer went away or we are stopping: nothing to hand on
        finally:
            self._connections.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: SyslogReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.receiver.counters.bytes += len(data)
        if len(data) > self.receiver.max_frame:
            self.receiver.counters.oversized += 1
            return
        self.receiver.offer(data, "syslog-udp")
