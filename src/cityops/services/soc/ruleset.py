"""The running rule set: enabled rules compiled once per rules revision and cached."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.services.soc.categories import categorise
from cityops.services.soc.engine import CompiledRule, Engine
from cityops.services.soc.models import SocRule
from cityops.services.soc.rules_store import RuleRefused, compile_yaml, rules_revision


@dataclass
class RuleSet:
    revision: int
    rules: list[CompiledRule]
    failed: list[tuple[str, str]]
    categories: dict[str, str] = field(default_factory=dict)
    _engines: dict[str, Engine] = field(default_factory=dict)

    def engine(self, pipeline: str = "windows") -> Engine:
        # The pipeline only matters for raw events; match_fields ignores it.
        if pipeline not in self._engines:
            self._engines[pipeline] = Engine(self.rules, pipeline)
        return self._engines[pipeline]


# One entry per database URL; the bound only matters where many databases come and go (tests).
MAX_CACHED = 4
_cache: dict[str, RuleSet] = {}
_lock = threading.Lock()


def _build(session: Session, revision: int) -> RuleSet:
    rules: list[CompiledRule] = []
    failed: list[tuple[str, str]] = []
    rows = session.execute(select(SocRule.rule_id, SocRule.yaml_text)
                           .where(SocRule.enabled.is_(True)).order_by(SocRule.id)).all()
    for rule_id, text in rows:
        try:
            rules.append(compile_yaml(text, rule_id))
        except RuleRefused as exc:  # stored rules were valid once; report, never stop
            failed.append((rule_id, str(exc)))
    categories = {r.rule_id: categorise(r.rule_id, r.tags, r.product, r.category, r.service,
                                         r.title)
                  for r in rules}
    return RuleSet(revision, rules, failed, categories)


def current_ruleset(session: Session) -> RuleSet:
    """The compiled enabled rules for this database, rebuilt when the revision moves."""
    key = str(session.get_bind().url)
    revision = rules_revision(session)
    cached = _cache.get(key)
    if cached is not None and cached.revision == revision:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is None or cached.revision != revision:
            _cache.pop(key, None)
            while len(_cache) >= MAX_CACHED:
                _cache.pop(next(iter(_cache)))  # the oldest entry
            cached = _cache[key] = _build(session, revision)
    return cached
