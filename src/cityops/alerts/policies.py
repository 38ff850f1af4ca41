"""Loads the default SLA, escalation and SOP data shipped in ``data/defaults.yaml``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts.models import EscalationPolicy, SlaPolicy
from cityops.alerts.sla import UNITS
from cityops.alerts.vocab import CAP_CATEGORIES, SEVERITIES


@cache
def defaults() -> dict[str, Any]:
    text = resources.files("cityops.alerts.data").joinpath("defaults.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def sop_template(category: str) -> list[dict[str, Any]]:
    templates = defaults()["sop_templates"]
    return list(templates.get(category) or templates["Other"])


def ensure_default_policies(session: Session) -> int:
    """Insert the shipped policies that are missing; never overwrites an admin's edits."""
    data = defaults()
    added = 0
    by_name = {p.name: p for p in session.scalars(select(EscalationPolicy))}
    for row in data["escalation_policies"]:
        if row["name"] in by_name:
            continue
        policy = EscalationPolicy(name=row["name"], levels=row["levels"],
                                  reminder_every_minutes=row["reminder_every_minutes"],
                                  max_reminders=row["max_reminders"])
        session.add(policy)
        by_name[policy.name] = policy
        added += 1
    session.flush()
    existing = {(p.category, p.severity) for p in session.scalars(select(SlaPolicy))}
    for row in data["sla_policies"]:
        key = (row["category"], row["severity"])
        if key in existing:
            continue
        if row["unit"] not in UNITS or (row["severity"] != "*" and
                                        row["severity"] not in SEVERITIES) or \
                (row["category"] != "*" and row["category"] not in CAP_CATEGORIES):
            raise ValueError(f"bad SLA policy in defaults.yaml: {row}")
        session.add(SlaPolicy(category=row["category"], severity=row["severity"],
                              unit=row["unit"], ack_within=row["ack_within"],
                              resolve_within=row["resolve_within"],
                              escalation_policy_id=by_name[row["escalation"]].id))
        existing.add(key)
        added += 1
    session.flush()
    return added
