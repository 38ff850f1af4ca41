"""Literal pre-filter: skip rules whose required strings cannot occur in the event.

For each rule we derive a *gate*: a set of (field, kind, literal) atoms at least one of which
must hold for the rule to match (AND keeps one child's gate, OR unions them, NOT gives none).
Per logsource, all atoms of a field go into one RE2 set, so one C++ scan per field and event
finds every rule that may match; only those run their full compiled predicate.
Gating never changes results, it only prunes: rules without a gate are always evaluated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import re2
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
)

from .event import ALL_FIELDS, SEP, Event
from .values import UnsupportedRule, classify

if TYPE_CHECKING:
    from .compiler import CompiledRule

Atom = tuple[str, str, str]  # (lower-cased field, kind, lower-cased literal)
Gate = frozenset[Atom]


def _value_atoms(field: str, value: SigmaType) -> Gate | None:
    if isinstance(value, SigmaExpansion):
        parts = [_value_atoms(field, v) for v in value.values]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*parts)  # type: ignore[arg-type]
    if isinstance(value, SigmaTimestampPart):  # compares a parsed time, not the text
        return None
    if isinstance(value, SigmaNumber):
        return frozenset({(field, "exact", str(value.number).lower())})
    if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString):
        try:
            kind, text = classify(value, cased=False, substring=field == ALL_FIELDS)
        except UnsupportedRule:
            return None
        if kind == "regex" or (kind == "contains" and not text):
            return None
        return frozenset({(field, kind, text)})
    return None


def gate_of(node: object) -> Gate | None:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _value_atoms(node.field.replace(" ", "").lower(), node.value)
    if isinstance(node, ConditionValueExpression):  # keyword: search the joined values
        atoms = _value_atoms(ALL_FIELDS, node.value)
        if atoms is None or any(k != "contains" or SEP in t for _, k, t in atoms):
            return None
        return atoms
    if isinstance(node, ConditionOR):
        parts = [gate_of(a) for a in node.args]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*parts)  # type: ignore[arg-type]
    if isinstance(node, ConditionAND):
        gates = [g for g in (gate_of(a) for a in node.args) if g is not None]
        if not gates:
            return None
        # Fewest atoms with the longest shortest literal: the likeliest to prune.
        return min(gates, key=lambda g: (len(g), -min(len(t) for _, _, t in g)))
    if isinstance(node, ConditionNOT):
        return None
    return None


def _pattern(kind: str, text: str) -> str:
    esc = re2.escape(text)
    return {"exact": f"^{esc}$", "prefix": f"^{esc}", "suffix": f"{esc}$"}.get(kind, esc)


class GateIndex:
    """Candidate finder for one list of rules (one logsource key combination)."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules
        self.always: list[int] = []
        by_field: dict[str, dict[str, list[int]]] = {}
        for pos, rule in enumerate(rules):
            if rule.gate is None:
                self.always.append(pos)
                continue
            for field, kind, text in rule.gate:
                by_field.setdefault(field, {}).setdefault(_pattern(kind, text), []).append(pos)
        self.fields: list[tuple[str, object, list[list[int]]]] = []
        opts = re2.Options()
        opts.dot_nl = True
        opts.max_mem = 256 << 20
        for field, pats in by_field.items():
            rset = re2.Set.SearchSet(opts)
            owners: list[list[int]] = []
            for pat, positions in pats.items():
                try:
                    rset.Add(pat)
                except Exception:  # RE2 refused it: those rules lose their gate, stay correct
                    self.always.extend(positions)
                    continue
                owners.append(positions)
            rset.Compile()
            self.fields.append((field, rset, owners))
        self._always = set(self.always)

    def candidates(self, ev: Event) -> list[CompiledRule]:
        hit = set(self._always)
        low = ev.low
        for field, rset, owners in self.fields:
            v = ev.joined if field == ALL_FIELDS else low.get(field)
            if v is None:
                continue
            ids = rset.Match(v)  # type: ignore[attr-defined]
            if ids:
                for i in ids:
                    hit.update(owners[i])
        rules = self.rules
        return [rules[i] for i in sorted(hit)]
