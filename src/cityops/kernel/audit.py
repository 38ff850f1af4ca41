"""Hash-chained audit trail, written automatically for every ORM change.

A session hook turns each flushed insert, update and delete into an ``audit_log`` row in
the same transaction, so no service can forget to audit. The actor and client address come
from ``session.info`` (set by the unit of work). Each row stores the hash of the previous
row; ``verify_chain`` recomputes them and names the first row that does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, String, event, insert, inspect, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from cityops.kernel.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
REDACTED = "***"


class AuditLog(Base):
    __tablename__ = "audit_log"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    actor_user_id: Mapped[int | None] = mapped_column()
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64), index=True)
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class AuditContext:
    actor: str = "system"
    actor_user_id: int | None = None
    client_addr: str = ""


def set_audit_context(session: Session, context: AuditContext) -> None:
    session.info["audit_context"] = context


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def row_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps({"prev": prev_hash, **fields}, sort_keys=True, ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _hashed_fields(row: dict[str, Any]) -> dict[str, Any]:
    at = row["at"]
    return {
        "seq": row["seq"],
        "at": at.isoformat() if isinstance(at, datetime) else at,
        "actor": row["actor"],
        "actor_user_id": row["actor_user_id"],
        "client_addr": row["client_addr"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "before": row["before"],
        "after": row["after"],
    }


def _column_values(obj: Any, *, which: str) -> dict[str, Any]:
    """Current (``which='after'``) or pre-flush (``'before'``) values of mapped columns."""
    mapper = inspect(obj).mapper
    redact = getattr(obj, "__audit_redact__", frozenset())
    ignore = getattr(obj, "__audit_ignore__", frozenset())
    values: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in ignore:
            continue
        if which == "before":
            hist = get_history(obj, key)
            value = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged
                                                           else getattr(obj, key, None))
        else:
            value = getattr(obj, key, None)
        values[key] = REDACTED if key in redact and value is not None else _jsonable(value)
    return values


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    mapper = inspect(obj).mapper
    redact = getattr(obj, "__audit_redact__", frozenset())
    ignore = getattr(obj, "__audit_ignore__", frozenset())
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in ignore:
            continue
        hist = get_history(obj, key)
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        before[key] = REDACTED if key in redact else _jsonable(old)
        after[key] = REDACTED if key in redact else _jsonable(new)
    # Many-to-many links (e.g. the areas an agency serves) live in association tables that
    # have no mapped class, so they are audited as a change of the owning object.
    for rel in mapper.relationships:
        if rel.secondary is None or rel.key in ignore:
            continue
        hist = get_history(obj, rel.key)
        if not (hist.added or hist.deleted):
            continue
        kept = list(hist.unchanged or ())
        before[rel.key] = sorted(_ref(o) for o in kept + list(hist.deleted or ()))
        after[rel.key] = sorted(_ref(o) for o in kept + list(hist.added or ()))
    return before, after


def _ref(obj: Any) -> str:
    """How a linked object is named in the log: its business code when it has one."""
    code = getattr(obj, "code", None)
    return str(code) if code is not None else _object_id(obj)


def _object_id(obj: Any) -> str:
    # The primary key is on the instance as soon as the INSERT ran, before the session
    # registers the identity, so this works in after_flush for new rows too.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if any(part is None for part in key):
        return ""
    return ":".join(str(part) for part in key)


def _pending_entries(session: Session) -> Iterator[tuple[str, Any, str, Any, Any]]:
    # Ids of deleted rows are only known before the flush; those of new rows only after it.
    for obj in session.new:
        if getattr(obj, "__audited__", True):
            yield "create", obj, "", None, _column_values(obj, which="after")
    for obj in session.dirty:
        if getattr(obj, "__audited__", True) and session.is_modified(obj):
            before, after = _changes(obj)
            if after:
                yield "update", obj, _object_id(obj), before, after
    for obj in session.deleted:
        if getattr(obj, "__audited__", True):
            yield "delete", obj, _object_id(obj), _column_values(obj, which="before"), None


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    # History is only complete before the flush; ids of new rows are only known after it.
    session.info["audit_pending"] = list(_pending_entries(session))


def _after_flush(session: Session, _ctx: Any) -> None:
    pending = session.info.pop("audit_pending", [])
    entries = []
    for action, obj, object_id, before, after in pending:
        if action == "create":
            after = _column_values(obj, which="after")  # now with database defaults and id
            object_id = _object_id(obj)
        entries.append((action, obj.__tablename__, object_id, before, after))
    _append(session, entries)


def record_event(session: Session, action: str, object_type: str, object_id: str,
                 details: dict[str, Any] | None = None) -> None:
    """Audit something that is not a row change (a login, an export, a key shown once)."""
    _append(session, [(action, object_type, object_id, None, _jsonable(details))])


def _append(session: Session, entries: list[tuple[str, str, str, Any, Any]]) -> None:
    if not entries:
        return
    context: AuditContext = session.info.get("audit_context", AuditContext())
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Serialise chain appends across concurrent transactions until commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(7231001)"))
    head = connection.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
    now = utcnow()
    rows = []
    for action, object_type, object_id, before, after in entries:
        seq += 1
        row = {
            "seq": seq,
            "at": now,
            "actor": context.actor,
            "actor_user_id": context.actor_user_id,
            "client_addr": context.client_addr,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "before": before,
            "after": after,
        }
        row["prev_hash"] = prev_hash
        row["hash"] = prev_hash = row_hash(prev_hash, _hashed_fields(row))
        rows.append(row)
    connection.execute(insert(AuditLog), rows)


def install_audit_hooks() -> None:
    """Hook every ORM session in the process; safe to call more than once."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


install_audit_hooks()


@dataclass(frozen=True)
class ChainReport:
    rows: int
    first_broken_seq: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(session: Session, batch: int = 5000,
                 progress: Any = None) -> ChainReport:
    """Recompute every hash in order; report the first row whose chain is broken."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditLog).where(AuditLog.seq > last_seq).order_by(AuditLog.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return ChainReport(rows=count, first_broken_seq=None)
        for row in rows:
            count += 1
            if row.seq != expected_seq:
                return ChainReport(count, row.seq, f"sequence gap: expected {expected_seq}")
            if row.prev_hash != prev_hash:
                return ChainReport(count, row.seq, "prev_hash does not match the previous row")
            fields = _hashed_fields({c: getattr(row, c) for c in (
                "seq", "at", "actor", "actor_user_id", "client_addr", "action",
                "object_type", "object_id", "before", "after")})
            if row_hash(prev_hash, fields) != row.hash:
                return ChainReport(count, row.seq, "row content does not match its hash")
            prev_hash = row.hash
            expected_seq += 1
            last_seq = row.seq
            if progress is not None:
                progress(1)
        session.expunge_all()
