"""Real UDP datagrams and TCP streams into the syslog receivers on 127.0.0.1 ephemeral ports."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from cityops.services.soc.ingest import IngestedEvent, Quarantined
from cityops.services.soc.ingest.receivers import SyslogReceiver

SSHD = b"<38>Nov 29 09:59:01 web01 sshd[1]: Failed password for root from 203.0.113.7 port 5 ssh2"
RFC5424 = b"<165>1 2026-11-29T09:59:01+07:00 fw01 kernel - - - DROP IN=eth0 SRC=198.51.100.1"


def run(test: Callable[[SyslogReceiver], Awaitable[None]], **options: int | None) -> None:
    async def main() -> None:
        receiver = SyslogReceiver(host="127.0.0.1", udp_port=options.pop("udp_port", 0),
                                  tcp_port=options.pop("tcp_port", 0), **options)  # type: ignore[arg-type]
        await receiver.start()
        try:
            await asyncio.wait_for(test(receiver), timeout=20)
        finally:
            await receiver.stop()

    asyncio.run(main())


async def until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.01)


async def take(receiver: SyslogReceiver, n: int) -> list[IngestedEvent | Quarantined]:
    return [await receiver.get() for _ in range(n)]


def test_udp_datagrams_are_parsed_quarantined_and_counted() -> None:
    async def body(receiver: SyslogReceiver) -> None:
        assert receiver.udp_port and receiver.udp_port != 514
        payloads = (SSHD, RFC5424, b"\xff\xfe not utf-8", b"<999>bad pri")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for payload in payloads:
                sock.sendto(payload, ("127.0.0.1", receiver.udp_port))
            await until(lambda: receiver.counters.received == 4)
        got = await take(receiver, 4)
        assert [type(g).__name__ for g in got] == ["IngestedEvent", "IngestedEvent",
                                                   "Quarantined", "Quarantined"]
        first = got[0]
        assert isinstance(first, IngestedEvent) and first.source == "syslog-udp"
        assert first.fields["source.ip"] == "203.0.113.7" and first.raw == SSHD.decode()
        assert got[1].fields["host.name"] == "fw01"  # type: ignore[union-attr]
        assert "UTF-8" in got[2].reason and "PRI" in got[3].reason  # type: ignore[union-attr]
        snap = receiver.snapshot()
        assert (snap["received"], snap["parsed"], snap["quarantined"], snap["dropped"]) == (
            4, 2, 2, 0)
        assert snap["bytes"] == sum(len(p) for p in payloads)
        assert snap["queue_depth"] == 0 and snap["eps"] > 0 and snap["udp_port"]

    run(body)


def test_tcp_stream_with_mixed_framing_split_across_writes() -> None:
    async def body(receiver: SyslogReceiver) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", receiver.tcp_port)
        counted = str(len(RFC5424)).encode() + b" " + RFC5424
        stream = SSHD + b"\n" + counted + b"<13>Nov 29 10:00:00 h app: last line without LF"
        for i in range(0, len(stream), 7):  # many small writes, cut anywhere
            writer.write(stream[i:i + 7])
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        got = await take(receiver, 3)
        assert all(isinstance(g, IngestedEvent) and g.source == "syslog-tcp" for g in got)
        assert [g.raw for g in got] == [SSHD.decode(), RFC5424.decode(),
                                        "<13>Nov 29 10:00:00 h app: last line without LF"]
        assert receiver.snapshot()["bytes"] == len(stream)
        await until(lambda: receiver.snapshot()["connections"] == 0)

    run(body)


def test_tcp_oversized_frame_is_skipped_and_counted() -> None:
    async def body(receiver: SyslogReceiver) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", receiver.tcp_port)
        writer.write(b"500 " + b"x" * 500 + b"<13>Nov 29 10:00:00 h a: after\n")
        await writer.drain()
        got = await receiver.get()
        assert got.raw == "<13>Nov 29 10:00:00 h a: after"
        assert receiver.counters.oversized == 1 and receiver.counters.received == 1
        writer.close()

    run(body, max_frame=100)


def test_full_queue_drops_and_counts() -> None:
    async def body(receiver: SyslogReceiver) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(5):
                sock.sendto(SSHD, ("127.0.0.1", receiver.udp_port))
            await until(lambda: receiver.counters.received == 5)
        snap = receiver.snapshot()
        assert (snap["dropped"], snap["queue_depth"], snap["queue_size"]) == (3, 2, 2)

    run(body, queue_size=2, tcp_port=None)


def test_connection_limit_refuses_extra_connections() -> None:
    async def body(receiver: SyslogReceiver) -> None:
        _, first = await asyncio.open_connection("127.0.0.1", receiver.tcp_port)
        await until(lambda: receiver.snapshot()["connections"] == 1)
        reader2, second = await asyncio.open_connection("127.0.0.1", receiver.tcp_port)
        assert await reader2.read() == b""  # closed by the receiver at once
        assert receiver.counters.connections_refused == 1
        first.write(SSHD + b"\n")
        await first.drain()
        assert (await receiver.get()).raw == SSHD.decode()
        first.close()
        second.close()

    run(body, max_connections=1, udp_port=None)


def test_consume_hands_results_on_and_stop_is_graceful() -> None:
    async def main() -> None:
        receiver = SyslogReceiver(host="127.0.0.1", udp_port=0, tcp_port=0)
        await receiver.start()
        seen: list[IngestedEvent | Quarantined] = []

        async def handler(result: IngestedEvent | Quarantined) -> None:
            seen.append(result)

        consumer = asyncio.create_task(receiver.consume(handler))
        _, writer = await asyncio.open_connection("127.0.0.1", receiver.tcp_port)
        writer.write(SSHD + b"\n" + b"garbage without header\n")
        await writer.drain()
        await asyncio.wait_for(until(lambda: len(seen) == 2), 10)
        await receiver.stop()  # closes the open connection and ends the consumer
        await asyncio.wait_for(consumer, 10)
        assert isinstance(seen[0], IngestedEvent) and isinstance(seen[1], Quarantined)
        assert receiver.snapshot()["connections"] == 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            assert sock.connect_ex(("127.0.0.1", receiver.tcp_port)) != 0  # no longer listening

    asyncio.run(main())


def test_udp_datagram_over_the_frame_limit_is_skipped_and_counted() -> None:
    async def body(receiver: SyslogReceiver) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<13>" + b"x" * 300, ("127.0.0.1", receiver.udp_port))
            sock.sendto(SSHD, ("127.0.0.1", receiver.udp_port))
            await until(lambda: receiver.counters.received == 1)
        assert receiver.counters.oversized == 1
        assert (await receiver.get()).raw == SSHD.decode()
        snap = receiver.snapshot()
        assert snap["tcp_port"] is None and snap["bytes"] == 304 + len(SSHD)

    run(body, max_frame=200, tcp_port=None)


def test_messages_queued_before_stop_are_still_handed_on() -> None:
    async def main() -> None:
        receiver = SyslogReceiver(host="127.0.0.1", udp_port=0, tcp_port=None)
        await receiver.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(3):
                sock.sendto(SSHD, ("127.0.0.1", receiver.udp_port))
        await asyncio.wait_for(until(lambda: receiver.counters.received == 3), 10)
        await receiver.stop()
        seen = [r async for r in receiver.results()]
        assert len(seen) == 3 and receiver.snapshot()["parsed"] == 3

    asyncio.run(main())
