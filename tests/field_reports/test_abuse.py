"""Abuse control: the signed challenge, rate limits per address and per contact."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from conftest import tampered
from itsdangerous import URLSafeTimedSerializer
from test_routing_helpers import NOW, new_report

from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.services.field_reports import abuse

SECRET = "s" * 40


def test_challenge_accepts_the_right_answer_only() -> None:
    challenge = abuse.new_challenge(SECRET)
    abuse.check_challenge(SECRET, challenge.token, f" {challenge.a + challenge.b} ")
    with pytest.raises(Invalid, match="wrong"):
        abuse.check_challenge(SECRET, challenge.token, str(challenge.a + challenge.b + 1))
    with pytest.raises(Invalid, match="with a number"):
        abuse.check_challenge(SECRET, challenge.token, "mười")


def test_challenge_token_does_not_reveal_the_answer() -> None:
    challenge = abuse.new_challenge(SECRET)
    payload = URLSafeTimedSerializer(SECRET, salt=abuse.CHALLENGE_SALT).loads(challenge.token)
    assert set(payload) == {"n", "h"}
    assert str(challenge.a + challenge.b) not in payload.values()


def test_forged_altered_or_expired_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    challenge = abuse.new_challenge(SECRET)
    answer = str(challenge.a + challenge.b)
    with pytest.raises(Invalid, match="missing or was altered"):
        abuse.check_challenge("another-secret-" + "x" * 30, challenge.token, answer)
    with pytest.raises(Invalid, match="missing or was altered"):
        abuse.check_challenge(SECRET, tampered(challenge.token), answer)
    with pytest.raises(Invalid, match="missing or was altered"):
        abuse.check_challenge(SECRET, "", answer)
    later = time.time() + abuse.CHALLENGE_MAX_AGE_S + 5
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Invalid, match="expired"):
        abuse.check_challenge(SECRET, challenge.token, answer)


def test_rate_limit_per_client_address(demo_ctx: AppContext) -> None:
    for i in range(5):
        new_report(demo_ctx, channel="portal", client_addr="203.0.113.9",
                   contact_phone=f"09051230{i:02d}", now=NOW - timedelta(minutes=10 + i))
    with demo_ctx.db.session() as session:
        with pytest.raises(Invalid, match="this connection"):
            abuse.check_rate(session, client_addr="203.0.113.9", phone="", email="", now=NOW)
        # Another address, or the same one an hour later, may send again.
        abuse.check_rate(session, client_addr="203.0.113.10", phone="", email="", now=NOW)
        abuse.check_rate(session, client_addr="203.0.113.9", phone="", email="",
                         now=NOW + timedelta(hours=1))


def test_rate_limit_per_contact(demo_ctx: AppContext) -> None:
    for i in range(3):
        new_report(demo_ctx, channel="portal", client_addr=f"198.51.100.{i}",
                   contact_phone="0905123456", now=NOW - timedelta(minutes=5))
    with demo_ctx.db.session() as session:
        with pytest.raises(Invalid, match="phone number or e-mail"):
            abuse.check_rate(session, client_addr="192.0.2.1", phone="0905123456",
                             email="", now=NOW)
        abuse.check_rate(session, client_addr="192.0.2.1", phone="0905000000",
                         email="a@example.vn", now=NOW)


def test_hotline_reports_do_not_count(demo_ctx: AppContext) -> None:
    for _ in range(6):
        new_report(demo_ctx, channel="hotline", client_addr="10.0.0.5", now=NOW)
    with demo_ctx.db.session() as session:
        abuse.check_rate(session, client_addr="10.0.0.5", phone="0905123456", email="",
                         now=NOW)
