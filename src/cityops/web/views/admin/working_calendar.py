"""Working calendar: the year's exceptions, the days it makes off or worked, add/remove."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from cityops.kernel.calendar import (
    DEFAULT_TIMEZONE,
    EXCEPTION_KINDS,
    CalendarException,
    add_exception,
    load_calendar,
    remove_exception,
)
from cityops.kernel.context import AppContext
from cityops.kernel.uow import UnitOfWork
from cityops.web.deps import Ctx, Uow
from cityops.web.errors import NotFound
from cityops.web.i18n import gettext as _
from cityops.web.views.admin.shared import CSRF, N_, CalendarAdmin, done, parse_day, render_page

router = APIRouter(prefix="/calendar")
FIRST_YEAR, LAST_YEAR = 2000, 2100
KIND_LABELS = {"day_off": N_("Extra day off"), "working_day": N_("Extra working day")}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))
# add_exception explains refusals in English; these patterns give the reader their language
# (anything unmatched is shown as the kernel wrote it).
REFUSALS = (
    (re.compile(r"^(?P<day>[\d-]+) is an ordinary weekday"),
     N_("%(day)s is an ordinary weekday; an extra working day must fall on a weekend or a "
        "public holiday.")),
    (re.compile(r"^(?P<day>[\d-]+) is already a public holiday \((?P<holiday>.*)\)$"),
     N_("%(day)s is already a public holiday (%(holiday)s).")),
    (re.compile(r"^(?P<day>[\d-]+) is a \w+; a day_off must be a weekday"),
     N_("%(day)s falls on a weekend; an extra day off must be a weekday.")),
    (re.compile(r"^an exception already exists for (?P<day>[\d-]+)$"),
     N_("An exception already exists for %(day)s.")),
)


def _explain(refusal: str) -> str:
    for pattern, message in REFUSALS:
        found = pattern.match(refusal)
        if found:
            values = found.groupdict()
            values["day"] = date.fromisoformat(values["day"]).strftime("%d/%m/%Y")
            return _(message) % values
    return refusal


def _this_year(ctx: AppContext) -> int:
    return ctx.clock().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).year


def _page(request: Request, uow: UnitOfWork, year: int, form: dict[str, str] | None = None,
          errors: list[str] | None = None, status_code: int = 200) -> Response:
    calendar = load_calendar(uow.session)
    exceptions = uow.session.scalars(
        select(CalendarException)
        .where(CalendarException.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(CalendarException.day)).all()
    return render_page(request, "admin/calendar.html", status_code=status_code, year=year,
                       exceptions=exceptions, days_off=calendar.non_working_weekdays(year),
                       weekend_work=calendar.working_weekend_days(year), weekdays=WEEKDAYS,
                       kind_labels=KIND_LABELS, errors=errors or [],
                       form=form or {"day": "", "kind": "day_off", "note": ""})


@router.get("")
def calendar_view(request: Request, uow: Uow, ctx: Ctx, _p: CalendarAdmin,
                  year: int | None = None) -> Response:
    return _page(request, uow, min(max(year or _this_year(ctx), FIRST_YEAR), LAST_YEAR))


@router.post("", dependencies=CSRF)
def add_calendar_exception(request: Request, uow: Uow, ctx: Ctx, _p: CalendarAdmin,
                           day: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
                           note: Annotated[str, Form()] = "") -> Response:
    parsed = parse_day(day)
    if parsed is not None and not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        parsed = None
    errors: list[str] = []
    if parsed is None:
        errors.append(_("Enter a date between 2000 and 2100."))
    if kind not in EXCEPTION_KINDS:
        errors.append(_("Choose the kind of exception."))
    if len(note.strip()) > 500:
        errors.append(_("The note may have at most 500 characters."))
    if parsed is not None and not errors:
        try:
            add_exception(uow.session, parsed, kind, note)
        except ValueError as exc:
            errors.append(_explain(str(exc)))
    if parsed is None or errors:
        uow.session.rollback()
        form = {"day": day, "kind": kind, "note": note}
        return _page(request, uow, parsed.year if parsed else _this_year(ctx), form, errors,
                     400)
    uow.commit()
    return done(request, _("Exception for %(day)s added.") % {"day": f"{parsed:%d/%m/%Y}"},
                f"/admin/calendar?year={parsed.year}")


@router.post("/remove", dependencies=CSRF)
def remove_calendar_exception(request: Request, uow: Uow, _p: CalendarAdmin,
                              day: Annotated[str, Form()] = "") -> Response:
    parsed = parse_day(day)
    if parsed is None:
        raise NotFound(f"no calendar exception for {day!r}")
    try:
        remove_exception(uow.session, parsed)
    except ValueError as exc:
        raise NotFound(str(exc)) from exc
    uow.commit()
    return done(request, _("Exception for %(day)s removed.") % {"day": f"{parsed:%d/%m/%Y}"},
                f"/admin/calendar?year={parsed.year}")
