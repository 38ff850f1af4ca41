"""Users, roles, API keys, password hashing, login back-off and bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from cityops.kernel.db import Base, UTCDateTime, utcnow
from cityops.kernel.orgs import Agency, agency_subtree_ids
from cityops.kernel.permissions import (
    PROVINCE_WIDE_ROLES,
    ROLES,
    Principal,
    permission_registry,
)

_hasher = PasswordHasher()
API_KEY_PREFIX = "cok_"
MIN_PASSWORD_LENGTH = 8
MAX_LOCKOUT = timedelta(days=1)


class LoginRefused(Exception):
    """Wrong credentials, a disabled account or a lockout; the message is safe to show."""


class User(Base):
    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash"})
    __audit_ignore__ = frozenset({"failed_logins", "locked_until", "last_login_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    # Bumped on password change or deactivation so that issued bearer tokens stop working.
    token_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(row.role for row in self.role_rows)

    def set_roles(self, roles: set[str] | frozenset[str]) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
        keep = [row for row in self.role_rows if row.role in roles]
        have = {row.role for row in keep}
        self.role_rows = keep + [UserRole(role=r) for r in sorted(set(roles) - have)]


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __audit_redact__ = frozenset({"key_hash"})
    __audit_ignore__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    key_prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship()


# -- passwords -------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Verifying against a real hash when the user does not exist keeps timing uniform.
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def authenticate(session: Session, username: str, password: str, *,
                 max_failures: int, lockout_seconds: int,
                 now: datetime | None = None) -> User:
    """Check a login; repeated failures lock the account for a doubling period."""
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise LoginRefused("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused("account temporarily locked after repeated failures; try later")
    if not verify_password(user.password_hash, password) or not user.is_active:
        user.failed_logins += 1
        over = user.failed_logins - max_failures
        if over >= 0:
            user.locked_until = now + min(
                timedelta(seconds=lockout_seconds * (2 ** min(over, 16))), MAX_LOCKOUT
            )
        raise LoginRefused("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.token_version += 1
    user.failed_logins = 0
    user.locked_until = None


# -- principals ------------------------------------------------------------------------------

def principal_for_user(session: Session, user: User) -> Principal:
    roles = user.roles
    province_wide = bool(roles & PROVINCE_WIDE_ROLES)
    scope = None
    if not province_wide:
        scope = frozenset(agency_subtree_ids(session, user.agency_id)) if user.agency_id else \
            frozenset()
    return Principal(
        label=user.username,
        roles=roles,
        permissions=permission_registry.permissions_for(roles),
        agency_id=user.agency_id,
        agency_scope=scope,
        user_id=user.id,
    )


# -- API keys --------------------------------------------------------------------------------

def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_api_key(session: Session, agency: Agency, name: str) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and only its SHA-256 is stored."""
    if not name.strip():
        raise ValueError("an API key needs a name")
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name.strip(), agency_id=agency.id, key_prefix=raw[:12],
                 key_hash=_digest(raw))
    session.add(key)
    session.flush()
    return key, raw


def principal_for_api_key(session: Session, raw_key: str) -> Principal | None:
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    digest = _digest(raw_key)
    candidates = session.scalars(select(ApiKey).where(ApiKey.key_prefix == raw_key[:12])).all()
    key = next((k for k in candidates if hmac.compare_digest(k.key_hash, digest)), None)
    if key is None or key.revoked_at is not None:
        return None
    roles = frozenset({"integrator"})
    return Principal(
        label=f"apikey:{key.name}",
        roles=roles,
        permissions=permission_registry.permissions_for(roles),
        agency_id=key.agency_id,
        agency_scope=frozenset(agency_subtree_ids(session, key.agency_id)),
        api_key_id=key.id,
        extra={"api_key_last_used_at": key.last_used_at},
    )


def record_api_key_use(session: Session, principal: Principal,
                       now: datetime | None = None) -> None:
    """Note when an integrator key was last used, at most once a minute, and commit.

    Give it a session of its own, not a unit of work's; it writes rarely because on SQLite
    every write takes the database's single write lock.
    """
    if principal.api_key_id is None:
        return
    now = now or utcnow()
    last = principal.extra.get("api_key_last_used_at")
    if last is not None and now - last < timedelta(minutes=1):
        return
    session.execute(update(ApiKey).where(ApiKey.id == principal.api_key_id)
                    .values(last_used_at=now))
    session.commit()


# -- bearer tokens ---------------------------------------------------------------------------

class TokenSigner:
    """Signed, expiring bearer tokens bound to the user's token_version."""

    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="cityops-api-token")
        self.ttl_seconds = ttl_seconds

    def issue(self, user: User) -> str:
        return self._serializer.dumps({"uid": user.id, "v": user.token_version})

    def resolve(self, session: Session, token: str) -> User | None:
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict):
            return None
        user = session.get(User, data.get("uid"))
        if user is None or not user.is_active or user.token_version != data.get("v"):
            return None
        return user
