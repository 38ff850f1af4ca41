"""What every administration page shares: guards, paging, flash messages, form parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import Principal
from cityops.kernel.uow import UnitOfWork
from cityops.web.deps import verify_csrf_form
from cityops.web.errors import NotFound
from cityops.web.i18n import gettext as _
from cityops.web.templating import render
from cityops.web.views.common import page_requires

CSRF = [Depends(verify_csrf_form)]
PAGE_SIZE = 25
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

UsersAdmin = Annotated[Principal, Depends(page_requires("users.manage"))]
AgenciesAdmin = Annotated[Principal, Depends(page_requires("agencies.manage"))]
AreasAdmin = Annotated[Principal, Depends(page_requires("areas.manage"))]
CalendarAdmin = Annotated[Principal, Depends(page_requires("calendar.manage"))]


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int
    filters: dict[str, str]

    def url(self, page: int) -> str:
        return "?" + urlencode({**{k: v for k, v in self.filters.items() if v}, "page": page})


def make_pager(page: int, total: int, filters: dict[str, str]) -> Pager:
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return Pager(min(max(page, 1), pages), pages, total, filters)


def sql_page(uow: UnitOfWork, stmt: Select[Any], page: int,
             filters: dict[str, str]) -> tuple[list[Any], Pager]:
    total = uow.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pager = make_pager(page, total or 0, filters)
    rows = uow.session.scalars(stmt.offset((pager.page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(rows), pager


def render_page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, name, status_code=status_code,
                  flash=request.session.pop("flash", None), **context)


def list_page(request: Request, full: str, fragment: str, **context: Any) -> Response:
    """The whole page, or only the results table when HTMX asks while the user types."""
    wants_fragment = request.headers.get("HX-Request") == "true" and \
        "HX-History-Restore-Request" not in request.headers
    response = render_page(request, fragment if wants_fragment else full, **context)
    response.headers["Vary"] = "HX-Request"
    return response


def done(request: Request, message: str, target: str) -> Response:
    """Post/redirect/get, with the outcome shown once on the next page."""
    request.session["flash"] = message
    return RedirectResponse(target, status_code=303)


def commit_unique(uow: UnitOfWork) -> bool:
    """Commit; False when a concurrent request took the same unique key a moment earlier."""
    try:
        uow.commit()
    except IntegrityError:
        uow.session.rollback()
        return False
    return True


def get_or_404(uow: UnitOfWork, model: type[Any], object_id: int) -> Any:
    found = uow.session.get(model, object_id)
    if found is None:
        raise NotFound(f"no {model.__tablename__} row with id {object_id}")
    return found


def int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def check_email(email: str, errors: list[str]) -> None:
    if email and (len(email) > 200 or not EMAIL_RE.match(email)):
        errors.append(_("Enter a valid e-mail address, or leave it empty."))


def agency_choices(uow: UnitOfWork) -> list[Agency]:
    return list(uow.session.scalars(select(Agency).order_by(Agency.name)))
