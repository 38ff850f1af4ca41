"""The SOC page: live detections, counts by category / agency / severity, ingest health.

Every figure comes from ``stats`` over the stored records, scoped to the reader's agencies
(an agency officer sees only the detections on their own agency's hosts). The live panel is
an HTMX fragment polled every few seconds, so it needs no stream of its own. Rules and
assets have their own pages (``views_rules``, ``views_assets``), included here.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from cityops.alerts.presenters import LOCAL, Presenter
from cityops.alerts.vocab import SEVERITIES
from cityops.kernel.orgs import Agency, agency_by_code
from cityops.kernel.permissions import Principal, scope_to_agencies
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc import queries, stats, views_assets, views_rules
from cityops.services.soc.models import SOC_CATEGORIES
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow
from cityops.web.i18n import gettext as _
from cityops.web.pagination import PageParams, paginate
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
for _sub in (views_rules.router, views_assets.router):
    router.include_router(_sub)

Reader = Annotated[Principal, Depends(page_requires("soc.read"))]
LIVE_ITEMS = 15
LIVE_POLL_SECONDS = 10
TOP = 10
QUARANTINE_PAGE = 50


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


CATEGORY_LABELS = {
    "malware": N_("Malware"), "vulnerability": N_("Application vulnerability"),
    "exploitation": N_("Exploitation attempt"), "abnormal": N_("Abnormal server behaviour"),
    "other": N_("Other"),
}
CATEGORY_COLORS = {"malware": "#b3261e", "vulnerability": "#e8710a",
                   "exploitation": "#7b1fa2", "abnormal": "#3a7bd5", "other": "#6b7785"}
PERIOD_LABELS = {"24h": N_("Last 24 hours"), "7d": N_("Last 7 days"),
                 "30d": N_("Last 30 days"), "90d": N_("Last 90 days"),
                 "365d": N_("Last 12 months")}


def category_label(key: str) -> str:
    return _(CATEGORY_LABELS[key]) if key in CATEGORY_LABELS else key


class SocParams(BaseModel):
    period: str = Field(stats.DEFAULT_PERIOD, max_length=8)
    category: str = Field("", max_length=16)
    agency: str = Field("", max_length=40)

    def query(self) -> str:
        kept = {k: v for k, v in self.model_dump().items() if v}
        return "?" + urlencode(kept) if kept else ""


Params = Annotated[SocParams, Query()]


def _filter(uow: UnitOfWork, ctx: Any, params: SocParams) -> stats.SocFilter:
    agency = agency_by_code(uow.session, params.agency) if params.agency else None
    # An unknown agency code matches nothing rather than silently meaning "all agencies".
    agency_id = agency.id if agency else (-1 if params.agency else None)
    return stats.make_filter(params.period, ctx.clock(), params.category or None, agency_id)


def _agencies(uow: UnitOfWork, principal: Principal) -> dict[int, Agency]:
    stmt = scope_to_agencies(select(Agency).order_by(Agency.code), principal, Agency.id)
    return {a.id: a for a in uow.session.scalars(stmt)}


def _summary_line(figures: stats.SocCounts, p: Presenter) -> str:
    c = figures.by_category
    return _("%(total)s SOC alerts: %(malware)s malware, %(vulnerability)s application "
             "vulnerabilities, %(exploitation)s exploitation attempts, %(abnormal)s abnormal "
             "server behaviours, %(other)s other.") % {
        "total": p.num(figures.total), "malware": p.num(c["malware"]),
        "vulnerability": p.num(c["vulnerability"]), "exploitation": p.num(c["exploitation"]),
        "abnormal": p.num(c["abnormal"]), "other": p.num(c["other"])}


def _charts(figures: stats.SocCounts, p: Presenter, agencies: dict[int, Agency]
            ) -> dict[str, Any]:
    labels = list(figures.series)
    by_agency = figures.by_agency.most_common(20)
    return {
        "time": {"labels": labels, "series": [
            {"name": category_label(key), "color": CATEGORY_COLORS[key],
             "values": [figures.series[label][key] for label in labels]}
            for key in SOC_CATEGORIES]},
        "category": {"labels": [category_label(k) for k in SOC_CATEGORIES],
                     "values": [figures.by_category[k] for k in SOC_CATEGORIES],
                     "colors": [CATEGORY_COLORS[k] for k in SOC_CATEGORIES]},
        "severity": {"labels": [p.severity(s) for s in reversed(SEVERITIES)],
                     "values": [figures.by_severity[s] for s in reversed(SEVERITIES)],
                     "colors": [p.color(s) for s in reversed(SEVERITIES)]},
        "agency": {"labels": [agencies[k].code if k in agencies else _("No agency")
                              for k, _n in by_agency],
                   "values": [n for _k, n in by_agency]},
    }


def _live(uow: UnitOfWork, principal: Principal, flt: stats.SocFilter
          ) -> list[tuple[Any, Any]]:
    """The newest detections of any time (the panel is "what just happened"), narrowed by
    the page's category and agency filters."""
    return stats.recent(uow.session, principal, LIVE_ITEMS, flt.category, flt.agency_id)


@router.get("/soc")
def soc_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
             params: Params) -> Response:
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    flt = _filter(uow, ctx, params)
    figures = stats.counts(uow.session, principal, flt)
    agencies = _agencies(uow, principal)
    # Ingest health names sources and volumes of every agency: province-wide readers only.
    health = stats.ingest_health(uow.session, ctx.clock()) if principal.province_wide else None
    return render(request, "soc/index.html", p=p, params=params, flt=flt, figures=figures,
                  summary=_summary_line(figures, p), charts=_charts(figures, p, agencies),
                  agencies=agencies, categories=SOC_CATEGORIES, category_label=category_label,
                  periods=PERIOD_LABELS, health=health,
                  top_rules=stats.top_rules(uow.session, principal, flt, TOP),
                  top_hosts=stats.top_hosts(uow.session, principal, flt, TOP),
                  live=_live(uow, principal, flt), poll=LIVE_POLL_SECONDS,
                  severities=list(reversed(SEVERITIES)))


@router.get("/soc/live")
def soc_live(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
             params: Params) -> Response:
    """The live panel alone (HTMX polls it)."""
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    flt = _filter(uow, ctx, params)
    return render(request, "soc/_live.html", p=p, params=params, category_label=category_label,
                  live=_live(uow, principal, flt), agencies=_agencies(uow, principal),
                  poll=LIVE_POLL_SECONDS)


@router.get("/soc/counts.csv")
def soc_counts_csv(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                   params: Params) -> Response:
    """The page's counts as CSV: by category, severity and agency, then per time bucket."""
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    flt = _filter(uow, ctx, params)
    figures = stats.counts(uow.session, principal, flt)
    agencies = _agencies(uow, principal)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Breakdown"), _("Key"), _("Name"), _("Alerts")])
    for key in SOC_CATEGORIES:
        writer.writerow(["category", key, category_label(key), figures.by_category[key]])
    for key in reversed(SEVERITIES):
        writer.writerow(["severity", key, p.severity(key), figures.by_severity[key]])
    for agency_id, n in sorted(figures.by_agency.items(), key=lambda kv: (-kv[1], kv[0] or 0)):
        agency = agencies.get(agency_id) if agency_id is not None else None
        writer.writerow(["agency", agency.code if agency else "", p.agency(agency) if agency
                         else _("No agency"), n])
    for label, per_category in figures.series.items():
        for key in SOC_CATEGORIES:
            writer.writerow([f"{flt.bucket}:{label}", key, category_label(key),
                             per_category[key]])
    # The byte-order mark makes Excel read the file as UTF-8 (Vietnamese names).
    body = "\ufeff" + out.getvalue()
    stamp = ctx.clock().astimezone(LOCAL).strftime("%Y%m%d")
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="soc-counts-{flt.period}-{stamp}.csv"'})


@router.get("/soc/quarantine")
def quarantine_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                    source: Annotated[str, Query(max_length=64)] = "",
                    page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Input that could not be parsed, with the reason; raw text is shown escaped."""
    p = Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)
    paging = PageParams(page=page, page_size=QUARANTINE_PAGE)
    rows, total = paginate(uow.session, queries.quarantine_query(principal, source or None),
                           paging)
    pages = max(1, (total + QUARANTINE_PAGE - 1) // QUARANTINE_PAGE)
    return render(request, "soc/quarantine.html", p=p, rows=rows, total=total, page=page,
                  pages=pages, source=source)
