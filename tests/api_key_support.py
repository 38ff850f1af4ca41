"""An integrator's API key for tests of the machine-to-machine APIs (alerts, SOC, dossiers)."""

from __future__ import annotations

from cityops.kernel.auth import create_api_key
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code


def api_key_headers(ctx: AppContext, agency_code: str, name: str) -> dict[str, str]:
    """A new API key of the agency, committed, as the request header that carries it."""
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, agency_code)
        assert agency is not None
        _, raw = create_api_key(uow.session, agency, name)
        uow.commit()
    return {"X-API-Key": raw}
