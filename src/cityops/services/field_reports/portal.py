"""The citizen portal's service layer: submit with photos, public listing, citizen rating.

Every public output goes through ``public.public_reports`` / ``public.public_view``, which never
read contact details, hidden names or internal notes. Submissions from the web are checked by
``abuse`` (challenge and rate limits) before ``intake.create_report`` (which checks the ban
list, validates and routes).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.orgs import Area
from cityops.kernel.permissions import PermissionDenied
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports import abuse, staff_tools
from cityops.services.field_reports.intake import (
    IntakeRequest,
    create_report,
    normalize_code,
    normalize_phone,
)
from cityops.services.field_reports.media import N_, Photo, store_photos
from cityops.services.field_reports.models import Category, Report
from cityops.services.field_reports.public import LOCAL_TZ, is_public, public_reports
from cityops.services.field_reports.vocab import OPEN_STATES, STATES

LIST_LIMIT = 500
PAGE_SIZE = 50  # the public list's default page size
MAX_PAGE_SIZE = 200  # more rows than this make the page and its map too heavy on a phone


def parse_float(value: str) -> float | None:
    """An optional coordinate typed in a form ("" means absent; a comma is a decimal mark)."""
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise Invalid(N_("the map position is not a valid coordinate")) from None


def submit(uow: UnitOfWork, req: IntakeRequest, photos: list[Photo], *, media_dir: Path,
           now: datetime, rate_limited: bool = True) -> tuple[Report, list[Path]]:
    """Store a report and its photos (flushed, not committed); returns the files written so the
    caller can remove them if the commit fails."""
    if rate_limited:
        abuse.check_rate(uow.session, client_addr=req.client_addr,
                         phone=normalize_phone(req.contact_phone),
                         email=req.contact_email.strip().lower(), now=now)
    report = create_report(uow, req, now=now)
    written = store_photos(uow, report, photos, media_dir=media_dir,
                           uploaded_by=uow.principal.label if req.channel != "portal"
                           else "citizen")
    uow.session.flush()
    return report, written


@dataclass
class PublicFilter:
    """The public list's filters; empty strings mean "any"."""

    area: str = ""
    category: str = ""
    state: str = ""
    since: str = ""
    until: str = ""

    def query(self, session: Session) -> Select[Any]:
        stmt = public_reports()
        if self.area:
            stmt = stmt.where(Report.area_id.in_(select(Area.id).where(Area.code == self.area)))
        if self.category:
            stmt = stmt.where(Category.code == self.category)
        if self.state in STATES:
            stmt = stmt.where(Report.state == self.state)
        since, until = _local_day(self.since), _local_day(self.until)
        if since:
            stmt = stmt.where(Report.created_at >= since)
        if until:
            stmt = stmt.where(Report.created_at < until + timedelta(days=1))
        return stmt.order_by(Report.created_at.desc(), Report.id.desc())


def _local_day(value: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), time(0), LOCAL_TZ)
    except ValueError:
        return None


def public_list(session: Session, f: PublicFilter, limit: int = LIST_LIMIT) -> list[Report]:
    return list(session.scalars(f.query(session).limit(limit)))


@dataclass
class PublicPage:
    rows: list[Report]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def public_page(session: Session, f: PublicFilter, page: int = 1,
                page_size: int = PAGE_SIZE) -> PublicPage:
    """One page (1-based) of the public list, newest first, with the total that matches."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(N_("page must be 1 or more and page size 1 to 200"))
    stmt = f.query(session)
    total = session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).all()
    return PublicPage(list(rows), total, page, page_size)


def public_report(session: Session, code: str) -> Report:
    """A report the public may see, by tracking code (404 for hidden or private ones)."""
    report = session.scalar(select(Report).where(Report.code == normalize_code(code)))
    if report is None or not is_public(report):
        raise NotFound(N_("no public report with this tracking code"))
    return report


def contact_matches(report: Report, contact: str) -> bool:
    """The citizen proves the report is theirs with the phone or e-mail they gave."""
    contact = contact.strip()
    if not contact:
        return False
    phone, email = normalize_phone(contact), contact.lower()
    return bool(report.contact_phone and hmac.compare_digest(phone, report.contact_phone)) or \
        bool(report.contact_email and hmac.compare_digest(email, report.contact_email))


def rate_as_citizen(uow: UnitOfWork, code: str, contact: str, rating: int, comment: str, *,
                    now: datetime, reopen: bool = False) -> Report:
    """Rate the published result; a low rating (or asking to reopen) within the period
    reopens the report (``staff_tools.rate``)."""
    report = staff_tools.citizen_report(uow, code)
    if not contact_matches(report, contact):
        raise PermissionDenied(N_("the tracking code and the phone number or e-mail address "
                                  "do not match"))
    return staff_tools.rate(uow, report.code, rating, comment, now=now, reopen=reopen)


def communes(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).where(
        Area.level == "commune", Area.valid_to.is_(None)).order_by(Area.search_name)))


def categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.active.is_(True))
                                .order_by(Category.group, Category.code)))


def attribute_answers(category: Category, form: dict[str, Any]) -> dict[str, Any]:
    """The category's extra questions answered in a form as ``q_<code>`` fields."""
    answers: dict[str, Any] = {}
    for question in category.questions:
        key = f"q_{question['code']}"
        given = form.get(key)
        if question.get("datatype") == "multivaluelist":
            values = [str(v) for v in (given if isinstance(given, list) else [given]) if v]
            if values:
                answers[question["code"]] = values
        elif (value := str(given or "").strip()):
            answers[question["code"]] = value
    return answers


def tile_value(ctx: Any, which: str) -> int:
    """Overview tiles: reports still open, and those of them past their deadline."""
    stmt = select(func.count()).select_from(Report).where(Report.state.in_(OPEN_STATES))
    if which == "overdue":
        stmt = stmt.where(Report.due_at < ctx.clock())
    with ctx.db.session() as session:
        return session.scalar(stmt) or 0
