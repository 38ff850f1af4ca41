"""Models and Alembic migrations agree; SQLite runs with WAL and foreign keys; UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from cityops.kernel.context import AppContext
from cityops.kernel.db import UTCDateTime
from cityops.kernel.orgs import Agency
from cityops.kernel.schema import alembic_config, pending_differences, target_metadata, upgrade

ICT = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has no DST


def require_sqlite(ctx: AppContext) -> None:
    if ctx.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-only PRAGMA check")


def head_revision(ctx: AppContext) -> str:
    head = ScriptDirectory.from_config(alembic_config(ctx.db.engine)).get_current_head()
    assert head is not None
    return head


def new_agency(code: str, **values: object) -> Agency:
    agency = Agency(code=code, kind="department", **values)
    agency.set_name(f"Cơ quan {code}")
    return agency


# -- models versus migrations -------------------------------------------------------------


def test_migrated_database_matches_the_models(empty_ctx: AppContext) -> None:
    assert pending_differences(empty_ctx.db.engine) == []


def test_demo_database_matches_the_models(demo_ctx: AppContext) -> None:
    assert pending_differences(demo_ctx.db.engine) == []


def test_database_is_at_the_head_revision(empty_ctx: AppContext) -> None:
    with empty_ctx.db.engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert current == head_revision(empty_ctx)


def test_every_model_table_exists(empty_ctx: AppContext) -> None:
    tables = set(inspect(empty_ctx.db.engine).get_table_names())
    expected = set(target_metadata().tables)
    assert expected <= tables
    assert {"areas", "agencies", "users", "api_keys", "audit_log"} <= expected


def test_downgrade_to_base_and_upgrade_again(empty_ctx: AppContext) -> None:
    engine = empty_ctx.db.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not set(target_metadata().tables) & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert pending_differences(engine) == []


def test_differences_are_detected(empty_ctx: AppContext) -> None:
    """The agreement check itself can fail: drop an index and it notices."""
    with empty_ctx.db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_areas_level"))
    differences = pending_differences(empty_ctx.db.engine)
    assert any("ix_areas_level" in str(diff) for diff in differences)


# -- SQLite settings ------------------------------------------------------------------------


def test_sqlite_uses_wal(empty_ctx: AppContext) -> None:
    require_sqlite(empty_ctx)
    with empty_ctx.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one().lower() == "wal"


def test_sqlite_enforces_foreign_keys(empty_ctx: AppContext) -> None:
    require_sqlite(empty_ctx)
    with empty_ctx.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000


def test_foreign_keys_are_enforced(empty_ctx: AppContext) -> None:
    with empty_ctx.db.session() as session:
        session.add(new_agency("ORPHAN", parent_id=987654))
        with pytest.raises(IntegrityError):
            session.flush()


# -- UTCDateTime ----------------------------------------------------------------------------


def test_utcdatetime_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1, 8, 0), None)


def test_utcdatetime_normalises_to_utc() -> None:
    column = UTCDateTime()
    stored = column.process_bind_param(datetime(2026, 1, 1, 8, 0, tzinfo=ICT), None)
    assert stored == datetime(2026, 1, 1, 1, 0)
    assert stored.tzinfo is None
    loaded = column.process_result_value(stored, None)
    assert loaded == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert loaded.utcoffset() == timedelta(0)
    assert column.process_bind_param(None, None) is None
    assert column.process_result_value(None, None) is None


def test_naive_datetime_is_refused_by_the_database_layer(empty_ctx: AppContext) -> None:
    with empty_ctx.db.session() as session:
        session.add(new_agency("NAIVE", created_at=datetime(2026, 1, 1, 8, 0)))
        with pytest.raises(StatementError, match="naive"):
            session.flush()


def test_round_trip_returns_aware_utc(empty_ctx: AppContext) -> None:
    local = datetime(2026, 2, 16, 23, 30, 15, 123456, tzinfo=ICT)
    with empty_ctx.db.session() as session:
        session.add(new_agency("TZ", created_at=local))
        session.commit()
    with empty_ctx.db.session() as session:
        loaded = session.scalar(select(Agency.created_at).where(Agency.code == "TZ"))
        raw = session.execute(text("SELECT created_at FROM agencies WHERE code = 'TZ'")).scalar()
    assert loaded == local  # the same instant …
    assert loaded.tzinfo is UTC  # … expressed in UTC
    assert (loaded.hour, loaded.day) == (16, 16)
    assert "16:30:15" in str(raw)  # stored as UTC wall time, not the local 23:30
