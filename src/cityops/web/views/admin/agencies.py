"""Agencies: list with search and kind filter, create, edit names, contact and parent."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from cityops.kernel.orgs import AGENCY_KINDS, Agency, agency_subtree_ids
from cityops.kernel.text import fold
from cityops.kernel.uow import UnitOfWork
from cityops.web.deps import Uow
from cityops.web.i18n import gettext as _
from cityops.web.views.admin.shared import (
    CSRF,
    N_,
    AgenciesAdmin,
    agency_choices,
    check_email,
    commit_unique,
    done,
    get_or_404,
    int_or_none,
    list_page,
    render_page,
    sql_page,
)

router = APIRouter(prefix="/agencies")
AGENCY_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
PHONE_RE = re.compile(r"^[0-9 +().-]{0,40}$")
KIND_LABELS = {
    "government": N_("People's Committee or its office"),
    "department": N_("Department"),
    "police": N_("Police"),
    "service_centre": N_("Public service centre"),
    "commune_committee": N_("Commune People's Committee"),
    "public_company": N_("Public company"),
    "ioc": N_("Operations center"),
}


class AgencyFields(BaseModel):
    code: str = ""
    name: str = ""
    name_en: str = ""
    kind: str = ""
    parent_id: str = ""
    email: str = ""
    phone: str = ""
    note: str = ""

    @classmethod
    def of(cls, agency: Agency) -> AgencyFields:
        return cls(code=agency.code, name=agency.name, name_en=agency.name_en,
                   kind=agency.kind, parent_id=str(agency.parent_id or ""),
                   email=agency.email, phone=agency.phone, note=agency.note)


def _form(request: Request, uow: UnitOfWork, agency: Agency | None, fields: AgencyFields,
          errors: list[str] | None = None, status_code: int = 200) -> Response:
    return render_page(request, "admin/agency_form.html", status_code=status_code,
                       edited=agency, form=fields, errors=errors or [],
                       agencies=agency_choices(uow), kind_labels=KIND_LABELS)


def _check(uow: UnitOfWork, agency: Agency | None, fields: AgencyFields,
           errors: list[str]) -> Agency | None:
    """Validate the editable fields; returns the chosen parent agency."""
    if not fields.name.strip() or len(fields.name.strip()) > 300:
        errors.append(_("Enter the Vietnamese name (at most 300 characters)."))
    if len(fields.name_en.strip()) > 300:
        errors.append(_("The English name may have at most 300 characters."))
    check_email(fields.email.strip(), errors)
    if not PHONE_RE.match(fields.phone.strip()):
        errors.append(_("The phone number may contain only digits, spaces and + ( ) . -"))
    if len(fields.note) > 2000:
        errors.append(_("The note may have at most 2000 characters."))
    if not fields.parent_id.strip():
        return None
    parent_id = int_or_none(fields.parent_id)
    parent = uow.session.get(Agency, parent_id) if parent_id else None
    if parent is None:
        errors.append(_("Choose the parent agency from the list."))
    elif agency is not None and parent.id in agency_subtree_ids(uow.session, agency.id):
        # A cycle would make agency_subtree_ids, and so every officer's scope, wrong.
        errors.append(_("An agency cannot be placed under itself or one of its "
                        "sub-agencies."))
    return parent


def _apply(agency: Agency, fields: AgencyFields, parent: Agency | None) -> None:
    agency.set_name(fields.name.strip())  # keeps search_name in step
    agency.name_en = fields.name_en.strip()
    agency.email = fields.email.strip()
    agency.phone = fields.phone.strip()
    agency.note = fields.note.strip()
    agency.parent_id = parent.id if parent else None


@router.get("")
def list_agencies(request: Request, uow: Uow, _p: AgenciesAdmin, q: str = "",
                  kind: str = "", page: int = 1) -> Response:
    stmt = select(Agency).options(selectinload(Agency.parent)).order_by(Agency.code)
    key = fold(q)
    if key:
        stmt = stmt.where(or_(Agency.search_name.contains(key),
                              Agency.code.contains(q.strip().upper())))
    if kind in AGENCY_KINDS:
        stmt = stmt.where(Agency.kind == kind)
    agencies, pager = sql_page(uow, stmt, page, {"q": q, "kind": kind})
    return list_page(request, "admin/agencies.html", "admin/_agencies_table.html",
                     agencies=agencies, pager=pager, q=q, kind=kind, kind_labels=KIND_LABELS)


@router.get("/new")
def new_agency(request: Request, uow: Uow, _p: AgenciesAdmin) -> Response:
    return _form(request, uow, None, AgencyFields(kind="department"))


@router.post("", dependencies=CSRF)
def create_agency(request: Request, uow: Uow, _p: AgenciesAdmin,
                  fields: Annotated[AgencyFields, Form()]) -> Response:
    errors: list[str] = []
    code = fields.code.strip().upper()
    taken = _("The code %(code)s is already used by another agency.") % {"code": code}
    if not AGENCY_CODE_RE.match(code):
        errors.append(_("The code needs 2–40 characters: capital letters, digits or dashes."))
    elif uow.session.scalar(select(Agency.id).where(Agency.code == code)):
        errors.append(taken)
    if fields.kind not in AGENCY_KINDS:
        errors.append(_("Choose the kind of agency from the list."))
    parent = _check(uow, None, fields, errors)
    if errors:
        return _form(request, uow, None, fields, errors, 400)
    agency = Agency(code=code, kind=fields.kind)
    _apply(agency, fields, parent)
    uow.session.add(agency)
    if not commit_unique(uow):
        return _form(request, uow, None, fields, [taken], 400)
    return done(request, _("Agency %(code)s created.") % {"code": code},
                f"/admin/agencies/{agency.id}")


@router.get("/{agency_id}")
def edit_agency(request: Request, uow: Uow, _p: AgenciesAdmin, agency_id: int) -> Response:
    agency = get_or_404(uow, Agency, agency_id)
    return _form(request, uow, agency, AgencyFields.of(agency))


@router.post("/{agency_id}", dependencies=CSRF)
def update_agency(request: Request, uow: Uow, _p: AgenciesAdmin, agency_id: int,
                  fields: Annotated[AgencyFields, Form()]) -> Response:
    agency = get_or_404(uow, Agency, agency_id)
    fields.code, fields.kind = agency.code, agency.kind  # fixed once created
    errors: list[str] = []
    parent = _check(uow, agency, fields, errors)
    if errors:
        return _form(request, uow, agency, fields, errors, 400)
    _apply(agency, fields, parent)
    uow.commit()
    return done(request, _("Changes to %(code)s saved.") % {"code": agency.code},
                f"/admin/agencies/{agency.id}")
