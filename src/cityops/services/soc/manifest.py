"""The information security monitoring service's manifest (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter

from cityops.kernel.registry import JobSpec, ServiceManifest
from cityops.services.soc import views_hooks

# Officers read only their own agency's assets and detections (scoped in the service layer).
READERS = frozenset({"admin", "operator", "leader", "soc_analyst", "officer"})
MANAGERS = frozenset({"admin", "soc_analyst"})


def _api() -> Iterable[APIRouter]:
    from cityops.services.soc import api, api_assets, api_correlations, api_rules

    return (api.router, api_rules.router, api_assets.router, api_correlations.router)


def _sync_bundle(ctx: object) -> object:
    from cityops.services.soc.rules_store import sync_bundle_job

    return sync_bundle_job(ctx)


manifest = ServiceManifest(
    key="soc",
    title_vi="Giám sát an toàn thông tin",
    title_en="Information security monitoring",
    icon="shield",
    api_routers=_api,
    permissions={
        "soc.read": READERS,
        "soc.rules.manage": MANAGERS,
        "soc.assets.manage": MANAGERS,
        # Integrators deliver events with their API key; analysts may push samples by hand.
        "soc.ingest": frozenset({"admin", "soc_analyst", "integrator"}),
    },
    # A fresh installation gets the bundled rules, and an upgrade or the demo's subset the
    # missing and changed ones, without anyone running a command.
    jobs=(JobSpec("soc.rules.bundle", 3600, _sync_bundle),),
    model_modules=("cityops.services.soc.models",),
    view_routers=views_hooks.view_routers,
    templates_dir=views_hooks.TEMPLATES_DIR,
    nav_path=views_hooks.NAV_PATH,
    tiles=views_hooks.tiles(),
    demo_loader=views_hooks.demo_loader,
)
