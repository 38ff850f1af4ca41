"""Routing: point → commune (kernel lookup) → routing table → lead + supporting agencies.

No matching rule (or no point) leaves the lead agency empty: the report waits in the IOC
triage queue. Default categories and rules ship in ``data/categories.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.kernel.geo import AreaLocator, OutsideProvince
from cityops.kernel.orgs import Agency, Area, agency_areas, agency_by_code, area_by_code
from cityops.services.field_reports.models import Category, ResponseTemplate, RoutingRule

COMMUNE = "commune"  # in the YAML: "the commune committee of the report's commune"

# One locator per database: building it parses every commune polygon (a few hundred ms).
_locators: dict[str, AreaLocator] = {}


@dataclass
class RouteDecision:
    area: Area | None
    lead: Agency | None
    supporting: list[Agency] = field(default_factory=list)
    rule_id: int | None = None

    @property
    def triage(self) -> bool:
        return self.lead is None


def locator(session: Session) -> AreaLocator:
    key = str(session.get_bind().url)
    found = _locators.get(key)
    if found is None:
        found = _locators[key] = AreaLocator.from_session(session)
    return found


def forget_locator(session: Session) -> None:
    """Call after boundaries change so the next lookup rebuilds the index."""
    _locators.pop(str(session.get_bind().url), None)


def locate_area(session: Session, lat: float, lon: float) -> Area | None:
    """The commune containing the point, or None outside the province."""
    try:
        hit = locator(session).locate(lat, lon)
    except OutsideProvince:
        return None
    return area_by_code(session, hit.code)


def commune_committee(session: Session, area: Area | None) -> Agency | None:
    """The People's Committee serving ``area`` (the agency of kind commune_committee)."""
    if area is None:
        return None
    return session.scalar(
        select(Agency).join(agency_areas, agency_areas.c.agency_id == Agency.id)
        .where(agency_areas.c.area_id == area.id, Agency.kind == "commune_committee")
        .order_by(Agency.code).limit(1))


def matching_rule(session: Session, category: Category, area: Area | None) -> RoutingRule | None:
    rules = session.scalars(select(RoutingRule).where(RoutingRule.category_id == category.id)
                            ).all()
    candidates = [r for r in rules if r.area_id is None or (area and r.area_id == area.id)]
    # Lower priority first; at equal priority an area-specific rule beats an "any area" one.
    candidates.sort(key=lambda r: (r.priority, r.area_id is None, r.id))
    for rule in candidates:
        if rule.lead_is_commune and commune_committee(session, area) is None:
            continue  # "the commune" cannot apply without a commune; try the next rule
        return rule
    return None


def route(session: Session, category: Category, area: Area | None) -> RouteDecision:
    rule = matching_rule(session, category, area)
    if rule is None:
        return RouteDecision(area=area, lead=None)
    lead = commune_committee(session, area) if rule.lead_is_commune else rule.lead_agency
    supporting = list(rule.supporting)
    if rule.supporting_commune:
        committee = commune_committee(session, area)
        if committee is not None:
            supporting.append(committee)
    supporting = [a for a in supporting if lead is None or a.id != lead.id]
    return RouteDecision(area=area, lead=lead, supporting=supporting, rule_id=rule.id)


def _agency(session: Session, code: str) -> Agency:
    agency = agency_by_code(session, code)
    if agency is None:
        raise ValueError(f"routing data names an unknown agency {code!r}")
    return agency


def _add_rules(session: Session, category: Category, route_row: dict[str, Any]) -> int:
    lead_code = str(route_row["lead"])
    supporting_codes = [str(c) for c in route_row.get("supporting") or [] if c != COMMUNE]
    area_codes = [f"{int(c):05d}" for c in route_row.get("areas") or []] or [None]
    added = 0
    for area_code in area_codes:
        area = area_by_code(session, area_code) if area_code else None
        if area_code and area is None:
            continue  # a commune the installed boundaries lack
        rule = RoutingRule(category=category, area=area, priority=int(route_row["priority"]),
                           lead_is_commune=lead_code == COMMUNE,
                           lead_agency=None if lead_code == COMMUNE else _agency(session,
                                                                                 lead_code))
        rule.supporting = [_agency(session, c) for c in supporting_codes]
        rule.supporting_commune = COMMUNE in (route_row.get("supporting") or [])
        session.add(rule)
        added += 1
    return added


def default_data() -> dict[str, Any]:
    text = resources.files("cityops.services.field_reports.data") \
        .joinpath("categories.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def load_defaults(session: Session, *, with_routes: bool = True) -> dict[str, int]:
    """Add the shipped categories (and their routes, if the agencies exist); idempotent."""
    data = default_data()
    existing = {c.code: c for c in session.scalars(select(Category))}
    counts = {"categories": 0, "routing rules": 0, "templates": 0}
    for row in data["categories"]:
        if row["code"] in existing:
            continue
        category = Category(
            code=row["code"], name_vi=row["name_vi"], name_en=row["name_en"],
            group=row.get("group", ""), keywords=row.get("keywords", ""),
            notice_vi=row.get("notice_vi", ""), notice_en=row.get("notice_en", ""),
            questions=row.get("questions") or [], sla_working_days=row["sla_working_days"],
            duplicate_radius_m=row.get("duplicate_radius_m", 100),
            is_private=bool(row.get("private", False)), active=True)
        session.add(category)
        counts["categories"] += 1
        if with_routes:
            for route_row in row.get("routes") or []:
                counts["routing rules"] += _add_rules(session, category, route_row)
    if not session.scalar(select(ResponseTemplate.id).limit(1)):
        for row in data.get("templates") or []:
            session.add(ResponseTemplate(state=row["state"], title=row["title"],
                                         text_vi=row["text_vi"], text_en=row.get("text_en", "")))
            counts["templates"] += 1
    session.flush()
    return counts

