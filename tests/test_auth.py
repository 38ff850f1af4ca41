"""Passwords, login back-off, bearer tokens and integrator API keys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import DEMO_PASSWORD, tampered, token_for
from fastapi.testclient import TestClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select, text

from cityops.kernel.auth import (
    API_KEY_PREFIX,
    MIN_PASSWORD_LENGTH,
    ApiKey,
    LoginRefused,
    TokenSigner,
    User,
    authenticate,
    create_api_key,
    hash_password,
    set_password,
    verify_password,
)
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code

PASSWORD = "Buon-Ma-Thuot-2026"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# -- helpers ------------------------------------------------------------------------------------


def add_user(ctx: AppContext, username: str = "nguyenvana", password: str = PASSWORD,
             **values: object) -> int:
    with ctx.uow() as uow:
        user = User(username=username, password_hash=hash_password(password), **values)
        user.set_roles({"operator"})
        uow.session.add(user)
        uow.commit()
        return user.id


def attempt(ctx: AppContext, password: str, now: datetime,
            username: str = "nguyenvana") -> User:
    """One login in its own transaction, committed whatever the outcome (as the web does)."""
    with ctx.uow() as uow:
        try:
            user = authenticate(uow.session, username, password,
                                max_failures=ctx.settings.login_max_failures,
                                lockout_seconds=ctx.settings.login_lockout_seconds, now=now)
        finally:
            uow.commit()
        return user


def locked_until(ctx: AppContext, username: str = "nguyenvana") -> datetime | None:
    with ctx.db.session() as session:
        return session.scalar(select(User.locked_until).where(User.username == username))


def refused(ctx: AppContext, password: str, now: datetime) -> str:
    with pytest.raises(LoginRefused) as info:
        attempt(ctx, password, now)
    return str(info.value)


def change_password(ctx: AppContext, username: str, password: str) -> None:
    with ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        set_password(user, password)
        uow.commit()


def key_row(ctx: AppContext, raw: str) -> ApiKey:
    with ctx.db.session() as session:
        return session.scalars(select(ApiKey).where(
            ApiKey.key_hash == hashlib.sha256(raw.encode()).hexdigest())).one()


def new_api_key(ctx: AppContext, agency_code: str = "SO-YT", name: str = "HIS sync") -> str:
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, agency_code)
        assert agency is not None
        _, raw = create_api_key(uow.session, agency, name)
        uow.commit()
    return raw


class FrozenClock:
    """Replaces itsdangerous' clock so that token ages can be chosen without sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: int = 1_780_000_000) -> None:
        self.now = start
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: self.now)


# -- passwords ----------------------------------------------------------------------------------


def test_password_hash_is_salted_argon2() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != PASSWORD and PASSWORD not in first
    assert first.startswith("$argon2id$")
    assert first != second  # random salt
    assert verify_password(first, PASSWORD)
    assert verify_password(second, PASSWORD)
    assert not verify_password(first, PASSWORD + "x")
    assert not verify_password(first, "")


def test_verify_tolerates_a_broken_hash() -> None:
    assert not verify_password("not-a-hash", PASSWORD)
    assert not verify_password("", PASSWORD)


def test_minimum_password_length() -> None:
    with pytest.raises(ValueError, match=str(MIN_PASSWORD_LENGTH)):
        hash_password("x" * (MIN_PASSWORD_LENGTH - 1))
    assert verify_password(hash_password("x" * MIN_PASSWORD_LENGTH), "x" * MIN_PASSWORD_LENGTH)


def test_set_password_enforces_minimum_and_keeps_old_hash(empty_ctx: AppContext) -> None:
    add_user(empty_ctx)
    with pytest.raises(ValueError):
        change_password(empty_ctx, "nguyenvana", "short")
    assert attempt(empty_ctx, PASSWORD, T0).username == "nguyenvana"


# -- login and back-off -------------------------------------------------------------------------


def test_login_is_case_and_space_insensitive(empty_ctx: AppContext) -> None:
    add_user(empty_ctx)
    user = attempt(empty_ctx, PASSWORD, T0, username="  NguyenVanA ")
    assert user.username == "nguyenvana"
    assert user.last_login_at == T0


def test_unknown_user_and_wrong_password_look_the_same(empty_ctx: AppContext) -> None:
    add_user(empty_ctx)
    with pytest.raises(LoginRefused) as unknown:
        attempt(empty_ctx, PASSWORD, T0, username="nobody")
    assert str(unknown.value) == refused(empty_ctx, "wrong-password", T0)


def test_inactive_user_cannot_log_in(empty_ctx: AppContext) -> None:
    add_user(empty_ctx, is_active=False)
    assert "wrong username or password" in refused(empty_ctx, PASSWORD, T0)


def test_lockout_after_max_failures(empty_ctx: AppContext) -> None:
    add_user(empty_ctx)
    max_failures = empty_ctx.settings.login_max_failures
    lockout = timedelta(seconds=empty_ctx.settings.login_lockout_seconds)
    for i in range(max_failures - 1):
        refused(empty_ctx, "wrong-password", T0 + timedelta(seconds=i))
        assert locked_until(empty_ctx) is None
    last = T0 + timedelta(seconds=max_failures)
    refused(empty_ctx, "wrong-password", last)
    assert locked_until(empty_ctx) == last + lockout

    message = refused(empty_ctx, PASSWORD, last + lockout - timedelta(seconds=1))
    assert "locked" in message
    user = attempt(empty_ctx, PASSWORD, last + lockout + timedelta(seconds=1))
    assert user.failed_logins == 0
    assert locked_until(empty_ctx) is None


def test_lockout_doubles_on_each_further_failure(empty_ctx: AppContext) -> None:
    add_user(empty_ctx)
    lockout = timedelta(seconds=empty_ctx.settings.login_lockout_seconds)
    now = T0
    for _ in range(empty_ctx.settings.login_max_failures):
        refused(empty_ctx, "wrong-password", now)
    for factor in (1, 2, 4, 8):
        assert locked_until(empty_ctx) == now + factor * lockout
        # Wrong attempts while locked change nothing.
        refused(empty_ctx, "wrong-password", now + timedelta(seconds=1))
        assert locked_until(empty_ctx) == now + factor * lockout
        now = now + factor * lockout + timedelta(seconds=1)
        refused(empty_ctx, "wrong-password", now)
    # A correct login after the lock ends resets the counter: one more failure does not lock.
    locked = locked_until(empty_ctx)
    assert locked is not None
    attempt(empty_ctx, PASSWORD, locked + timedelta(seconds=1))
    refused(empty_ctx, "wrong-password", locked + timedelta(seconds=2))
    assert locked_until(empty_ctx) is None


@pytest.mark.parametrize("earlier_failures", [20, 10_000])
def test_lockout_is_capped_at_one_day(empty_ctx: AppContext, earlier_failures: int) -> None:
    user_id = add_user(empty_ctx)
    with empty_ctx.uow() as uow:  # a long history of failures, without hashing each one
        user = uow.session.get(User, user_id)
        assert user is not None
        user.failed_logins = empty_ctx.settings.login_max_failures + earlier_failures
        uow.commit()
    refused(empty_ctx, "wrong-password", T0)
    assert locked_until(empty_ctx) == T0 + timedelta(days=1)


def test_set_password_clears_a_lockout(empty_ctx: AppContext) -> None:
    add_user(empty_ctx)
    for _ in range(empty_ctx.settings.login_max_failures):
        refused(empty_ctx, "wrong-password", T0)
    change_password(empty_ctx, "nguyenvana", "a-brand-new-password")
    assert attempt(empty_ctx, "a-brand-new-password", T0).username == "nguyenvana"


def test_api_login_locks_out_after_repeated_failures(client: TestClient,
                                                     demo_ctx: AppContext) -> None:
    for _ in range(demo_ctx.settings.login_max_failures):
        response = client.post("/api/v1/auth/token",
                               data={"username": "operator", "password": "wrong-password"})
        assert response.status_code == 401
    response = client.post("/api/v1/auth/token",
                           data={"username": "operator", "password": DEMO_PASSWORD})
    assert response.status_code == 401
    assert "locked" in response.json()["detail"]


# -- bearer tokens ------------------------------------------------------------------------------


def test_token_round_trip_and_tampering(empty_ctx: AppContext) -> None:
    user_id = add_user(empty_ctx)
    with empty_ctx.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        token = empty_ctx.tokens.issue(user)
        assert empty_ctx.tokens.resolve(session, token) is user
        assert empty_ctx.tokens.resolve(session, tampered(token)) is None
        assert empty_ctx.tokens.resolve(session, "garbage") is None
        other = TokenSigner("another-secret-" + "y" * 32, 3600)
        assert other.resolve(session, token) is None
        assert empty_ctx.tokens.resolve(session, other.issue(user)) is None


def test_token_expires_after_its_ttl(empty_ctx: AppContext, monkeypatch: pytest.MonkeyPatch,
                                     ) -> None:
    clock = FrozenClock(monkeypatch)
    signer = TokenSigner(empty_ctx.settings.secret_key, ttl_seconds=600)
    user_id = add_user(empty_ctx)
    with empty_ctx.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        token = signer.issue(user)
        clock.now += 600
        assert signer.resolve(session, token) is user
        clock.now += 1
        assert signer.resolve(session, token) is None
        clock.now -= 10_000  # a token "from the future" is refused too
        assert signer.resolve(session, token) is None


def test_token_stops_working_after_password_change(client: TestClient,
                                                    demo_ctx: AppContext) -> None:
    headers = token_for(client, "operator")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    change_password(demo_ctx, "operator", "operator-new-pass")
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert "token" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # The new password issues a working token; the old one is refused.
    assert client.get("/api/v1/auth/me",
                      headers=token_for(client, "operator", "operator-new-pass")).status_code == 200
    assert client.post("/api/v1/auth/token", data={"username": "operator",
                                                   "password": DEMO_PASSWORD}).status_code == 401


def test_browser_session_ends_after_password_change(client: TestClient,
                                                    demo_ctx: AppContext) -> None:
    page = client.get("/login").text
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"username": "leader", "password": DEMO_PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/v1/auth/me").json()["username"] == "leader"
    change_password(demo_ctx, "leader", "leader-new-pass")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_token_stops_working_for_a_deactivated_user(client: TestClient,
                                                    demo_ctx: AppContext) -> None:
    headers = token_for(client, "soc")
    with demo_ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == "soc"))
        assert user is not None
        user.is_active = False
        uow.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_token_endpoint_refuses_wrong_password(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token",
                           data={"username": "admin", "password": "not-the-password"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong username or password"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "access_token" not in response.json()


def test_token_endpoint_issues_a_bearer_token(client: TestClient, demo_ctx: AppContext) -> None:
    response = client.post("/api/v1/auth/token",
                           data={"username": "admin", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == demo_ctx.settings.token_ttl_minutes * 60
    me = client.get("/api/v1/auth/me",
                    headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "admin"


@pytest.mark.parametrize(("username", "roles", "province_wide"), [
    ("admin", ["admin"], True),
    ("leader", ["leader"], True),
    ("so-yt", ["officer"], False),
])
def test_me_describes_the_principal(client: TestClient, demo_ctx: AppContext,
                                    auth_headers: Callable[[str], dict[str, str]],
                                    username: str, roles: list[str], province_wide: bool) -> None:
    body = client.get("/api/v1/auth/me", headers=auth_headers(username)).json()
    assert body["username"] == username
    assert body["roles"] == roles
    assert body["province_wide"] is province_wide
    with demo_ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        assert body["agency_id"] == user.agency_id


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer "},
])
def test_me_requires_credentials(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]


# -- API keys -----------------------------------------------------------------------------------


def test_api_key_works_in_the_header(client: TestClient, demo_ctx: AppContext) -> None:
    raw = new_api_key(demo_ctx)
    assert raw.startswith(API_KEY_PREFIX)
    me = client.get("/api/v1/auth/me", headers={"X-API-Key": raw})
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "apikey:HIS sync"
    assert body["roles"] == ["integrator"]
    assert body["province_wide"] is False
    with demo_ctx.db.session() as session:
        agency = agency_by_code(session, "SO-YT")
        assert agency is not None and body["agency_id"] == agency.id


def test_only_the_sha256_of_an_api_key_is_stored(client: TestClient,
                                                 demo_ctx: AppContext) -> None:
    raw = new_api_key(demo_ctx)
    client.get("/api/v1/areas", headers={"X-API-Key": raw})
    secret = raw.removeprefix(API_KEY_PREFIX)
    key_id = key_row(demo_ctx, raw).id
    with demo_ctx.db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM api_keys WHERE id = :id"),
                           {"id": key_id}).mappings().one()
        everything = " ".join(str(v) for r in conn.execute(text("SELECT * FROM api_keys"))
                              for v in r)
        audit = conn.execute(text("SELECT before, after FROM audit_log")).all()
    assert row["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert secret not in everything
    for before, after in audit:
        assert secret not in f"{before}{after}"
        assert row["key_hash"] not in f"{before}{after}"


def test_unknown_and_malformed_api_keys_are_refused(client: TestClient,
                                                    demo_ctx: AppContext) -> None:
    raw = new_api_key(demo_ctx)
    for bad in (raw[:-1] + ("A" if raw[-1] != "A" else "B"), "cok_nothing", raw[4:],
                "Bearer " + raw):
        response = client.get("/api/v1/areas", headers={"X-API-Key": bad})
        assert response.status_code == 401, bad
        assert "API key" in response.json()["detail"]


def test_revoked_api_key_is_refused(client: TestClient, demo_ctx: AppContext) -> None:
    raw = new_api_key(demo_ctx)
    assert client.get("/api/v1/areas", headers={"X-API-Key": raw}).status_code == 200
    with demo_ctx.uow() as uow:
        key = uow.session.get(ApiKey, key_row(demo_ctx, raw).id)
        assert key is not None
        key.revoked_at = datetime.now(UTC)
        uow.commit()
    response = client.get("/api/v1/areas", headers={"X-API-Key": raw})
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_api_key_needs_a_name(demo_ctx: AppContext) -> None:
    with pytest.raises(ValueError, match="name"):
        new_api_key(demo_ctx, name="   ")


def test_api_key_use_is_recorded(client: TestClient, demo_ctx: AppContext) -> None:
    raw = new_api_key(demo_ctx)
    assert client.get("/api/v1/areas", headers={"X-API-Key": raw}).status_code == 200
    assert key_row(demo_ctx, raw).last_used_at is not None
