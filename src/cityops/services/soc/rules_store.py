"""Rules as data: the bundled SigmaHQ set and custom rules, with versions and enable/disable.

Every change writes a new :class:`SocRuleVersion`; the highest version row id is the rule set's
*revision*, which keys the compiled-engine cache (see ``ruleset.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule
from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.permissions import Principal, authorize
from cityops.kernel.text import fold
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc.engine import CompiledRule, compile_rule
from cityops.services.soc.engine.compiler import rule_files
from cityops.services.soc.models import SIGMA_LEVELS, SocRule, SocRuleVersion

BUNDLED_DIR = Path(__file__).parent / "rules"
MAX_RULE_BYTES = 256 * 1024
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleRefused(Invalid):
    """A rule that does not parse or compile; the message gives pySigma's or our reason."""


def yaml_documents(text: str) -> list[Any]:
    """The non-empty YAML documents of a rule text; RuleRefused when too large or not YAML."""
    if len(text.encode()) > MAX_RULE_BYTES:
        raise RuleRefused(f"a rule may have at most {MAX_RULE_BYTES // 1024} KiB")
    try:
        return [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        raise RuleRefused(f"not valid YAML: {exc}") from None


def compile_yaml(text: str, where: str = "rule") -> CompiledRule:
    """Parse and compile one Sigma detection rule, or raise :class:`RuleRefused` saying why."""
    docs = yaml_documents(text)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise RuleRefused("give exactly one Sigma rule (one YAML document)")
    try:
        collection = SigmaCollection.from_dicts(docs, collect_errors=True)
    except Exception as exc:  # pySigma raises many error types while parsing
        raise RuleRefused(f"pySigma: {exc}") from None
    if collection.errors:
        raise RuleRefused("pySigma: " + "; ".join(str(e) for e in collection.errors))
    rules = list(collection.rules)
    if len(rules) != 1 or not isinstance(rules[0], SigmaRule):
        raise RuleRefused("only Sigma detection rules can be added (not correlation or filter "
                          "documents)")
    rule = rules[0]
    if rule.id is None:
        raise RuleRefused("the rule needs an id (a UUID)")
    try:
        return compile_rule(rule, where)
    except Exception as exc:  # UnsupportedRule, or pySigma raising lazily on the tree
        raise RuleRefused(f"cannot compile: {exc}") from None


@dataclass(frozen=True)
class RuleFilter:
    q: str | None = None
    level: str | None = None
    origin: str | None = None
    enabled: bool | None = None
    tag: str | None = None


def rule_query(principal: Principal, flt: RuleFilter) -> Select[tuple[SocRule]]:
    authorize(principal, "soc.read")
    stmt = select(SocRule).order_by(SocRule.title, SocRule.id)
    if flt.q:
        stmt = stmt.where(SocRule.search_text.contains(fold(flt.q), autoescape=True))
    if flt.level:
        stmt = stmt.where(SocRule.level == flt.level)
    if flt.origin:
        stmt = stmt.where(SocRule.origin == flt.origin)
    if flt.enabled is not None:
        stmt = stmt.where(SocRule.enabled.is_(flt.enabled))
    if flt.tag:
        # Tags are a JSON list; matching the quoted tag in its text works on both databases.
        stmt = stmt.where(cast(SocRule.tags, String).contains(f'"{flt.tag.lower()}"',
                                                              autoescape=True))
    return stmt


def get_rule(session: Session, principal: Principal, rule_id: str) -> SocRule:
    authorize(principal, "soc.read")
    rule = session.scalar(select(SocRule).where(SocRule.rule_id == rule_id))
    if rule is None:
        raise NotFound(f"no rule {rule_id!r}")
    return rule


def _apply(rule: SocRule, compiled: CompiledRule, text: str, status: Any) -> None:
    rule.title = compiled.title[:500]
    rule.level = compiled.level if compiled.level in SIGMA_LEVELS else None
    rule.status = str(status)[:32] if status else None
    rule.tags = [t.lower() for t in compiled.tags]
    rule.author = (compiled.author or "")[:1000]
    rule.product, rule.category, rule.service = compiled.logsource_key
    rule.search_text = fold(f"{compiled.title} {compiled.rule_id}")
    rule.yaml_text = text


def _status_of(text: str) -> Any:
    doc = next(iter(yaml.load_all(text, Loader=_LOADER)), None)
    return doc.get("status") if isinstance(doc, dict) else None


def _new_version(rule: SocRule, change: str, actor: str, now: datetime) -> None:
    rule.updated_by, rule.updated_at = actor, now
    rule.versions.append(SocRuleVersion(
        version=rule.version, yaml_text=rule.yaml_text, enabled=rule.enabled, title=rule.title,
        level=rule.level, change=change[:200], changed_by=actor, changed_at=now))


def create_custom(uow: UnitOfWork, text: str, now: datetime) -> SocRule:
    authorize(uow.principal, "soc.rules.manage")
    compiled = compile_yaml(text)
    session = uow.session
    if session.scalar(select(SocRule.id).where(SocRule.rule_id == compiled.rule_id)):
        raise Conflict(f"a rule with id {compiled.rule_id} already exists; edit it instead")
    rule = SocRule(rule_id=compiled.rule_id, origin="custom", enabled=True, version=1)
    _apply(rule, compiled, text, _status_of(text))
    _new_version(rule, "created", uow.principal.label, now)
    session.add(rule)
    session.flush()
    return rule


def update_rule(uow: UnitOfWork, rule_id: str, text: str, now: datetime) -> SocRule:
    authorize(uow.principal, "soc.rules.manage")
    rule = get_rule(uow.session, uow.principal, rule_id)
    if rule.origin != "custom":
        raise Conflict("bundled SigmaHQ rules are not edited in place; disable it and add a "
                       "custom rule with a new id")
    compiled = compile_yaml(text)
    if compiled.rule_id != rule.rule_id:
        raise RuleRefused(f"the rule's id must stay {rule.rule_id}")
    _apply(rule, compiled, text, _status_of(text))
    rule.version += 1
    _new_version(rule, "edited", uow.principal.label, now)
    return rule


def set_enabled(uow: UnitOfWork, rule_id: str, enabled: bool, now: datetime) -> SocRule:
    authorize(uow.principal, "soc.rules.manage")
    rule = get_rule(uow.session, uow.principal, rule_id)
    if rule.enabled == enabled:
        return rule  # nothing changed: no new version
    rule.enabled = enabled
    rule.version += 1
    _new_version(rule, "enabled" if enabled else "disabled", uow.principal.label, now)
    return rule


def restore_version(uow: UnitOfWork, rule_id: str, version: int, now: datetime) -> SocRule:
    authorize(uow.principal, "soc.rules.manage")
    rule = get_rule(uow.session, uow.principal, rule_id)
    old = next((v for v in rule.versions if v.version == version), None)
    if old is None:
        raise NotFound(f"rule {rule_id} has no version {version}")
    compiled = compile_yaml(old.yaml_text)  # the engine may have changed since
    _apply(rule, compiled, old.yaml_text, _status_of(old.yaml_text))
    rule.enabled = old.enabled
    rule.version += 1
    _new_version(rule, f"restored version {version}", uow.principal.label, now)
    return rule


def rules_revision(session: Session) -> int:
    """Changes whenever any rule changes: the newest version row's id."""
    return session.scalar(select(func.max(SocRuleVersion.id))) or 0


@dataclass
class SyncReport:
    """What a bundle sync did: new rules, bundled rules whose text changed, ids left alone."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_custom: list[str] = field(default_factory=list)  # a custom rule owns the id
    refused: list[str] = field(default_factory=list)  # files that do not compile here

    def __str__(self) -> str:
        return (f"bundled rules added: {self.added}, updated: {self.updated}, "
                f"unchanged: {self.unchanged}, ids held by custom rules: "
                f"{len(self.skipped_custom)}, not compiled: {len(self.refused)}")


def sync_bundled(uow: UnitOfWork, now: datetime, rules_dir: Path | None = None) -> SyncReport:
    """Bring the database up to the bundled rules (idempotent).

    Adds bundled rules the database lacks and gives a bundled rule whose file changed a new
    version with the new text. The ``enabled`` choice of an existing rule is never changed and
    custom rules are never touched (a custom rule that took a bundled id keeps it). A file
    whose text equals the stored text is not compiled again, so the hourly job is cheap.
    """
    authorize(uow.principal, "soc.rules.manage")
    rules_dir = rules_dir or BUNDLED_DIR
    session = uow.session
    stored = {rule.rule_id: rule for rule in session.scalars(select(SocRule))}
    by_text = {(rule.source_path, rule.yaml_text) for rule in stored.values()
               if rule.origin == "bundled"}
    report = SyncReport()
    for path in rule_files([rules_dir]):
        text = path.read_text(encoding="utf-8")
        relative = str(path.relative_to(rules_dir))[:500]
        if (relative, text) in by_text:
            report.unchanged += 1
            continue
        try:
            compiled = compile_yaml(text, str(path))
        except RuleRefused:
            report.refused.append(relative)  # the curation script ships only rules that compile
            continue
        rule = stored.get(compiled.rule_id)
        if rule is None:
            rule = SocRule(rule_id=compiled.rule_id, origin="bundled", enabled=True, version=1,
                           source_path=relative)
            _apply(rule, compiled, text, _status_of(text))
            _new_version(rule, "bundled", uow.principal.label, now)
            session.add(rule)
            stored[compiled.rule_id] = rule
            report.added += 1
        elif rule.origin != "bundled":
            report.skipped_custom.append(compiled.rule_id)
        elif rule.yaml_text == text:
            rule.source_path = relative  # the file moved within the bundle
            report.unchanged += 1
        else:
            _apply(rule, compiled, text, _status_of(text))
            rule.source_path = relative
            rule.version += 1
            _new_version(rule, "bundle update", uow.principal.label, now)
            report.updated += 1
    session.flush()
    return report


def load_bundle_if_empty(ctx: Any) -> int:
    """First run of `import` / `receive`: fill an empty rule table with the bundle."""
    with ctx.uow() as uow:
        if uow.session.scalar(select(func.count()).select_from(SocRule)):
            return 0
        added = sync_bundled(uow, ctx.clock()).added
        uow.commit()
    return added


def sync_bundle_job(ctx: Any) -> SyncReport:
    """The hourly job: add and update bundled rules (a demo or an upgrade leaves gaps)."""
    with ctx.uow() as uow:
        report = sync_bundled(uow, ctx.clock())
        uow.commit()
    return report
