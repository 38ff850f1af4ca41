"""CLI contract (`cityops soc match`) and the gate pre-filter's equivalence."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cityops.services.soc.engine import Engine, load_rules
from cityops.services.soc.engine.cli import app
from cityops.services.soc.engine.event import Event

DATA = Path(__file__).parent / "data"
RULE = """title: t
id: {rid}
logsource: {{product: windows, category: process_creation}}
detection:
  sel:
    Image|endswith: '\\{name}'
  condition: sel
"""


def _event(image: str) -> str:
    return json.dumps({"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
        "EventData": {"Image": image},
    }})


def test_match_json_stream_and_summary(tmp_path: Path) -> None:
    (tmp_path / "r" / "sub").mkdir(parents=True)
    rid_a, rid_b = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b2"
    (tmp_path / "r" / "sub" / "a.yml").write_text(RULE.format(rid=rid_a, name="a.exe"))
    (tmp_path / "b.yml").write_text(RULE.format(rid=rid_b, name="b.exe"))
    (tmp_path / "bad.yml").write_text("title: t\ndetection: {}\n")
    events = tmp_path / "ev.jsonl"
    events.write_text("\n".join([
        _event("C:\\A.EXE"), "{not json", _event("c:\\b.exe"), "[1, 2]", _event("c:\\c.exe"),
        '{"Event": {"System": "x"}}',
    ]) + "\n")
    args = ["match", "--rules", str(tmp_path / "r"), "--rules", str(tmp_path / "b.yml"),
            "--rules", str(tmp_path / "bad.yml"), "--events", str(events), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert lines[:-1] == [
        {"rule_id": rid_a, "event_index": 0},
        {"rule_id": rid_b, "event_index": 2},
    ]
    summary = lines[-1]["summary"]
    assert summary["events"] == 6
    assert summary["malformed"] == 3
    assert summary["matches"] == 2
    assert summary["rules_loaded"] == 2
    assert summary["rules_failed"] == 1
    assert summary["seconds"] >= 0
    assert "bad.yml" in res.stderr


def test_unknown_pipeline_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("")
    res = CliRunner().invoke(app, ["match", "--rules", str(tmp_path), "--events",
                                   str(tmp_path / "e.jsonl"), "--pipeline", "nope", "--json"])
    assert res.exit_code != 0


def test_gate_prunes_without_changing_results() -> None:
    rules, failed = load_rules([DATA / "rules", DATA / "rules-emerging-threats",
                                DATA / "rules-threat-hunting"])
    assert not failed
    engine = Engine(rules, "windows")
    n_events = pruned = 0
    for path in sorted((DATA / "regression").rglob("*.jsonl")):
        if path.name == "cases.jsonl":
            continue
        for line in path.open(encoding="utf-8"):
            fields, keys = engine.pipeline(json.loads(line))
            ev = Event(fields)
            index = engine.index_for(keys)
            gated = [r.rule_id for r in index.candidates(ev) if r.predicate(ev)]
            full = [r.rule_id for r in index.rules if r.predicate(ev)]
            assert gated == full
            n_events += 1
            pruned += len(index.rules) - len(index.candidates(ev))
    assert n_events == 153
    assert pruned > 0


def test_windows_pipeline_flattening() -> None:
    from cityops.services.soc.engine.pipelines import windows

    fields, keys = windows({"Event": {
        "System": {"EventID": 1116, "Channel": "Microsoft-Windows-Windows Defender/Operational",
                   "Provider": {"#attributes": {"Name": "Microsoft-Windows-Windows Defender"}}},
        "EventData": {"Threat Name": "EICAR", "Data": [
            {"#attributes": {"Name": "Process Name"}, "#text": "x.exe"}]},
    }})
    assert fields["ThreatName"] == "EICAR" and fields["ProcessName"] == "x.exe"
    assert fields["EventID"] == 1116 and fields["Provider_Name"].endswith("Defender")
    assert ("windows", None, "windefend") in keys
    user, _ = windows({"Event": {"System": {"EventID": 4, "Channel": "X"},
                                 "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}}})
    assert user["SubjectUserName"] == "bob"
