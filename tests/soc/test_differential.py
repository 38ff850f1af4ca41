"""Differential test: our engine vs pySigma-backend-sqlite on the same rules and events.

The reference side is the setup the regression counts were made with: events flattened into one
in-memory SQLite table (every column TEXT COLLATE NOCASE, a Python REGEXP function, a full-text
column for keyword rules), each rule converted once with a Windows logsource pipeline and run as a
query. Both sides must give the same (rule, event) pairs on every rule both can handle. Events are
the regression events plus a generated corpus (values synthesised from every rule's detection, as
hits, case-swapped hits, near-misses and missing fields) so that every rule is exercised, not only
the ones with regression events. Keyword search is over the event's values joined in order
(the reference's full-text column), so a keyword wildcard may span two fields on both sides.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.pipelines.common import windows_logsource_mapping
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaCIDRExpression,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SpecialChars,
)
from sigma_sqlite_reference import (
    SYSMON_EVENT_IDS,
    add_columns,
    reference_backend,
    reference_db,
    rule_hits,
    table_columns,
    windows_pipeline_items,
)

from cityops.services.soc.engine import Engine, load_rules

DATA = Path(__file__).parent / "data"
RULE_DIRS = [DATA / "rules", DATA / "rules-emerging-threats", DATA / "rules-threat-hunting"]

# Known, documented differences (rule_id -> reason); each must really differ (checked below).
KNOWN_DIFFERENCES: dict[str, str] = {}


def reference_matches(
    paths: list[Path], events: list[dict[str, Any]]
) -> tuple[dict[str, set[int]], dict[str, str]]:
    """(rule_id -> matching event indices, rule_id/path -> why the reference cannot run it)."""
    coll = SigmaCollection.load_ruleset([str(p) for p in paths], collect_errors=True)
    backend = reference_backend(windows_pipeline_items())
    conn = reference_db(events)
    have = table_columns(conn)
    found: dict[str, set[int]] = {}
    failed: dict[str, str] = {str(e): "parse" for e in coll.errors}
    for rule in coll.rules:
        if not isinstance(rule, SigmaRule):
            continue
        try:
            queries = backend.convert_rule(rule)
            # columns no event has: NULL everywhere
            add_columns(conn, have, backend.required_fields(rule))
            hits = rule_hits(conn, queries)
        except Exception as exc:  # reported in the test output, never silently dropped
            failed[str(rule.id)] = f"{type(exc).__name__}: {exc}"
            continue
        found[str(rule.id)] = hits
    return found, failed


def our_matches(
    paths: list[Path], events: list[dict[str, Any]]
) -> tuple[dict[str, set[int]], dict[str, str]]:
    rules, failed = load_rules(list(paths))
    engine = Engine(rules, "windows")
    found: dict[str, set[int]] = {r.rule_id: set() for r in rules}
    for i, event in enumerate(events):
        for r in engine.match(event):
            found[r.rule_id].add(i)
    return found, dict(failed)


# --- generated corpus --------------------------------------------------------------------------

SYSTEM_FIELDS = {"eventid", "channel", "computer", "level", "task", "keywords", "eventrecordid"}


def _walk(node: Any, negated: bool = False) -> list[tuple[str, Any, bool]]:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return [(node.field, node.value, negated)]
    neg = negated ^ (type(node).__name__ == "ConditionNOT")
    return [a for arg in getattr(node, "args", ()) for a in _walk(arg, neg)]


def rule_atoms(rule: SigmaRule) -> list[tuple[str, Any, bool]]:
    return [a for c in rule.detection.parsed_condition for a in _walk(c.parsed)]


def _swap_ascii_case(s: str) -> str:
    return "".join(c.swapcase() if c.isascii() else c for c in s)


def satisfying(value: Any, rng: random.Random, swap: bool) -> Any:
    """A concrete event value for which ``field: value`` holds; None: cannot synthesise."""
    if isinstance(value, SigmaExpansion):
        return satisfying(rng.choice(value.values), rng, swap)
    if isinstance(value, SigmaNull):
        return SigmaNull
    if isinstance(value, SigmaNumber):
        return value.number
    if isinstance(value, SigmaCIDRExpression):
        return str(value.network.network_address)
    if isinstance(value, SigmaString):
        out = []
        for part in value.s:
            if part is SpecialChars.WILDCARD_MULTI:
                out.append(rng.choice(["", "zq ", "C:\\Temp\\"]))
            elif part is SpecialChars.WILDCARD_SINGLE:
                out.append("k")
            elif isinstance(part, str):
                cased = type(value).__name__ == "SigmaCasedString"
                out.append(_swap_ascii_case(part) if swap and not cased else part)
        return "".join(out)
    return None


def _set(event: dict[str, Any], field: str, value: Any) -> None:
    ev = event["Event"]
    name = field.replace(" ", "")
    if name.lower() in SYSTEM_FIELDS:
        target = ev["System"]
        name = next((k for k in target if k.lower() == name.lower()), name)
    elif name.lower() == "provider_name":
        target, name = ev["System"].setdefault("Provider", {}).setdefault("#attributes", {}), "Name"
    else:
        target = ev.setdefault("EventData", {}) or {}
        ev["EventData"] = target
    if value is SigmaNull:
        target.pop(name, None)
    else:
        target[name] = value


def _header(rule: SigmaRule, rng: random.Random) -> dict[str, Any]:
    ls = rule.logsource
    channel, eid = "Security", rng.choice([4624, 4688, 5145])
    if ls.category in SYSMON_EVENT_IDS:
        ids = SYSMON_EVENT_IDS[ls.category]
        channel, eid = "Microsoft-Windows-Sysmon/Operational", rng.choice(
            ids if isinstance(ids, list) else [ids])
    elif ls.service in windows_logsource_mapping:
        channel = windows_logsource_mapping[ls.service]
    return {"Event": {"System": {"EventID": eid, "Channel": channel, "Computer": "ws01",
                                 "Provider": {"#attributes": {"Name": "Test"}}},
                      "EventData": {"Image": "C:\\Windows\\System32\\svchost.exe",
                                    "CommandLine": "svchost.exe -k netsvcs"}}}


def generated_events(paths: list[Path], seeds: dict[str, list[dict[str, Any]]]) -> list[Any]:
    """Per rule: full hits, case-swapped hits with filters satisfied too, random partial hits,
    hits with one field missing, and its regression event with one field rewritten."""
    coll = SigmaCollection.load_ruleset([str(p) for p in paths], collect_errors=True)
    out: list[dict[str, Any]] = []
    for rule in coll.rules:
        if not isinstance(rule, SigmaRule):
            continue
        rng = random.Random(str(rule.id))
        atoms = rule_atoms(rule)
        by_field: dict[str, list[tuple[Any, bool]]] = {}
        for field, value, neg in atoms:
            by_field.setdefault(field, []).append((value, neg))
        plans = [(False, 1.0, False), (True, 1.0, True), (False, 0.5, False),
                 (True, 0.7, False), (False, 1.0, False)]
        first = len(out)
        for with_filters, share, swap in plans:
            ev = copy.deepcopy(rng.choice(seeds.get(str(rule.id), [_header(rule, rng)])))
            if rng.random() < 0.5:  # regression seeds keep their Channel/EventID; mix both
                ev["Event"]["System"] = _header(rule, rng)["Event"]["System"]
            for field, options in by_field.items():
                pos = [v for v, neg in options if with_filters or not neg]
                if not pos:
                    continue
                val = satisfying(rng.choice(pos), rng, swap)
                if rng.random() > share:  # not chosen: sometimes a near miss instead
                    if not isinstance(val, str) or len(val) < 2 or rng.random() < 0.5:
                        continue
                    cut = rng.randrange(len(val))
                    val = val[:cut] + "#" + val[cut + 1:]
                if val is not None:
                    _set(ev, field, val)
            out.append(ev)
        if by_field:  # the full hit with one field missing
            ev = copy.deepcopy(out[first])
            _set(ev, rng.choice(sorted(by_field)), SigmaNull)
            out.append(ev)
    return out


def corpus() -> tuple[list[Path], list[dict[str, Any]]]:
    cases = [json.loads(x) for x in (DATA / "regression" / "cases.jsonl").open(encoding="utf-8")]
    seeds: dict[str, list[dict[str, Any]]] = {}
    events: list[dict[str, Any]] = []
    for case in cases:
        lines = (DATA / case["events_file"]).read_text(encoding="utf-8").splitlines()
        evs = [json.loads(x) for x in lines if x.strip()]
        seeds[case["rule_id"]] = evs
        events += evs
    paths = [p for p in RULE_DIRS if p.is_dir()]
    return paths, events + generated_events(paths, seeds)


@pytest.fixture(scope="module")
def both() -> tuple[list[dict[str, Any]], dict[str, set[int]], dict[str, set[int]]]:
    paths, events = corpus()
    ours, our_failed = our_matches(paths, events)
    ref, ref_failed = reference_matches(paths, events)
    only_ours = sorted(set(ours) - set(ref))
    only_ref = sorted(set(ref) - set(ours))
    print(f"\ndifferential: {len(events)} events, {len(set(ours) & set(ref))} rules on both sides")
    for rid in only_ours:
        print(f"  only our engine runs {rid}: reference failed: {ref_failed.get(rid, '?')}")
    for rid in only_ref:
        print(f"  only the reference runs {rid}")
    for where, why in our_failed.items():
        print(f"  our engine cannot compile {where}: {why}")
    return events, ours, ref


def test_same_matches_on_every_shared_rule(both: Any) -> None:
    _events, ours, ref = both
    diffs = {}
    for rid in sorted(set(ours) & set(ref)):
        if ours[rid] != ref[rid]:
            diffs[rid] = (sorted(ours[rid] - ref[rid])[:5], sorted(ref[rid] - ours[rid])[:5])
    unexpected = {k: v for k, v in diffs.items() if k not in KNOWN_DIFFERENCES}
    assert not unexpected, f"(only ours, only reference) event indices per rule: {unexpected}"
    assert set(KNOWN_DIFFERENCES) <= set(diffs), "KNOWN_DIFFERENCES lists a case that agrees now"


def test_corpus_exercises_the_rules(both: Any) -> None:
    """Guard against a vacuous pass: most rules must match something, and both sides must run
    (nearly) every rule."""
    events, ours, ref = both
    shared = set(ours) & set(ref)
    assert len(shared) >= 120
    matching = [rid for rid in shared if ref[rid]]
    print(f"rules with at least one match: {len(matching)}/{len(shared)}; "
          f"pairs: {sum(len(ref[r]) for r in shared)}")
    assert len(matching) >= 0.9 * len(shared)
    assert any(ref[r] != set(range(len(events))) and ref[r] for r in shared)


# Rules written for this test (not SigmaHQ's): one modifier or shape each, so the comparison
# covers what the copied rules do not (keywords, unnamed Data, cidr, numbers, fieldref, ...).
MODIFIER_RULES = """
title: keyword with inner wildcards
id: 10000000-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  keywords: ['mimi*katz', 'sekurlsa::?ogon', 'lsadump']
  condition: keywords
---
title: unnamed Data of classic providers
id: 10000000-0000-4000-8000-000000000002
logsource: {product: windows, service: application}
detection:
  selection:
    Data|contains|all: ['object_name:xp_cmdshell', 'statement:EXEC']
  filter:
    Data|contains: 'CLIENT: 10.'
  condition: selection and not filter
---
title: cidr, numbers and comparisons
id: 10000000-0000-4000-8000-000000000003
logsource: {product: windows, category: network_connection}
detection:
  selection:
    DestinationIp|cidr: ['10.0.0.0/8', '192.168.0.0/16']
    DestinationPort|gte: 1024
  filter:
    DestinationPort: 3389
  condition: selection and not filter
---
title: windash, base64offset, cased, re with flags
id: 10000000-0000-4000-8000-000000000004
logsource: {product: windows, category: process_creation}
detection:
  a:
    CommandLine|windash|contains: ' -enc '
  b:
    CommandLine|base64offset|contains: 'IEX'
  c:
    Image|cased|endswith: '\\PowerShell.exe'
  d:
    CommandLine|re|i: 'invoke-(web|rest)request\\s+http'
  e:
    CommandLine|re: '(?i)FromBase64String\\(|(?-i:IEX)'
  f:
    Image|re: 'Temp\\\\[a-z]+\\.exe$'
  condition: 1 of them
---
title: null, exists, fieldref, single-char wildcard
id: 10000000-0000-4000-8000-000000000005
logsource: {product: windows, category: process_creation}
detection:
  selection:
    ParentImage|endswith: '\\cmd.exe'
    OriginalFileName: null
    User|exists: true
    CommandLine|fieldref|contains: 'Image'
  alt:
    Description: 'W?ndows *host'
  condition: selection or alt
"""

HANDMADE = [  # events the generator would not produce: near misses and odd shapes
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "x [convert]::frombase64string(y)",
                             "Image": "C:\\Temp\\abc.exe"}}},
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "iex (x)", "Image": "C:\\TEMP\\abc.exe"}}},
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "Invoke-WebRequest  http://x",
                             "Image": "C:\\Temp\\ab1.exe"}}},
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "MIMI\\katz", "Image": "C:\\x\\powershell.exe"}}},
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "mimi", "User": "katz", "Image": "x"}}},
    {"Event": {"System": {"EventID": 33205, "Channel": "Application",
                          "Provider": {"#attributes": {"Name": "MSSQLSERVER"}}},
               "EventData": {"Data": {"#text": ["object_name:xp_cmdshell", "statement:EXEC 1",
                                               "CLIENT: 172.16.0.1"]}}}},
    {"Event": {"System": {"EventID": 33205, "Channel": "Application"},
               "EventData": {"Data": {"#text": ["statement:EXEC", "CLIENT: 10.1.1.1",
                                               "object_name:xp_cmdshell"]}}}},
    {"Event": {"System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"DestinationIp": "10.2.3.4", "DestinationPort": 1023}}},
    {"Event": {"System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"DestinationIp": "192.168.9.9", "DestinationPort": 8080}}},
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "powershell /enc AAAA", "Image": "C:\\PowerShell.exe",
                             "ParentImage": "C:\\Windows\\cmd.exe", "User": "bob"}}},
    {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
               "EventData": {"CommandLine": "run c:\\tools\\a.exe now", "Image": "C:\\tools\\a.exe",
                             "ParentImage": "C:\\Windows\\CMD.EXE", "User": "bob",
                             "Description": "Windows Script Host"}}},
]


def test_modifier_rules_agree(tmp_path: Path) -> None:
    rules = tmp_path / "modifier_rules.yml"
    rules.write_text(MODIFIER_RULES, encoding="utf-8")
    events = HANDMADE + generated_events([rules], {})
    ours, our_failed = our_matches([rules], events)
    ref, ref_failed = reference_matches([rules], events)
    assert not our_failed and not ref_failed
    assert set(ours) == set(ref) and len(ours) == 5
    assert ours == ref
    assert all(ref.values()), "every modifier rule must match at least one event"
