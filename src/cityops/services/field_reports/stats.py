"""Field-report statistics computed from the stored reports (docs/field-reports.md, formulas).

Figures per group (agency, commune, category or month) over the reports *received* in the
window, scoped to what the reader may see:

- volume: reports received;
- on-time rate: resolved reports whose resolution came by their deadline ÷ resolved reports
  with a deadline (a report still open past its deadline is counted in ``overdue_open``);
- mean time to resolve: mean of (resolved_at − created_at), in hours, over resolved reports;
- satisfaction: mean rating (1–5) and the share of ratings ≥ 4, over rated reports;
- reopen rate: reports reopened at least once ÷ volume.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import Agency, Area
from cityops.kernel.permissions import Principal, authorize
from cityops.services.field_reports.access import scoped
from cityops.services.field_reports.models import Category, Report
from cityops.services.field_reports.vocab import OPEN_STATES

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
GROUPINGS: tuple[str, ...] = ("agency", "commune", "category", "month")
TRIAGE_KEY = "—"  # reports without a lead agency (IOC triage) or without a commune


@dataclass
class Figures:
    volume: int = 0
    resolved: int = 0
    resolved_with_deadline: int = 0
    resolved_on_time: int = 0
    overdue_open: int = 0
    hours_to_resolve: list[float] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    reopened: int = 0

    def add(self, row: Any, now: datetime) -> None:
        self.volume += 1
        self.reopened += row.reopen_count > 0
        if row.resolved_at is not None:
            self.resolved += 1
            self.hours_to_resolve.append((row.resolved_at - row.created_at).total_seconds()
                                         / 3600)
            if row.due_at is not None:
                self.resolved_with_deadline += 1
                self.resolved_on_time += row.resolved_at <= row.due_at
        elif row.state in OPEN_STATES and row.due_at is not None and row.due_at < now:
            self.overdue_open += 1
        if row.rating is not None:
            self.ratings.append(row.rating)

    @property
    def on_time_rate(self) -> float | None:
        if not self.resolved_with_deadline:
            return None
        return round(100 * self.resolved_on_time / self.resolved_with_deadline, 1)

    @property
    def mean_hours_to_resolve(self) -> float | None:
        if not self.hours_to_resolve:
            return None
        return round(sum(self.hours_to_resolve) / len(self.hours_to_resolve), 1)

    @property
    def mean_rating(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    @property
    def satisfied_share(self) -> float | None:
        if not self.ratings:
            return None
        return round(100 * sum(r >= 4 for r in self.ratings) / len(self.ratings), 1)

    @property
    def reopen_rate(self) -> float | None:
        return round(100 * self.reopened / self.volume, 1) if self.volume else None

    def as_dict(self) -> dict[str, Any]:
        return {"volume": self.volume, "resolved": self.resolved,
                "resolved_on_time": self.resolved_on_time,
                "resolved_with_deadline": self.resolved_with_deadline,
                "on_time_rate": self.on_time_rate, "overdue_open": self.overdue_open,
                "mean_hours_to_resolve": self.mean_hours_to_resolve,
                "rated": len(self.ratings), "mean_rating": self.mean_rating,
                "satisfied_share": self.satisfied_share, "reopened": self.reopened,
                "reopen_rate": self.reopen_rate}


@dataclass
class Row:
    key: str
    name: str
    figures: Figures


@dataclass
class ReportStats:
    total: Figures = field(default_factory=Figures)
    groups: dict[str, list[Row]] = field(default_factory=dict)
    # category code -> month -> volume (the chart's stacked trend)
    category_by_month: dict[str, dict[str, int]] = field(default_factory=dict)

    def rows(self, by: str) -> list[Row]:
        return self.groups[by]


def month_of(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m")


def compute(session: Session, principal: Principal, *, now: datetime,
            since: datetime | None = None, until: datetime | None = None,
            category: str | None = None, language: str = "vi") -> ReportStats:
    """Every grouping at once: one pass over the scoped rows (a few thousand at most)."""
    authorize(principal, "field_reports.read")
    if since is not None and until is not None and since >= until:
        raise Invalid("the start of the period must come before its end")
    lead = aliased(Agency)
    stmt = scoped(select(
        Report.id, Report.state, Report.created_at, Report.resolved_at, Report.due_at,
        Report.rating, Report.reopen_count, Category.code.label("category"),
        Category.name_vi, Category.name_en, Area.code.label("area"),
        Area.name.label("area_name"), lead.code.label("agency"), lead.name.label("agency_name"),
    ).join(Category, Category.id == Report.category_id)
        .outerjoin(Area, Area.id == Report.area_id)
        .outerjoin(lead, lead.id == Report.lead_agency_id), principal)
    if since is not None:
        stmt = stmt.where(Report.created_at >= since)
    if until is not None:
        stmt = stmt.where(Report.created_at < until)
    if category:
        stmt = stmt.where(Category.code == category)
    result = ReportStats()
    buckets: dict[str, dict[str, Figures]] = {by: defaultdict(Figures) for by in GROUPINGS}
    names: dict[str, dict[str, str]] = {by: {} for by in GROUPINGS}
    trend: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in session.execute(stmt.order_by(Report.id)):
        month = month_of(row.created_at)
        keys = {"agency": (row.agency or TRIAGE_KEY, row.agency_name or ""),
                "commune": (row.area or TRIAGE_KEY, row.area_name or ""),
                "category": (row.category, row.name_en if language == "en" else row.name_vi),
                "month": (month, month)}
        result.total.add(row, now)
        for by, (key, name) in keys.items():
            buckets[by][key].add(row, now)
            names[by][key] = name
        trend[row.category][month] += 1
    for by in GROUPINGS:
        rows = [Row(k, names[by][k], f) for k, f in buckets[by].items()]
        # Months in calendar order; the other groupings busiest first.
        rows.sort(key=(lambda r: r.key) if by == "month" else (lambda r: (-r.figures.volume,
                                                                          r.key)))
        result.groups[by] = rows
    result.category_by_month = {c: dict(m) for c, m in trend.items()}
    return result
