"""Literal pre-filter: skip rules whose required strings cannot occur in the event.

For each rule we derive a *gate*: a set of (field, kind, literal) atoms at least one of which
must hold for the rule to match (AND keeps one child's gate, OR unions them, NOT gives none).
Per logsource, all atoms of a field go into one RE2 set, so one C++ scan per field and event
finds every rule that may match; only those run their full compiled predicate.
Gating never changes results, it only prunes: rules without a gate are always evaluated.
"""

from __future__ import annotations

import re._constants as _constants
import re._parser as _parser
from typing import TYPE_CHECKING, Any

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
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
)

from .event import ALL_FIELDS, SEP, Event
from .values import UnsupportedRule, classify, string_parts

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
    if isinstance(value, SigmaRegularExpression):
        icase = SigmaRegularExpressionFlag.IGNORECASE in value.flags
        runs = regex_literals(value.regexp.original, icase)
        if not runs:
            return None
        # ASCII run in the text => its lower-case form in the lower-cased text.
        return frozenset({(field, "contains", max((t for t, _ in runs), key=len).lower())})
    if isinstance(value, SigmaNumber):
        return frozenset({(field, "exact", str(value.number).lower())})
    if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString):
        try:
            kind, text = classify(value, cased=False, substring=field == ALL_FIELDS)
        except UnsupportedRule:
            return None
        if kind == "regex":  # inner wildcards: the longest literal run must still occur
            text = max((p for p in string_parts(value) if isinstance(p, str)), key=len,
                       default="").lower()
            kind = "contains"
        if kind == "contains" and not text:
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


_C = _constants
_BREAKS_ICASE = frozenset("isIS")  # (?i) also matches ı/ſ/İ, which .lower() does not give


def regex_literals(pattern: str, ignorecase: bool) -> list[tuple[str, bool]]:
    """ASCII literal runs every match of ``pattern`` contains: (text, True if it must be
    compared lower-cased because it sits under IGNORECASE). Empty when nothing is certain."""
    try:
        parsed = _parser.parse(pattern, _C.SRE_FLAG_IGNORECASE if ignorecase else 0)
    except Exception:  # invalid patterns are reported by the compiler, not here
        return []
    out: list[tuple[str, bool]] = []
    _runs(list(parsed), bool(parsed.state.flags & _C.SRE_FLAG_IGNORECASE), out)
    return out


def _runs(items: list[Any], icase: bool, out: list[tuple[str, bool]]) -> None:
    cur: list[str] = []

    def flush() -> None:
        if cur:
            out.append(("".join(cur), icase))
            cur.clear()

    for op, av in items:
        if op is _C.LITERAL and chr(av).isascii() and not (icase and chr(av) in _BREAKS_ICASE):
            cur.append(chr(av).lower() if icase else chr(av))
            continue
        flush()
        if op is _C.SUBPATTERN:  # a group is matched exactly once
            _group, add, drop, sub = av
            sub_icase = (icase or bool(add & _C.SRE_FLAG_IGNORECASE)) and not (
                drop & _C.SRE_FLAG_IGNORECASE)
            _runs(list(sub), sub_icase, out)
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT) and av[0] >= 1:
            _runs(list(av[2]), icase, out)  # body occurs at least once
        elif op is _C.ATOMIC_GROUP:
            _runs(list(av), icase, out)
    flush()


def _pattern(kind: str, text: str) -> str:
    esc = re2.escape(text)
    return {"exact": f"^{esc}$", "prefix": f"^{esc}", "suffix": f"{esc}$"}.get(kind, esc)


class GateIndex:
    """Candidate finder for one list of rules (one logsource key combination).

    Per field: exact literals in a dict (one hash lookup), the other kinds in one RE2 set.
    """

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules
        self.always: list[int] = []
        exact: dict[str, dict[str, list[int]]] = {}
        by_field: dict[str, dict[str, list[int]]] = {}
        for pos, rule in enumerate(rules):
            if rule.gate is None:
                self.always.append(pos)
                continue
            for field, kind, text in rule.gate:
                if kind == "exact" and field != ALL_FIELDS:
                    exact.setdefault(field, {}).setdefault(text, []).append(pos)
                else:
                    by_field.setdefault(field, {}).setdefault(_pattern(kind, text), []).append(pos)
        opts = re2.Options()
        opts.dot_nl = True
        opts.max_mem = 256 << 20
        # field -> (exact literal -> rule positions, RE2 set's raw Match or None, its owners)
        self.fields: list[tuple[str, dict[str, list[int]], Any, list[list[int]]]] = []
        for field in sorted(set(exact) | set(by_field)):
            owners: list[list[int]] = []
            match = None
            if pats := by_field.get(field):
                rset = re2.Set.SearchSet(opts)
                for pat, positions in pats.items():
                    try:
                        rset.Add(pat)
                    except Exception:  # RE2 refused it: those rules lose their gate, stay correct
                        self.always.extend(positions)
                        continue
                    owners.append(positions)
                rset.Compile()
                # The wrapper's Match only encodes and forwards; call the C++ set directly.
                match = rset._set.Match
            self.fields.append((field, exact.get(field, {}), match, owners))
        self._always = frozenset(self.always)

    def candidates(self, ev: Event) -> list[CompiledRule]:
        hit = set(self._always)
        low = ev.low
        for field, exact, match, owners in self.fields:
            v = ev.joined if field == ALL_FIELDS else low.get(field)
            if v is None:
                continue
            if exact and (got := exact.get(v)) is not None:
                hit.update(got)
            if match is not None and (ids := match(v.encode())):
                for i in ids:
                    hit.update(owners[i])
        rules = self.rules
        return [rules[i] for i in sorted(hit)]
