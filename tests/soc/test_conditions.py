"""Condition grammar: and/or/not, parentheses, `x of` selectors, list/map semantics."""

from __future__ import annotations

from pathlib import Path

from sigma.rule import SigmaRule
from soc_helpers import rule_matcher as m

from cityops.services.soc.engine import Engine, compile_rule, load_rules

SELS = """
  selection_a:
    A: 1
  selection_b:
    B: 1
  filter:
    C: 1
"""


def test_and_or_not_parentheses() -> None:
    r = m(SELS + "  condition: (selection_a or selection_b) and not filter\n")
    assert r({"A": 1}) and r({"B": 1})
    assert not r({"A": 1, "C": 1})
    assert not r({})
    r2 = m(SELS + "  condition: selection_a or selection_b and not filter\n")  # and binds tighter
    assert r2({"A": 1, "C": 1})
    assert not r2({"B": 1, "C": 1})


def test_one_of_pattern_and_all_of() -> None:
    one = m(SELS + "  condition: 1 of selection_* and not filter\n")
    assert one({"B": 1}) and not one({"B": 1, "C": 1})
    both = m(SELS + "  condition: all of selection_*\n")
    assert both({"A": 1, "B": 1}) and not both({"A": 1})


def test_them_excludes_underscore() -> None:
    body = "  sel:\n    A: 1\n  _hidden:\n    Z: 1\n"
    assert m(body + "  condition: all of them\n")({"A": 1})
    anyone = m(body + "  condition: 1 of them\n")
    assert anyone({"A": 1}) and not anyone({"Z": 1})


def test_map_is_and_list_is_or() -> None:
    mp = m("  sel:\n    A: 1\n    B: 2\n  condition: sel\n")
    assert mp({"A": 1, "B": 2}) and not mp({"A": 1})
    lst = m("  sel:\n    - A: 1\n    - B: 2\n  condition: sel\n")
    assert lst({"A": 1}) and lst({"B": 2}) and not lst({"C": 3})


def test_not_on_missing_field_is_true() -> None:
    r = m("  sel:\n    A: 1\n  filter:\n    F|contains: x\n  condition: sel and not filter\n")
    assert r({"A": 1})
    assert not r({"A": 1, "F": "axb"})


def test_multiple_conditions_are_ored() -> None:
    r = m("  a:\n    A: 1\n  b:\n    B: 1\n  condition:\n    - a\n    - b\n")
    assert r({"A": 1}) and r({"B": 1}) and not r({})


def test_failures_are_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(
        "title: g\nid: 00000000-0000-0000-0000-0000000000aa\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"
    )
    (tmp_path / "bad.yml").write_text(
        "title: b\nid: 00000000-0000-0000-0000-0000000000bb\nlogsource: {product: windows}\n"
        "detection:\n  sel:\n    A: 1\n  condition: sel and missing\n"
    )
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    rules, failed = load_rules([tmp_path])
    assert [r.rule_id for r in rules] == ["00000000-0000-0000-0000-0000000000aa"]
    assert len(failed) == 2
    assert all(reason for _, reason in failed)


def test_logsource_dispatch() -> None:
    def rule(ls: str, rid: str) -> object:
        return compile_rule(SigmaRule.from_yaml(
            f"title: t\nid: {rid}\nlogsource: {ls}\n"
            "detection:\n  sel:\n    Image|contains: x\n  condition: sel\n"
        ))

    ids = {
        "proc": "00000000-0000-0000-0000-000000000011",
        "file": "00000000-0000-0000-0000-000000000012",
        "sysmon": "00000000-0000-0000-0000-000000000013",
        "security": "00000000-0000-0000-0000-000000000014",
        "win": "00000000-0000-0000-0000-000000000015",
    }
    eng = Engine([
        rule("{product: windows, category: process_creation}", ids["proc"]),
        rule("{product: windows, category: file_event}", ids["file"]),
        rule("{product: windows, service: sysmon}", ids["sysmon"]),
        rule("{product: windows, service: security}", ids["security"]),
        rule("{product: windows}", ids["win"]),
    ], "windows")
    ev = {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                               "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}},
                    "EventData": {"Image": "C:\\x.exe"}}}
    got = {r.rule_id for r in eng.match(ev)}
    assert got == {ids["proc"], ids["sysmon"], ids["win"]}
