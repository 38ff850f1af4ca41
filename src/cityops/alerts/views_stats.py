"""Alert-center statistics for people: charts, warning-ticket figures, CSV of the ticket table.

Every figure comes from ``stats.compute`` over the stored records, scoped to the reader's
agencies, so what the page says is what the database holds.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from cityops.alerts import stats
from cityops.alerts.models import Alert
from cityops.alerts.presenters import LOCAL, Presenter
from cityops.alerts.vocab import SEVERITIES, STATES
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal, scope_to_agencies
from cityops.kernel.uow import UnitOfWork
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires("alerts.read"))]
TOP_AGENCIES = 20


class StatsParams(BaseModel):
    since: str = Field("", max_length=10)
    until: str = Field("", max_length=10)
    service: str = Field("", max_length=40)

    def window(self) -> tuple[datetime | None, datetime | None]:
        def day(value: str) -> datetime | None:
            try:
                return datetime.combine(date.fromisoformat(value), time(0), LOCAL)
            except ValueError:
                return None

        until = day(self.until)
        return day(self.since), until + timedelta(days=1) if until else None

    def query(self) -> str:
        kept = {k: v for k, v in self.model_dump().items() if v}
        return "?" + urlencode(kept) if kept else ""


Params = Annotated[StatsParams, Query()]


def _compute(uow: UnitOfWork, ctx: Any, principal: Principal,
             params: StatsParams) -> stats.AlertStats:
    since, until = params.window()
    return stats.compute(uow.session, principal, now=ctx.clock(), since=since, until=until,
                         service=params.service or None)


def _agency_names(uow: UnitOfWork, p: Presenter) -> dict[str, str]:
    return {a.code: p.agency(a) for a in uow.session.scalars(select(Agency))}


def ticket_rows(figures: stats.AlertStats, names: dict[str, str]) -> list[dict[str, Any]]:
    """The per-agency ticket table, the agencies with the most tickets first."""
    rows = []
    for code, t in figures.tickets_by_agency.items():
        rate = round(100 * t.answered_on_time / t.answered, 1) if t.answered else None
        rows.append({"code": code, "name": names.get(code, ""), "sent": t.sent,
                     "checked": t.checked, "answered": t.answered,
                     "on_time": t.answered_on_time, "late": t.answered_late,
                     "overdue": t.overdue_unanswered, "rate": rate})
    return sorted(rows, key=lambda r: (-r["sent"], r["code"]))


def _charts(figures: stats.AlertStats, p: Presenter, names: dict[str, str]) -> dict[str, Any]:
    def pairs(counter: Any, label: Any = str) -> dict[str, list[Any]]:
        items = counter.most_common()
        return {"labels": [label(k) for k, _n in items], "values": [n for _k, n in items]}

    months = sorted(figures.by_month)
    tickets = figures.tickets_by_month
    by_agency = figures.by_agency.most_common(TOP_AGENCIES)
    return {
        "month": {"labels": months, "alerts": [figures.by_month[m] for m in months],
                  "tickets": [tickets[m].sent if m in tickets else 0 for m in months],
                  "late": [tickets[m].answered_late if m in tickets else 0 for m in months]},
        "severity": {"labels": [p.severity(s) for s in reversed(SEVERITIES)],
                     "values": [figures.by_severity.get(s, 0) for s in reversed(SEVERITIES)],
                     "colors": [p.color(s) for s in reversed(SEVERITIES)]},
        "service": pairs(figures.by_service, p.service),
        "category": pairs(figures.by_category, p.category),
        "status": {"labels": [p.state(s) for s in STATES],
                   "values": [figures.by_status.get(s, 0) for s in STATES]},
        "agency": {"labels": [k for k, _n in by_agency], "values": [n for _k, n in by_agency],
                   "names": [names.get(k, k) for k, _n in by_agency]},
        "series": {"alerts": _("Alerts"), "tickets": _("Warning tickets sent"),
                   "late": _("Answered late")},
    }


@router.get("/alerts/stats")
def stats_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
               params: Params) -> Response:
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    figures = _compute(uow, ctx, principal, params)
    names = _agency_names(uow, p)
    t = figures.tickets
    summary = _("%(sent)s warning tickets sent, %(checked)s checked, %(answered)s answered "
                "(%(on_time)s on time, %(late)s late).") % {
        "sent": p.num(t.sent), "checked": p.num(t.checked), "answered": p.num(t.answered),
        "on_time": p.num(t.answered_on_time), "late": p.num(t.answered_late)}
    services = sorted(uow.session.scalars(scope_to_agencies(
        select(Alert.service).distinct(), principal, Alert.agency_id)))
    return render(request, "alerts/stats.html", figures=figures, p=p, params=params,
                  summary=summary, rows=ticket_rows(figures, names), services=services,
                  charts=_charts(figures, p, names))


@router.get("/alerts/stats.csv")
def stats_csv(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
              params: Params) -> Response:
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    figures = _compute(uow, ctx, principal, params)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Agency code"), _("Agency"), _("Sent"), _("Checked"), _("Answered"),
                     _("Answered on time"), _("Answered late"), _("Overdue, not answered"),
                     _("On-time rate (%)")])
    for row in ticket_rows(figures, _agency_names(uow, p)):
        writer.writerow([row["code"], row["name"], row["sent"], row["checked"],
                         row["answered"], row["on_time"], row["late"], row["overdue"],
                         "" if row["rate"] is None else f"{row['rate']:.1f}"])
    # The byte-order mark makes Excel read the file as UTF-8 (Vietnamese names).
    body = "\ufeff" + out.getvalue()
    stamp = ctx.clock().astimezone(LOCAL).strftime("%Y%m%d")
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="warning-tickets-{stamp}.csv"'})
