"""The alert center's manifest: it plugs into the platform like every service does."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from cityops.kernel.registry import JobSpec, ServiceManifest, Tile

ALL_STAFF = frozenset({"admin", "operator", "leader", "officer", "soc_analyst"})
WORKERS = frozenset({"admin", "operator", "officer", "soc_analyst"})


def _api() -> Iterable[APIRouter]:
    from cityops.alerts import api, notifications_api

    return (api.router, api.cap_router, notifications_api.router)


def _views() -> Iterable[APIRouter]:
    from cityops.alerts import notifications_views, views

    # First: /alerts/webhooks and /alerts/deliveries would otherwise match /alerts/{alert_id}.
    return (notifications_views.router, views.router)


def _active_count(ctx: Any) -> int:
    from cityops.alerts.models import Alert
    from cityops.alerts.vocab import ACTIVE_STATES

    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(Alert)
                              .where(Alert.status.in_(ACTIVE_STATES))) or 0


def _tickets_summary(ctx: Any) -> tuple[int, int]:
    from cityops.alerts.models import Alert

    with ctx.db.session() as session:
        sent = session.scalar(select(func.count()).select_from(Alert)
                              .where(Alert.is_ticket.is_(True))) or 0
        checked = session.scalar(select(func.count()).select_from(Alert).where(
            Alert.is_ticket.is_(True), Alert.ticket_checked_at.is_not(None))) or 0
    return checked, sent


def _escalation(ctx: Any) -> object:
    from cityops.alerts.jobs import escalation_job

    return escalation_job(ctx)


def _deliveries(ctx: Any) -> object:
    from cityops.alerts.notifications import delivery_job

    return delivery_job(ctx)


def _bell(session: Any, principal: Any) -> tuple[str, str, int] | None:
    from cityops.alerts.notifications import unread_count

    return "/alerts/notifications", "Notifications", unread_count(session, principal.user_id)


def _demo(ctx: Any) -> object:
    from cityops.alerts.demo import load_demo

    return load_demo(ctx)


manifest = ServiceManifest(
    key="alerts",
    title_vi="Trung tâm cảnh báo",
    title_en="Alert center",
    icon="bell",
    api_routers=_api,
    view_routers=_views,
    permissions={
        "alerts.read": ALL_STAFF | {"integrator"},
        "alerts.raise": frozenset({"admin", "operator", "soc_analyst", "integrator"}),
        "alerts.work": WORKERS,
        "alerts.triage": frozenset({"admin", "operator"}),
        "alerts.silence": frozenset({"admin", "operator"}),
        "incidents.manage": frozenset({"admin", "operator"}),
        # Officers manage their own agency's endpoints and see its deliveries only.
        "alerts.webhooks.manage": frozenset({"admin", "operator", "officer"}),
        "alerts.deliveries.read": ALL_STAFF,
        "alerts.deliveries.retry": frozenset({"admin", "operator", "officer"}),
    },
    jobs=(
        JobSpec("alerts.escalation", 60, _escalation),
        JobSpec("alerts.deliveries", 30, _deliveries),
    ),
    tiles=(
        Tile("active", "Cảnh báo đang mở", "Active alerts", _active_count),
        Tile("tickets", "Phiếu cảnh báo đã kiểm tra / đã gửi",
             "Warning tickets checked / sent", _tickets_summary),
    ),
    demo_loader=_demo,
    header_badge=_bell,
    nav_path="/alerts",
    templates_dir=str(Path(__file__).parent / "templates"),
    model_modules=("cityops.alerts.models", "cityops.alerts.notifications"),
)
