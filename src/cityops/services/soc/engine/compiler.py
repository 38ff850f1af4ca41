"""Compile pySigma's parsed condition tree into one boolean closure per rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import SigmaExpansion, SigmaFieldReference

from .gate import Gate, gate_of
from .grouping import merge_siblings
from .values import Pred, UnsupportedRule, field_pred, keyword_pred


@dataclass(slots=True)
class CompiledRule:
    rule_id: str
    title: str
    level: str | None
    product: str | None
    category: str | None
    service: str | None
    predicate: Pred
    source: str = ""
    tags: list[str] = field(default_factory=list)
    author: str | None = None  # DRL 1.1: messages built from matches must keep the author
    gate: Gate | None = None  # necessary literals, see gate.py; None: always evaluate
    fields: frozenset[str] | None = None  # lower-cased fields it reads; None: unknown, all

    @property
    def logsource_key(self) -> tuple[str | None, str | None, str | None]:
        return (self.product, self.category, self.service)


def _all(preds: list[Pred]) -> Pred:
    if len(preds) == 2:
        a, b = preds
        return lambda e: a(e) and b(e)

    # Plain loops: all()/any() over a generator cost a frame per event on the hot path.
    def f(e: object) -> bool:
        for p in preds:  # noqa: SIM110
            if not p(e):  # type: ignore[arg-type]
                return False
        return True

    return f  # type: ignore[return-value]


def _any(preds: list[Pred]) -> Pred:
    if len(preds) == 2:
        a, b = preds
        return lambda e: a(e) or b(e)

    def f(e: object) -> bool:
        for p in preds:  # noqa: SIM110
            if p(e):  # type: ignore[arg-type]
                return True
        return False

    return f  # type: ignore[return-value]


def compile_condition(node: object) -> Pred:
    if isinstance(node, ConditionAND):
        preds = merge_siblings(node.args, False, compile_condition)
        return preds[0] if len(preds) == 1 else _all(preds)
    if isinstance(node, ConditionOR):
        preds = merge_siblings(node.args, True, compile_condition)
        return preds[0] if len(preds) == 1 else _any(preds)
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0])
        return lambda e: not inner(e)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_pred(node.field.replace(" ", "").lower(), node.value)
    if isinstance(node, ConditionValueExpression):
        return keyword_pred(node.value)
    raise UnsupportedRule(f"condition node {type(node).__name__} not supported")


def fields_of(node: object, out: set[str]) -> set[str]:
    """Field names a condition tree reads, spelled as the predicates look them up."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        out.add(node.field.replace(" ", "").lower())
        values = node.value.values if isinstance(node.value, SigmaExpansion) else [node.value]
        out.update(v.field.lower() for v in values if isinstance(v, SigmaFieldReference))
    for arg in getattr(node, "args", ()):
        fields_of(arg, out)
    return out


def _low(s: str | None) -> str | None:
    return s.lower() if s else None


def compile_rule(rule: SigmaRule, source: str = "") -> CompiledRule:
    if rule.errors:
        raise UnsupportedRule("; ".join(str(e) for e in rule.errors))
    try:
        trees = [c.parsed for c in rule.detection.parsed_condition]
    except SigmaError as exc:
        raise UnsupportedRule(f"condition: {exc}") from exc
    trees = [t for t in trees if t is not None]
    preds = [compile_condition(t) for t in trees]
    gates = [gate_of(t) for t in trees]
    if not preds:
        raise UnsupportedRule("empty condition")
    ls = rule.logsource
    return CompiledRule(
        rule_id=str(rule.id) if rule.id else (rule.title or source),
        title=rule.title or "",
        level=rule.level.name.lower() if rule.level else None,
        product=_low(ls.product),
        category=_low(ls.category),
        service=_low(ls.service),
        predicate=preds[0] if len(preds) == 1 else _any(preds),
        source=source,
        tags=[str(t) for t in rule.tags],
        author=rule.author,
        gate=None if any(g is None for g in gates) else frozenset().union(*gates),  # type: ignore[arg-type]
        fields=frozenset(set().union(*(fields_of(t, set()) for t in trees))),
    )


# Same as pySigma's from_yaml (safe_load_all + from_dicts) but with libyaml: the pure-Python
# scanner was ~90 % of the time to load SigmaHQ's ~2,800 rules.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def rule_files(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(x for x in p.rglob("*") if x.suffix in (".yml", ".yaml"))
        else:
            out.append(p)
    return out


def load_rules(paths: list[str | Path]) -> tuple[list[CompiledRule], list[tuple[str, str]]]:
    """Compile every rule under ``paths``; failures come back as (path or id, reason)."""
    rules: list[CompiledRule] = []
    failed: list[tuple[str, str]] = []
    for path in rule_files(paths):
        try:
            docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER))
            coll = SigmaCollection.from_dicts(docs, collect_errors=True)
        except Exception as exc:  # any unreadable file is reported, never fatal for the rest
            failed.append((str(path), f"load: {type(exc).__name__}: {exc}"))
            continue
        # Collection errors repeat each rule's own errors; report those once, per rule, below.
        own = {id(e) for r in coll.rules for e in getattr(r, "errors", ())}
        for err in coll.errors:
            if id(err) not in own:
                failed.append((str(path), f"parse: {err}"))
        for r in coll.rules:
            if not isinstance(r, SigmaRule):  # correlation/filter documents: not in this increment
                failed.append((str(path), f"{type(r).__name__} not supported by the matcher"))
                continue
            try:
                rules.append(compile_rule(r, str(path)))
            except UnsupportedRule as exc:
                failed.append((f"{path}#{r.id}" if r.id else str(path), str(exc)))
            except Exception as exc:  # pySigma raises lazily while building the tree
                failed.append((f"{path}#{r.id}", f"{type(exc).__name__}: {exc}"))
    return rules, failed
