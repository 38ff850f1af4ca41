"""Notification channels: what each one says (texts, payloads) and how it is sent.

Texts are rendered when a notification is queued, so the delivery log shows exactly what
went out. Senders do network I/O only; :func:`cityops.alerts.notifications.deliver_pending`
decides when to call them and what a failure means. Tests inject their own :class:`Senders`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from types import TracebackType
from typing import Any, Protocol

import httpx

from cityops.alerts.models import Alert
from cityops.alerts.vocab import SEVERITY_LABELS, SEVERITY_RANK
from cityops.kernel.config import Settings
from cityops.kernel.db import utcnow

REASON_LABELS: dict[str, tuple[str, str]] = {
    "raised": ("Cảnh báo mới", "New alert"),
    "ticket": ("Phiếu cảnh báo", "Warning ticket"),
    "reopened": ("Cảnh báo mở lại", "Alert reopened"),
    "severity_up": ("Cảnh báo tăng mức độ", "Alert severity raised"),
    "escalated": ("Cảnh báo chuyển cấp", "Alert escalated"),
    "reminder": ("Nhắc xử lý cảnh báo", "Reminder: alert not acknowledged"),
    "assigned": ("Cảnh báo được giao cho bạn", "Alert assigned to you"),
}
# Vietnam has kept UTC+7 without daylight saving since 1975; no tz database needed.
VIETNAM_TIME = timezone(timedelta(hours=7))
SMS_LIMIT = 160  # one GSM-7 segment; SMS gateways get unaccented text (see _ascii)
ZALO_LIMIT = 500
DIGEST_LINES = 50  # lines listed in a digest e-mail; the rest are counted
MAX_DIGEST_ITEMS = 200  # items kept in a digest payload; "count" keeps the true total


class DeliveryError(Exception):
    """A send failed. ``permanent`` means retrying cannot help (bad address, HTTP 4xx)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# -- texts and payloads -----------------------------------------------------------------------

def _labels(reason: str) -> tuple[str, str]:
    return REASON_LABELS.get(reason, (reason, reason))


def _severity(severity: str) -> tuple[str, str]:
    return SEVERITY_LABELS.get(severity, (severity, severity))


def _ascii(text: str) -> str:
    """Unaccented text: many Vietnamese SMS brandname gateways accept only GSM-7."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def alert_facts(alert: Alert, base_url: str) -> dict[str, Any]:
    """The alert as the outside world sees it (webhook payloads, digest items)."""
    return {
        "id": alert.id,
        "service": alert.service,
        "title": alert.title,
        "title_en": alert.title_en or alert.title,
        "severity": alert.severity,
        "status": alert.status,
        "category": alert.category,
        "is_ticket": alert.is_ticket,
        "agency": alert.agency.code if alert.agency is not None else None,
        "area": alert.area.code if alert.area is not None else None,
        "lat": alert.lat,
        "lon": alert.lon,
        "raised_at": alert.raised_at.isoformat() if alert.raised_at else None,
        "url": f"{base_url.rstrip('/')}/alerts/{alert.id}",
        "description": _clip(alert.description or "", 1000),
        "description_en": _clip(alert.description_en or "", 1000),
    }


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M")


def in_app_text(reason: str, facts: dict[str, Any]) -> str:
    return _clip(f"{_labels(reason)[0]} · {_severity(facts['severity'])[0]}: {facts['title']}",
                 500)


def email_message(reason: str, facts: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of a single-alert e-mail, Vietnamese then English."""
    reason_vi, reason_en = _labels(reason)
    sev_vi, sev_en = _severity(facts["severity"])
    subject = _clip(f"[CityOps] {sev_vi} / {sev_en}: {facts['title']}", 200)
    where = " · ".join(part for part in (facts["agency"], facts["area"]) if part)
    when = _local(facts["raised_at"])
    lines = [
        f"{reason_vi} — mức độ {sev_vi}", "", facts["title"],
        *([facts["description"]] if facts["description"] else []), "",
        f"Lĩnh vực: {facts['service']}" + (f" · Nơi nhận: {where}" if where else ""),
        f"Thời điểm: {when} (giờ Việt Nam)", f"Xem và xử lý: {facts['url']}", "",
        "— English —", "",
        f"{reason_en} — severity {sev_en}", "", facts["title_en"],
        *([facts["description_en"]] if facts["description_en"] else []), "",
        f"Service: {facts['service']}" + (f" · Addressed to: {where}" if where else ""),
        f"Raised: {when} (Vietnam time)", f"View and act: {facts['url']}", "",
        "--",
        "Thư tự động từ Trung tâm Điều hành thông minh (CityOps). Thay đổi cài đặt thông báo "
        "trong trang cá nhân. / Automatic message from CityOps; change your notification "
        "settings on your profile page.",
    ]
    return subject, "\n".join(lines) + "\n"


def digest_item(reason: str, facts: dict[str, Any]) -> dict[str, Any]:
    return {"reason": reason, "alert": facts}


def _digest_lines(items: list[dict[str, Any]], count: int, english: bool) -> list[str]:
    lines = []
    for item in items[:DIGEST_LINES]:
        facts = item["alert"]
        label = _severity(facts["severity"])[1 if english else 0]
        title = facts["title_en"] if english else facts["title"]
        lines.append(f"- [{label}] {title} (#{facts['id']}) {facts['url']}")
    if count > len(lines):
        more = count - len(lines)
        lines.append(f"… and {more} more" if english else f"… và {more} cảnh báo khác")
    return lines


def email_digest(items: list[dict[str, Any]], count: int,
                 window_minutes: int) -> tuple[str, str]:
    """One e-mail for many alerts, so that a flood of alerts does not flood inboxes."""
    subject = f"CityOps: {count} cảnh báo mới / {count} new alerts"
    lines = [
        f"Có {count} cảnh báo mới trong khoảng {window_minutes} phút. Để tránh gửi quá nhiều "
        "thư, CityOps gộp chúng vào một thư:", "",
        *_digest_lines(items, count, english=False), "",
        "— English —", "",
        f"{count} new alerts within about {window_minutes} minutes, grouped into one message "
        "so that your inbox is not flooded:", "",
        *_digest_lines(items, count, english=True), "",
        "--", "Thư tự động từ CityOps. / Automatic message from CityOps.",
    ]
    return subject, "\n".join(lines) + "\n"


def _short_text(kind: str, reason: str, facts: dict[str, Any]) -> str:
    text = (f"CityOps {_severity(facts['severity'])[0].upper()}: {facts['title']} "
            f"#{facts['id']} {facts['url']}")
    if reason not in ("raised", "ticket"):
        text = f"{_labels(reason)[0]}. {text}"
    return _clip(_ascii(text), SMS_LIMIT) if kind == "sms" else _clip(text, ZALO_LIMIT)


def webhook_payload(kind: str, reason: str, facts: dict[str, Any]) -> dict[str, Any]:
    """JSON for one alert; SMS/Zalo adapters get a ready-to-send ``text`` as well."""
    payload: dict[str, Any] = {"type": "alert", "reason": reason, "alert": facts}
    if kind in ("sms", "zalo"):
        payload["text"] = _short_text(kind, reason, facts)
    return payload


def webhook_digest(kind: str, items: list[dict[str, Any]], count: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "digest", "count": count, "items": items,
                               "truncated": count > len(items)}
    if kind in ("sms", "zalo"):
        worst = max(items, key=lambda item: SEVERITY_RANK.get(item["alert"]["severity"], 0))
        facts = worst["alert"]
        text = (f"CityOps: {count} cảnh báo mới; cao nhất "
                f"{_severity(facts['severity'])[0]}: {facts['title']} {facts['url']}")
        payload["text"] = _clip(_ascii(text), SMS_LIMIT) if kind == "sms" else \
            _clip(text, ZALO_LIMIT)
    return payload


def webhook_body(payload: dict[str, Any], delivery_id: int, timestamp: int) -> bytes:
    """The exact bytes that are POSTed and signed.

    The delivery id and timestamp live inside the signed body, so a receiver can reject
    replays and deduplicate retries without trusting unsigned headers.
    """
    body = {**payload, "delivery_id": delivery_id, "timestamp": timestamp}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# -- senders ----------------------------------------------------------------------------------

class EmailTransport(Protocol):
    def send(self, *, to: str, subject: str, body: str, delivery_id: int) -> None: ...


class WebhookTransport(Protocol):
    def send(self, *, url: str, secret: str, payload: dict[str, Any],
             delivery_id: int) -> None: ...


class EmailSender:
    """Plain-text UTF-8 e-mail over SMTP (optionally STARTTLS and login)."""

    def __init__(self, host: str, port: int = 25, sender: str = "ioc@localhost", *,
                 username: str = "", password: str = "", starttls: bool = False,
                 timeout: float = 30.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailSender:
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                   username=settings.smtp_username, password=settings.smtp_password,
                   starttls=settings.smtp_starttls)

    def build(self, *, to: str, subject: str, body: str, delivery_id: int) -> EmailMessage:
        message = EmailMessage()  # default policy: RFC 2047 encodes the Vietnamese subject
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = to
        message["Date"] = formatdate(localtime=False)
        domain = self.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(idstring=f"cityops-{delivery_id}", domain=domain)
        # RFC 3834: stops vacation auto-replies from mailing the IOC back.
        message["Auto-Submitted"] = "auto-generated"
        message["X-CityOps-Delivery"] = str(delivery_id)
        # Quoted-printable keeps the message 7-bit clean: some relays still mangle 8-bit bodies.
        message.set_content(body, charset="utf-8", cte="quoted-printable")
        return message

    def send(self, *, to: str, subject: str, body: str, delivery_id: int) -> None:
        message = self.build(to=to, subject=subject, body=body, delivery_id=delivery_id)
        try:
            # Port 465 speaks TLS from the first byte (RFC 8314); others may upgrade.
            smtp_class = smtplib.SMTP_SSL if self.port == 465 else smtplib.SMTP
            with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls and self.port != 465:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is the server's final answer; 4xx (greylisting, full queue) is worth a retry.
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(f"SMTP {exc.smtp_code}: {text}",
                                permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP error: {exc!r}") from exc


# Statuses worth retrying although they are 4xx.
_RETRYABLE_4XX = frozenset({408, 425, 429})


class WebhookSender:
    """POSTs signed JSON; any answer other than 2xx is a failure."""

    def __init__(self, *, timeout: float = 10.0, client: httpx.Client | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        # Redirects are not followed: the signature was made for the configured URL.
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.clock = clock

    def send(self, *, url: str, secret: str, payload: dict[str, Any],
             delivery_id: int) -> None:
        timestamp = int(self.clock().timestamp())
        body = webhook_body(payload, delivery_id, timestamp)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "CityOps-Webhook/1",
            "X-CityOps-Signature": signature(secret, body),
            "X-CityOps-Delivery": str(delivery_id),
            "X-CityOps-Timestamp": str(timestamp),
        }
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"HTTP error: {exc!r}") from exc
        if not 200 <= response.status_code < 300:
            status = response.status_code
            permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
            raise DeliveryError(f"HTTP {status}: {response.text[:200]}", permanent=permanent)

    def close(self) -> None:
        self.client.close()


@dataclass
class Senders:
    """The transports the dispatcher may use; ``None`` switches a channel off.

    Deliveries of a switched-off channel wait as pending (e.g. no SMTP host configured yet)
    rather than burning their attempts.
    """

    email: EmailTransport | None = None
    webhook: WebhookTransport | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Senders:
        email = EmailSender.from_settings(settings) if settings.smtp_host else None
        return cls(email=email, webhook=WebhookSender())

    def close(self) -> None:
        for sender in (self.email, self.webhook):
            close = getattr(sender, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Senders:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
