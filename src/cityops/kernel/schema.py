"""Schema migrations (Alembic) run from code, so ``cityops migrate`` works when installed."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from cityops.kernel.db import Base


def target_metadata() -> MetaData:
    """Kernel models plus every installed service's models."""
    import cityops.kernel.models  # noqa: F401  (registers the kernel tables)
    from cityops.kernel.registry import ENTRY_POINT_GROUP, entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        for module in point.load().model_modules:
            __import__(module)
    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", "cityops:migrations")
    config.set_main_option("sqlalchemy.url",
                           engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def pending_differences(engine: Engine) -> list[object]:
    """What the models have that the migrated database lacks (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target_metadata()))
