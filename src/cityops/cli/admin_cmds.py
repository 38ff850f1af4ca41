"""Users, integrator API keys and the audit chain from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from cityops.cli.common import fail, open_context, progress_bar
from cityops.kernel.audit import AuditLog, verify_chain
from cityops.kernel.auth import User, create_api_key, hash_password, set_password
from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import ROLES

user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage integrator API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)


def _password(given: str | None) -> str:
    if given is not None:
        return given
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="login name (lower case)")],
    agency: Annotated[str, typer.Option(help="agency code, e.g. SO-YT")],
    role: Annotated[list[str], typer.Option(help=f"one of: {', '.join(ROLES)}; repeatable")],
    full_name: Annotated[str, typer.Option(help="display name")] = "",
    email: Annotated[str, typer.Option()] = "",
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
) -> None:
    """Create a user in an agency with one or more roles."""
    name = username.strip().lower()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise fail("username must be 1–64 characters without spaces")
    ctx = open_context()
    with ctx.uow() as uow:
        found = agency_by_code(uow.session, agency)
        if found is None:
            raise fail(f"no agency with code {agency!r}")
        if uow.session.scalar(select(User).where(User.username == name)) is not None:
            raise fail(f"user {name!r} already exists")
        try:
            user = User(username=name, full_name=full_name, email=email, agency=found,
                        password_hash=hash_password(_password(password)))
            user.set_roles(set(role))
        except ValueError as exc:
            raise fail(str(exc)) from None
        uow.session.add(user)
        uow.commit()
    typer.echo(f"created user {name} ({', '.join(sorted(role))}) in {found.code}")


@user_app.command("set-password")
def user_set_password(
    username: Annotated[str, typer.Argument()],
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
) -> None:
    """Set a user's password; their issued API tokens stop working."""
    ctx = open_context()
    with ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            raise fail(f"no user {username!r}")
        try:
            set_password(user, _password(password))
        except ValueError as exc:
            raise fail(str(exc)) from None
        uow.commit()
    typer.echo(f"password changed for {user.username}")


@apikey_app.command("create")
def apikey_create(
    agency: Annotated[str, typer.Option(help="agency code the integrator acts for")],
    name: Annotated[str, typer.Option(help="what the key is for, e.g. 'Cổng DVC sync'")],
) -> None:
    """Create an integrator key; it is printed once and only its hash is stored."""
    ctx = open_context()
    with ctx.uow() as uow:
        found = agency_by_code(uow.session, agency)
        if found is None:
            raise fail(f"no agency with code {agency!r}")
        try:
            key, raw = create_api_key(uow.session, found, name)
        except ValueError as exc:
            raise fail(str(exc)) from None
        uow.commit()
    typer.echo(f"API key #{key.id} for {found.code} ({key.name}). Store it now; it is not "
               "shown again:")
    typer.echo(raw)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's hash chain and name the first broken row."""
    ctx = open_context()
    with ctx.db.session() as session:
        total = session.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1)) or 0
        with progress_bar("Verifying audit chain", total) as bar:
            task = bar.task_ids[0]
            report = verify_chain(session, progress=lambda n: bar.advance(task, n))
    if report.ok:
        typer.echo(f"audit chain intact: {report.rows} rows")
        return
    typer.secho(f"audit chain BROKEN at row seq={report.first_broken_seq}: {report.reason}",
                fg=typer.colors.RED, err=True)
    raise typer.Exit(1)
