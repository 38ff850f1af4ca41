"""Pydantic schemas of the SOC API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RefusedItem(BaseModel):
    index: int
    reason: str


class IngestOut(BaseModel):
    accepted: int
    quarantined: int
    refused: list[RefusedItem]
    matches: int
    detections_created: int
    detections_updated: int
    # Stored correlations that fired while this batch was fed in (windows are shared by every
    # request of this process, so earlier events count too).
    correlations: int = 0


class RuleIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=256 * 1024, description="one Sigma rule")


class RestoreIn(BaseModel):
    version: int = Field(ge=1)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule_id: str
    title: str
    level: str | None
    status: str | None
    tags: list[str]
    author: str
    product: str | None
    category: str | None
    service: str | None
    origin: str
    enabled: bool
    version: int
    updated_by: str
    updated_at: datetime


class RuleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    enabled: bool
    title: str
    level: str | None
    change: str
    changed_by: str
    changed_at: datetime
    yaml_text: str


class RuleDetail(RuleOut):
    yaml_text: str
    versions: list[RuleVersionOut]


class AssetIn(BaseModel):
    hostname: str | None = Field(default=None, max_length=255)
    ip: str | None = Field(default=None, max_length=64, description="an address or CIDR block")
    agency_code: str = Field(min_length=1, max_length=40)
    criticality: Literal["low", "medium", "high", "critical"] = "medium"
    notes: str = Field(default="", max_length=4000)


class AssetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    hostname: str | None
    network: str | None
    agency_id: int
    criticality: str
    notes: str
    updated_at: datetime


class ImportOut(BaseModel):
    created: int
    updated: int


class DetectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    rule_id: str
    rule_title: str
    rule_author: str
    level: str | None
    severity: str
    soc_category: str
    tags: list[str]
    host: str
    agency_id: int | None
    first_seen: datetime
    last_seen: datetime
    count: int
    alert_id: int | None


class DetectionDetail(DetectionOut):
    sample_event: dict[str, Any]


class QuarantineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    source: str
    reason: str
    raw: str
    raw_size: int
    truncated: bool


class CorrelationIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=256 * 1024,
                      description="one Sigma correlation rule, with any base rules of its own")


class CorrelationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule_id: str
    title: str
    level: str | None
    enabled: bool
    version: int
    updated_by: str
    updated_at: datetime
    yaml_text: str
