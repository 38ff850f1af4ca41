"""Report category of a detection (malware, vulnerability, …) from data in data/categories.yaml."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cityops.services.soc.models import SOC_CATEGORIES

MAPPING_FILE = Path(__file__).parent / "data" / "categories.yaml"
LOGSOURCE_KEYS = ("product", "category", "service")


class MappingError(ValueError):
    """The category mapping file is not valid; the message names the problem."""


@dataclass(frozen=True)
class CategoryCriteria:
    logsources: tuple[dict[str, str], ...]
    tags: tuple[str, ...]
    # fnmatch patterns over the lower-cased title: SigmaHQ names tool and malware-family rules
    # ("HackTool - …", "Malware - …") more reliably than it tags them with a software id.
    titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategoryMapping:
    default: str
    order: tuple[str, ...]
    rule_overrides: dict[str, str]
    criteria: dict[str, CategoryCriteria]

    def categorise(self, rule_id: str, tags: Iterable[str],
                   logsource: Mapping[str, str | None], title: str = "") -> str:
        override = self.rule_overrides.get(rule_id)
        if override:
            return override
        lowered = [t.lower() for t in tags]
        lowered_title = title.lower()
        for name in self.order:
            crit = self.criteria[name]
            if any(_logsource_fits(want, logsource) for want in crit.logsources):
                return name
            if any(_tag_fits(tag, entry) for entry in crit.tags for tag in lowered):
                return name
            if lowered_title and any(fnmatch.fnmatchcase(lowered_title, pattern)
                                     for pattern in crit.titles):
                return name
        return self.default


def _logsource_fits(want: dict[str, str], have: Mapping[str, str | None]) -> bool:
    return all((have.get(key) or "").lower() == value for key, value in want.items())


def _tag_fits(tag: str, entry: str) -> bool:
    if any(ch in entry for ch in "*?["):
        return fnmatch.fnmatchcase(tag, entry)
    # attack.t1055 covers its sub-techniques (attack.t1055.012).
    return tag == entry or tag.startswith(entry + ".")


def parse_mapping(doc: Any) -> CategoryMapping:
    if not isinstance(doc, dict):
        raise MappingError("the mapping must be a YAML mapping")
    known = set(SOC_CATEGORIES)
    default = doc.get("default", "other")
    order = tuple(doc.get("order") or ())
    rules = doc.get("rules") or {}
    raw_criteria = doc.get("categories") or {}
    for name in (default, *order, *rules.values(), *raw_criteria):
        if name not in known:
            raise MappingError(f"unknown category {name!r}; use one of {', '.join(known)}")
    criteria: dict[str, CategoryCriteria] = {}
    for name in order:
        entry = raw_criteria.get(name) or {}
        sources = []
        for item in entry.get("logsource") or ():
            if not isinstance(item, dict) or not set(item) <= set(LOGSOURCE_KEYS):
                raise MappingError(f"{name}: a logsource entry may only name {LOGSOURCE_KEYS}")
            sources.append({k: str(v).lower() for k, v in item.items()})
        tags = tuple(str(t).lower() for t in entry.get("tags") or ())
        titles = tuple(str(t).lower() for t in entry.get("titles") or ())
        criteria[name] = CategoryCriteria(tuple(sources), tags, titles)
    return CategoryMapping(default, order, {str(k): str(v) for k, v in rules.items()}, criteria)


@lru_cache(maxsize=4)
def load_mapping(path: Path = MAPPING_FILE) -> CategoryMapping:
    return parse_mapping(yaml.safe_load(path.read_text(encoding="utf-8")))


def categorise(rule_id: str, tags: Iterable[str], product: str | None = None,
               category: str | None = None, service: str | None = None,
               title: str = "") -> str:
    """The report category of a rule, by the shipped mapping."""
    logsource = {"product": product, "category": category, "service": service}
    return load_mapping().categorise(rule_id, tags, logsource, title)
