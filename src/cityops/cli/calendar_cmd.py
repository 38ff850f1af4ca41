"""``cityops calendar``: inspect the working-day calendar used for deadlines."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.kernel.calendar import WorkingCalendar, load_calendar, weekday_name
from cityops.kernel.db import Database

MIN_YEAR, MAX_YEAR = 1990, 2100

app = typer.Typer(help="Working-day calendar: public holidays, days off and make-up days.")


@app.callback()
def _group() -> None:
    # A callback keeps ``show`` a subcommand even while it is the only one.
    pass


def open_database() -> Database:
    # Imported late so that this module loads (and its tests run) without the CLI's
    # settings machinery; tests replace this function.
    from cityops.cli.common import open_database as _open_database

    return _open_database()


def _calendar() -> WorkingCalendar:
    """The configured database's calendar, or the national one if it cannot be read."""
    try:
        db = open_database()
        try:
            with db.session() as session:
                return load_calendar(session)
        finally:
            db.dispose()
    except Exception as exc:  # the national calendar is still useful without a database
        # SQLAlchemy errors run to several lines of SQL; the first one says enough.
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        typer.echo(
            f"warning: database exceptions not loaded ({reason}); national calendar only",
            err=True,
        )
        return WorkingCalendar()


@app.command()
def show(year: Annotated[int, typer.Argument(help="Calendar year, e.g. 2026.")]) -> None:
    """Print the weekdays off and the weekend days worked in YEAR."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        typer.echo(f"error: year must be between {MIN_YEAR} and {MAX_YEAR}, got {year}", err=True)
        raise typer.Exit(code=2)
    calendar = _calendar()
    days_off = calendar.non_working_weekdays(year)
    typer.echo(f"Non-working weekdays in {year} ({len(days_off)}):")
    for day, reason in days_off:
        typer.echo(f"  {day.isoformat()}  {weekday_name(day):<8}  {reason}")
    worked = calendar.working_weekend_days(year)
    typer.echo(f"Working Saturdays/Sundays in {year} ({len(worked)}):")
    for day, reason in worked:
        typer.echo(f"  {day.isoformat()}  {weekday_name(day):<8}  {reason}")
    if not worked:
        typer.echo("  (none)")
