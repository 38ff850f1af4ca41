"""The ``cityops`` command line."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Annotated

import typer

from cityops.cli import admin_cmds, calendar_cmd
from cityops.cli.common import open_context, open_database, settings_or_exit

app = typer.Typer(help="CityOps — Intelligent Operations Center (Trung tâm IOC).",
                  no_args_is_help=True, add_completion=False)
demo_app = typer.Typer(help="Demo data for Đắk Lắk.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(admin_cmds.user_app, name="user")
app.add_typer(admin_cmds.apikey_app, name="apikey")
app.add_typer(admin_cmds.audit_app, name="audit")
app.add_typer(calendar_cmd.app, name="calendar")


def _add_service_commands() -> None:
    """Services contribute command groups through the ``cityops.cli`` entry points, so the
    CLI never imports a service by name."""
    for point in sorted(entry_points(group="cityops.cli"), key=lambda p: p.name):
        app.add_typer(point.load(), name=point.name)


_add_service_commands()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port (default CITYOPS_PORT or 8000)",
                                             min=1, max=65535)] = None,
    scheduler: Annotated[bool, typer.Option(help="run periodic jobs in this process")] = True,
) -> None:
    """Serve the web UI and the API (migrates the database first)."""
    import uvicorn

    from cityops.web.app import create_app

    settings = settings_or_exit()
    ctx = open_context()
    application = create_app(ctx, run_scheduler=scheduler)
    uvicorn.run(application, host=host or settings.host, port=port or settings.port,
                proxy_headers=True, log_level="info")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest revision."""
    db = open_database(migrate=True)
    typer.echo(f"database is up to date: {db.engine.url.render_as_string(hide_password=True)}")


@demo_app.command("load")
def demo_load() -> None:
    """Load the Đắk Lắk demo (idempotent: running it again duplicates nothing)."""
    from cityops.cli.common import progress_bar
    from cityops.demo.loader import demo_steps, load_demo

    ctx = open_context()
    with progress_bar("Loading demo data", demo_steps(ctx)) as bar:
        task = bar.task_ids[0]
        report = load_demo(ctx, progress=lambda what, n: bar.update(
            task, advance=n, description=f"Loading {what}"))
    created = ", ".join(f"{n} {what}" for what, n in sorted(report.created.items())) or \
        "nothing new (already loaded)"
    typer.echo(f"demo data loaded: {created}")
    default = type(ctx.settings).model_fields["demo_password"].default
    shown = f"'{default}'" if ctx.settings.demo_password == default else \
        "the value of CITYOPS_DEMO_PASSWORD"
    typer.echo(f"demo logins (password: {shown}):")
    for username, summary in report.users:
        typer.echo(f"  {username:<14} {summary}")
    typer.echo("  …and one officer per agency, username = agency code in lower case "
               "(e.g. so-yt, ubnd-24121)")


def main() -> None:
    app()
