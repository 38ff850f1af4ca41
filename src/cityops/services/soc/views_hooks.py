"""What the SOC manifest points at for its pages, tiles and demo, imported lazily.

Kept apart from ``manifest.py`` (owned with the service layer) and cheap to import: each
function imports its module only when the platform calls it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

TEMPLATES_DIR = str(Path(__file__).parent / "templates")
NAV_PATH = "/soc"
MONTH_CATEGORIES = ("malware", "vulnerability", "exploitation", "abnormal")


def view_routers() -> Iterable[APIRouter]:
    from cityops.services.soc import views

    return (views.router,)


def demo_loader(ctx: Any) -> object:
    from cityops.services.soc.demo import load_demo

    return load_demo(ctx)


def month_start(now: datetime) -> datetime:
    from cityops.services.soc.stats import LOCAL

    local = now.astimezone(LOCAL)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_by_category(ctx: Any) -> tuple[int, ...]:
    """SOC alerts seen this month (local time), as the SOC page counts them, by category."""
    from sqlalchemy import func, select

    from cityops.services.soc.models import SocDetection

    since = month_start(ctx.clock())
    with ctx.db.session() as session:
        found: dict[str, int] = {category: n for category, n in session.execute(
            select(SocDetection.soc_category, func.count())
            .where(SocDetection.last_seen >= since).group_by(SocDetection.soc_category))}
    return tuple(found.get(key, 0) for key in MONTH_CATEGORIES)


def open_alerts(ctx: Any) -> int:
    from cityops.services.soc.stats import open_soc_alerts

    with ctx.db.session() as session:
        return open_soc_alerts(session)


def tiles() -> tuple[Any, ...]:
    from cityops.kernel.registry import Tile

    return (
        Tile("soc_month", "Cảnh báo SOC tháng này: mã độc / lỗ hổng / khai thác / bất thường",
             "SOC alerts this month: malware / vulnerabilities / exploitation / abnormal",
             month_by_category),
        Tile("soc_open", "Cảnh báo SOC đang mở", "Open SOC alerts", open_alerts),
    )
