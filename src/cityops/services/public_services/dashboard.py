"""Dashboard figures from the stored dossiers: counts by agency and month, 766 scores, ranking.

Everything is grouped by ``received_month`` (yyyymm, local time) and the stored outcome, with
portable ``SUM(CASE …)`` aggregates, so the figures are one indexed query on SQLite and
PostgreSQL alike. Reads are always scoped to the reader's agencies.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal, scope_to_agencies
from cityops.services.public_services import scores
from cityops.services.public_services.intake import LOCAL
from cityops.services.public_services.models import Dossier, Procedure
from cityops.services.public_services.tickets import report_lines

_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")
FINISHED = ("early", "on_time", "late")


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month, as an inclusive yyyymm range."""

    key: str  # "2026", "2026-Q1" or "2026-03"
    first_month: int
    last_month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        found = _PERIOD.match(text.strip())
        if not found:
            raise Invalid("the period must read 2026, 2026-Q1 or 2026-03")
        year, quarter, month = int(found[1]), found[2], found[3]
        if not 2000 <= year <= 2100:
            raise Invalid("the period's year must be between 2000 and 2100")
        if quarter:
            first = (int(quarter) - 1) * 3 + 1
            return cls(text.strip(), year * 100 + first, year * 100 + first + 2)
        if month:
            if not 1 <= int(month) <= 12:
                raise Invalid("the period's month must be 01 to 12")
            return cls(text.strip(), year * 100 + int(month), year * 100 + int(month))
        return cls(text.strip(), year * 100 + 1, year * 100 + 12)

    @classmethod
    def current_year(cls, now: datetime) -> Period:
        return cls.parse(str(now.astimezone(LOCAL).year))

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) instants of the period in local time."""
        start = date(self.first_month // 100, self.first_month % 100, 1)
        last_year, last = divmod(self.last_month, 100)
        end = date(last_year + (last == 12), last % 12 + 1, 1)
        return (datetime.combine(start, time(0), LOCAL), datetime.combine(end, time(0), LOCAL))

    def months(self) -> list[int]:
        return [self.first_month // 100 * 100 + m
                for m in range(self.first_month % 100, self.last_month % 100 + 1)]


@dataclass(frozen=True)
class Counts:
    """Dashboard counts beyond what the scores need (by stored outcome)."""

    in_term: int = 0
    due_soon: int = 0
    paused: int = 0
    cancelled: int = 0
    unclassified: int = 0


def _flag(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


_AGGREGATES = {
    "received": func.count(Dossier.id),
    "early": _flag(Dossier.outcome == "early"),
    "on_time": _flag(Dossier.outcome == "on_time"),
    "late": _flag(Dossier.outcome == "late"),
    "overdue": _flag(Dossier.outcome == "overdue"),
    "online": _flag(Dossier.channel == 2),
    "fee_dossiers": _flag(Procedure.fee > 0),
    "paid_online": _flag((Procedure.fee > 0) & Dossier.payment_online.is_(True)),
    "digitised": _flag(Dossier.digitised.is_(True)),
    "finished": _flag(Dossier.outcome.in_(FINISHED)),
    "e_results": _flag(Dossier.outcome.in_(FINISHED) & Dossier.e_result.is_(True)),
    "flagged": _flag(or_(Dossier.has_complaint.is_(True), Dossier.has_feedback.is_(True))),
    "in_term": _flag(Dossier.outcome == "in_term"),
    "due_soon": _flag(Dossier.outcome == "due_soon"),
    "paused": _flag(Dossier.outcome == "paused"),
    "cancelled": _flag(Dossier.outcome == "cancelled"),
    "unclassified": _flag(Dossier.outcome.is_(None)),
}
_FIGURE_FIELDS = {f.name for f in fields(scores.Figures)}
_COUNT_FIELDS = {f.name for f in fields(Counts)}


@dataclass(frozen=True)
class Tally:
    figures: scores.Figures
    counts: Counts

    @property
    def scores(self) -> scores.Scores:
        return scores.compute(self.figures)

    @property
    def in_progress(self) -> int:
        return self.counts.in_term + self.counts.due_soon + self.figures.overdue


def _scoped(stmt: Select[Any], principal: Principal, period: Period,
            agency_id: int | None) -> Select[Any]:
    stmt = stmt.where(Dossier.received_month >= period.first_month,
                      Dossier.received_month <= period.last_month)
    if agency_id is not None:
        stmt = stmt.where(Dossier.processing_agency_id == agency_id)
    return scope_to_agencies(stmt, principal, Dossier.processing_agency_id)


def tallies(session: Session, principal: Principal, period: Period, *,
            by_agency: bool = False, by_month: bool = False,
            agency_id: int | None = None) -> dict[tuple[int | None, int | None], Tally]:
    """Tallies keyed by (agency id or None, yyyymm or None) for the reader's dossiers."""
    keys = []
    if by_agency:
        keys.append(Dossier.processing_agency_id.label("agency"))
    if by_month:
        keys.append(Dossier.received_month.label("month"))
    stmt = select(*keys, *(expr.label(name) for name, expr in _AGGREGATES.items()))
    stmt = _scoped(stmt.join(Procedure, Procedure.id == Dossier.procedure_id), principal,
                   period, agency_id)
    if keys:
        stmt = stmt.group_by(*keys)
    rows = session.execute(stmt).mappings().all()
    procedures = _procedure_counts(session, principal, period, by_agency, by_month, agency_id)
    found: dict[tuple[int | None, int | None], Tally] = {}
    for row in rows:
        key = (row.get("agency") if by_agency else None, row.get("month") if by_month else None)
        if not row["received"]:
            continue  # an ungrouped query over no rows still returns one row of zeros
        used, full = procedures.get(key, (0, 0))
        figures = scores.Figures(procedures=used, procedures_full_online=full,
                                 **{k: int(row[k]) for k in _FIGURE_FIELDS if k in row})
        counts = Counts(**{k: int(row[k]) for k in _COUNT_FIELDS})
        found[key] = Tally(figures, counts)
    return found


def _procedure_counts(session: Session, principal: Principal, period: Period, by_agency: bool,
                      by_month: bool, agency_id: int | None
                      ) -> dict[tuple[int | None, int | None], tuple[int, int]]:
    """Distinct procedures used, and how many of them are offered fully online."""
    stmt = select(Dossier.processing_agency_id, Dossier.received_month, Dossier.procedure_id,
                  Procedure.online_level).join(Procedure, Procedure.id == Dossier.procedure_id)
    stmt = _scoped(stmt, principal, period, agency_id).distinct()
    used: dict[tuple[int | None, int | None], dict[int, bool]] = defaultdict(dict)
    for agency, month, procedure, level in session.execute(stmt):
        key = (agency if by_agency else None, month if by_month else None)
        used[key][procedure] = level == "full"
    return {key: (len(procs), sum(procs.values())) for key, procs in used.items()}


def province_tally(session: Session, principal: Principal, period: Period,
                   agency_id: int | None = None) -> Tally:
    return tallies(session, principal, period, agency_id=agency_id).get(
        (None, None), Tally(scores.Figures(), Counts()))


def monthly(session: Session, principal: Principal, period: Period,
            agency_id: int | None = None) -> list[tuple[int, Tally]]:
    """Every month of the period (empty months included, so the trend has no gaps)."""
    found = tallies(session, principal, period, by_month=True, agency_id=agency_id)
    empty = Tally(scores.Figures(), Counts())
    return [(month, found.get((None, month), empty)) for month in period.months()]


@dataclass(frozen=True)
class RankedAgency:
    rank: int
    agency: Agency
    tally: Tally
    on_time_rate: float | None
    score: float | None


def ranking(session: Session, principal: Principal, period: Period) -> list[RankedAgency]:
    """Agencies by on-time rate, then 766 score, then volume (best first; unjudged last)."""
    by_agency = tallies(session, principal, period, by_agency=True)
    agencies = {a.id: a for a in session.scalars(
        select(Agency).where(Agency.id.in_([k[0] for k in by_agency])))}
    rows = []
    for (agency_id, _month), tally in by_agency.items():
        computed = tally.scores
        rows.append((agencies[agency_id], tally, computed.on_time_rate, computed.total))
    rows.sort(key=lambda r: (r[2] is None, -(r[2] or 0), -(r[3] or 0), -r[1].figures.received,
                             r[0].code))
    return [RankedAgency(i + 1, *row) for i, row in enumerate(rows)]


def report(session: Session, principal: Principal, period: Period,
           agency_id: int | None = None) -> dict[str, dict[str, Any]]:
    """The warning-ticket report lines (the storage engineer's rules) for the reader."""
    start, end = period.bounds()
    scope = principal.agency_scope
    if agency_id is not None:
        scope = frozenset({agency_id})
    return report_lines(session, start, end, scope)


def tile_on_time_this_month(ctx: Any) -> float | str:
    """Overview tile: the province's on-time rate for dossiers received this month (%)."""
    from cityops.kernel.permissions import SYSTEM

    local = ctx.clock().astimezone(LOCAL)
    with ctx.db.session() as session:
        tally = province_tally(session, SYSTEM, Period.parse(f"{local:%Y-%m}"))
    value = tally.scores.on_time_rate
    return "—" if value is None else round(value, 1)


def tile_overdue_now(ctx: Any) -> int:
    """Overview tile: unfinished dossiers past their due time, as last classified."""
    with ctx.db.session() as session:
        return session.scalar(select(func.count(Dossier.id))
                              .where(Dossier.outcome == "overdue")) or 0
