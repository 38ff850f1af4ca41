"""The online public services manifest (docs/architecture.md, "How to add a service")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from cityops.kernel.registry import JobSpec, ServiceManifest, Tile

MANAGERS = frozenset({"admin", "operator"})


def _api() -> Iterable[APIRouter]:
    from cityops.services.public_services import api

    return (api.router,)


def _views() -> Iterable[APIRouter]:
    from cityops.services.public_services import views_connector, views_dashboard, views_intake

    return (views_intake.router, views_connector.router, views_dashboard.router)


def _demo(ctx: Any) -> object:
    from cityops.services.public_services.demo import load_demo

    return load_demo(ctx)


def _tile_on_time(ctx: Any) -> object:
    from cityops.services.public_services.dashboard import tile_on_time_this_month

    return tile_on_time_this_month(ctx)


def _tile_overdue(ctx: Any) -> object:
    from cityops.services.public_services.dashboard import tile_overdue_now

    return tile_overdue_now(ctx)


def _reclassify(ctx: Any) -> object:
    from cityops.services.public_services.jobs import reclassify_job

    return reclassify_job(ctx)


def _connectors(ctx: Any) -> object:
    from cityops.services.public_services.jobs import connectors_job

    return connectors_job(ctx)


def _warnings(ctx: Any) -> object:
    from cityops.services.public_services.jobs import warning_tickets_job

    return warning_tickets_job(ctx)


manifest = ServiceManifest(
    key="public_services",
    title_vi="Dịch vụ công trực tuyến",
    title_en="Online public services",
    icon="file-text",
    api_routers=_api,
    view_routers=_views,
    permissions={
        # Province-wide roles read everything; officers and integrators only their agencies'
        # dossiers (by processing agency), enforced by scope_to_agencies / authorize.
        "public_services.read": frozenset({"admin", "operator", "leader", "officer",
                                           "integrator"}),
        # Integrators send through the API with their key, within their agency subtree.
        "public_services.intake": MANAGERS | {"integrator"},
        "public_services.connectors.manage": frozenset({"admin"}),
        "public_services.settings.manage": frozenset({"admin"}),
    },
    jobs=(
        # The warning job checks a setting every 5 minutes and works once a day.
        JobSpec("public_services.reclassify", 1800, _reclassify),
        JobSpec("public_services.connectors", 60, _connectors),
        JobSpec("public_services.warning_tickets", 300, _warnings),
    ),
    tiles=(
        Tile("on_time_month", "Hồ sơ đúng hạn tháng này (%)",
             "Dossiers on time this month (%)", _tile_on_time),
        Tile("overdue_now", "Hồ sơ đang quá hạn", "Dossiers overdue now", _tile_overdue),
    ),
    demo_loader=_demo,
    nav_path="/public-services",
    templates_dir=str(Path(__file__).parent / "templates"),
    model_modules=("cityops.services.public_services.models",),
)
