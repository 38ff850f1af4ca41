"""Load base and correlation rules together from the same files and folders.

compiler.load_rules parses one file at a time and knows only single-event rules: a correlation
document is reported as failed, and one that refers to a rule in another file makes pySigma
reject the whole file. So files holding a correlation document (found by a cheap text scan) are
parsed here, with references resolved across every loaded file; all other files still go through
load_rules unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from .compiler import CompiledRule, compile_rule, load_rules, rule_files
from .correlation_rules import (
    CorrelationSpec,
    UnsupportedCorrelation,
    correlation_id,
    is_uuid,
    reference_strings,
    spec_from_rule,
)
from .values import UnsupportedRule

# A top-level `correlation:` key, quoted or not, starts a correlation document.
_CORRELATION_DOC = re.compile(r"""^["']?correlation["']?\s*:""", re.MULTILINE)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Failure = tuple[str, str]


@dataclass
class RuleSet:
    base: list[CompiledRule]
    correlations: list[CorrelationSpec]  # every correlation after the ones it refers to
    failed: list[Failure] = field(default_factory=list)

    @property
    def quiet_rule_ids(self) -> frozenset[str]:
        """Referenced rules whose own matches are not reported (Sigma ``generate: false``).

        A rule stays reported if any correlation that refers to it asks for ``generate: true``.
        """
        referenced = {r for c in self.correlations for r in c.refs}
        generating = {r for c in self.correlations if c.generate for r in c.refs}
        return frozenset(referenced - generating)


@dataclass
class _Parsed:
    rules: list[tuple[SigmaRule, str]] = field(default_factory=list)
    correlations: list[tuple[SigmaCorrelationRule, str]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)


def _parse_file(path: Path, out: _Parsed) -> None:
    try:
        docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER))
        # References are resolved later, across files; pySigma would fail the whole file here.
        coll = SigmaCollection.from_dicts(docs, collect_errors=True, resolve_references=False)
    except Exception as exc:  # an unreadable file is reported, never fatal for the rest
        out.failed.append((str(path), f"load: {type(exc).__name__}: {exc}"))
        return
    own = {id(e) for r in coll.rules for e in getattr(r, "errors", ())}
    out.failed += [(str(path), f"parse: {e}") for e in coll.errors if id(e) not in own]
    for rule in coll.rules:
        if isinstance(rule, SigmaCorrelationRule):
            out.correlations.append((rule, str(path)))
        elif isinstance(rule, SigmaRule):
            out.rules.append((rule, str(path)))


def _where(source: str, rule: SigmaRule | SigmaCorrelationRule) -> str:
    return f"{source}#{rule.id}" if rule.id else f"{source}#{rule.title or '(no title)'}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""  # load_rules reports it


def _files_defining(names: set[str], texts: dict[Path, str]) -> list[Path]:
    """Files with a top-level ``name:`` among ``names`` (rules referred to by name)."""
    if not names:
        return []
    alternatives = "|".join(re.escape(n) for n in sorted(names))
    pattern = re.compile(rf"""^name:\s*["']?(?:{alternatives})["']?\s*$""", re.MULTILINE)
    return [p for p, text in texts.items() if pattern.search(text)]


def load_ruleset(paths: list[str | Path]) -> RuleSet:
    """Compile every base and correlation rule under ``paths``; failures come with the reason."""
    texts = {p: _read(p) for p in rule_files(paths)}
    mine = {p for p, text in texts.items() if _CORRELATION_DOC.search(text)}
    parsed = _Parsed()
    for path in sorted(mine):
        _parse_file(path, parsed)
    defined = {r.name for r, _ in parsed.rules if r.name}
    defined |= {c.name for c, _ in parsed.correlations if c.name}
    wanted = {
        ref for c, _ in parsed.correlations for ref in reference_strings(c)
        if not is_uuid(ref) and ref not in defined
    }
    others = {p: t for p, t in texts.items() if p not in mine}
    for path in _files_defining(wanted, others):
        _parse_file(path, parsed)
        del others[path]
    base, failed = load_rules(list(others)) if others else ([], [])
    failed = failed + parsed.failed
    by_uuid = {r.rule_id.lower(): r.rule_id for r in base if is_uuid(r.rule_id)}
    by_name: dict[str, str] = {}
    for rule, source in parsed.rules:
        compiled = _compile(rule, source, failed)
        if compiled is not None:
            base.append(compiled)
            _index(rule, compiled.rule_id, by_uuid, by_name)
    for corr, _ in parsed.correlations:
        _index(corr, correlation_id(corr), by_uuid, by_name)

    def resolve(reference: str) -> str | None:
        # pySigma's order: a reference that reads as a UUID is an id, anything else a name.
        return by_uuid.get(reference.lower()) if is_uuid(reference) else by_name.get(reference)

    specs: dict[str, CorrelationSpec] = {}
    for corr, source in parsed.correlations:
        try:
            spec = spec_from_rule(corr, resolve, source)
        except UnsupportedCorrelation as exc:
            failed.append((_where(source, corr), str(exc)))
            continue
        if spec.rule_id in specs:  # chains would be ambiguous: which one does a reference mean?
            failed.append((_where(source, corr), "duplicate correlation id or name"))
            continue
        specs[spec.rule_id] = spec
    ordered, rejected = order_by_dependency(specs, {r.rule_id for r in base})
    return RuleSet(base=base, correlations=ordered, failed=failed + rejected)


def _compile(rule: SigmaRule, source: str, failed: list[Failure]) -> CompiledRule | None:
    try:
        return compile_rule(rule, source)
    except UnsupportedRule as exc:
        failed.append((_where(source, rule), str(exc)))
    except Exception as exc:  # pySigma raises lazily while building the tree
        failed.append((_where(source, rule), f"{type(exc).__name__}: {exc}"))
    return None


def _index(
    rule: SigmaRule | SigmaCorrelationRule, rule_id: str,
    by_uuid: dict[str, str], by_name: dict[str, str],
) -> None:
    if rule.id:
        by_uuid[str(rule.id).lower()] = rule_id
    if rule.name:
        by_name[rule.name] = rule_id


def order_by_dependency(
    specs: dict[str, CorrelationSpec], base_ids: set[str]
) -> tuple[list[CorrelationSpec], list[Failure]]:
    """Correlations after the correlations they refer to; chains through failed ones or cycles
    fail with the reason."""
    ordered: list[CorrelationSpec] = []
    done: set[str] = set()
    failed: list[Failure] = []
    pending = dict(specs)
    while pending:
        progressed = False
        for rid, spec in list(pending.items()):
            missing = [r for r in spec.refs if r not in base_ids and r not in specs]
            if missing:
                failed.append((f"{spec.source}#{rid}", f"refers to failed rule {missing[0]!r}"))
                del pending[rid]
                specs.pop(rid)
                progressed = True
            elif all(r in base_ids or r in done for r in spec.refs):
                ordered.append(spec)
                done.add(rid)
                del pending[rid]
                progressed = True
        if not progressed:  # whatever is left refers to itself through other correlations
            for rid, spec in pending.items():
                failed.append((f"{spec.source}#{rid}", "reference cycle between correlations"))
            break
    return ordered, failed
