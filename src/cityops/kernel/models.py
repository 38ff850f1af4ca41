"""Imports every kernel model so that ``Base.metadata`` is complete (Alembic, tests)."""

from cityops.kernel import audit, auth, calendar, orgs, scheduler  # noqa: F401
from cityops.kernel.db import Base

metadata = Base.metadata
