"""`cityops soc match --pipeline linux|ecs`: rules over events mapped by the ingest normalisers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cityops.services.soc.engine.cli import app

DATA = Path(__file__).parent / "data" / "ingest"
RULES = DATA / "rules"
BASE64_DECODE = "e2072cab-8c9a-459b-b63c-40ae79e27031"
USER_DISCOVERY = "9a0d8ca0-2385-4020-b6c6-cb6153ca56f3"
PATH_TRAVERSAL = "7745c2ea-24a5-4290-b680-04359cb84b35"
PIPE_SHELL = "7f1e2a10-0000-4000-8000-000000000001"
FAILED_ROOT = "7f1e2a10-0000-4000-8000-000000000002"
INVALID_USER = "7f1e2a10-0000-4000-8000-000000000003"


def _match(events: Path, pipeline: str) -> tuple[set[tuple[str, int]], dict[str, int]]:
    res = CliRunner().invoke(app, ["match", "--rules", str(RULES), "--events", str(events),
                                   "--pipeline", pipeline, "--json"])
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.stdout.splitlines()]
    return {(o["rule_id"], o["event_index"]) for o in out[:-1]}, out[-1]["summary"]


def test_linux_pipeline_matches_syslog_auditd_and_web_events() -> None:
    matches, summary = _match(DATA / "linux-events.jsonl", "linux")
    assert matches == {
        (FAILED_ROOT, 0),
        (INVALID_USER, 1),
        (USER_DISCOVERY, 2),
        (PIPE_SHELL, 3),
        (USER_DISCOVERY, 4),
        (FAILED_ROOT, 5),
        (PATH_TRAVERSAL, 6),
    }
    assert summary["events"] == 10 and summary["malformed"] == 2
    assert summary["rules_loaded"] == 7 and summary["rules_failed"] == 0


def test_ecs_pipeline_maps_ecs_names_to_sigma() -> None:
    matches, summary = _match(DATA / "ecs-events.jsonl", "ecs")
    # Event 2 runs base64 without -d: the real SigmaHQ rule must not fire on it.
    assert matches == {(BASE64_DECODE, 0), (PATH_TRAVERSAL, 1)}
    assert summary["events"] == 4 and summary["malformed"] == 1


def test_windows_rule_does_not_fire_through_linux_pipeline(tmp_path: Path) -> None:
    # The Wazuh-carried certutil event is Windows: under the linux pipeline it has no message
    # line or auditd type, so it is malformed there rather than silently matched.
    events = tmp_path / "w.jsonl"
    events.write_text((DATA / "wazuh-alerts.json").read_text(encoding="utf-8").splitlines()[1]
                      + "\n", encoding="utf-8")
    matches, summary = _match(events, "linux")
    assert matches == set() and summary["malformed"] == 1


def test_ingested_events_match_through_engine_match_fields() -> None:
    """What the SOC service does: read a file, normalise, match the Sigma view directly."""
    from cityops.services.soc.engine import Engine, load_rules
    from cityops.services.soc.ingest import IngestedEvent
    from cityops.services.soc.ingest.files import read_file

    rules, failed = load_rules([RULES])
    assert not failed
    engine = Engine(rules)
    hits = []
    for index, ev in enumerate(read_file(DATA / "wazuh-alerts.json", "wazuh")):
        assert isinstance(ev, IngestedEvent)
        hits += [(r.rule_id, index) for r in engine.match_fields(ev.sigma, ev.logsource)]
    assert sorted(hits) == sorted([
        (FAILED_ROOT, 0),
        ("7f1e2a10-0000-4000-8000-000000000004", 1),  # certutil download via Sysmon in Wazuh
        (PATH_TRAVERSAL, 2),
    ])
