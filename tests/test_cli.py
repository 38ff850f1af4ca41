"""The ``cityops`` command line, run in-process with Typer's CliRunner."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import typer
from conftest import DEMO_PASSWORD, USE_POSTGRES, token_for
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from typer.testing import CliRunner, Result

from cityops.cli import app as cli_app
from cityops.kernel.auth import API_KEY_PREFIX, ApiKey, User
from cityops.kernel.context import AppContext
from cityops.kernel.db import Database
from cityops.kernel.schema import pending_differences

SECRET = "cli-test-secret-" + "k" * 32


def cli_env(url: str, **extra: str) -> dict[str, str]:
    return {"CITYOPS_DATABASE_URL": url, "CITYOPS_SECRET_KEY": SECRET, "CITYOPS_ENV": "test",
            "CITYOPS_DEMO_PASSWORD": DEMO_PASSWORD, **extra}


def run(url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(cli_app, list(args), env=cli_env(url, **env))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def failed(result: Result) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    return result.output


def command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The root, every group and every command below it, as argument tuples."""
    paths = [prefix]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        paths += command_paths(sub, (*prefix, name))
    return paths


ALL_COMMANDS = command_paths(typer.main.get_command(cli_app))


def count(ctx: AppContext, table: str) -> int:
    with ctx.db.engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def token_login(client: TestClient, username: str, password: str) -> int:
    return client.post("/api/v1/auth/token",
                       data={"username": username, "password": password}).status_code


# -- help ----------------------------------------------------------------------------------------


def test_every_command_is_listed() -> None:
    names = {" ".join(path) for path in ALL_COMMANDS}
    assert {"serve", "migrate", "demo load", "user create", "user set-password",
            "apikey create", "audit verify", "calendar show"} <= names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "cityops")
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli_app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_no_arguments_shows_help() -> None:
    result = CliRunner().invoke(cli_app, [])
    assert "Usage:" in result.output
    assert "migrate" in result.output


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    output = failed(run("mysql://root@localhost/cityops", "migrate"))
    assert "CITYOPS_DATABASE_URL" in output
    output = failed(run(f"sqlite:///{tmp_path}/x.db", "migrate", CITYOPS_PORT="eighty"))
    assert "CITYOPS_PORT" in output


# -- migrate ---------------------------------------------------------------------------------------


def test_migrate_creates_the_schema(tmp_path: Path, empty_ctx: AppContext) -> None:
    url = empty_ctx.db.url if USE_POSTGRES else f"sqlite:///{tmp_path}/fresh/cityops.db"
    output = ok(run(url, "migrate"))
    assert "database is up to date" in output
    ok(run(url, "migrate"))  # twice is fine
    db = Database(url)
    try:
        assert {"areas", "agencies", "users", "audit_log"} <= set(
            inspect(db.engine).get_table_names())
        assert pending_differences(db.engine) == []
    finally:
        db.dispose()


# -- users ---------------------------------------------------------------------------------------


def test_user_create_then_login(demo_ctx: AppContext, client: TestClient) -> None:
    output = ok(run(demo_ctx.db.url, "user", "create", "Nguyen.Moi", "--agency", "SO-YT",
                    "--role", "officer", "--role", "leader", "--full-name", "Nguyễn Mới",
                    "--password", "mat-khau-moi-2026"))
    assert "created user nguyen.moi" in output
    with demo_ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == "nguyen.moi"))
        assert user is not None
        assert user.roles == {"officer", "leader"}
        assert user.full_name == "Nguyễn Mới"
        assert user.agency is not None and user.agency.code == "SO-YT"
        assert user.password_hash != "mat-khau-moi-2026"
    headers = token_for(client, "nguyen.moi", "mat-khau-moi-2026")
    assert client.get("/api/v1/auth/me", headers=headers).json()["roles"] == ["leader",
                                                                               "officer"]


def test_user_create_prompts_for_the_password(demo_ctx: AppContext, client: TestClient) -> None:
    result = CliRunner().invoke(
        cli_app, ["user", "create", "prompted", "--agency", "SO-YT", "--role", "officer"],
        input="mat-khau-nhap-tay\nmat-khau-nhap-tay\n", env=cli_env(demo_ctx.db.url))
    ok(result)
    assert "mat-khau-nhap-tay" not in result.stdout  # typed, not echoed
    assert token_login(client, "prompted", "mat-khau-nhap-tay") == 200


@pytest.mark.parametrize(("args", "message"), [
    (["ghost", "--agency", "NO-SUCH", "--role", "officer"], "no agency with code 'NO-SUCH'"),
    (["admin", "--agency", "IOC", "--role", "admin"], "user 'admin' already exists"),
    (["newrole", "--agency", "IOC", "--role", "superuser"], "unknown roles: superuser"),
    (["has space", "--agency", "IOC", "--role", "officer"], "without spaces"),
    (["shortpw", "--agency", "IOC", "--role", "officer", "--password", "short"], "at least 8"),
])
def test_user_create_refusals(demo_ctx: AppContext, args: list[str], message: str) -> None:
    users_before = count(demo_ctx, "users")
    if "--password" not in args:
        args = [*args, "--password", "long-enough-123"]
    output = failed(run(demo_ctx.db.url, "user", "create", *args))
    assert message in output
    assert count(demo_ctx, "users") == users_before


def test_set_password_then_login(demo_ctx: AppContext, client: TestClient) -> None:
    old_headers = token_for(client, "operator")
    output = ok(run(demo_ctx.db.url, "user", "set-password", "OPERATOR",
                    "--password", "mat-khau-doi-2026"))
    assert "password changed for operator" in output
    assert token_login(client, "operator", DEMO_PASSWORD) == 401
    assert token_login(client, "operator", "mat-khau-doi-2026") == 200
    assert client.get("/api/v1/auth/me", headers=old_headers).status_code == 401


def test_set_password_refusals(demo_ctx: AppContext, client: TestClient) -> None:
    assert "no user 'nobody'" in failed(run(demo_ctx.db.url, "user", "set-password", "nobody",
                                            "--password", "long-enough-123"))
    assert "at least 8" in failed(run(demo_ctx.db.url, "user", "set-password", "operator",
                                      "--password", "short"))
    assert token_login(client, "operator", DEMO_PASSWORD) == 200  # unchanged


# -- API keys ------------------------------------------------------------------------------------


def test_apikey_create_prints_a_working_key_once(demo_ctx: AppContext,
                                                 client: TestClient) -> None:
    output = ok(run(demo_ctx.db.url, "apikey", "create", "--agency", "SO-YT", "--name", "x"))
    keys = re.findall(rf"{API_KEY_PREFIX}[A-Za-z0-9_-]+", output)
    assert len(keys) == 1
    raw = keys[0]
    assert output.count(raw) == 1
    assert "not shown again" in output

    me = client.get("/api/v1/auth/me", headers={"X-API-Key": raw})
    assert me.status_code == 200 and me.json()["username"] == "apikey:x"
    assert client.get("/api/v1/areas", headers={"X-API-Key": raw}).status_code == 200

    with demo_ctx.db.session() as session:
        key = session.scalars(select(ApiKey).where(ApiKey.name == "x")).one()
        assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert key.agency.code == "SO-YT"
    with demo_ctx.db.engine.connect() as conn:
        dump = " ".join(str(v) for table in ("api_keys", "audit_log")
                        for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row)
    assert raw.removeprefix(API_KEY_PREFIX) not in dump


@pytest.mark.parametrize(("args", "message"), [
    (["--agency", "NO-SUCH", "--name", "x"], "no agency with code 'NO-SUCH'"),
    (["--agency", "SO-YT", "--name", "  "], "needs a name"),
])
def test_apikey_create_refusals(demo_ctx: AppContext, args: list[str], message: str) -> None:
    keys_before = count(demo_ctx, "api_keys")
    assert message in failed(run(demo_ctx.db.url, "apikey", "create", *args))
    assert count(demo_ctx, "api_keys") == keys_before


# -- demo ----------------------------------------------------------------------------------------

KERNEL_TABLES = ("areas", "agencies", "agency_areas", "users", "user_roles", "audit_log")


def test_demo_load_is_idempotent(empty_ctx: AppContext) -> None:
    first = ok(run(empty_ctx.db.url, "demo", "load"))
    assert "demo data loaded" in first
    assert "so-yt" in first and "admin" in first
    counts = {table: count(empty_ctx, table) for table in KERNEL_TABLES}
    assert counts["areas"] == 103
    second = ok(run(empty_ctx.db.url, "demo", "load"))
    assert "nothing new" in second
    assert {table: count(empty_ctx, table) for table in KERNEL_TABLES} == counts


def test_demo_load_uses_the_configured_password(empty_ctx: AppContext) -> None:
    output = ok(run(empty_ctx.db.url, "demo", "load", CITYOPS_DEMO_PASSWORD="rieng-cho-demo"))
    assert "CITYOPS_DEMO_PASSWORD" in output
    assert "rieng-cho-demo" not in output
    from cityops.kernel.auth import verify_password

    with empty_ctx.db.session() as session:
        hashed = session.scalar(select(User.password_hash).where(User.username == "leader"))
        assert hashed is not None and verify_password(hashed, "rieng-cho-demo")
        assert session.scalar(select(func.count()).select_from(User)) > 100


# -- calendar ------------------------------------------------------------------------------------


def test_calendar_show_2026(empty_ctx: AppContext) -> None:
    output = ok(run(empty_ctx.db.url, "calendar", "show", "2026"))
    assert re.search(r"2026-02-16\s+Thứ Hai", output)
    assert "Non-working weekdays in 2026" in output
    assert "warning" not in output


def test_calendar_show_2025_mentions_the_swap(empty_ctx: AppContext) -> None:
    output = ok(run(empty_ctx.db.url, "calendar", "show", "2025"))
    worked = output.split("Working Saturdays/Sundays in 2025", 1)[1]
    assert re.search(r"2025-04-26\s+Thứ Bảy", worked)
    assert "02/05/2025" in worked
    assert "2025-05-02" in output.split("Working Saturdays", 1)[0]


def test_calendar_rejects_an_absurd_year(empty_ctx: AppContext) -> None:
    assert "between" in failed(run(empty_ctx.db.url, "calendar", "show", "20266"))
