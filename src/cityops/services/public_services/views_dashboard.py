"""Dashboards: province → agency → dossier list → one dossier's timeline, and their downloads.

Every figure is computed from the stored dossiers and scoped to the reader's agencies:
an officer's province view shows their own agencies only, and another agency's page or
dossier answers 403.
"""

from __future__ import annotations

from math import ceil
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from cityops.alerts.presenters import Presenter
from cityops.kernel.errors import Invalid
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal
from cityops.services.public_services import dashboard, exports
from cityops.services.public_services import dashboard_dossiers as dossiers
from cityops.services.public_services import dashboard_labels as labels
from cityops.services.public_services.models import Procedure
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires(dossiers.READ))]
BASE = "/public-services"


class Params(BaseModel):
    period: str = Field("", max_length=7)
    agency: str = Field("", max_length=40)
    outcome: str = Field("", max_length=16)
    channel: str = Field("", max_length=1)
    procedure: str = Field("", max_length=60)
    code: str = Field("", max_length=80)
    page: int = Field(1, ge=1, le=100_000)

    def query(self, **changes: Any) -> str:
        values = {**self.model_dump(), **changes}
        kept = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}
        return "?" + urlencode(kept) if kept else ""


Query_ = Annotated[Params, Query()]


def _period(params: Params, ctx: Any) -> dashboard.Period:
    if not params.period:
        return dashboard.Period.current_year(ctx.clock())
    return dashboard.Period.parse(params.period)


def _filter(uow: Any, principal: Principal, params: Params, ctx: Any
            ) -> tuple[dossiers.DossierFilter, Agency | None]:
    if params.outcome and params.outcome not in dossiers.OUTCOMES:
        raise Invalid("unknown classification")
    if params.channel and params.channel not in "123":
        raise Invalid("the channel must be 1, 2 or 3")
    agency = dossiers.agency_for(uow.session, principal, params.agency) if params.agency \
        else None
    return dossiers.DossierFilter(
        period=_period(params, ctx), agency_id=agency.id if agency else None,
        outcome=params.outcome, channel=int(params.channel) if params.channel else None,
        procedure=params.procedure.strip(), code=params.code.strip()), agency


def _presenter(ctx: Any) -> Presenter:
    return Presenter(i18n.current_language.get(), ctx.clock(), ctx.registry)


def _chart(months: list[tuple[int, dashboard.Tally]]) -> dict[str, Any]:
    return {
        "labels": [f"{m % 100:02d}/{m // 100}" for m, _t in months],
        "received": [t.figures.received for _m, t in months],
        "in_time": [t.figures.early + t.figures.on_time for _m, t in months],
        "late": [t.figures.late + t.figures.overdue for _m, t in months],
        "online": [t.figures.online for _m, t in months],
        "series": {"received": _("Dossiers received"), "in_time": _("Early or on time"),
                   "late": _("Late or overdue"), "online": _("Online")},
    }


def _overview(request: Request, uow: Any, ctx: Any, principal: Principal, params: Params,
              agency: Agency | None) -> Response:
    period = _period(params, ctx)
    agency_id = agency.id if agency else None
    tally = dashboard.province_tally(uow.session, principal, period, agency_id)
    months = dashboard.monthly(uow.session, principal, period, agency_id)
    ranked = [] if agency else dashboard.ranking(uow.session, principal, period)
    lines = dashboard.report(uow.session, principal, period, agency_id)
    return render(request, "public_services/dashboard.html", p=_presenter(ctx), params=params,
                  period=period, agency=agency, tally=tally, scores=tally.scores,
                  months=months, ranked=ranked, report=exports.report_table(lines)[1],
                  chart=_chart(months), can_intake=principal.can("public_services.intake"),
                  # Plain gettext: the template's _() formats with %, and formulas hold "%".
                  tr=_)


@router.get(BASE)
def province(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
             params: Query_) -> Response:
    return _overview(request, uow, ctx, principal, params, None)


@router.get(BASE + "/agencies/{code}")
def agency_page(code: str, request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                params: Query_) -> Response:
    agency = dossiers.agency_for(uow.session, principal, code)
    return _overview(request, uow, ctx, principal, params.model_copy(update={"agency": code}),
                     agency)


@router.get(BASE + "/dossiers")
def dossier_list(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
                 params: Query_) -> Response:
    flt, agency = _filter(uow, principal, params, ctx)
    total = dossiers.count(uow.session, principal, flt)
    pages = max(1, ceil(total / dossiers.PAGE_SIZE))
    rows = dossiers.page(uow.session, principal, flt, min(params.page, pages))
    procedures = uow.session.execute(select(Procedure.code, Procedure.name)
                                     .order_by(Procedure.code)).all()
    return render(request, "public_services/dossiers.html", p=_presenter(ctx), params=params,
                  period=flt.period, agency=agency, rows=rows, total=total, pages=pages,
                  page=min(params.page, pages), labels=labels, procedures=procedures,
                  outcomes=dossiers.OUTCOMES)


@router.get(BASE + "/dossiers/{code:path}")
def dossier_page(code: str, request: Request, uow: Uow, ctx: Ctx,
                 principal: Reader) -> Response:
    dossier = dossiers.dossier_for(uow.session, principal, code)
    return render(request, "public_services/dossier.html", p=_presenter(ctx), d=dossier,
                  why=dossiers.explain(dossier), events=dossiers.timeline(dossier),
                  labels=labels)


@router.get(BASE + "/export/{table}.{fmt}")
def export(table: str, fmt: str, uow: Uow, ctx: Ctx, principal: Reader,
           params: Query_) -> Response:
    flt, agency = _filter(uow, principal, params, ctx)
    session, period, agency_id = uow.session, flt.period, flt.agency_id
    if table == "agencies":
        rows = exports.agencies_table(dashboard.ranking(session, principal, period))
    elif table == "months":
        rows = exports.months_table(dashboard.monthly(session, principal, period, agency_id))
    elif table == "scores":
        tally = dashboard.province_tally(session, principal, period, agency_id)
        rows = exports.scores_table(tally.scores)
    elif table == "report":
        rows = exports.report_table(dashboard.report(session, principal, period, agency_id))
    elif table == "dossiers":
        rows = exports.dossiers_table(dossiers.all_rows(session, principal, flt))
    else:
        raise Invalid("unknown table; use agencies, months, scores, report or dossiers")
    scope = agency.code if agency else "province"
    return exports.download(rows, fmt, f"public-services-{table}-{scope}-{period.key}")
