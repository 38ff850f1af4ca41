"""Test doubles for the alert center's channels: a real SMTP sink and a webhook receiver.

Both listen on 127.0.0.1 and a free port, so tests exercise the real senders end to end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from cityops.kernel.auth import User
from cityops.kernel.context import AppContext


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


class _MailHandler:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted"


class SmtpSink:
    """``with SmtpSink() as sink:`` a local SMTP server; ``sink.messages`` holds what came."""

    def __init__(self) -> None:
        self.handler = _MailHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.handler.messages

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.controller.stop()


@dataclass
class ReceivedHook:
    body: bytes
    headers: dict[str, str]
    verified: bool

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class _HookState:
    secret: str
    # Status codes to answer, in order; when used up, ``default_status``.
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    received: list[ReceivedHook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(state.secret.encode(), body, hashlib.sha256).hexdigest()
        verified = hmac.compare_digest(expected, self.headers.get("X-CityOps-Signature", ""))
        with state.lock:
            state.received.append(ReceivedHook(body, dict(self.headers.items()), verified))
            status = state.script.pop(0) if state.script else state.default_status
        if not verified:
            status = 401  # what a real receiver does with a bad signature
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


class _HookServer(ThreadingHTTPServer):
    state: _HookState


class WebhookReceiver:
    """``with WebhookReceiver("secret", script=[500, 500]) as hook:`` on ``hook.url``."""

    def __init__(self, secret: str, *, script: list[int] | None = None,
                 default_status: int = 200) -> None:
        self.server = _HookServer(("127.0.0.1", 0), _HookHandler)
        self.server.state = _HookState(secret, list(script or []), default_status)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def received(self) -> list[ReceivedHook]:
        return self.server.state.received

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@dataclass
class FakeEmail:
    """An e-mail transport that records instead of sending (for counting tests)."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def send(self, *, to: str, subject: str, body: str, delivery_id: int) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append({"to": to, "subject": subject, "body": body, "id": delivery_id})


def uid(ctx: AppContext, username: str) -> int:
    """The id of a demo user."""
    with ctx.db.session() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def set_email(ctx: AppContext, username: str, address: str) -> None:
    with ctx.db.session() as session:
        session.scalars(select(User).where(User.username == username)).one().email = address
        session.commit()
