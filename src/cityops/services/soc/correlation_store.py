"""Stored custom correlation rules: validated by loading them with the rules they refer to.

A correlation (Sigma v2) refers to base rules by id or name. Those may be documents in the same
YAML text or rules already stored in ``soc_rules`` (bundled or custom, enabled or not: disabling
a rule silences its own alerts, not the correlations built on it). The engine's loader works on
files, so the texts are written to a temporary folder and loaded together, exactly as the
running correlator (``correlation_runtime.py``) loads them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Conflict, NotFound
from cityops.kernel.permissions import Principal, authorize
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc.engine.correlation_loader import RuleSet, load_ruleset
from cityops.services.soc.engine.correlation_rules import (
    correlation_id,
    is_uuid,
    reference_strings,
)
from cityops.services.soc.models import SIGMA_LEVELS, SocCorrelationRule, SocRule
from cityops.services.soc.rules_store import RuleRefused, yaml_documents

NEW_FILE = "new-correlation.yml"


@dataclass(frozen=True)
class Parsed:
    correlation_ids: list[str]
    refs: list[str]
    defined: set[str]  # ids and names of the base rules inside the text itself


def parse_text(text: str) -> Parsed:
    """The correlations in a text and what they refer to; RuleRefused when it does not parse."""
    docs = yaml_documents(text)
    if not docs or not all(isinstance(d, dict) for d in docs):
        raise RuleRefused("give Sigma YAML documents (a correlation and any base rules)")
    try:
        coll = SigmaCollection.from_dicts(docs, collect_errors=True, resolve_references=False)
    except Exception as exc:  # pySigma raises many error types while parsing
        raise RuleRefused(f"pySigma: {exc}") from None
    correlations = [r for r in coll.rules if isinstance(r, SigmaCorrelationRule)]
    if len(correlations) != 1:
        raise RuleRefused("give exactly one correlation document (base rules of its own may "
                          "come with it)")
    defined = {str(x) for r in coll.rules if not isinstance(r, SigmaCorrelationRule)
               for x in (r.id, r.name) if x}
    refs = [ref for corr in correlations for ref in reference_strings(corr)]
    return Parsed([correlation_id(c) for c in correlations], refs, defined)


def _referenced_rules(session: Session, refs: set[str]) -> list[SocRule]:
    ids = [r for r in refs if is_uuid(r)]
    names = [r for r in refs if not is_uuid(r)]
    # A rule referred to by name declares `name: <it>`; loading a few extra candidates is
    # harmless, the loader resolves names exactly.
    conditions = [SocRule.rule_id.in_(ids)] if ids else []
    conditions += [SocRule.yaml_text.contains(f"name: {n}", autoescape=True) for n in names]
    if not conditions:
        return []
    return list(session.scalars(select(SocRule).where(or_(*conditions)).order_by(SocRule.id)))


def load_with_references(session: Session, texts: list[str],
                         new_text: str | None = None) -> tuple[RuleSet, str | None]:
    """Load correlation texts with the stored rules they refer to.

    Returns the loaded rule set and, when ``new_text`` is given, the path prefix its rules were
    loaded from (to tell its failures from the others').
    """
    parsed = [parse_text(t) for t in texts]
    new = parse_text(new_text) if new_text is not None else None
    everything = parsed + ([new] if new else [])
    refs = {r for p in everything for r in p.refs}
    defined = {d for p in everything for d in p.defined}
    defined |= {c for p in everything for c in p.correlation_ids}
    with tempfile.TemporaryDirectory(prefix="cityops-soc-corr-") as tmp:
        folder = Path(tmp)
        for n, text in enumerate(texts):
            (folder / f"stored-{n}.yml").write_text(text, encoding="utf-8")
        new_path = None
        if new_text is not None:
            new_path = folder / NEW_FILE
            new_path.write_text(new_text, encoding="utf-8")
        for rule in _referenced_rules(session, refs - defined):
            if rule.rule_id not in defined:
                (folder / f"rule-{rule.id}.yml").write_text(rule.yaml_text, encoding="utf-8")
        ruleset = load_ruleset([folder])
    return ruleset, (str(new_path) if new_path else None)


def _stored_texts(session: Session, skip: str | None = None) -> list[str]:
    stmt = select(SocCorrelationRule.yaml_text).where(SocCorrelationRule.enabled.is_(True))
    if skip is not None:
        stmt = stmt.where(SocCorrelationRule.rule_id != skip)
    return list(session.scalars(stmt.order_by(SocCorrelationRule.id)))


def validate(session: Session, text: str, replacing: str | None = None) -> tuple[str, str,
                                                                                  str | None]:
    """(correlation id, title, level) of a text that loads with the stored rules, or
    RuleRefused with every reason that concerns this text."""
    ruleset, new_path = load_with_references(session, _stored_texts(session, replacing), text)
    new_path = new_path or NEW_FILE
    mine = [f"{why}" for where, why in ruleset.failed if where.startswith(new_path)]
    if mine:
        raise RuleRefused("; ".join(mine))
    specs = [s for s in ruleset.correlations if s.source.startswith(new_path)]
    if not specs:
        raise RuleRefused("the correlation did not load (a reference to an unknown rule?)")
    spec = specs[-1]  # chained: the last one depends on the others
    return spec.rule_id, spec.title, spec.level


def list_correlations(session: Session, principal: Principal) -> list[SocCorrelationRule]:
    authorize(principal, "soc.read")
    return list(session.scalars(select(SocCorrelationRule).order_by(SocCorrelationRule.title)))


def get_correlation(session: Session, principal: Principal, rule_id: str) -> SocCorrelationRule:
    authorize(principal, "soc.read")
    row = session.scalar(select(SocCorrelationRule).where(SocCorrelationRule.rule_id == rule_id))
    if row is None:
        raise NotFound(f"no correlation rule {rule_id!r}")
    return row


def create_correlation(uow: UnitOfWork, text: str, now: datetime) -> SocCorrelationRule:
    authorize(uow.principal, "soc.rules.manage")
    session = uow.session
    parsed = parse_text(text)
    if session.scalar(select(SocCorrelationRule.id).where(
            SocCorrelationRule.rule_id.in_(parsed.correlation_ids))):
        raise Conflict(f"a correlation rule {parsed.correlation_ids[0]} already exists")
    rule_id, title, level = validate(session, text)
    row = SocCorrelationRule(rule_id=rule_id[:200], title=(title or rule_id)[:500],
                             level=level if level in SIGMA_LEVELS else None, yaml_text=text,
                             enabled=True, version=1, updated_by=uow.principal.label,
                             updated_at=now)
    session.add(row)
    session.flush()
    return row


def set_correlation_enabled(uow: UnitOfWork, rule_id: str, enabled: bool,
                            now: datetime) -> SocCorrelationRule:
    authorize(uow.principal, "soc.rules.manage")
    row = get_correlation(uow.session, uow.principal, rule_id)
    if row.enabled != enabled:
        if enabled:  # the rules it refers to may have changed while it was off
            validate(uow.session, row.yaml_text, replacing=row.rule_id)
        row.enabled, row.version = enabled, row.version + 1
        row.updated_by, row.updated_at = uow.principal.label, now
    return row


def delete_correlation(uow: UnitOfWork, rule_id: str) -> None:
    authorize(uow.principal, "soc.rules.manage")
    uow.session.delete(get_correlation(uow.session, uow.principal, rule_id))
    uow.session.flush()


def correlations_revision(session: Session) -> tuple[int, int, int]:
    """Changes whenever a stored correlation is added, toggled or deleted."""
    count, newest, versions = session.execute(select(
        func.count(SocCorrelationRule.id), func.max(SocCorrelationRule.id),
        func.sum(SocCorrelationRule.version))).one()
    return int(count or 0), int(newest or 0), int(versions or 0)


def load_enabled(session: Session) -> RuleSet:
    """Every enabled stored correlation with its references, for the running correlator."""
    return load_with_references(session, _stored_texts(session))[0]
