"""The hash-chained audit trail: automatic rows, redaction, and tamper detection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from cityops.cli import app as cli_app
from cityops.kernel.audit import (
    GENESIS_HASH,
    REDACTED,
    AuditLog,
    _hashed_fields,
    record_event,
    row_hash,
    verify_chain,
)
from cityops.kernel.auth import User, hash_password, set_password
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency, agency_by_code, area_by_code
from cityops.kernel.permissions import Principal

PASSWORD = "mat-khau-bi-mat-2026"
CLIENT = "203.0.113.7"
TESTER = Principal(label="tester", roles=frozenset({"admin"}), permissions=frozenset(),
                   agency_id=None, agency_scope=None, user_id=4242)


# -- helpers ------------------------------------------------------------------------------------


def audit_rows(ctx: AppContext, after_seq: int = 0) -> list[AuditLog]:
    with ctx.db.session() as session:
        return list(session.scalars(
            select(AuditLog).where(AuditLog.seq > after_seq).order_by(AuditLog.seq)))


def last_seq(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.max(AuditLog.seq))) or 0


def verify(ctx: AppContext):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        return verify_chain(session, batch=7)  # small batches cross batch boundaries


def add_agency(ctx: AppContext, code: str = "SO-TEST") -> int:
    with ctx.uow(TESTER, client_addr=CLIENT) as uow:
        agency = Agency(code=code, kind="department", email="a@daklak.gov.vn")
        agency.set_name("Sở Thử nghiệm")
        uow.session.add(agency)
        uow.commit()
        return agency.id


def change(ctx: AppContext, model: type, object_id: int, **values: object) -> None:
    with ctx.uow(TESTER, client_addr=CLIENT) as uow:
        obj = uow.session.get(model, object_id)
        assert obj is not None
        for key, value in values.items():
            setattr(obj, key, value)
        uow.commit()


def add_user(ctx: AppContext, username: str = "audited") -> int:
    with ctx.uow(TESTER, client_addr=CLIENT) as uow:
        user = User(username=username, password_hash=hash_password(PASSWORD))
        user.set_roles({"officer"})
        uow.session.add(user)
        uow.commit()
        return user.id


def tamper(ctx: AppContext, seq: int, **values: object) -> None:
    """Change a stored audit row directly in the table, as an intruder with SQL access would."""
    with ctx.db.engine.begin() as conn:
        conn.execute(update(AuditLog).where(AuditLog.seq == seq).values(**values))


def middle_seq(ctx: AppContext) -> int:
    top = last_seq(ctx)
    assert top > 10
    return top // 2


def run_cli(ctx: AppContext, *args: str):  # type: ignore[no-untyped-def]
    env = {"CITYOPS_DATABASE_URL": ctx.db.url, "CITYOPS_SECRET_KEY": ctx.settings.secret_key,
           "CITYOPS_ENV": "test"}
    return CliRunner().invoke(cli_app, list(args), env=env)


# -- rows written for every change --------------------------------------------------------------


def test_create_update_delete_are_recorded(empty_ctx: AppContext) -> None:
    agency_id = add_agency(empty_ctx)
    change(empty_ctx, Agency, agency_id, email="b@daklak.gov.vn", phone="0262 111")
    with empty_ctx.uow(TESTER, client_addr=CLIENT) as uow:
        uow.session.delete(uow.session.get(Agency, agency_id))
        uow.commit()

    created, updated, deleted = audit_rows(empty_ctx)
    assert [r.action for r in (created, updated, deleted)] == ["create", "update", "delete"]
    for row in (created, updated, deleted):
        assert (row.object_type, row.object_id) == ("agencies", str(agency_id))
        assert (row.actor, row.actor_user_id, row.client_addr) == ("tester", 4242, CLIENT)
        assert row.at.tzinfo is not None
    assert created.before is None
    assert created.after["code"] == "SO-TEST"
    assert created.after["id"] == agency_id
    assert created.after["email"] == "a@daklak.gov.vn"
    assert updated.before == {"email": "a@daklak.gov.vn", "phone": ""}
    assert updated.after == {"email": "b@daklak.gov.vn", "phone": "0262 111"}
    assert deleted.after is None
    assert deleted.before["email"] == "b@daklak.gov.vn"
    assert deleted.before["code"] == "SO-TEST"


def test_seq_and_hashes_form_a_chain(empty_ctx: AppContext) -> None:
    agency_id = add_agency(empty_ctx)
    change(empty_ctx, Agency, agency_id, note="một")
    rows = audit_rows(empty_ctx)
    assert [r.seq for r in rows] == [1, 2]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    assert len({r.hash for r in rows}) == 2


def test_unchanged_assignment_writes_nothing(empty_ctx: AppContext) -> None:
    agency_id = add_agency(empty_ctx)
    before = last_seq(empty_ctx)
    change(empty_ctx, Agency, agency_id, email="a@daklak.gov.vn")
    assert last_seq(empty_ctx) == before


def test_rolled_back_changes_leave_no_audit_rows(empty_ctx: AppContext) -> None:
    with empty_ctx.uow(TESTER) as uow:
        agency = Agency(code="GONE", kind="department")
        agency.set_name("Không lưu")
        uow.session.add(agency)
        uow.session.flush()  # the audit row exists inside the transaction …
        assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == 1
    assert audit_rows(empty_ctx) == []  # … and goes with the rollback


def test_system_actor_without_principal(empty_ctx: AppContext) -> None:
    with empty_ctx.uow() as uow:
        agency = Agency(code="SYS", kind="department")
        agency.set_name("Hệ thống")
        uow.session.add(agency)
        uow.commit()
    (row,) = audit_rows(empty_ctx)
    assert (row.actor, row.actor_user_id, row.client_addr) == ("system", None, "")


def test_record_event_joins_the_chain(empty_ctx: AppContext) -> None:
    add_agency(empty_ctx)
    with empty_ctx.uow(TESTER, client_addr=CLIENT) as uow:
        record_event(uow.session, "export", "areas", "*",
                     {"format": "geojson", "at": datetime(2026, 1, 1, tzinfo=UTC)})
        uow.commit()
    row = audit_rows(empty_ctx)[-1]
    assert (row.action, row.object_type, row.actor) == ("export", "areas", "tester")
    assert row.after == {"format": "geojson", "at": "2026-01-01T00:00:00+00:00"}
    assert verify(empty_ctx).ok


def test_api_change_records_the_user_and_address(client: TestClient, demo_ctx: AppContext,
                                                 auth_headers: Callable[[str], dict[str, str]],
                                                 ) -> None:
    before = last_seq(demo_ctx)
    response = client.patch("/api/v1/agencies/SO-YT", json={"phone": "0262 3852 999"},
                            headers=auth_headers("so-yt"))
    assert response.status_code == 200
    rows = [r for r in audit_rows(demo_ctx, before) if r.object_type == "agencies"]
    assert len(rows) == 1
    with demo_ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == "so-yt"))
        agency = agency_by_code(session, "SO-YT")
        assert user is not None and agency is not None
    row = rows[0]
    assert (row.action, row.object_id) == ("update", str(agency.id))
    assert (row.actor, row.actor_user_id, row.client_addr) == ("so-yt", user.id, "testclient")
    assert row.after == {"phone": "0262 3852 999"}


def test_changing_served_areas_is_recorded(demo_ctx: AppContext) -> None:
    """Which communes an agency serves is a change too (the agency_areas link table)."""
    before = last_seq(demo_ctx)
    with demo_ctx.uow(TESTER, client_addr=CLIENT) as uow:
        agency = agency_by_code(uow.session, "UBND-24133")
        other = area_by_code(uow.session, "24121")
        assert agency is not None and other is not None
        agency.areas = [*agency.areas, other]
        uow.commit()
        agency_id = agency.id
    rows = [r for r in audit_rows(demo_ctx, before)
            if (r.object_type, r.object_id) == ("agencies", str(agency_id))
            or r.object_type == "agency_areas"]
    assert rows, "adding a served area left no audit row"


# -- redaction and ignored columns ---------------------------------------------------------------


def test_password_hash_never_reaches_the_audit_log(empty_ctx: AppContext) -> None:
    user_id = add_user(empty_ctx)
    with empty_ctx.uow(TESTER) as uow:
        user = uow.session.get(User, user_id)
        assert user is not None
        hashes = [user.password_hash]
        set_password(user, PASSWORD + "-moi")
        hashes.append(user.password_hash)
        uow.commit()
    with empty_ctx.uow(TESTER) as uow:
        uow.session.delete(uow.session.get(User, user_id))
        uow.commit()

    user_rows = [r for r in audit_rows(empty_ctx) if r.object_type == "users"]
    assert [r.action for r in user_rows] == ["create", "update", "delete"]
    created, updated, deleted = user_rows
    assert created.after["password_hash"] == REDACTED
    assert updated.before["password_hash"] == updated.after["password_hash"] == REDACTED
    assert updated.after["token_version"] == 2
    assert deleted.before["password_hash"] == REDACTED
    with empty_ctx.db.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM audit_log"))
                        for v in row)
    for secret in (*hashes, PASSWORD, "$argon2", hashes[0].rsplit("$", 1)[-1]):
        assert secret not in dump


def test_ignored_columns_write_no_row(empty_ctx: AppContext) -> None:
    user_id = add_user(empty_ctx)
    before = last_seq(empty_ctx)
    change(empty_ctx, User, user_id, last_login_at=datetime.now(UTC), failed_logins=3)
    assert last_seq(empty_ctx) == before
    change(empty_ctx, User, user_id, last_login_at=datetime.now(UTC), full_name="Nguyễn Văn B")
    (row,) = audit_rows(empty_ctx, before)
    assert row.after == {"full_name": "Nguyễn Văn B"}  # the ignored column is left out


def test_area_geometry_is_not_copied_into_the_log(demo_ctx: AppContext) -> None:
    with demo_ctx.db.session() as session:
        created = session.scalars(select(AuditLog).where(
            AuditLog.object_type == "areas", AuditLog.action == "create").limit(5)).all()
    assert created
    for row in created:
        assert "geometry" not in row.after
        assert row.after["code"]


# -- verification --------------------------------------------------------------------------------


def test_demo_chain_verifies(demo_ctx: AppContext) -> None:
    report = verify(demo_ctx)
    assert report.ok, report
    assert report.rows == last_seq(demo_ctx) > 100


def test_empty_chain_verifies(empty_ctx: AppContext) -> None:
    report = verify(empty_ctx)
    assert report.ok and report.rows == 0


def test_tampered_content_is_found(demo_ctx: AppContext) -> None:
    seq = middle_seq(demo_ctx)
    tamper(demo_ctx, seq, after={"email": "ke-gian@example.com"})
    report = verify(demo_ctx)
    assert not report.ok
    assert report.first_broken_seq == seq
    assert "content" in report.reason


@pytest.mark.parametrize("column", ["actor", "client_addr", "object_id", "action"])
def test_tampered_metadata_is_found(demo_ctx: AppContext, column: str) -> None:
    seq = middle_seq(demo_ctx)
    tamper(demo_ctx, seq, **{column: "x"})
    assert verify(demo_ctx).first_broken_seq == seq


def test_tampered_time_is_found(demo_ctx: AppContext) -> None:
    seq = middle_seq(demo_ctx)
    tamper(demo_ctx, seq, at=datetime(2020, 1, 1, tzinfo=UTC))
    assert verify(demo_ctx).first_broken_seq == seq


def test_rehashed_row_breaks_the_next_link(demo_ctx: AppContext) -> None:
    """Recomputing the forged row's own hash does not help: the next row points at the old one."""
    seq = middle_seq(demo_ctx)
    with demo_ctx.db.session() as session:
        row = session.scalars(select(AuditLog).where(AuditLog.seq == seq)).one()
        fields = {c: getattr(row, c) for c in ("seq", "at", "actor", "actor_user_id",
                                               "client_addr", "action", "object_type",
                                               "object_id", "before")}
        fields["after"] = {"forged": True}
        new_hash = row_hash(row.prev_hash, _hashed_fields(fields))
    tamper(demo_ctx, seq, after={"forged": True}, hash=new_hash)
    report = verify(demo_ctx)
    assert report.first_broken_seq == seq + 1
    assert "prev_hash" in report.reason


def test_deleted_row_is_reported_as_a_gap(demo_ctx: AppContext) -> None:
    seq = middle_seq(demo_ctx)
    with demo_ctx.db.engine.begin() as conn:
        conn.execute(delete(AuditLog).where(AuditLog.seq == seq))
    report = verify(demo_ctx)
    assert report.first_broken_seq == seq + 1
    assert f"expected {seq}" in report.reason


def test_new_rows_after_tampering_do_not_hide_it(demo_ctx: AppContext) -> None:
    seq = middle_seq(demo_ctx)
    tamper(demo_ctx, seq, actor="someone-else")
    add_agency(demo_ctx)
    assert verify(demo_ctx).first_broken_seq == seq


# -- the command line ------------------------------------------------------------------------------


def test_cli_verify_reports_an_intact_chain(demo_ctx: AppContext) -> None:
    result = run_cli(demo_ctx, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"intact: {last_seq(demo_ctx)} rows" in result.output


def test_cli_verify_names_the_broken_row(demo_ctx: AppContext) -> None:
    seq = middle_seq(demo_ctx)
    tamper(demo_ctx, seq, after={"email": "ke-gian@example.com"})
    result = run_cli(demo_ctx, "audit", "verify")
    assert result.exit_code == 1
    assert f"seq={seq}" in result.output
    assert "BROKEN" in result.output
