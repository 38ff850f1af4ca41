"""Sigma v2 correlation rules (parsed by pySigma) turned into plain specs the engine runs.

References are resolved to the ``rule_id`` the matcher reports (a base rule's id, or another
correlation's id for chains), so the engine only ever deals with strings.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

SUPPORTED_KINDS = ("event_count", "value_count", "temporal", "temporal_ordered")
# Adding events can only make these true, so they fire as soon as they hold; the others are
# judged once a window has closed (see correlation.py).
MONOTONIC_OPS = frozenset({"gt", "gte"})
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
    "lte": operator.le, "eq": operator.eq, "neq": operator.ne,
}

Resolver = Callable[[str], "str | None"]
SeenPredicate = Callable[[frozenset[str]], bool]


class UnsupportedCorrelation(Exception):
    """A correlation rule the engine cannot run; the message is the reason reported."""


@dataclass(frozen=True, slots=True)
class Threshold:
    op: str
    value: float

    def holds(self, n: float) -> bool:
        return _COMPARE[self.op](n, self.value)

    @property
    def monotonic(self) -> bool:
        return self.op in MONOTONIC_OPS


@dataclass(slots=True)
class CorrelationSpec:
    rule_id: str
    title: str
    level: str | None
    kind: str
    refs: tuple[str, ...]  # rule ids of the referenced rules, in the rule's order
    group_by: tuple[str, ...]
    # ref rule id -> group-by (or value) name -> field name in that rule's events (aliases)
    field_names: dict[str, dict[str, str]]
    timespan: float
    threshold: Threshold
    generate: bool = False
    value_field: str | None = None
    expression: SeenPredicate | None = None  # extended temporal condition over rule ids seen
    tags: list[str] = field(default_factory=list)
    author: str | None = None
    source: str = ""

    @property
    def fires_on_arrival(self) -> bool:
        return self.expression is not None or self.threshold.monotonic

    def field_of(self, ref: str, name: str) -> str:
        return self.field_names.get(ref, {}).get(name, name)


def correlation_id(rule: SigmaCorrelationRule) -> str:
    return str(rule.id) if rule.id else (rule.name or rule.title or "")


def reference_strings(rule: SigmaCorrelationRule) -> list[str]:
    """Every rule reference in the rule: its rules list, the condition and the aliases."""
    refs = [r.reference for r in rule.rules or []]
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition):
        refs += rule.condition.get_referenced_rules()
    for alias in rule.aliases:
        refs += [r.reference for r in alias.mapping]
    return list(dict.fromkeys(refs))


def is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _compile_expression(
    node: CorrelationConditionItem | SigmaRuleReference, resolve: Resolver
) -> SeenPredicate:
    if isinstance(node, SigmaRuleReference):
        rid = _must(resolve, node.reference)
        return lambda seen: rid in seen
    parts = [_compile_expression(a, resolve) for a in node.args]
    if isinstance(node, CorrelationConditionNOT):
        inner = parts[0]
        return lambda seen: not inner(seen)
    if isinstance(node, CorrelationConditionAND):
        return lambda seen: all(p(seen) for p in parts)
    if isinstance(node, CorrelationConditionOR):
        return lambda seen: any(p(seen) for p in parts)
    raise UnsupportedCorrelation(f"condition node {type(node).__name__} not supported")


def _must(resolve: Resolver, reference: str) -> str:
    rid = resolve(reference)
    if rid is None:
        raise UnsupportedCorrelation(f"unknown rule {reference!r} (not loaded or not compiled)")
    return rid


def spec_from_rule(
    rule: SigmaCorrelationRule, resolve: Resolver, source: str = ""
) -> CorrelationSpec:
    """Check and convert one parsed correlation rule; raises UnsupportedCorrelation with why."""
    if rule.errors:
        raise UnsupportedCorrelation("; ".join(str(e) for e in rule.errors))
    kind = rule.type.name.lower() if rule.type else ""
    if kind not in SUPPORTED_KINDS:
        raise UnsupportedCorrelation(f"correlation type {kind or 'missing'!r} not supported")
    cond = rule.condition
    expression: SeenPredicate | None = None
    if isinstance(cond, SigmaExtendedCorrelationCondition):
        if kind != "temporal":
            raise UnsupportedCorrelation("an extended (boolean) condition needs type temporal")
        expression = _compile_expression(cond.parsed, resolve)
        names = [r.reference for r in rule.rules or []] or cond.get_referenced_rules()
        threshold = Threshold("gte", 1)
        value_field = None
    else:
        assert isinstance(cond, SigmaCorrelationCondition)
        names = [r.reference for r in rule.rules or []]
        threshold = Threshold(cond.op.name.lower(), float(cond.count))
        value_field = cond.fieldref if isinstance(cond.fieldref, str) else None
        if kind == "value_count" and not value_field:
            raise UnsupportedCorrelation("value_count needs exactly one condition field")
    refs = tuple(dict.fromkeys(_must(resolve, n) for n in names))
    if not refs:
        raise UnsupportedCorrelation("no referenced rules")
    if correlation_id(rule) in refs:
        raise UnsupportedCorrelation("a correlation cannot refer to itself")
    field_names: dict[str, dict[str, str]] = {}
    for alias in rule.aliases:
        for ref, field_name in alias.mapping.items():
            field_names.setdefault(_must(resolve, ref.reference), {})[alias.alias] = field_name
    level = rule.level.name.lower() if rule.level else None
    return CorrelationSpec(
        rule_id=correlation_id(rule),
        title=rule.title or "",
        level=level,
        kind=kind,
        refs=refs,
        group_by=tuple(rule.group_by or ()),
        field_names=field_names,
        timespan=float(rule.timespan.seconds),
        threshold=threshold,
        generate=bool(rule.generate),
        value_field=value_field,
        expression=expression,
        tags=[str(t) for t in rule.tags],
        author=rule.author,
        source=source,
    )
