"""Pydantic schemas of the staff JSON API (contact details appear only here, for staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from cityops.services.field_reports.models import Report, TimelineEntry


class ReportIn(BaseModel):
    category: str = Field(max_length=40)
    channel: Literal["app", "hotline", "email", "social", "walk_in", "portal"] = "app"
    description: str = Field("", max_length=4000)
    lat: float | None = None
    lon: float | None = None
    area_code: str | None = Field(None, max_length=16)
    address: str = Field("", max_length=500)
    contact_name: str = Field("", max_length=200)
    contact_phone: str = Field("", max_length=40)
    contact_email: str = Field("", max_length=200)
    show_name: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class TimelineOut(BaseModel):
    id: int
    kind: str
    from_state: str | None
    to_state: str | None
    public: bool
    text: str
    actor: str
    at: datetime

    @classmethod
    def of(cls, e: TimelineEntry) -> TimelineOut:
        return cls(id=e.id, kind=e.kind, from_state=e.from_state, to_state=e.to_state,
                   public=e.public, text=e.text, actor=e.actor, at=e.at)


class ReportOut(BaseModel):
    id: int
    code: str
    category: str
    state: str
    state_reason: str
    priority: str
    channel: str
    description: str
    lat: float | None
    lon: float | None
    area_code: str | None
    address: str
    lead_agency: str | None
    supporting_agencies: list[str]
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    duplicate_of: str | None
    reopen_count: int
    result_text: str
    result_approved: bool
    rating: int | None
    rating_comment: str
    hidden: bool
    name_hidden: bool
    show_name: bool
    contact_name: str
    contact_phone: str
    contact_email: str
    recorded_by: str

    @classmethod
    def of(cls, r: Report, now: datetime) -> ReportOut:
        return cls(
            id=r.id, code=r.code, category=r.category.code, state=r.state,
            state_reason=r.state_reason, priority=r.priority, channel=r.channel,
            description=r.description, lat=r.lat, lon=r.lon,
            area_code=r.area.code if r.area else None, address=r.address,
            lead_agency=r.lead_agency.code if r.lead_agency else None,
            supporting_agencies=[a.code for a in r.supporting], due_at=r.due_at,
            overdue=bool(r.due_at and r.due_at < now and r.resolved_at is None
                         and r.state not in ("rejected", "duplicate")),
            created_at=r.created_at, updated_at=r.updated_at, resolved_at=r.resolved_at,
            closed_at=r.closed_at, duplicate_of=r.duplicate_of.code if r.duplicate_of else None,
            reopen_count=r.reopen_count, result_text=r.result_text,
            result_approved=r.result_approved, rating=r.rating,
            rating_comment=r.rating_comment, hidden=r.hidden, name_hidden=r.name_hidden,
            show_name=r.show_name, contact_name=r.contact_name, contact_phone=r.contact_phone,
            contact_email=r.contact_email, recorded_by=r.recorded_by)


class ReportDetail(ReportOut):
    timeline: list[TimelineOut]


class ReportPage(BaseModel):
    items: list[ReportOut]
    total: int
    limit: int
    offset: int


class TransitionIn(BaseModel):
    to: Literal["verified", "rejected", "duplicate", "in_progress", "resolved", "closed"]
    reason: str = Field("", max_length=4000)
    duplicate_of: str | None = Field(None, max_length=16)
    public_text: str = Field("", max_length=4000)


class AssignIn(BaseModel):
    agency: str | None = Field(None, max_length=40)
    supporting: list[str] | None = None
    note: str = Field("", max_length=4000)


class BulkAssignIn(BaseModel):
    report_ids: list[int] = Field(min_length=1, max_length=500)
    agency: str | None = Field(None, max_length=40)


class TransferIn(BaseModel):
    agency: str = Field(max_length=40)
    reason: str = Field(max_length=4000)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=4000)


class MergeIn(BaseModel):
    into: str = Field(max_length=16)


class NoteIn(BaseModel):
    text: str = Field(max_length=4000)
    public: bool = False


class ModerateIn(BaseModel):
    reason: str = Field(max_length=4000)
    description: str | None = Field(None, max_length=4000)
    hide_name: bool | None = None
    hidden: bool | None = None


class NearbyOut(BaseModel):
    code: str
    state: str
    description: str
    distance_m: float
    created_at: datetime


class RuleIn(BaseModel):
    category: str = Field(max_length=40)
    area_code: str | None = Field(None, max_length=16)
    lead_agency: str | None = Field(None, max_length=40)
    lead_is_commune: bool = False
    supporting: list[str] = Field(default_factory=list)
    supporting_commune: bool = False
    priority: int = Field(100, ge=0, le=10000)
    note: str = Field("", max_length=300)


class RuleOut(RuleIn):
    id: int


class TemplateOut(BaseModel):
    id: int
    state: str
    title: str
    text_vi: str
    text_en: str
    category: str | None


class MediaModerateIn(BaseModel):
    reason: str = Field(max_length=4000)
    hidden: bool | None = None
    redacted: bool | None = None


class BanIn(BaseModel):
    kind: Literal["phone", "email", "ip"]
    value: str = Field(max_length=200)
    reason: str = Field("", max_length=4000)
    until: AwareDatetime | None = None


class BanOut(BaseModel):
    id: int
    kind: str
    reason: str
    until: datetime | None
    created_by: str
