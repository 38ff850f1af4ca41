"""Following a public report by e-mail.

A citizen gives an address on the report's page; a confirmation link is e-mailed to it (so
nobody can sign up someone else's address), and once confirmed the address is e-mailed, through
the alert center's outbox (``alert_deliveries``), whenever a public update is posted, the state
changes publicly or the result is published. Every e-mail carries an unsubscribe link with a
token signed with the site's secret key; the token is also kept on the row so that a later
follow request revokes the old one. Addresses never appear in any public output.

Tokens are made where the secret key is at hand (the follow request) and the notifications are
queued in the same transaction as the change that causes them (``timeline.add_entry``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts.notification_models import Delivery
from cityops.kernel.errors import Invalid
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.intake import EMAIL_RE
from cityops.services.field_reports.media import N_
from cityops.services.field_reports.models import Follower, Report, TimelineEntry
from cityops.services.field_reports.public import is_public
from cityops.services.field_reports.views_labels import STATE_LABELS
from cityops.web import i18n

SALT = "cityops.field_reports.follow"
CONFIRM_MAX_AGE_S = 3 * 24 * 3600
MAX_AGE_S: dict[str, int | None] = {"confirm": CONFIRM_MAX_AGE_S, "stop": None}
REASON = "field_report_follow"
# Timeline kinds a follower hears about: public updates, public state changes, the result.
NOTIFIED_KINDS = frozenset({"update", "state", "assign", "transfer", "reopen", "approval"})


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def _base(session: Session) -> str:
    return str(session.info.get("base_url", "")).rstrip("/")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not email or len(email) > 200 or not EMAIL_RE.match(email):
        raise Invalid(N_("give a valid e-mail address"))
    return email


def request_follow(uow: UnitOfWork, report: Report, email: str, *, secret_key: str,
                   client_addr: str, now: datetime) -> Follower:
    """Record the request and e-mail a confirmation link (again, if asked again).

    The answer is the same whether or not the address already follows the report, so the page
    tells nobody who follows what."""
    email = normalize_email(email)
    follower = uow.session.scalar(select(Follower).where(
        Follower.report_id == report.id, Follower.email == email))
    if follower is None:
        follower = Follower(report_id=report.id, email=email)
        uow.session.add(follower)
    follower.client_addr, follower.requested_at = client_addr[:64], now
    uow.session.flush()
    nonce = secrets.token_urlsafe(8)
    follower.unsubscribe_token = _serializer(secret_key).dumps(
        {"f": follower.id, "a": "stop", "n": nonce})
    confirm = _serializer(secret_key).dumps({"f": follower.id, "a": "confirm", "n": nonce})
    base = _base(uow.session)
    uow.session.add(Delivery(
        channel="email", target=email, reason=REASON, status="pending", created_at=now,
        subject=f"Xác nhận theo dõi phản ánh {report.code} / Confirm following report "
                f"{report.code}",
        body=(f"Để nhận thư khi phản ánh {report.code} có tin mới, mở liên kết sau:\n"
              f"To be e-mailed when report {report.code} changes, open this link:\n"
              f"{base}/phan-anh/theo-doi/xac-nhan?t={confirm}\n\n"
              "Nếu bạn không yêu cầu, hãy bỏ qua thư này. / If you did not ask, ignore this "
              "e-mail.\n")))
    return follower


def _nonce(data: Any) -> str:
    return str(data.get("n", "")) if isinstance(data, dict) else ""


def follower_for(session: Session, secret_key: str, token: str, action: str) -> Follower:
    """The follower a link's token names, if the token is valid, current and for ``action``
    ("confirm" expires; "stop" does not, so old e-mails can always unsubscribe)."""
    serializer = _serializer(secret_key)
    try:
        data: Any = serializer.loads(token, max_age=MAX_AGE_S.get(action))
    except SignatureExpired:
        raise Invalid(N_("this link has expired; ask to follow the report again")) from None
    except BadSignature:
        raise Invalid(N_("this link is not valid")) from None
    if not isinstance(data, dict) or data.get("a") != action:
        raise Invalid(N_("this link is not valid"))
    follower = session.get(Follower, data.get("f")) if isinstance(data.get("f"), int) else None
    # A newer follow request issues new tokens: the links of older e-mails stop working.
    try:
        current = _nonce(serializer.loads(follower.unsubscribe_token)) if follower else ""
    except BadSignature:  # a token made with a former secret key
        current = ""
    if follower is None or not current or not secrets.compare_digest(current, _nonce(data)):
        raise Invalid(N_("this link is not valid"))
    return follower


def confirm(session: Session, secret_key: str, token: str, *, now: datetime) -> Follower:
    follower = follower_for(session, secret_key, token, "confirm")
    if follower.confirmed_at is None or follower.unsubscribed_at is not None:
        follower.confirmed_at, follower.unsubscribed_at = now, None
    return follower


def unsubscribe(session: Session, secret_key: str, token: str, *, now: datetime) -> Follower:
    follower = follower_for(session, secret_key, token, "stop")
    if follower.unsubscribed_at is None:
        follower.unsubscribed_at = now
    return follower


def _what_happened(entry: TimelineEntry) -> str:
    vi = i18n.translations("vi").gettext
    lines = []
    if entry.to_state in STATE_LABELS:
        label = STATE_LABELS[entry.to_state]
        lines.append(f"Trạng thái / Status: {vi(label)} / {label}")
    if entry.kind == "approval":
        lines.append("Kết quả xử lý đã được công bố / The result is published:")
    if entry.text:
        lines.append(entry.text)
    return "\n".join(lines)


def notify_followers(uow: UnitOfWork, report: Report, entry: TimelineEntry,
                     now: datetime) -> int:
    """Queue one e-mail per confirmed follower for a public timeline entry."""
    if entry.kind not in NOTIFIED_KINDS or not entry.public or report.id is None or \
            not is_public(report):
        return 0
    followers = uow.session.scalars(select(Follower).where(
        Follower.report_id == report.id, Follower.confirmed_at.is_not(None),
        Follower.unsubscribed_at.is_(None))).all()
    base = _base(uow.session)
    for follower in followers:
        uow.session.add(Delivery(
            channel="email", target=follower.email, reason=REASON, status="pending",
            created_at=now,
            subject=f"Phản ánh {report.code} có tin mới / Report {report.code} updated",
            body=(f"{_what_happened(entry)}\n\nXem / View: {base}/phan-anh/{report.code}\n\n"
                  f"Ngừng theo dõi / Stop following: "
                  f"{base}/phan-anh/theo-doi/huy?t={follower.unsubscribe_token}\n")))
    return len(followers)
