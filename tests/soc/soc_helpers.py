"""Helpers for the SOC engine tests: compile an inline YAML rule and run it on flat events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sigma.rule import SigmaRule

from cityops.services.soc.engine import compile_rule
from cityops.services.soc.engine.event import Event

HEADER = """
title: t
id: 00000000-0000-0000-0000-000000000001
logsource: {product: windows, category: process_creation}
detection:
"""


def rule_matcher(detection: str) -> Callable[[dict[str, Any]], bool]:
    """``detection`` is the indented body of the detection section (selections + condition)."""
    rule = compile_rule(SigmaRule.from_yaml(HEADER + detection))
    return lambda fields: rule.predicate(Event(fields))
