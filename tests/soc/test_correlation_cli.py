"""`cityops soc match` end to end with correlation rules beside normal rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cityops.services.soc.engine.cli import app

DATA = Path(__file__).parent / "data" / "correlation"
FAILED_LOGON = "5f1e6a1e-0c8f-4d6c-9a43-000000000001"
SERVICE = "5f1e6a1e-0c8f-4d6c-9a43-000000000003"
GUESSED = "5f1e6a1e-0c8f-4d6c-9a43-0000000000c2"
SPRAY = "5f1e6a1e-0c8f-4d6c-9a43-0000000000c3"


def _run(*args: str) -> tuple[list[dict[str, object]], dict[str, object], str]:
    res = CliRunner().invoke(app, ["match", *args, "--json"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    return lines[:-1], lines[-1]["summary"], res.stderr


def test_correlations_in_the_rule_folder() -> None:
    matches, summary, stderr = _run("--rules", str(DATA), "--events", str(DATA / "events.jsonl"))
    assert matches == [
        # password_spray.yml asks for generate: true, so failed logons are reported too.
        {"rule_id": FAILED_LOGON, "event_index": 0},
        {"rule_id": FAILED_LOGON, "event_index": 1},
        {"rule_id": FAILED_LOGON, "event_index": 2},
        {"rule_id": SPRAY, "event_index": 2},  # bob and alice from 10.0.0.5 within a minute
        {"rule_id": FAILED_LOGON, "event_index": 3},
        # Event 3 completes "many failed logons" (not reported: chained without generate),
        # and bob's success at event 5 completes the chain.
        {"rule_id": GUESSED, "event_index": 5},
        {"rule_id": SERVICE, "event_index": 7},
        # dave and erin fail from one address, but two minutes apart (event times are read).
        {"rule_id": FAILED_LOGON, "event_index": 8},
        {"rule_id": FAILED_LOGON, "event_index": 9},
    ]
    assert stderr == ""
    assert summary["events"] == 10 and summary["malformed"] == 1
    assert summary["matches"] == 9
    assert summary["rules_loaded"] == 6 and summary["rules_failed"] == 0
    assert summary["correlation_rules"] == 3 and summary["correlation_matches"] == 3
    assert summary["correlation_evictions"] == 0


def test_without_generate_the_referenced_rules_stay_quiet(tmp_path: Path) -> None:
    shutil.copy(DATA / "failed_logons.yml", tmp_path)
    matches, summary, _ = _run("--rules", str(tmp_path / "failed_logons.yml"),
                               "--rules", str(DATA / "service_installed.yml"),
                               "--events", str(DATA / "events.jsonl"))
    assert matches == [{"rule_id": GUESSED, "event_index": 5},
                       {"rule_id": SERVICE, "event_index": 7}]
    assert summary["correlation_matches"] == 2 and summary["rules_loaded"] == 5


def test_a_broken_correlation_is_reported_and_the_rest_runs(tmp_path: Path) -> None:
    text = (DATA / "password_spray.yml").read_text(encoding="utf-8")
    (tmp_path / "spray.yml").write_text(
        text.replace("5f1e6a1e-0c8f-4d6c-9a43-000000000001", "no_such_rule"), encoding="utf-8")
    shutil.copy(DATA / "service_installed.yml", tmp_path)
    matches, summary, stderr = _run("--rules", str(tmp_path),
                                    "--events", str(DATA / "events.jsonl"))
    assert matches == [{"rule_id": SERVICE, "event_index": 7}]
    assert summary["rules_failed"] == 1 and summary["rules_loaded"] == 1
    assert "spray.yml" in stderr and "unknown rule 'no_such_rule'" in stderr
