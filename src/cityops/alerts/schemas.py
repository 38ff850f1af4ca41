"""Pydantic shapes of the alert-center API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Severity = Literal["info", "warning", "minor", "major", "critical"]
State = Literal["new", "acknowledged", "in_progress", "resolved", "closed"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertIn(Strict):
    dedupe_key: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_.-]+$")
    title: str = Field(min_length=1, max_length=300)
    severity: Severity
    category: str = "Other"
    source_key: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=8000)
    description_en: str = Field(default="", max_length=8000)
    urgency: str = "Unknown"
    certainty: str = "Unknown"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    area_code: str | None = Field(default=None, max_length=16)
    agency_code: str | None = Field(default=None, max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=30)
    links: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    is_public: bool = False
    is_ticket: bool = False


class ClearIn(Strict):
    service: str = Field(min_length=1, max_length=40)
    dedupe_key: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=2000)


class TransitionIn(Strict):
    to: State
    comment: str = Field(default="", max_length=4000)


class CommentIn(Strict):
    text: str = Field(min_length=1, max_length=4000)


class AssignIn(Strict):
    username: str | None = Field(default=None, max_length=64)


class TicketAnswerIn(Strict):
    response: str = Field(min_length=1, max_length=8000)
    attachment: str = Field(default="", max_length=300)


class BulkAckIn(Strict):
    ids: list[int] = Field(min_length=1, max_length=500)
    comment: str = Field(default="", max_length=4000)


class EventOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    from_state: str | None
    to_state: str | None
    text: str
    data: dict[str, Any]


class AlertOut(BaseModel):
    id: int
    service: str
    dedupe_key: str
    source_key: str
    title: str
    title_en: str
    category: str
    severity: str
    urgency: str
    certainty: str
    status: str
    lat: float | None
    lon: float | None
    area_code: str | None
    area_name: str | None
    agency_code: str | None
    assignee: str | None
    tags: list[str]
    is_public: bool
    is_ticket: bool
    silenced: bool
    occurrences: int
    incident_id: int | None
    raised_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    escalation_level: int
    ticket_due_at: datetime | None
    ticket_checked_at: datetime | None
    ticket_answered_at: datetime | None


class TicketFileOut(BaseModel):
    name: str
    content_type: str
    size: int
    sha256: str
    url: str


class AlertDetail(AlertOut):
    description: str
    description_en: str
    links: list[dict[str, Any]]
    ticket_response: str
    ticket_attachment: str = ""
    ticket_file: TicketFileOut | None = None
    allowed_transitions: list[str]
    timeline: list[EventOut]


class BulkResult(BaseModel):
    done: list[int]
    refused: dict[int, str]


class IncidentIn(Strict):
    title: str = Field(min_length=1, max_length=300)
    category: str
    alert_ids: list[int] = Field(min_length=1, max_length=200)


class StepPatch(Strict):
    done: bool | None = None
    assignee: str | None = Field(default=None, max_length=64)


class StepOut(BaseModel):
    id: int
    position: int
    title: str
    assignee: str | None
    due_at: datetime | None
    done_at: datetime | None
    done_by: str


class IncidentOut(BaseModel):
    id: int
    title: str
    category: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    alert_ids: list[int]
    steps: list[StepOut]


class SilenceIn(Strict):
    service: str = ""
    category: str = ""
    agency_code: str | None = None
    max_severity: Severity = "critical"
    tag: str = ""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    comment: str = Field(default="", max_length=2000)


class SilenceOut(BaseModel):
    id: int
    service: str
    category: str
    agency_id: int | None
    max_severity: str
    tag: str
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
