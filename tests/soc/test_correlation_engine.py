"""Correlation windows with a controllable clock: every type, group-by, slides, chains, memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cityops.services.soc.engine.correlation import CorrelationEngine, CorrelationMatch
from cityops.services.soc.engine.correlation_loader import load_ruleset
from cityops.services.soc.engine.correlation_time import ManualClock

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
C = "00000000-0000-4000-8000-00000000000c"
CORR = "00000000-0000-4000-8000-0000000000c0"
BASE = "".join(
    f"""title: rule {n}
id: {rid}
name: rule_{n}
logsource: {{product: windows, service: security}}
detection:
  sel:
    EventID: {eid}
  condition: sel
---
"""
    for n, rid, eid in (("a", A, 1), ("b", B, 2), ("c", C, 3))
)


def engine(tmp_path: Path, correlation: str, **kwargs: Any) -> CorrelationEngine:
    """Base rules a/b/c plus one correlation (the ``correlation:`` body, indented 2)."""
    text = BASE + f"title: corr\nid: {CORR}\nname: corr\nlevel: high\ncorrelation:\n{correlation}"
    (tmp_path / "rules.yml").write_text(text, encoding="utf-8")
    ruleset = load_ruleset([tmp_path])
    assert ruleset.failed == []
    return CorrelationEngine(ruleset.correlations, clock=ManualClock(0), **kwargs)


def feed(eng: CorrelationEngine, rule: str, t: float, index: int, **fields: Any) -> list[str]:
    return [m.rule_id for m in eng.observe([rule], fields, event_index=index, timestamp=t)]


COUNT_3 = """  type: event_count
  rules: [rule_a]
  group-by: [User]
  timespan: 5m
  condition: {gte: 3}
"""


def test_event_count_fires_exactly_at_threshold(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    assert feed(eng, A, 0, 0, User="bob") == []
    assert feed(eng, A, 10, 1, User="bob") == []
    got = eng.observe([A], {"User": "bob"}, event_index=2, timestamp=20)
    assert [m.rule_id for m in got] == [CORR]
    match = got[0]
    assert isinstance(match, CorrelationMatch)
    assert match.group == {"User": "bob"} and match.count == 3 and match.level == "high"
    assert match.event_indexes == (0, 1, 2) and match.event_index_of_completion == 2
    assert (match.first_seen, match.last_seen) == (0, 20)
    # The three events are consumed: the next match needs three new ones.
    assert feed(eng, A, 30, 3, User="bob") == []


def test_events_from_other_rules_do_not_count(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    for i in range(5):
        assert feed(eng, B, i, i, User="bob") == []
    assert eng.stats()["groups"] == 0


def test_window_slides(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    assert feed(eng, A, 0, 0, User="bob") == []
    assert feed(eng, A, 200, 1, User="bob") == []
    # 0 s has left the 5-minute window ending at 400 s: still two events.
    assert feed(eng, A, 400, 2, User="bob") == []
    assert feed(eng, A, 450, 3, User="bob") == [CORR]


def test_group_by_separates_groups(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    assert feed(eng, A, 1, 0, User="bob") == []
    assert feed(eng, A, 2, 1, User="alice") == []
    assert feed(eng, A, 3, 2, User="bob") == []
    assert feed(eng, A, 4, 3, User="alice") == []
    assert feed(eng, A, 5, 4, User="carol") == []
    got = eng.observe([A], {"User": "bob"}, event_index=5, timestamp=6)
    assert [m.group for m in got] == [{"User": "bob"}]
    assert eng.stats()["groups"] == 2  # alice and carol still waiting


def test_value_count_counts_distinct_values(tmp_path: Path) -> None:
    eng = engine(tmp_path, """  type: value_count
  rules: [rule_a]
  group-by: [SourceIp]
  timespan: 1h
  condition: {field: User, gte: 3}
""")
    assert feed(eng, A, 0, 0, SourceIp="10.0.0.9", User="bob") == []
    assert feed(eng, A, 1, 1, SourceIp="10.0.0.9", User="bob") == []
    assert feed(eng, A, 2, 2, SourceIp="10.0.0.9", User="alice") == []
    assert feed(eng, A, 3, 3, SourceIp="10.0.0.9") == []  # no value: nothing to count
    got = eng.observe([A], {"SourceIp": "10.0.0.9", "User": "eve"}, event_index=4, timestamp=4)
    assert [(m.count, m.event_indexes) for m in got] == [(3, (0, 1, 2, 3, 4))]


TEMPORAL = """  type: {kind}
  rules: [rule_a, rule_b, rule_c]
  group-by: [Host]
  timespan: 1m
"""


def test_temporal_needs_every_rule_in_the_window_in_any_order(tmp_path: Path) -> None:
    eng = engine(tmp_path, TEMPORAL.format(kind="temporal"))
    assert feed(eng, C, 0, 0, Host="h1") == []
    assert feed(eng, B, 10, 1, Host="h1") == []
    assert feed(eng, B, 20, 2, Host="h1") == []
    assert feed(eng, A, 30, 3, Host="h1") == [CORR]
    # c at 100 s and b at 115 s, but a only at 170 s: c has left the minute.
    assert feed(eng, C, 100, 4, Host="h1") == []
    assert feed(eng, B, 115, 5, Host="h1") == []
    assert feed(eng, A, 170, 6, Host="h1") == []
    assert feed(eng, C, 171, 7, Host="h1") == [CORR]


def test_temporal_ordered_needs_the_rules_in_order(tmp_path: Path) -> None:
    eng = engine(tmp_path, TEMPORAL.format(kind="temporal_ordered"))
    assert feed(eng, B, 0, 0, Host="h1") == []
    assert feed(eng, A, 1, 1, Host="h1") == []
    assert feed(eng, C, 2, 2, Host="h1") == []  # b came before a
    assert feed(eng, B, 3, 3, Host="h1") == []
    got = eng.observe([C], {"Host": "h1"}, event_index=4, timestamp=4)
    assert [(m.rule_id, m.event_index_of_completion) for m in got] == [(CORR, 4)]


def test_temporal_ordered_uses_event_time_not_arrival(tmp_path: Path) -> None:
    eng = engine(tmp_path, TEMPORAL.format(kind="temporal_ordered"))
    assert feed(eng, C, 30, 0, Host="h1") == []
    assert feed(eng, A, 10, 1, Host="h1") == []  # late but inside the window
    assert feed(eng, B, 20, 2, Host="h1") == [CORR]


def test_extended_temporal_condition(tmp_path: Path) -> None:
    eng = engine(tmp_path, """  type: temporal
  group-by: [Host]
  timespan: 1m
  condition: rule_a and (rule_b or rule_c)
""")
    assert feed(eng, A, 0, 0, Host="h1") == []
    assert feed(eng, C, 5, 1, Host="h1") == [CORR]


def test_aliases_map_differently_named_fields(tmp_path: Path) -> None:
    eng = engine(tmp_path, """  type: temporal
  rules: [rule_a, rule_b]
  group-by: [user]
  timespan: 1m
  aliases:
    user:
      rule_a: TargetUserName
      rule_b: SubjectUserName
""")
    assert feed(eng, A, 0, 0, TargetUserName="bob") == []
    assert feed(eng, B, 1, 1, SubjectUserName="alice") == []
    got = eng.observe([B], {"SubjectUserName": "bob"}, event_index=2, timestamp=2)
    assert [m.group for m in got] == [{"user": "bob"}]


def test_lt_is_judged_when_the_window_closes(tmp_path: Path) -> None:
    eng = engine(tmp_path, """  type: event_count
  rules: [rule_a]
  group-by: [Host]
  timespan: 1m
  condition: {lt: 3}
""")
    assert feed(eng, A, 0, 0, Host="quiet") == []
    assert feed(eng, A, 10, 1, Host="quiet") == []
    for i, t in enumerate((20, 30, 40)):
        assert feed(eng, A, t, 2 + i, Host="busy") == []
    assert eng.advance(60) == []  # the quiet window (0-60 s) is still open
    clock = eng.clock
    assert isinstance(clock, ManualClock)
    clock.set(61)  # a live stream moves time with its clock, without events
    closed = eng.advance()
    assert [(m.group, m.count, m.event_index_of_completion) for m in closed] == [
        ({"Host": "quiet"}, 2, 1)
    ]
    assert eng.flush() == []  # busy had three: not fewer than three
    assert eng.stats()["groups"] == 0


def test_eq_at_end_of_stream(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3.replace("gte: 3", "eq: 2"))
    assert feed(eng, A, 0, 0, User="bob") == []
    assert feed(eng, A, 1, 1, User="bob") == []
    assert [m.count for m in eng.flush()] == [2]


def test_memory_is_freed_when_windows_pass(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    for i in range(50):
        feed(eng, A, i, i, User=f"user{i}")
    assert eng.stats()["groups"] == 50
    eng.advance(49 + 300)  # user0..user48 have left their five minutes; user49 is on the edge
    assert eng.stats()["groups"] == 1
    eng.advance(1000)
    stats = eng.stats()
    assert stats["groups"] == 0 and stats["expired"] == 50 and stats["evictions"] == 0


def test_group_cap_evicts_the_oldest(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3, max_groups_per_rule=2)
    feed(eng, A, 0, 0, User="bob")
    feed(eng, A, 1, 1, User="bob")
    feed(eng, A, 2, 2, User="alice")
    feed(eng, A, 3, 3, User="carol")  # bob is the least recently updated: evicted
    stats = eng.stats()
    assert stats["groups"] == 2 and stats["evictions"] == 1
    assert stats["rules"][CORR]["evictions"] == 1
    assert feed(eng, A, 4, 4, User="bob") == []  # bob starts again from one


def test_state_stays_bounded_under_many_groups(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3, max_groups_per_rule=10)
    for i in range(5000):  # all inside one window: nothing expires, the cap does the work
        feed(eng, A, i * 0.01, i, User=f"user{i}")
    per_rule = eng.stats()["rules"][CORR]
    assert per_rule["groups"] == 10 and per_rule["evictions"] == 4990
    assert per_rule["scheduled"] <= 4 * 10 + 64 + 1


def test_hits_per_group_are_capped(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3.replace("gte: 3", "lt: 100"), max_hits_per_group=2)
    for i in range(5):
        feed(eng, A, i, i, User="bob")
    stats = eng.stats()
    assert stats["hits"] == 2 and stats["hits_dropped"] == 3
    assert [m.event_indexes for m in eng.flush()] == [(3, 4)]


def test_late_events_beyond_the_window_are_counted_not_used(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    feed(eng, A, 1000, 0, User="bob")
    feed(eng, A, 1001, 1, User="bob")
    assert feed(eng, A, 100, 2, User="bob") == []  # 15 minutes late
    assert eng.stats()["late"] == 1
    assert feed(eng, A, 900, 3, User="bob") == [CORR]  # late, but inside the window


def test_events_without_timestamp_use_the_clock(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    clock = eng.clock
    assert isinstance(clock, ManualClock)
    clock.set(1000)
    assert eng.observe([A], {"User": "bob"}, event_index=0) == []
    clock.advance(400)  # the first event has left the window
    assert eng.observe([A], {"User": "bob"}, event_index=1) == []
    assert eng.observe([A], {"User": "bob"}, event_index=2) == []
    clock.advance(1)
    got = eng.observe([A], {"User": "bob"}, event_index=3)
    assert [(m.first_seen, m.last_seen) for m in got] == [(1400, 1401)]


def test_timestamp_read_from_the_event(tmp_path: Path) -> None:
    eng = engine(tmp_path, COUNT_3)
    stamps = ["2026-11-29T10:00:00Z", "2026-11-29 10:01:00.123", "2026-11-29T10:08:00.1234567Z"]
    for i, stamp in enumerate(stamps):
        assert eng.observe([A], {"User": "bob", "UtcTime": stamp}, event_index=i) == []
    ten_oh_eight = datetime(2026, 11, 29, 10, 8, 0, 123456, tzinfo=UTC).timestamp()
    assert eng.watermark == pytest.approx(ten_oh_eight)
    # Late (10:05) but inside the window ending at 10:08; 10:00 and 10:01 are out of it.
    got = eng.observe([A], {"user": "bob", "@timestamp": "2026-11-29T10:05:00+00:00"}, 3)
    assert got == []
    got = eng.observe([A], {"User": "bob", "TimeCreated_SystemTime": 1795946760000}, 4)
    assert [m.event_indexes for m in got] == [(2, 3, 4)]


def test_chained_correlation(tmp_path: Path) -> None:
    rules = Path(__file__).parent / "data" / "correlation" / "failed_logons.yml"
    ruleset = load_ruleset([rules])
    assert ruleset.failed == []
    failed_logon, success = (r.rule_id for r in ruleset.base)
    inner, outer = (c.rule_id for c in ruleset.correlations)
    eng = CorrelationEngine(ruleset.correlations, clock=ManualClock(0))
    out: list[tuple[str, int | None]] = []
    for i in range(3):
        out += [(m.rule_id, m.event_index_of_completion) for m in
                eng.observe([failed_logon], {"TargetUserName": "bob"}, i, timestamp=i * 10)]
    assert out == [(inner, 2)]
    got = eng.observe([success], {"TargetUserName": "bob"}, 3, timestamp=100)
    assert [(m.rule_id, m.group, m.event_indexes) for m in got] == [
        (outer, {"TargetUserName": "bob"}, (2, 3))
    ]
    # Without generate: true the referenced rules report nothing themselves.
    assert ruleset.quiet_rule_ids == {failed_logon, success, inner}


def test_invalid_caps_are_refused() -> None:
    with pytest.raises(ValueError):
        CorrelationEngine([], max_groups_per_rule=0)
