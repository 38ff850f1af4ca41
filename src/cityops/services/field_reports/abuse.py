"""Abuse control for anonymous web submissions: a signed arithmetic challenge and rate limits.

The ban list itself is checked by ``intake.check_bans`` for every channel.

- **Challenge.** The form carries a small sum ("7 + 5") and a token signed with the site's
  secret key. The token holds a random nonce and a keyed hash of the nonce with the answer, never
  the answer itself, so a script cannot read it back; it expires after 30 minutes. No external
  service is called, so the portal works offline. A solved token can be reused until it expires;
  the rate limits below bound what that buys.
- **Rate limits.** Counted from the stored reports themselves (``fr_reports.client_addr`` and the
  contact columns), so the limits hold across processes and restarts with no extra table.
- **Guessing a contact.** Rating a report needs the phone or e-mail given with it. Each wrong
  proof is written to the audit log (in its own transaction, so the refusal does not roll it
  back) and a client address with 10 wrong proofs in an hour is refused for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityops.kernel.audit import AuditLog, record_event
from cityops.kernel.db import utcnow
from cityops.kernel.errors import Invalid
from cityops.services.field_reports.media import N_
from cityops.services.field_reports.models import Follower, Report

CHALLENGE_MAX_AGE_S = 30 * 60
CHALLENGE_SALT = "cityops.field_reports.challenge"
# (window, most reports allowed in it) per client address, and per phone or e-mail address.
ADDRESS_LIMITS: tuple[tuple[timedelta, int], ...] = ((timedelta(hours=1), 5),
                                                     (timedelta(days=1), 20))
CONTACT_LIMITS: tuple[tuple[timedelta, int], ...] = ((timedelta(hours=1), 3),
                                                     (timedelta(days=1), 10))
# Channels typed by citizens themselves; call-takers' and integrators' reports are not limited.
SELF_SERVICE_CHANNELS = ("portal",)
PROOF_FAILED = "field_report.contact_proof_failed"
# Follow requests per client address: each one e-mails a confirmation link to any address.
FOLLOW_LIMITS: tuple[tuple[timedelta, int], ...] = ((timedelta(hours=1), 5),
                                                    (timedelta(days=1), 20))
PROOF_WINDOW, PROOF_MOST = timedelta(hours=1), 10


@dataclass(frozen=True)
class Challenge:
    a: int
    b: int
    token: str


def _digest(secret_key: str, nonce: str, answer: int) -> str:
    return hmac.new(secret_key.encode(), f"{nonce}:{answer}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=CHALLENGE_SALT)


def new_challenge(secret_key: str) -> Challenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    token = _serializer(secret_key).dumps({"n": nonce, "h": _digest(secret_key, nonce, a + b)})
    return Challenge(a, b, token)


def check_challenge(secret_key: str, token: str, answer: str) -> None:
    """Raise ``Invalid`` unless ``answer`` solves the challenge ``token`` in time."""
    try:
        payload = _serializer(secret_key).loads(token or "", max_age=CHALLENGE_MAX_AGE_S)
    except SignatureExpired:
        raise Invalid(N_("the check question has expired; answer the new one")) from None
    except BadSignature:
        raise Invalid(N_("the check question is missing or was altered; answer it again")) from None
    try:
        value = int(answer.strip())
    except ValueError:
        raise Invalid(N_("answer the check question with a number")) from None
    expected = payload.get("h", "") if isinstance(payload, dict) else ""
    nonce = payload.get("n", "") if isinstance(payload, dict) else ""
    if not hmac.compare_digest(_digest(secret_key, str(nonce), value), str(expected)):
        raise Invalid(N_("the answer to the check question is wrong"))


def _count_since(session: Session, since: datetime, *conditions: object) -> int:
    stmt = select(func.count()).select_from(Report).where(
        Report.channel.in_(SELF_SERVICE_CHANNELS), Report.created_at >= since, *conditions)
    return session.scalar(stmt) or 0


def check_rate(session: Session, *, client_addr: str, phone: str, email: str,
               now: datetime) -> None:
    """Raise ``Invalid`` when this address or contact has sent too many reports lately."""
    for window, most in ADDRESS_LIMITS:
        if client_addr and _count_since(session, now - window,
                                        Report.client_addr == client_addr) >= most:
            raise Invalid(N_("too many reports from this connection lately; try again later "
                             "or call 1022"))
    contact = [c for c in (Report.contact_phone == phone if phone else None,
                           Report.contact_email == email if email else None) if c is not None]
    if not contact:
        return
    for window, most in CONTACT_LIMITS:
        if _count_since(session, now - window, or_(*contact)) >= most:
            raise Invalid(N_("too many reports from this phone number or e-mail address "
                             "lately; try again later or call 1022"))


def check_proof_attempts(session: Session, client_addr: str) -> None:
    """Refuse a client address that has sent too many wrong contact proofs lately (the audit
    log's own clock, so the window is real time)."""
    failures = session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == PROOF_FAILED, AuditLog.client_addr == client_addr,
        AuditLog.at >= utcnow() - PROOF_WINDOW)) or 0
    if failures >= PROOF_MOST:
        raise Invalid(N_("too many wrong attempts from this connection; try again in an hour"))


def record_failed_proof(ctx: Any, client_addr: str, code: str) -> None:
    """Audit a wrong contact proof in its own committed transaction."""
    with ctx.uow(client_addr=client_addr) as uow:
        record_event(uow.session, PROOF_FAILED, "fr_reports", code[:64])
        uow.commit()


def check_follow_rate(session: Session, client_addr: str, now: datetime) -> None:
    """Raise ``Invalid`` when this connection asked to follow too many reports lately (counted
    from ``fr_followers``, whose rows are kept after unsubscribing)."""
    for window, most in FOLLOW_LIMITS:
        count = session.scalar(select(func.count()).select_from(Follower).where(
            Follower.client_addr == client_addr, Follower.requested_at >= now - window)) or 0
        if client_addr and count >= most:
            raise Invalid(N_("too many follow requests from this connection lately; try again "
                             "later"))
