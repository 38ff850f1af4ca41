"""Field-report statistics pages: the table by agency/commune/category/month, the charts,
and CSV/XLSX downloads of the same table. Every figure comes from ``stats.compute``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cityops.alerts.presenters import Presenter
from cityops.kernel.errors import Invalid
from cityops.kernel.permissions import Principal
from cityops.services.field_reports import exports, stats
from cityops.services.field_reports.media import N_
from cityops.services.field_reports.portal import categories
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_requires("field_reports.read"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GROUP_TITLES = {"agency": N_("By agency"), "commune": N_("By commune"),
                "category": N_("By category"), "month": N_("By month")}


class StatsParams(BaseModel):
    since: str = Field("", max_length=10)
    until: str = Field("", max_length=10)
    category: str = Field("", max_length=40)
    by: str = Field("agency", max_length=10)

    def window(self) -> tuple[datetime | None, datetime | None]:
        def day(value: str) -> datetime | None:
            if not value:
                return None
            try:
                return datetime.combine(date.fromisoformat(value), time(0), stats.LOCAL)
            except ValueError:
                raise Invalid(_("dates are written YYYY-MM-DD")) from None

        until = day(self.until)
        return day(self.since), until + timedelta(days=1) if until else None

    def grouping(self) -> str:
        if self.by not in stats.GROUPINGS:
            raise Invalid(_("group by one of: %(names)s") % {
                "names": ", ".join(stats.GROUPINGS)})
        return self.by

    def query(self, **override: str) -> str:
        values = {**self.model_dump(), **override}
        return "?" + urlencode({k: v for k, v in values.items() if v})


Params = Annotated[StatsParams, Query()]


def _compute(uow: Uow, ctx: Ctx, principal: Principal, params: StatsParams) -> Any:
    since, until = params.window()
    return stats.compute(uow.session, principal, now=ctx.clock(), since=since, until=until,
                         category=params.category or None,
                         language=i18n.current_language.get())


def _charts(figures: stats.ReportStats, names: dict[str, str]) -> dict[str, Any]:
    months = [r.key for r in figures.rows("month")]
    top = [r.key for r in figures.rows("category")][:8]
    return {
        "months": months,
        "volume": [r.figures.volume for r in figures.rows("month")],
        "on_time": [r.figures.on_time_rate for r in figures.rows("month")],
        "categories": [{"name": names.get(c, c),
                        "values": [figures.category_by_month.get(c, {}).get(m, 0)
                                   for m in months]} for c in top],
        "by_category": {"labels": [r.name for r in figures.rows("category")],
                        "values": [r.figures.volume for r in figures.rows("category")]},
        "series": {"volume": _("Reports"), "on_time": _("On-time rate (%)")},
    }


@router.get("/field-reports/stats")
def stats_page(request: Request, uow: Uow, ctx: Ctx, principal: Reader,
               params: Params) -> Response:
    by = params.grouping()
    figures = _compute(uow, ctx, principal, params)
    language = i18n.current_language.get()
    cats = categories(uow.session)
    names = {c.code: c.name(language) for c in cats}
    return render(request, "field_reports/stats.html", figures=figures, params=params,
                  by=by, rows=figures.rows(by), categories=cats,
                  titles={k: _(v) for k, v in GROUP_TITLES.items()},
                  p=Presenter(language, ctx.clock(), ctx.registry),
                  charts=_charts(figures, names))


def _download(uow: Uow, ctx: Ctx, principal: Principal, params: StatsParams,
              kind: str) -> Response:
    by = params.grouping()
    rows = _compute(uow, ctx, principal, params).rows(by)
    stamp = ctx.clock().astimezone(stats.LOCAL).strftime("%Y%m%d")
    name = f"field-reports-{by}-{stamp}.{kind}"
    body = exports.to_csv(rows) if kind == "csv" else exports.to_xlsx(rows, by)
    media = "text/csv; charset=utf-8" if kind == "csv" else XLSX
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/field-reports/stats.csv")
def stats_csv(uow: Uow, ctx: Ctx, principal: Reader, params: Params) -> Response:
    return _download(uow, ctx, principal, params, "csv")


@router.get("/field-reports/stats.xlsx")
def stats_xlsx(uow: Uow, ctx: Ctx, principal: Reader, params: Params) -> Response:
    return _download(uow, ctx, principal, params, "xlsx")
