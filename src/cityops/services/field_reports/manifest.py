"""The citizen field reports service's manifest (docs/architecture.md, "How to add a service")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from cityops.kernel.registry import JobSpec, ServiceManifest, Tile

STAFF = frozenset({"admin", "operator", "leader", "officer"})
IOC = frozenset({"admin", "operator"})


def _api() -> Iterable[APIRouter]:
    from cityops.services.field_reports import api, api_admin, api_tools, open311

    # Fixed paths (/routing-rules, /templates, /bans) before api's /{report_id}.
    return (api_admin.router, api_tools.router, api.router, open311.router)


def _views() -> Iterable[APIRouter]:
    from cityops.services.field_reports import (
        feeds,
        views_follow,
        views_hotline,
        views_portal,
        views_public,
        views_routing,
        views_staff,
        views_staff_actions,
        views_staff_detail,
        views_stats,
    )

    # views_public last: its /phan-anh/{code} would otherwise match /phan-anh/danh-sach etc.
    return (views_portal.router, feeds.router, views_hotline.router, views_stats.router,
            views_staff.router, views_staff_actions.router, views_staff_detail.router,
            views_routing.router, views_follow.router, views_public.router)


def _tile_open(ctx: Any) -> object:
    from cityops.services.field_reports.portal import tile_value

    return tile_value(ctx, "open")


def _tile_overdue(ctx: Any) -> object:
    from cityops.services.field_reports.portal import tile_value

    return tile_value(ctx, "overdue")


def _deadlines(ctx: Any) -> object:
    from cityops.services.field_reports.sla import deadline_job

    return deadline_job(ctx)


def _demo(ctx: Any) -> object:
    from cityops.services.field_reports.demo import demo_reports_wanted, load_demo_reports
    from cityops.services.field_reports.routing import load_defaults

    with ctx.uow() as uow:
        counts = load_defaults(uow.session)
        uow.commit()
    # Categories, rules and templates first: the demo reports are routed by them.
    if demo_reports_wanted(ctx):
        counts.update(load_demo_reports(ctx))
    return counts


manifest = ServiceManifest(
    key="field_reports",
    title_vi="Phản ánh hiện trường",
    title_en="Citizen field reports",
    icon="megaphone",
    api_routers=_api,
    view_routers=_views,
    nav_path="/field-reports/staff",
    templates_dir=str(Path(__file__).parent / "templates"),
    permissions={
        "field_reports.read": STAFF | {"integrator"},
        # Hotline call-takers (IOC operators), agencies and integrators record reports.
        "field_reports.intake": IOC | {"officer", "integrator"},
        "field_reports.triage": IOC,
        "field_reports.handle": IOC | {"officer", "integrator"},
        "field_reports.moderate": IOC,
        "field_reports.approve": IOC,
        "field_reports.routing.manage": frozenset({"admin"}),
    },
    jobs=(JobSpec("field_reports.deadlines", 300, _deadlines),),
    tiles=(Tile("open", "Phản ánh đang xử lý", "Field reports open", _tile_open),
           Tile("overdue", "Phản ánh quá hạn", "Field reports overdue", _tile_overdue)),
    demo_loader=_demo,
    model_modules=("cityops.services.field_reports.models",),
)
