"""Demo field reports: a few hundred over the last months, across Đắk Lắk's communes, in every
state, made through the real intake and workflow functions so timelines, deadlines and the
audit log are what production would hold.

Idempotent: when the database already holds field reports, no demo report is added (a reload
must not double them, and a live database must never receive invented reports). Seeded, so
two fresh loads tell the same story relative to their ``now``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import Point, shape
from shapely.prepared import prep
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.kernel.audit import AuditContext, set_audit_context
from cityops.kernel.auth import User
from cityops.kernel.calendar import WorkingCalendar, load_calendar
from cityops.kernel.orgs import Area
from cityops.kernel.permissions import SYSTEM, Principal
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports import demo_data as text
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.intake import IntakeRequest, create_report
from cityops.services.field_reports.models import Report
from cityops.services.field_reports.routing import commune_committee

DEFAULT_COUNT = 360
SPAN_DAYS = 150
SEED = 1022
# Buôn Ma Thuột's wards get most reports, as in any provincial capital.
URBAN = ("24121", "24133", "24154", "24163", "24169", "24175")
RURAL_SAMPLE = 45
HOUR = timedelta(hours=1)
AUDIT_ACTOR = "demo loader"
ALL_PERMISSIONS = frozenset({
    "field_reports.read", "field_reports.intake", "field_reports.triage",
    "field_reports.handle", "field_reports.moderate", "field_reports.approve"})


@dataclass
class Place:
    area: Area
    shape: Any
    prepared: Any
    urban: bool


class Actors:
    """Demo staff acting under their own names (the IOC operator; each agency's officer) on
    the timeline. The audit log, which records who really wrote the rows, names the demo
    loader (``AUDIT_ACTOR``) for all of them."""

    def __init__(self, session: Session) -> None:
        self.users = {u.username: u.id for u in session.scalars(select(User))}
        set_audit_context(session, AuditContext(actor=AUDIT_ACTOR))

    def become(self, uow: UnitOfWork, username: str) -> None:
        if username == "system":
            uow.principal = SYSTEM  # the citizen themself (recorded_by stays empty)
        elif uow.principal.label != username:
            uow.principal = Principal(label=username, roles=frozenset({"operator"}),
                                      permissions=ALL_PERMISSIONS, agency_id=None,
                                      agency_scope=None, user_id=self.users.get(username))


def _places(session: Session, rng: random.Random) -> list[Place]:
    communes = [a for a in session.scalars(select(Area).where(Area.level == "commune")
                                           .order_by(Area.code)) if a.geometry]
    urban = [a for a in communes if a.code in URBAN]
    others = [a for a in communes if a.code not in URBAN]
    chosen = urban + rng.sample(others, min(RURAL_SAMPLE, len(others)))
    places = []
    for area in chosen:
        geometry = shape(area.geometry)
        places.append(Place(area, geometry, prep(geometry), area.code in URBAN))
    return places


def _point(place: Place, rng: random.Random) -> tuple[float, float]:
    """A uniformly drawn point inside the commune (rejection sampling in its bounding box)."""
    west, south, east, north = place.shape.bounds
    for _ in range(60):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if place.prepared.contains(Point(lon, lat)):
            return round(lat, 6), round(lon, 6)
    inner = place.shape.representative_point()
    return round(inner.y, 6), round(inner.x, 6)


def _request(place: Place, rng: random.Random) -> IntakeRequest:
    codes = list(text.DESCRIPTIONS)
    category = rng.choices(codes, weights=[text.DESCRIPTIONS[c][0] for c in codes])[0]
    streets = text.WARD_STREETS if place.urban else text.RURAL_STREETS
    spots = text.WARD_PLACES if place.urban else text.RURAL_PLACES
    street, spot = rng.choice(streets), rng.choice(spots)
    description = rng.choice(text.DESCRIPTIONS[category][1]).format(street=street, place=spot)
    attributes: dict[str, Any] = {}
    if category == "pothole":
        attributes["size"] = rng.choice(("small", "medium", "large"))
    if category == "fallen_tree":
        attributes["blocking"] = rng.choice(("yes", "no"))
    channel = rng.choices(("portal", "app", "hotline", "social", "email", "walk_in"),
                          weights=(38, 27, 22, 7, 3, 3))[0]
    name = rng.choice(text.NAMES)
    phone = f"09{rng.randrange(10**8):08d}"
    email = f"nguoidan{rng.randrange(10**5)}@example.vn" if rng.random() < 0.3 else ""
    lat, lon = _point(place, rng)
    return IntakeRequest(category_code=category, channel=channel, description=description,
                         lat=lat, lon=lon, address=f"{street}, gần {spot}",
                         contact_name=name, contact_phone=phone, contact_email=email,
                         show_name=rng.random() < 0.35, attributes=attributes,
                         priority=rng.choices(("normal", "high", "urgent", "low"),
                                              weights=(80, 12, 3, 5))[0])


def _officer(report: Report) -> str:
    return report.lead_agency.code.lower() if report.lead_agency else "operator"


class Story:
    """Plays one report's life step by step; stops at the first step still in the future."""

    def __init__(self, uow: UnitOfWork, actors: Actors, calendar: WorkingCalendar,
                 rng: random.Random, now: datetime) -> None:
        self.uow, self.actors, self.calendar, self.rng, self.now = uow, actors, calendar, rng, now

    def at(self, moment: datetime) -> bool:
        return moment <= self.now

    def play(self, req: IntakeRequest, received: datetime,
             original: Report | None = None) -> Report:
        uow, rng = self.uow, self.rng
        self.actors.become(uow, "operator" if req.channel in ("hotline", "social", "email",
                                                              "walk_in") else "system")
        report = create_report(uow, req, now=received, calendar=self.calendar)
        t = received + rng.uniform(0.5, 6) * HOUR
        if not self.at(t):
            return report
        self.actors.become(uow, "operator")
        if original is not None:
            workflow.merge(uow, report.id, original.code, now=t)
            return report
        roll = rng.random()
        if roll < 0.05:
            workflow.transition(uow, report.id, "rejected", now=t,
                                reason=rng.choice(text.REJECT_REASONS))
            return report
        workflow.transition(uow, report.id, "verified", now=t)
        t += rng.uniform(0.2, 3) * HOUR
        if not self.at(t):
            return report
        # The routing table's lead, or (triage: no rule matched) the commune's committee.
        lead = report.lead_agency or commune_committee(uow.session, report.area)
        workflow.assign(uow, report.id, now=t, agency_code=lead.code if lead else None)
        return self._handle(report, t)

    def _handle(self, report: Report, t: datetime) -> Report:
        uow, rng = self.uow, self.rng
        t += rng.uniform(2, 30) * HOUR
        if not self.at(t):
            return report
        self.actors.become(uow, _officer(report))
        workflow.transition(uow, report.id, "in_progress", now=t)
        if rng.random() < 0.3:
            staff_tools.add_note(uow, report.id, rng.choice(text.NOTES), public=False, now=t)
        # Three in four finish within the SLA; the rest run 1–10 days late.
        sla_left = max((report.due_at - t).total_seconds() / 3600, 2) if report.due_at else 48
        hours = rng.uniform(0.2, 0.95) * sla_left if rng.random() < 0.75 else \
            sla_left + rng.uniform(24, 240)
        t += timedelta(hours=hours)
        if not self.at(t):
            return report
        results = text.RESULTS.get(report.category.code, text.RESULTS["other"])
        workflow.transition(uow, report.id, "resolved", now=t, reason=rng.choice(results))
        t += rng.uniform(1, 20) * HOUR
        if not self.at(t):
            return report
        self.actors.become(uow, "operator")
        staff_tools.approve_result(uow, report.id, now=t)
        return self._rate_and_close(report, t)

    def _rate_and_close(self, report: Report, t: datetime) -> Report:
        uow, rng = self.uow, self.rng
        if rng.random() < 0.6:
            t += rng.uniform(6, 96) * HOUR
            if not self.at(t):
                return report
            stars = rng.choices((5, 4, 3, 2, 1), weights=(42, 30, 13, 9, 6))[0]
            comment = rng.choice(text.REOPEN_COMMENTS if stars <= 2 else text.GOOD_COMMENTS
                                 if stars >= 4 else text.NEUTRAL_COMMENTS)
            self.actors.become(uow, "system")  # the citizen rates from the portal
            staff_tools.rate(uow, report.code, stars, comment, now=t)
            if report.state == "in_progress":  # a low rating reopened it: work it again
                return self._handle_again(report, t)
        t += rng.uniform(48, 168) * HOUR
        if self.at(t) and report.state == "resolved":
            self.actors.become(uow, "operator")
            workflow.transition(uow, report.id, "closed", now=t)
        return report

    def _handle_again(self, report: Report, t: datetime) -> Report:
        t += self.rng.uniform(24, 120) * HOUR
        if not self.at(t):
            return report
        self.actors.become(self.uow, _officer(report))
        results = text.RESULTS.get(report.category.code, text.RESULTS["other"])
        workflow.transition(self.uow, report.id, "resolved", now=t,
                            reason="Đã xử lý lại: " + self.rng.choice(results))
        return report


def demo_reports_wanted(ctx: Any) -> bool:
    """Demo reports are bulk records: skipped when ``CITYOPS_DEMO_VOLUME=reference`` (the test
    suite's shared database, whose tests count exactly the reports they create). Tests of
    the demo itself call :func:`load_demo_reports` directly."""
    return ctx.settings.demo_volume == "records"


def load_demo_reports(ctx: Any, *, count: int = DEFAULT_COUNT,
                      now: datetime | None = None) -> dict[str, int]:
    """Add ``count`` reports received over the last months; nothing if any report exists."""
    now = now or ctx.clock()
    rng = random.Random(SEED)
    with ctx.uow() as uow:
        session = uow.session
        if session.scalar(select(func.count()).select_from(Report)):
            return {"reports": 0}
        places = _places(session, rng)
        if not places:
            return {"reports": 0}  # no boundaries loaded: nowhere to put a report
        story = Story(uow, Actors(session), load_calendar(session), rng, now)
        weights = [6 if p.urban else 1 for p in places]
        made = 0
        # Older reports first, as they came in; a few arrive every day.
        moments = sorted(now - timedelta(days=SPAN_DAYS * rng.random() ** 1.3)
                         for _ in range(count))
        recent: list[Report] = []
        # Autoflush before every query would flush ~2,000 times; intake flushes what it must.
        with session.no_autoflush:
            for received in moments:
                original = _neighbour(recent, received, rng)
                req = _request(rng.choices(places, weights=weights)[0], rng)
                if original is not None:
                    _same_problem(req, original, rng)
                report = story.play(req, received, original)
                if report.state not in ("rejected", "duplicate"):
                    recent = [*recent[-40:], report]
                made += 1
        session.flush()
        uow.commit()
    return {"reports": made}


def _neighbour(recent: list[Report], received: datetime,
               rng: random.Random) -> Report | None:
    """One report in sixteen is a neighbour reporting, within days, what is already known."""
    if rng.random() >= 1 / 16:
        return None
    candidates = [r for r in recent if received - r.created_at < timedelta(days=5)
                  and r.lat is not None]
    return rng.choice(candidates) if candidates else None


def _same_problem(req: IntakeRequest, original: Report, rng: random.Random) -> None:
    """The same category a few metres from the original (the duplicate radius is 30–100 m)."""
    assert original.lat is not None and original.lon is not None
    req.category_code = original.category.code
    req.attributes = dict(original.attributes)
    street, _, spot = original.address.partition(", gần ")
    req.description = rng.choice(text.DESCRIPTIONS[req.category_code][1]).format(
        street=street, place=spot or street)
    req.lat = round(original.lat + rng.uniform(-0.0001, 0.0001), 6)
    req.lon = round(original.lon + rng.uniform(-0.0001, 0.0001), 6)
    req.address = original.address
