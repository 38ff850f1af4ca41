"""Loading correlation rules beside normal rules: references across files, failures with reasons."""

from __future__ import annotations

from pathlib import Path

from cityops.services.soc.engine import load_rules
from cityops.services.soc.engine.correlation_loader import load_ruleset
from cityops.services.soc.engine.correlation_time import parse_timestamp

DATA = Path(__file__).parent / "data"
BASE_ID = "00000000-0000-4000-8000-0000000000b1"
BASE = f"""title: base
id: {BASE_ID}
name: base_rule
logsource: {{product: windows, service: security}}
detection:
  sel:
    EventID: 4625
  condition: sel
"""


def corr(rid: str, rules: str, extra: str = "", kind: str = "event_count") -> str:
    return f"""title: c {rid}
id: 00000000-0000-4000-8000-0000000000{rid}
name: corr_{rid}
correlation:
  type: {kind}
  rules: [{rules}]
  group-by: [User]
  timespan: 10m
  condition: {{gte: 2}}
{extra}"""


def reasons(failed: list[tuple[str, str]]) -> list[str]:
    return [why for _, why in failed]


def test_correlations_beside_normal_rules_are_not_failures(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "by_name.yml").write_text(corr("c1", "base_rule"), encoding="utf-8")
    (tmp_path / "sub" / "by_id.yml").write_text(corr("c2", BASE_ID), encoding="utf-8")
    ruleset = load_ruleset([tmp_path])
    assert ruleset.failed == []
    assert [r.rule_id for r in ruleset.base] == [BASE_ID]
    assert sorted(c.refs for c in ruleset.correlations) == [(BASE_ID,), (BASE_ID,)]
    # The single-event loader alone would reject them (the behaviour fixed here).
    assert len(load_rules([tmp_path])[1]) == 2


def test_mixed_file_compiles_its_base_rules(tmp_path: Path) -> None:
    broken = BASE.replace(BASE_ID, "00000000-0000-4000-8000-0000000000b2").replace(
        "condition: sel", "condition: nothing_named_so")
    (tmp_path / "all.yml").write_text("---\n".join([BASE, broken, corr("c1", "base_rule")]),
                                      encoding="utf-8")
    ruleset = load_ruleset([tmp_path])
    assert [r.rule_id for r in ruleset.base] == [BASE_ID]
    assert len(ruleset.correlations) == 1
    assert [where.endswith("0000000000b2") for where, _ in ruleset.failed] == [True]


def test_unknown_reference_fails_with_the_reason_and_so_does_its_chain(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "bad.yml").write_text(
        corr("c1", "base_rule, missing_rule") + "---\n" + corr("c2", "corr_c1", kind="temporal"),
        encoding="utf-8")
    ruleset = load_ruleset([tmp_path])
    assert ruleset.correlations == []
    assert reasons(ruleset.failed) == [
        "unknown rule 'missing_rule' (not loaded or not compiled)",
        "refers to failed rule '00000000-0000-4000-8000-0000000000c1'",
    ]
    assert ruleset.failed[0][0].endswith("bad.yml#00000000-0000-4000-8000-0000000000c1")
    assert ruleset.quiet_rule_ids == frozenset()  # a failed correlation silences nothing


def test_invalid_and_unsupported_correlations_are_reported(tmp_path: Path) -> None:
    no_span = corr("c1", "base_rule").replace("  timespan: 10m\n", "")
    value_sum = corr("c2", "base_rule", kind="value_sum").replace("{gte: 2}", "{field: n, gte: 2}")
    cycle = corr("c3", "corr_c4", kind="temporal") + "---\n" + corr("c4", "corr_c3", "", "temporal")
    twice = corr("c5", "base_rule") + "---\n" + corr("c5", "base_rule")
    (tmp_path / "c.yml").write_text("---\n".join([BASE, no_span, value_sum, cycle, twice]),
                                    encoding="utf-8")
    ruleset = load_ruleset([tmp_path])
    assert [c.rule_id for c in ruleset.correlations] == ["00000000-0000-4000-8000-0000000000c5"]
    why = reasons(ruleset.failed)
    assert any("without timespan" in w for w in why)
    assert "correlation type 'value_sum' not supported" in why
    assert why.count("reference cycle between correlations") == 2
    assert "duplicate correlation id or name" in why


def test_generate_true_keeps_the_referenced_rule_reported(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "c.yml").write_text(corr("c1", "base_rule"), encoding="utf-8")
    assert load_ruleset([tmp_path]).quiet_rule_ids == {BASE_ID}
    (tmp_path / "g.yml").write_text(corr("c2", "base_rule", "  generate: true\n"),
                                    encoding="utf-8")
    assert load_ruleset([tmp_path]).quiet_rule_ids == frozenset()


def test_bundled_rule_folders_still_load_without_failures() -> None:
    folders = [DATA / "rules", DATA / "correlation"]
    ruleset = load_ruleset(folders)
    assert ruleset.failed == []
    assert len(ruleset.correlations) == 3
    assert len(ruleset.base) == len(load_rules([DATA / "rules"])[0]) + 3


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("1970-01-01T00:01:00Z") == 60
    assert parse_timestamp("1970-01-01 00:01:00.500") == 60.5  # Sysmon UtcTime, no offset
    assert parse_timestamp("1970-01-01T07:01:00+07:00") == 60
    assert parse_timestamp("1970-01-01T00:01:00.1234567Z") is not None  # 7-digit fraction
    assert parse_timestamp(60_000_000_000_000) == 60_000_000_000  # epoch milliseconds
    assert parse_timestamp("90") == 90
    assert parse_timestamp({"SystemTime": "1970-01-01T00:01:00Z"}) == 60
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None
    assert parse_timestamp(True) is None
