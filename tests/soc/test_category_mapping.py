"""The shipped category mapping over the whole bundled SigmaHQ set: a sane distribution, and
well-known rules in the category an analyst expects (docs/soc.md, "Categories")."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import pytest
import yaml

from cityops.services.soc.categories import categorise
from cityops.services.soc.engine.compiler import rule_files
from cityops.services.soc.rules_store import BUNDLED_DIR

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def bundled_categories() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """rule id → (category, title, tags), computed as ruleset.py does for running rules."""
    out: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for path in rule_files([BUNDLED_DIR]):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        if not isinstance(doc, dict) or "detection" not in doc:
            continue
        source = doc.get("logsource") or {}
        tags = tuple(str(t).lower() for t in doc.get("tags") or ())
        title = str(doc.get("title", ""))
        category = categorise(str(doc["id"]), tags, source.get("product"),
                              source.get("category"), source.get("service"), title)
        out[str(doc["id"])] = (category, title, tags)
    return out


def test_distribution_over_the_bundle_is_sane() -> None:
    rules = bundled_categories()
    counts = Counter(category for category, _, _ in rules.values())
    print("\ncategories over", len(rules), "bundled rules:", dict(counts.most_common()))
    assert len(rules) > 2000
    # Most SigmaHQ rules describe host behaviour (persistence, discovery, …), not malware: the
    # old `attack.s*` glob also caught the tactic attack.stealth and made ~1,000 "malware".
    assert counts["abnormal"] > 0.6 * len(rules)
    assert 0.08 * len(rules) < counts["malware"] < 0.3 * len(rules)
    assert counts["vulnerability"] >= 25
    assert counts["exploitation"] >= 40
    assert counts["other"] < 0.02 * len(rules)


def test_stealth_tactic_alone_is_not_malware() -> None:
    assert categorise("x", ["attack.stealth", "attack.t1036.005"]) == "abnormal"
    assert categorise("x", ["attack.defense-impairment", "attack.t1562.001"]) == "abnormal"
    assert categorise("x", ["attack.s0002"]) == "malware"
    assert categorise("x", ["attack.s0002x"]) != "malware"


@pytest.mark.parametrize(("rule_id", "expected"), [
    ("06d71506-7beb-4f22-8888-e2e5e2ca7fd8", "malware"),        # Mimikatz Use
    ("a642964e-bead-4bed-8910-1bb4d63e3b4d", "malware"),        # HackTool - Mimikatz Execution
    ("57b649ef-ff42-4fb0-8bf6-62da243a1708", "malware"),        # Windows Defender Threat Detected
    ("c947b146-0abc-4c87-9c64-b17e9d7274a2", "malware"),        # Shadow Copies Deletion
    ("d5601f8c-b26f-4ab0-9035-69e11a8d4ad2", "malware"),        # CobaltStrike Named Pipe
    ("7ff9db12-1b94-4a79-ba68-a2402c5d6729", "malware"),        # Windows Webshell Strings
    ("5513deaf-f49a-46c2-a6c8-3f111b5cb453", "vulnerability"),  # SQL Injection Strings In URI
    ("583aa0a2-30b1-4d62-8bf3-ab73689efe6c", "vulnerability"),  # Java Payload Strings (CVEs)
    ("4d0af518-828e-4a04-a751-a7d03f3046ad", "vulnerability"),  # OGNL injection in a JVM app
    ("b59c98c6-95e8-4d65-93ee-f594dfb96b17", "exploitation"),   # F5 BIG-IP iControl via proxy
    ("502b42de-4306-40b4-9596-6f590c81f073", "abnormal"),       # Local Accounts Discovery
    ("85ff530b-261d-48c6-a441-facaa2e81e48", "abnormal"),       # New Service Creation Using Sc
    ("af202fd3-7bff-4212-a25a-fb34606cfcbe", "abnormal"),       # Modifying Crontab
    ("6a50f16c-3b7b-42d1-b081-0fdd3ba70a73", "abnormal"),       # User added to sudoers group
])
def test_well_known_rules(rule_id: str, expected: str) -> None:
    category, title, _ = bundled_categories()[rule_id]
    assert category == expected, title
