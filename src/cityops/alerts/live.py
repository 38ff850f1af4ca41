"""The live alert stream: ``GET /alerts/stream`` as Server-Sent Events.

Changes are found by polling the database (so a change made by any server process reaches
every client), and the in-process event bus only wakes the pollers early so that a change
made here shows up at once instead of after the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from sqlalchemy import func, or_, select
from starlette.concurrency import run_in_threadpool

from cityops.alerts.models import Alert
from cityops.alerts.presenters import Presenter
from cityops.alerts.queries import AlertFilter, alert_query
from cityops.kernel.auth import User, principal_for_user
from cityops.kernel.context import AppContext
from cityops.kernel.events import DomainEvent
from cityops.kernel.permissions import Principal
from cityops.web import i18n

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
RECHECK_USER_SECONDS = 60.0
RETRY_MS = 3000
# A transaction stamps updated_at when it starts but becomes visible when it commits, so a
# change can appear "in the past" of one already sent; look back this far to catch it.
LOOKBACK = timedelta(seconds=5)
# A reconnecting client is caught up on at most this much history.
RESUME_WINDOW = timedelta(minutes=15)
BATCH = 200


class AlertHub:
    """Wakes this process's open streams when an ``alert.*`` event is published.

    Bus handlers run in whichever thread committed (usually a worker thread), so each stream
    registers its event loop and is woken with ``call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def add(self, loop: asyncio.AbstractEventLoop, flag: asyncio.Event) -> None:
        with self._lock:
            self._waiters.add((loop, flag))

    def discard(self, loop: asyncio.AbstractEventLoop, flag: asyncio.Event) -> None:
        with self._lock:
            self._waiters.discard((loop, flag))

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._waiters)

    def wake(self, _event: DomainEvent | None = None) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, flag in waiters:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that loop has closed; its stream is gone
                self.discard(loop, flag)


_HUB_LOCK = threading.Lock()


def hub_for(app: Any) -> AlertHub:
    """The app's hub, subscribed to the bus once however many clients connect."""
    with _HUB_LOCK:
        hub = getattr(app.state, "alert_hub", None)
        if hub is None:
            hub = AlertHub()
            app.state.ctx.bus.subscribe("alert.*", hub.wake)
            app.state.alert_hub = hub
    return hub


@dataclass
class Cursor:
    """What this client has been sent: ids up to ``last_id``, changes up to ``last_seen``."""

    last_id: int
    last_seen: datetime
    start_id: int
    sent: dict[int, datetime] = field(default_factory=dict)

    def token(self) -> str:
        return f"{self.last_id}:{int(self.last_seen.timestamp() * 1_000_000)}"

    @staticmethod
    def parse(value: str | None) -> tuple[int, datetime] | None:
        try:
            last_id, micros = (value or "").split(":")
            return int(last_id), datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
        except (ValueError, OverflowError, OSError):
            return None


@dataclass
class StreamState:
    principal: Principal
    token_version: int
    lang: str
    cursor: Cursor
    recheck_at: float = 0.0


def _authenticate(request: Request, ctx: AppContext) -> tuple[Principal, int] | None:
    """The browser session's user (the stream is opened by EventSource, which sends cookies)."""
    uid = request.session.get("uid")
    if uid is None:
        return None
    with ctx.db.session() as session:
        user = session.get(User, uid)
        if user is None or not user.is_active or user.token_version != request.session.get("v"):
            return None
        return principal_for_user(session, user), user.token_version


def _visible_changes(ctx: AppContext, principal: Principal, cursor: Cursor) -> Any:
    stmt = alert_query(principal, AlertFilter()).order_by(None)
    stmt = stmt.where(or_(Alert.id > cursor.last_id,
                          Alert.updated_at > cursor.last_seen - LOOKBACK))
    return stmt.order_by(Alert.updated_at, Alert.id).limit(BATCH + len(cursor.sent))


def start_cursor(ctx: AppContext, principal: Principal, last_event_id: str | None) -> Cursor:
    with ctx.db.session() as session:
        max_id, max_seen = session.execute(
            select(func.max(Alert.id), func.max(Alert.updated_at))).one()
    # Rows stamped in the future (clock skew, imported data) must not push the cursor past
    # the changes that are about to happen now.
    now = ctx.clock()
    max_id, max_seen = max_id or 0, min(max_seen or now, now)
    resume = Cursor.parse(last_event_id)
    if resume is not None:
        last_id, last_seen = resume
        return Cursor(min(last_id, max_id), max(min(last_seen, now), max_seen - RESUME_WINDOW),
                      max_id)
    cursor = Cursor(max_id, max_seen, max_id)
    # Whatever changed just before the client connected is already on its page.
    with ctx.db.session() as session:
        for alert in session.scalars(_visible_changes(ctx, principal, cursor)):
            cursor.sent[alert.id] = alert.updated_at
    return cursor


def alert_payload(alert: Alert, p: Presenter, html: str, created: bool) -> dict[str, Any]:
    return {"id": alert.id, "title": p.title(alert), "severity": alert.severity,
            "severity_label": p.severity(alert.severity), "status": alert.status,
            "status_label": p.state(alert.status), "color": p.color(alert.severity),
            "lat": alert.lat, "lon": alert.lon, "url": f"/alerts/{alert.id}",
            "created": created, "html": html}


def _user_still_valid(ctx: AppContext, state: StreamState) -> bool:
    with ctx.db.session() as session:
        user = session.get(User, state.principal.user_id)
        return user is not None and user.is_active and \
            user.token_version == state.token_version


def poll(ctx: AppContext, templates: Any, state: StreamState, now: float) -> list[str] | None:
    """SSE frames for the changes since the cursor; None when the user lost access."""
    if now >= state.recheck_at:
        if not _user_still_valid(ctx, state):
            return None
        state.recheck_at = now + RECHECK_USER_SECONDS
    i18n.current_language.set(state.lang)  # this runs in a worker thread's context copy
    cursor = state.cursor
    clock = ctx.clock()
    p = Presenter(state.lang, clock, ctx.registry)
    item = templates.env.get_template("alerts/_live_item.html")
    frames = []
    with ctx.db.session() as session:
        for alert in session.scalars(_visible_changes(ctx, state.principal, cursor)):
            if cursor.sent.get(alert.id) == alert.updated_at:
                continue
            cursor.sent[alert.id] = alert.updated_at
            cursor.last_id = max(cursor.last_id, alert.id)
            cursor.last_seen = max(cursor.last_seen, min(alert.updated_at, clock))
            html = item.render(alert=alert, p=p, lang=state.lang)
            data = json.dumps(alert_payload(alert, p, html, alert.id > cursor.start_id),
                              ensure_ascii=False)
            frames.append(f"id: {cursor.token()}\nevent: alert\ndata: {data}\n\n")
    floor = cursor.last_seen - LOOKBACK
    cursor.sent = {k: v for k, v in cursor.sent.items() if v >= floor}
    return frames


async def _frames(request: Request, ctx: AppContext, state: StreamState,
                  hub: AlertHub) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    hub.add(loop, wake)
    templates = request.app.state.templates
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        last_sent = loop.time()
        while not await request.is_disconnected():
            wake.clear()  # before polling, so a change committed meanwhile is not lost
            frames = await run_in_threadpool(poll, ctx, templates, state, loop.time())
            if frames is None:
                yield "event: end\ndata: {}\n\n"
                return
            for frame in frames:
                yield frame
                last_sent = loop.time()
            if loop.time() - last_sent >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"  # keeps proxies from closing an idle connection
                last_sent = loop.time()
            with contextlib.suppress(TimeoutError):  # a timeout is just the next poll
                await asyncio.wait_for(wake.wait(), POLL_SECONDS)
    finally:
        hub.discard(loop, wake)


@router.get("/alerts/stream")
async def alert_stream(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    found = await run_in_threadpool(_authenticate, request, ctx)
    if found is None:
        return PlainTextResponse("authentication required", status_code=401)
    principal, version = found
    if not principal.can("alerts.read"):
        return PlainTextResponse("permission 'alerts.read' required", status_code=403)
    last_event_id = request.headers.get("Last-Event-ID") or \
        request.query_params.get("last_event_id")
    cursor = await run_in_threadpool(start_cursor, ctx, principal, last_event_id)
    state = StreamState(principal, version, i18n.current_language.get(), cursor)
    return StreamingResponse(
        _frames(request, ctx, state, hub_for(request.app)), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
