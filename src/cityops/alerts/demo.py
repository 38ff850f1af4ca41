"""Demo alerts for Đắk Lắk: live alerts from several services and a year of warning tickets.

Deterministic (fixed seed, times relative to the load day) and idempotent (skips alerts
whose dedupe key already exists).
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cityops.alerts import service
from cityops.alerts.models import Alert, AlertEvent
from cityops.alerts.policies import ensure_default_policies
from cityops.kernel.calendar import load_calendar
from cityops.kernel.orgs import Agency, Area
from cityops.kernel.permissions import SYSTEM

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SEED = 66

# (service, category, severity, title, title_en, agency code or None, public)
LIVE_ALERTS: tuple[tuple[str, str, str, str, str, str | None, bool], ...] = (
    ("environment", "Env", "major", "Chỉ số VN_AQI vượt 200 tại trạm Buôn Ma Thuột",
     "VN_AQI above 200 at the Buôn Ma Thuột station", "SO-NNMT", True),
    ("environment", "Env", "minor", "Độ đục nước sông Ba vượt QCVN 08:2023",
     "Turbidity of the Ba river exceeds QCVN 08:2023", "SO-NNMT", False),
    ("traffic", "Transport", "critical", "Tai nạn giao thông trên Quốc lộ 14",
     "Traffic accident on National Road 14", "CA-PC08", True),
    ("traffic", "Transport", "major", "Ùn tắc kéo dài tại nút giao Ngã Sáu",
     "Long congestion at the Ngã Sáu junction", "CA-PC08", False),
    ("soc", "Security", "critical", "Phát hiện mã độc trên máy chủ cổng dịch vụ công",
     "Malware detected on the public-service portal server", "SO-KHCN", False),
    ("soc", "Security", "major", "Lỗ hổng ứng dụng nghiêm trọng trên website Sở Y tế",
     "Critical application vulnerability on the Department of Health website", "SO-YT", False),
    ("soc", "Security", "warning", "Hành vi bất thường: đăng nhập SSH thất bại liên tục",
     "Abnormal behaviour: repeated failed SSH logins", "SO-TC", False),
    ("field_reports", "Infra", "warning", "Phản ánh quá hạn: đèn đường hỏng",
     "Overdue field report: broken street light", None, False),
    ("field_reports", "Infra", "minor", "Phản ánh quá hạn: rác thải tồn đọng",
     "Overdue field report: uncollected garbage", None, False),
    ("health", "Health", "major", "Số ca sốt xuất huyết tăng bất thường",
     "Unusual rise of dengue cases", "SO-YT", True),
    ("environment", "Met", "critical", "Mưa lớn, nguy cơ lũ quét ở vùng núi",
     "Heavy rain, flash-flood risk in mountain areas", "SO-NNMT", True),
    ("public_services", "Other", "warning", "Hồ sơ sắp đến hạn xử lý",
     "Dossiers close to their deadline", "SO-XD", False),
)


def _commune_agencies(agencies: list[Agency]) -> list[Agency]:
    return [a for a in agencies if a.kind in ("department", "commune_committee")]


def _load_live(ctx: Any, rng: random.Random, communes: list[Area], now: datetime) -> int:
    created = 0
    with ctx.uow(SYSTEM) as uow:
        for index, (svc, category, severity, title, title_en, agency, public) in \
                enumerate(LIVE_ALERTS):
            if uow.session.scalar(select(Alert.id).where(
                    Alert.dedupe_key == f"demo-live-{index}")) is not None:
                continue  # loaded before
            area = communes[rng.randrange(len(communes))]
            lat, lon = _point_in(area, rng)
            # agency=None: field reports with no routing go to the IOC triage queue.
            request = service.RaiseRequest(
                dedupe_key=f"demo-live-{index}", service=svc, title=title, title_en=title_en,
                severity=severity, category=category, agency_code=agency, area_code=area.code,
                lat=lat, lon=lon, is_public=public, description=title,
                description_en=title_en, tags=[svc])
            raised_at = now - timedelta(minutes=rng.randint(5, 600))
            result = service.raise_alert(uow, request, now=raised_at)
            created += result.created
        uow.commit()
    return created


def _point_in(area: Area, rng: random.Random) -> tuple[float, float]:
    from shapely.geometry import Point, shape

    geometry = shape(area.geometry) if area.geometry else None
    if geometry is None:
        return 12.68, 108.05
    minx, miny, maxx, maxy = geometry.bounds
    for _ in range(200):
        point = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if geometry.contains(point):
            return round(point.y, 5), round(point.x, 5)
    centroid = geometry.representative_point()
    return round(centroid.y, 5), round(centroid.x, 5)


def _load_tickets(ctx: Any, rng: random.Random, now: datetime, count: int) -> int:
    """A year of late-dossier warning tickets to departments and commune committees."""
    with ctx.uow(SYSTEM) as uow:
        session = uow.session
        if session.scalar(select(Alert.id).where(Alert.dedupe_key == "demo-ticket-0")):
            return 0
        agencies = _commune_agencies(list(session.scalars(select(Agency).order_by(Agency.code))))
        # Some agencies are chronically late: they get more tickets and answer later.
        weights = [rng.choice((1, 1, 1, 2, 5)) for _ in agencies]
        calendar = load_calendar(session)
        for index in range(count):
            agency = rng.choices(agencies, weights)[0]
            day = (now - timedelta(days=rng.randint(1, 365))).astimezone(LOCAL).date()
            raised = calendar.add_working_days(
                datetime.combine(day, time(7, 30), LOCAL), 0)  # type: ignore[arg-type]
            while raised > now:  # a weekend "yesterday" rolls forward past today
                raised = calendar.add_working_days(
                    raised - timedelta(days=7), 0)  # type: ignore[arg-type]
            late_agency = weights[agencies.index(agency)] >= 5
            dossiers = rng.randint(1, 25)
            alert = Alert(
                service="public_services", dedupe_key=f"demo-ticket-{index}",
                source_key=f"ticket-{index}", title=f"Phiếu cảnh báo: {dossiers} hồ sơ trễ hạn",
                title_en=f"Warning ticket: {dossiers} late dossiers",
                description=f"{agency.name} có {dossiers} hồ sơ quá hạn hoặc sắp đến hạn.",
                category="Other", severity="warning", status="new", agency=agency,
                is_ticket=True, raised_at=raised, last_seen_at=raised, updated_at=raised,
                search_text="phieu canh bao ho so tre han")
            alert.ticket_due_at = calendar.add_working_days(raised, 3)  # type: ignore[assignment]
            alert.resolve_due_at = alert.ticket_due_at
            alert.ack_due_at = calendar.add_working_days(raised, 1)  # type: ignore[assignment]
            alert.events.append(AlertEvent(kind="raised", at=raised, actor="system",
                                           to_state="new"))
            recent = (now - raised) < timedelta(days=2)
            if not (recent and rng.random() < 0.5) and rng.random() > 0.0005:
                checked = raised + timedelta(hours=rng.uniform(0.5, 30 if late_agency else 8))
                answered = checked + timedelta(
                    days=rng.uniform(0.2, 9 if late_agency else 3.5))
                alert.ticket_checked_at = alert.acknowledged_at = checked
                alert.events.append(AlertEvent(kind="ticket", at=checked,
                                               actor=agency.code.lower(), text="checked",
                                               from_state="new", to_state="acknowledged"))
                if answered < now:
                    alert.ticket_answered_at = alert.resolved_at = answered
                    alert.ticket_response = "Đã chỉ đạo xử lý dứt điểm các hồ sơ trễ hạn."
                    alert.status = "closed" if answered < now - timedelta(days=7) else "resolved"
                    alert.closed_at = answered + timedelta(days=7) \
                        if alert.status == "closed" else None
                    alert.events.append(AlertEvent(kind="ticket", at=answered,
                                                   actor=agency.code.lower(),
                                                   text=alert.ticket_response,
                                                   from_state="acknowledged",
                                                   to_state="resolved"))
                else:
                    alert.status = "acknowledged"
            if alert.status in ("new", "acknowledged", "in_progress"):
                alert.active_key = f"public_services:{alert.dedupe_key}"
            session.add(alert)
        uow.commit()
    return count


def load_demo(ctx: Any, tickets: int = 1200) -> dict[str, int]:
    rng = random.Random(SEED)
    now = ctx.clock()
    with ctx.uow(SYSTEM) as uow:
        policies = ensure_default_policies(uow.session)
        uow.commit()
    with ctx.db.session() as session:
        communes = list(session.scalars(select(Area).where(Area.level == "commune")
                                        .order_by(Area.code)))
    live = _load_live(ctx, rng, communes, now)
    return {"policies": policies, "live_alerts": live,
            "tickets": _load_tickets(ctx, rng, now, tickets)}
