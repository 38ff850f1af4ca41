"""Areas and agencies: ``/api/v1/areas`` and ``/api/v1/agencies``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from cityops.kernel.auth import User
from cityops.kernel.orgs import Agency, Area, agency_by_code, area_by_code
from cityops.kernel.permissions import Principal, authorize
from cityops.kernel.text import fold
from cityops.web.deps import CurrentPrincipal, Uow, require
from cityops.web.errors import NotFound
from cityops.web.pagination import Page, Paging, make_page, paginate

router = APIRouter(prefix="/api/v1", tags=["organisation"])


class AreaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    division_type: str
    parent_code: str | None = None
    valid_from: date
    valid_to: date | None


class AreaDetail(AreaOut):
    geometry: dict[str, Any] | None


class AgencyOut(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str
    parent_code: str | None
    email: str
    phone: str
    area_codes: list[str]


class AgencyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=2000)


class UserOut(BaseModel):
    username: str
    full_name: str
    roles: list[str]
    is_active: bool


def _area_out(area: Area, cls: type[AreaOut] = AreaOut) -> AreaOut:
    data = {c: getattr(area, c) for c in cls.model_fields if hasattr(area, c)}
    data["parent_code"] = area.parent.code if area.parent else None
    return cls(**data)


def _agency_out(agency: Agency) -> AgencyOut:
    return AgencyOut(code=agency.code, name=agency.name, name_en=agency.name_en,
                     kind=agency.kind, parent_code=agency.parent.code if agency.parent else None,
                     email=agency.email, phone=agency.phone,
                     area_codes=[a.code for a in agency.areas])


@router.get("/areas", response_model=Page[AreaOut])
def list_areas(
    uow: Uow, paging: Paging,
    _: Annotated[Principal, Depends(require("areas.read"))],
    level: Literal["province", "commune"] | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name, any case or accents")]
    = None,
    valid_on: date | None = None,
) -> Page[AreaOut]:
    stmt = select(Area).options(selectinload(Area.parent)).order_by(Area.level.desc(), Area.code)
    if level:
        stmt = stmt.where(Area.level == level)
    if q:
        stmt = stmt.where(or_(Area.search_name.contains(fold(q), autoescape=True),
                              Area.code == q.strip()))
    if valid_on:
        stmt = stmt.where(Area.valid_from <= valid_on,
                          or_(Area.valid_to.is_(None), Area.valid_to > valid_on))
    rows, total = paginate(uow.session, stmt, paging)
    return make_page([_area_out(a) for a in rows], total, paging)


@router.get("/areas/{code}", response_model=AreaDetail)
def get_area(code: str, uow: Uow,
             _: Annotated[Principal, Depends(require("areas.read"))]) -> AreaOut:
    area = area_by_code(uow.session, code)
    if area is None:
        raise NotFound(f"no area with code {code!r}")
    return _area_out(area, AreaDetail)


@router.get("/agencies", response_model=Page[AgencyOut])
def list_agencies(
    uow: Uow, paging: Paging,
    _: Annotated[Principal, Depends(require("agencies.read"))],
    kind: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[AgencyOut]:
    stmt = select(Agency).options(selectinload(Agency.areas), selectinload(Agency.parent)) \
        .order_by(Agency.code)
    if kind:
        stmt = stmt.where(Agency.kind == kind)
    if q:
        stmt = stmt.where(or_(Agency.search_name.contains(fold(q), autoescape=True),
                              Agency.code == q.strip()))
    rows, total = paginate(uow.session, stmt, paging)
    return make_page([_agency_out(a) for a in rows], total, paging)


def _agency_or_404(uow: Uow, code: str) -> Agency:
    agency = agency_by_code(uow.session, code)
    if agency is None:
        raise NotFound(f"no agency with code {code!r}")
    return agency


@router.get("/agencies/{code}", response_model=AgencyOut)
def get_agency(code: str, uow: Uow,
               _: Annotated[Principal, Depends(require("agencies.read"))]) -> AgencyOut:
    return _agency_out(_agency_or_404(uow, code))


@router.patch("/agencies/{code}", response_model=AgencyOut)
def update_agency_contact(code: str, patch: AgencyPatch, uow: Uow,
                          principal: CurrentPrincipal) -> AgencyOut:
    """Contact details: admins for any agency, officers for their own agency subtree."""
    agency = _agency_or_404(uow, code)
    authorize(principal, "agencies.edit_contact", agency_id=agency.id)
    for field, value in patch.model_dump(exclude_none=True).items():
        setattr(agency, field, value.strip())
    uow.commit()
    return _agency_out(agency)


@router.get("/agencies/{code}/users", response_model=Page[UserOut])
def list_agency_users(code: str, uow: Uow, paging: Paging,
                      principal: CurrentPrincipal) -> Page[UserOut]:
    agency = _agency_or_404(uow, code)
    authorize(principal, "users.read", agency_id=agency.id)
    stmt = select(User).where(User.agency_id == agency.id).order_by(User.username)
    rows, total = paginate(uow.session, stmt, paging)
    return make_page([UserOut(username=u.username, full_name=u.full_name,
                              roles=sorted(u.roles), is_active=u.is_active) for u in rows],
                     total, paging)


@router.get("/areas.geojson")
def areas_geojson(uow: Uow, _: Annotated[Principal, Depends(require("areas.read"))],
                  level: Literal["province", "commune"] = "commune") -> dict[str, Any]:
    """Current boundaries as one GeoJSON FeatureCollection, for maps."""
    rows = uow.session.execute(
        select(Area.code, Area.name, Area.division_type, Area.geometry)
        .where(Area.level == level, Area.valid_to.is_(None), Area.geometry.is_not(None))
        .order_by(Area.code)
    ).all()
    features = [
        {"type": "Feature", "id": code, "geometry": geometry,
         "properties": {"code": code, "name": name, "division_type": division_type}}
        for code, name, division_type, geometry in rows
    ]
    return {"type": "FeatureCollection", "features": features}
