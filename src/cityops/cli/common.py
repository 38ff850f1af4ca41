"""What every CLI command needs: settings, a migrated database, clean error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cityops.kernel.config import ConfigError, Settings, load_settings
from cityops.kernel.context import AppContext
from cityops.kernel.db import Database
from cityops.kernel.registry import discover
from cityops.kernel.schema import upgrade


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def open_database(migrate: bool = True) -> Database:
    settings = settings_or_exit()
    db = Database(settings.database_url)
    if migrate:
        upgrade(db.engine)
    return db


def open_context(migrate: bool = True) -> AppContext:
    settings = settings_or_exit()
    db = Database(settings.database_url)
    if migrate:
        upgrade(db.engine)
    return AppContext(settings=settings, db=db, registry=discover())


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        progress.add_task(description, total=total)
        yield progress
