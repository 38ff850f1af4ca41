"""One small inline rule per value modifier / value form, checked against flat events."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from soc_helpers import rule_matcher as m

from cityops.services.soc.engine import load_rules


def sel(body: str) -> str:
    return f"  sel:\n{body}\n  condition: sel\n"


def test_plain_is_case_insensitive_exact() -> None:
    r = m(sel("    Image: 'C:\\Windows\\cmd.exe'"))
    assert r({"Image": "c:\\windows\\CMD.EXE"})
    assert not r({"Image": "c:\\windows\\cmd.exe.bak"})
    assert not r({})


def test_field_names_case_insensitive_and_numbers() -> None:
    r = m(sel("    EventID: 4688"))
    assert r({"eventid": 4688})
    assert r({"EventID": "4688"})
    assert not r({"EventID": 46880})


@pytest.mark.parametrize(
    ("mod", "yes", "no"),
    [
        ("contains", "x-evil-y", "x-evi-y"),
        ("startswith", "EVIL.exe", "an evil"),
        ("endswith", "very EVIL", "evil one"),
    ],
)
def test_contains_startswith_endswith(mod: str, yes: str, no: str) -> None:
    r = m(sel(f"    F|{mod}: evil"))
    assert r({"F": yes})
    assert not r({"F": no})


def test_wildcards_and_escapes() -> None:
    r = m(sel("    F: 'a*b?c'"))
    assert r({"F": "aXXbYc"}) and r({"F": "abzc"})
    assert not r({"F": "abc"})
    esc = m(sel("    F: 'a\\*b'"))
    assert esc({"F": "a*b"})
    assert not esc({"F": "aXb"})


def test_all_modifier() -> None:
    r = m(sel("    F|contains|all:\n      - foo\n      - bar"))
    assert r({"F": "bar and foo"})
    assert not r({"F": "foo only"})
    anyof = m(sel("    F|contains:\n      - foo\n      - bar"))
    assert anyof({"F": "foo only"})


def test_re_and_flags() -> None:
    r = m(sel("    F|re: '^ab+c$'"))
    assert r({"F": "abbbc"})
    assert not r({"F": "ABBC"})  # re is case-sensitive unless |i
    assert m(sel("    F|re|i: '^ab+c$'"))({"F": "ABBC"})
    assert m(sel("    F|re|m: '^x$'"))({"F": "a\nx\nb"})
    assert not m(sel("    F|re: '^x$'"))({"F": "a\nx\nb"})
    assert m(sel("    F|re|s: 'a.b'"))({"F": "a\nb"})
    assert not m(sel("    F|re: 'a.b'"))({"F": "a\nb"})


def test_cidr() -> None:
    r = m(sel("    ip|cidr: 10.0.0.0/8"))
    assert r({"ip": "10.1.2.3"})
    assert not r({"ip": "11.1.2.3"})
    assert not r({"ip": "not-an-ip"})
    assert m(sel("    ip|cidr: 'fe80::/10'"))({"ip": "FE80::1"})


def test_base64_and_offset() -> None:
    enc = base64.b64encode(b"whoami").decode()
    assert m(sel("    F|base64: whoami"))({"F": enc})
    r = m(sel("    F|base64offset|contains: whoami"))
    for prefix in (b"", b"a", b"ab"):
        blob = base64.b64encode(prefix + b"whoami /all").decode()
        assert r({"F": f"powershell -enc {blob}"}), prefix


def test_wide_utf16() -> None:
    wide = "cmd".encode("utf-16le")
    r = m(sel("    F|wide|base64: cmd"))
    assert r({"F": base64.b64encode(wide).decode()})
    be = m(sel("    F|utf16be|base64: cmd"))
    assert be({"F": base64.b64encode("cmd".encode("utf-16be")).decode()})
    bom = m(sel("    F|utf16|base64: cmd"))
    assert bom({"F": base64.b64encode("cmd".encode("utf-16")).decode()})


def test_utf16le_is_reported_as_unknown(tmp_path: Path) -> None:
    # pySigma 2.0.1 knows `wide` (= UTF-16LE) but not the `utf16le` alias: reported, not skipped.
    (tmp_path / "r.yml").write_text(
        "title: t\nid: 00000000-0000-0000-0000-0000000000cc\nlogsource: {product: windows}\n"
        "detection:\n  sel:\n    F|utf16le|base64: cmd\n  condition: sel\n"
    )
    rules, failed = load_rules([tmp_path])
    assert rules == []
    assert len(failed) == 1 and "utf16le" in failed[0][1]


def test_windash() -> None:
    r = m(sel("    CommandLine|windash|contains: ' -exec '"))
    assert r({"CommandLine": "x /exec y"})
    assert r({"CommandLine": "x -exec y"})
    assert r({"CommandLine": "x \u2013exec y"})
    assert not r({"CommandLine": "x exec y"})


def test_cased() -> None:
    r = m(sel("    F|cased: Abc"))
    assert r({"F": "Abc"})
    assert not r({"F": "abc"})
    assert m(sel("    F|cased|contains: Bc"))({"F": "aBcd"})


def test_exists() -> None:
    r = m(sel("    F|exists: true"))
    assert r({"F": ""}) and not r({}) and not r({"F": None})
    n = m(sel("    F|exists: false"))
    assert n({}) and not n({"F": "x"})


def test_fieldref() -> None:
    r = m(sel("    A|fieldref: B"))
    assert r({"A": "X", "B": "x"})
    assert not r({"A": "x", "B": "y"})
    assert not r({"A": "x"})
    assert m(sel("    A|fieldref|startswith: B"))({"A": "abc", "B": "ab"})
    assert m(sel("    A|fieldref|endswith: B"))({"A": "abc", "B": "bc"})


@pytest.mark.parametrize(
    ("mod", "yes", "no"),
    [("gt", 11, 10), ("gte", 10, 9), ("lt", 9, 10), ("lte", 10, 11)],
)
def test_compare(mod: str, yes: int, no: int) -> None:
    r = m(sel(f"    N|{mod}: 10"))
    assert r({"N": yes}) and r({"N": str(yes)})
    assert not r({"N": no})
    assert not r({"N": "abc"}) and not r({})


def test_neq() -> None:
    r = m(sel("    F|neq: abc"))
    assert r({"F": "xyz"})
    assert not r({"F": "ABC"})


@pytest.mark.parametrize(
    ("mod", "value"),
    [("minute", 7), ("hour", 13), ("day", 5), ("week", 32), ("month", 8), ("year", 2026)],
)
def test_timestamp_parts(mod: str, value: int) -> None:
    r = m(sel(f"    UtcTime|{mod}: {value}"))
    assert r({"UtcTime": "2026-08-05 13:07:09.123"})
    assert r({"UtcTime": "2026-08-05T13:07:09Z"})
    assert not r({"UtcTime": "2025-01-01 00:00:00"})
    assert not r({"UtcTime": "garbage"}) and not r({})


def test_null_matches_missing_or_null() -> None:
    r = m(sel("    F: null"))
    assert r({}) and r({"F": None})
    assert not r({"F": ""}) and not r({"F": "x"})
    empty = m(sel("    F: ''"))
    assert empty({"F": ""}) and not empty({})


def test_keywords() -> None:
    r = m("  keywords:\n    - 'mimikatz'\n    - 'sekur*logon'\n  condition: keywords\n")
    assert r({"a": "run MIMIKATZ.exe"})
    assert r({"b": 1, "c": "x sekurlsa::logonpasswords"})
    assert not r({"a": "benign"})


def test_placeholder_is_reported() -> None:
    from cityops.services.soc.engine.values import UnsupportedRule

    with pytest.raises(UnsupportedRule, match="placeholder"):
        m(sel("    F|expand: '%admins%'"))
