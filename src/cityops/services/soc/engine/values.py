"""Compile one Sigma value (already resolved by pySigma's modifiers) into a predicate.

pySigma does the modifier work at parse time (contains -> wildcards, base64/wide -> new strings,
windash/base64offset -> SigmaExpansion); here each resulting value becomes a closure over
precompiled data, so nothing about the pySigma objects is inspected while events stream.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime

from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from .event import Event

Pred = Callable[[Event], bool]
StrTest = Callable[[str], bool]


class UnsupportedRule(Exception):
    """The rule uses a feature the in-process engine cannot evaluate; message says which."""


_CMP = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}
_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def string_parts(s: SigmaString) -> list[str | SpecialChars]:
    parts: list[str | SpecialChars] = []
    for p in s.s:
        if isinstance(p, (str, SpecialChars)):
            parts.append(p)
        else:  # Placeholder: needs a pipeline that expands %name% lists
            raise UnsupportedRule(f"unexpanded placeholder in value {s.original!r}")
    return parts


def classify(s: SigmaString, cased: bool, substring: bool = False) -> tuple[str, str]:
    """Reduce a wildcard string to (kind, text): kind is exact/prefix/suffix/contains/regex.

    Nearly all SigmaHQ values are one of the cheap str-method kinds; only inner wildcards need
    a regex (text is then the pattern, meant for fullmatch with DOTALL).
    """
    parts = string_parts(s)
    if not cased:
        parts = [p.lower() if isinstance(p, str) else p for p in parts]
    star = SpecialChars.WILDCARD_MULTI
    if substring:
        parts = [star, *parts, star]
    inner = parts[:]
    lead = bool(inner) and inner[0] is star
    while inner and inner[0] is star:
        inner.pop(0)
    trail = bool(inner) and inner[-1] is star
    while inner and inner[-1] is star:
        inner.pop()
    if all(isinstance(p, str) for p in inner):
        lit = "".join(inner)  # type: ignore[arg-type]
        if lead and (trail or not inner):
            return "contains", lit
        if lead:
            return "suffix", lit
        if trail:
            return "prefix", lit
        return "exact", lit
    pattern = "".join(
        ".*" if p is star else "." if p is SpecialChars.WILDCARD_SINGLE else re.escape(p)
        for p in parts
    )
    return "regex", pattern


def any_test(kinds: list[tuple[str, str]]) -> StrTest:
    """One test for an OR of strings on the same value: set lookup, tuple startswith, ..."""
    by: dict[str, list[str]] = {}
    for kind, text in kinds:
        by.setdefault(kind, []).append(text)
    if "" in by.get("contains", ()):
        return lambda v: True
    tests: list[StrTest] = []
    if exact := frozenset(by.get("exact", ())):
        tests.append(exact.__contains__)
    if pre := tuple(by.get("prefix", ())):
        tests.append(lambda v: v.startswith(pre))
    if suf := tuple(by.get("suffix", ())):
        tests.append(lambda v: v.endswith(suf))
    if sub := tuple(by.get("contains", ())):
        # map() over a bound method keeps the scan in C; no Python frame per literal.
        tests.append((lambda v: sub[0] in v) if len(sub) == 1 else (
            lambda v: any(map(v.__contains__, sub))))
    if pats := by.get("regex"):
        rx = re.compile("|".join(f"(?:{p})" for p in pats), re.DOTALL)
        tests.append(lambda v: rx.fullmatch(v) is not None)
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def all_test(kinds: list[tuple[str, str]]) -> StrTest:
    """One test for an AND of strings on the same value (the `all` modifier)."""
    if all(k == "contains" for k, _ in kinds):
        sub = tuple(t for _, t in kinds)
        return lambda v: all(map(v.__contains__, sub))
    tests = [any_test([k]) for k in kinds]
    return lambda v: all(t(v) for t in tests)


def string_test(s: SigmaString, cased: bool, substring: bool = False) -> StrTest:
    """Test for a plain-or-wildcard string; input is lower-cased unless ``cased``."""
    return any_test([classify(s, cased, substring)])


def field_str(field: str, test: StrTest, cased: bool) -> Pred:
    if cased:
        return lambda e: (v := e.texts.get(field)) is not None and test(v)
    return lambda e: (v := e.low.get(field)) is not None and test(v)


def _regex(v: SigmaRegularExpression) -> re.Pattern[str]:
    flags = 0
    for f in v.flags:
        flags |= _RE_FLAGS[f]
    try:
        return re.compile(v.regexp.original, flags)
    except re.error as exc:
        raise UnsupportedRule(f"invalid regular expression {v.regexp.original!r}: {exc}") from exc


_TS_PARTS: dict[TimestampPart, Callable[[datetime], int]] = {
    TimestampPart.MINUTE: lambda d: d.minute,
    TimestampPart.HOUR: lambda d: d.hour,
    TimestampPart.DAY: lambda d: d.day,
    TimestampPart.WEEK: lambda d: d.isocalendar()[1],
    TimestampPart.MONTH: lambda d: d.month,
    TimestampPart.YEAR: lambda d: d.year,
}


def _parse_time(v: object) -> datetime | None:
    """ISO 8601 text (Sysmon's UtcTime uses a space) or epoch seconds."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return datetime.fromtimestamp(v, tz=UTC)
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _to_number(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _regex_pred(field: str, value: SigmaRegularExpression) -> Pred:
    """``re`` with a cheap literal check first: most values lack the pattern's fixed text."""
    from .gate import regex_literals  # gate imports this module at load time

    rx = _regex(value)
    runs = regex_literals(value.regexp.original,
                          SigmaRegularExpressionFlag.IGNORECASE in value.flags)
    cased = tuple(t for t, icase in runs if not icase)
    folded = tuple(t for t, icase in runs if icase)
    if not runs:
        return lambda e: (v := e.texts.get(field)) is not None and rx.search(v) is not None

    def pred(e: Event) -> bool:
        v = e.texts.get(field)
        if v is None:
            return False
        for t in cased:
            if t not in v:
                return False
        if folded:
            low = e.low.get(field) or ""
            for t in folded:
                if t not in low:
                    return False
        return rx.search(v) is not None

    return pred


def field_pred(field: str, value: SigmaType) -> Pred:
    """Predicate for ``field: value``; ``field`` is already lower-cased."""
    if isinstance(value, SigmaExpansion):
        preds = [field_pred(field, v) for v in value.values]
        return lambda e: any(p(e) for p in preds)
    if isinstance(value, SigmaNull):
        return lambda e: e.low.get(field) is None
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        return field_str(field, string_test(value, cased), cased)
    if isinstance(value, SigmaRegularExpression):
        return _regex_pred(field, value)
    if isinstance(value, SigmaExists):
        if value.exists:
            return lambda e: e.low.get(field) is not None
        return lambda e: e.low.get(field) is None
    if isinstance(value, SigmaBool):
        want = "true" if value.boolean else "false"
        return lambda e: e.low.get(field) == want
    if isinstance(value, SigmaCompareExpression):
        op, ref = _CMP[value.op], value.number.number

        def cmp(e: Event) -> bool:
            n = _to_number(e.raw.get(field))
            return n is not None and op(n, ref)

        return cmp
    if isinstance(value, SigmaTimestampPart):  # a SigmaNumber subclass: test it first
        part, want = _TS_PARTS[value.timestamp_part], value.number

        def ts(e: Event) -> bool:
            when = _parse_time(e.raw.get(field))
            return when is not None and part(when) == want

        return ts
    if isinstance(value, SigmaNumber):  # plain number: same text as the event's int or string
        text = str(value.number).lower()
        return lambda e: e.low.get(field) == text
    if isinstance(value, SigmaCIDRExpression):
        net = value.network

        def in_net(e: Event) -> bool:
            v = e.low.get(field)
            if v is None:
                return False
            try:
                return ipaddress.ip_address(v) in net
            except ValueError:
                return False

        return in_net
    if isinstance(value, SigmaFieldReference):
        other = value.field.lower()
        if value.starts_with:
            return lambda e: (a := e.low.get(field)) is not None and (
                (b := e.low.get(other)) is not None and a.startswith(b)
            )
        if value.ends_with:
            return lambda e: (a := e.low.get(field)) is not None and (
                (b := e.low.get(other)) is not None and a.endswith(b)
            )
        return lambda e: (a := e.low.get(field)) is not None and a == e.low.get(other)
    raise UnsupportedRule(f"value type {type(value).__name__} on field {field!r} not supported")


def _wildcard_search(s: SigmaString, cased: bool) -> re.Pattern[str]:
    parts = [p if cased or not isinstance(p, str) else p.lower() for p in string_parts(s)]
    star, one = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
    while parts and parts[0] is star:
        parts.pop(0)
    while parts and parts[-1] is star:
        parts.pop()
    return re.compile("".join(
        ".*" if p is star else "." if p is one else re.escape(p)  # type: ignore[arg-type]
        for p in parts
    ), re.DOTALL)


def keyword_pred(value: SigmaType) -> Pred:
    """Field-less value: searched in the event's whole text, i.e. all values joined in order.

    As in a search over the raw record (and the reference's full-text column), a wildcard may
    span two fields; a plain literal cannot, since no rule literal holds the separator.
    """
    if isinstance(value, SigmaExpansion):
        preds = [keyword_pred(v) for v in value.values]
        return lambda e: any(p(e) for p in preds)
    if isinstance(value, SigmaNumber):
        value = SigmaString(str(value.number))
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        kind, text = classify(value, cased, substring=True)
        if kind == "contains":
            if cased:
                return lambda e: text in e.joined_text
            return lambda e: text in e.joined
        rx = _wildcard_search(value, cased)
        if cased:
            return lambda e: rx.search(e.joined_text) is not None
        return lambda e: rx.search(e.joined) is not None
    if isinstance(value, SigmaRegularExpression):
        rx_re = _regex(value)
        return lambda e: rx_re.search(e.joined_text) is not None
    raise UnsupportedRule(f"keyword value type {type(value).__name__} not supported")
