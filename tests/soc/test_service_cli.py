"""`cityops soc import | rules test | rules sync | receive` run in-process."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from cityops.cli import app as cli_app
from cityops.kernel.context import AppContext
from cityops.services.soc.models import SocDetection, SocIngestCounter, SocQuarantine, SocRule
from cityops.services.soc.rules_store import BUNDLED_DIR, create_custom, sync_bundled
from cityops.services.soc.settings import SocSettings

RULE_ID = "0c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
SSH_RULE_ID = "1c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
RULE = """
title: Whoami run
id: 0c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f
status: test
author: CityOps tests
level: low
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\\\whoami.exe'}
  condition: sel
"""
SSH_RULE = """
title: SSH login failures
id: 1c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f
status: test
author: CityOps tests
level: medium
tags: [attack.credential-access, attack.t1110]
logsource: {product: linux, service: sshd}
detection:
  sel: {message|contains: 'Failed password'}
  condition: sel
"""


def run(ctx: AppContext, *args: str, **extra_env: str) -> Result:
    env = {"CITYOPS_DATABASE_URL": ctx.settings.database_url, "CITYOPS_ENV": "test",
           "CITYOPS_SECRET_KEY": ctx.settings.secret_key, **extra_env}
    return CliRunner().invoke(cli_app, ["soc", *args], env=env)


def sysmon(image: str, record: int) -> dict[str, Any]:
    return {"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational",
                                 "EventID": 1, "Computer": "ws01", "EventRecordID": record},
                      "EventData": {"Image": image}}}


def add_rule(ctx: AppContext, text: str = RULE) -> None:
    with ctx.uow() as uow:
        create_custom(uow, text, ctx.clock())
        uow.commit()


def test_import_jsonl_counts_and_quarantines(demo_ctx: AppContext, tmp_path: Path) -> None:
    add_rule(demo_ctx)
    lines = [json.dumps(sysmon("C:\\Windows\\whoami.exe", i)) for i in range(3)]
    lines.insert(1, "{not json at all")
    lines.append(json.dumps(sysmon("C:\\Windows\\notepad.exe", 9)))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(demo_ctx, "import", str(path), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["events"] == 5 and summary["accepted"] == 4
    assert summary["quarantined"] == 1 and summary["matches"] == 3
    assert summary["detections_created"] == 1
    with demo_ctx.db.session() as session:
        assert session.scalars(select(SocDetection.count)
                               .where(SocDetection.rule_id == RULE_ID)).one() == 3
        assert session.scalars(select(SocQuarantine.raw)
                               .where(SocQuarantine.source == "file:events.jsonl")).one() \
            == "{not json at all"


def test_import_refuses_a_bad_file(demo_ctx: AppContext, tmp_path: Path) -> None:
    missing = run(demo_ctx, "import", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code != 0 and "no such file" in missing.output
    path = tmp_path / "x.evtx"
    path.write_bytes(b"this is not an evtx file")
    bad = run(demo_ctx, "import", str(path), "--format", "evtx")
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert run(demo_ctx, "import", str(path), "--format", "pdf").exit_code != 0


def test_bad_settings_and_switched_off_receivers_exit_cleanly(empty_ctx: AppContext,
                                                               tmp_path: Path) -> None:
    result = run(empty_ctx, "receive", "--udp-port", "0", "--tcp-port", "0")
    assert result.exit_code != 0 and "switched off" in result.output
    result = run(empty_ctx, "receive", CITYOPS_SOC_SYSLOG_UDP_PORT="seventy")
    assert result.exit_code == 2 and "CITYOPS_SOC_SYSLOG_UDP_PORT" in result.output
    path = tmp_path / "e.jsonl"
    path.write_text("{}\n")
    result = run(empty_ctx, "import", str(path), CITYOPS_SOC_BATCH_SIZE="0")
    assert result.exit_code == 2 and "CITYOPS_SOC_BATCH_SIZE" in result.output
    assert "Traceback" not in result.output


def test_rules_test_reports_matches_and_compile_errors(demo_ctx: AppContext,
                                                      tmp_path: Path) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_text(RULE, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([json.dumps(sysmon("C:\\x\\whoami.exe", 1)), "garbage",
                                 json.dumps(sysmon("C:\\x\\cmd.exe", 2)),
                                 json.dumps(sysmon("D:\\whoami.exe", 3))]) + "\n")
    result = run(demo_ctx, "rules", "test", str(rule), "--events", str(events))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [x["event_index"] for x in lines[:-1]] == [0, 3]
    assert lines[-1]["summary"]["compiles"] is True
    assert lines[-1]["summary"]["quarantined"] == 1
    broken = tmp_path / "broken.yml"
    broken.write_text(RULE.replace("condition: sel", "condition: sel and nothing"))
    result = run(demo_ctx, "rules", "test", str(broken), "--events", str(events))
    assert result.exit_code == 1 and '"compiles": false' in result.stdout


def test_rules_sync_is_idempotent_and_keeps_choices(empty_ctx: AppContext,
                                                    tmp_path: Path) -> None:
    subset = tmp_path / "rules"
    subset.mkdir()
    for path in sorted((BUNDLED_DIR / "windows").rglob("*.yml"))[:5]:
        shutil.copy(path, subset / path.name)
    with empty_ctx.uow() as uow:
        assert sync_bundled(uow, empty_ctx.clock(), subset).added == 5
        rule = uow.session.scalars(select(SocRule)).first()
        assert rule is not None and rule.origin == "bundled" and rule.author
        rule.enabled = False
        uow.commit()
    with empty_ctx.uow() as uow:
        report = sync_bundled(uow, empty_ctx.clock(), subset)
        assert (report.added, report.updated, report.unchanged) == (0, 0, 5)
        assert uow.session.scalar(select(func.count()).select_from(SocRule)
                                  .where(SocRule.enabled.is_(False))) == 1


def test_bundle_job_adds_what_is_missing(empty_ctx: AppContext, tmp_path: Path,
                                         monkeypatch: Any) -> None:
    from cityops.services.soc import rules_store
    from cityops.services.soc.manifest import manifest

    subset = tmp_path / "bundle"
    subset.mkdir()
    for path in sorted((BUNDLED_DIR / "linux").rglob("*.yml"))[:3]:
        shutil.copy(path, subset / path.name)
    monkeypatch.setattr(rules_store, "BUNDLED_DIR", subset)
    job = next(job for job in manifest.jobs if job.name == "soc.rules.bundle")
    assert job.run(empty_ctx).added == 3  # type: ignore[attr-defined]
    assert job.run(empty_ctx).added == 0  # type: ignore[attr-defined]
    # The demo (or an older release) loaded a subset: the next run adds the rest.
    for path in sorted((BUNDLED_DIR / "linux").rglob("*.yml"))[3:7]:
        shutil.copy(path, subset / path.name)
    assert job.run(empty_ctx).added == 4  # type: ignore[attr-defined]
    with empty_ctx.db.session() as session:
        assert set(session.scalars(select(SocRule.origin))) == {"bundled"}


def test_receive_stores_syslog_detections_and_counters(demo_ctx: AppContext) -> None:
    from cityops.services.soc.receive import run_receivers

    add_rule(demo_ctx, SSH_RULE)
    line = ("<38>Nov 29 10:00:00 srv01 sshd[42]: Failed password for root from 203.0.113.9 "
            "port 4242 ssh2")

    async def scenario() -> int:
        started = asyncio.Event()
        holder: list[Any] = []
        task = asyncio.create_task(run_receivers(
            demo_ctx, SocSettings(), host="127.0.0.1", udp_port=0, tcp_port=0, seconds=2.5,
            announce=lambda _text: None, started=started, receiver_out=holder))
        await started.wait()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(3):
            sock.sendto(line.encode(), ("127.0.0.1", holder[0].udp_port))
        sock.sendto(b"<999>broken", ("127.0.0.1", holder[0].udp_port))
        sock.close()
        return await task

    # The receivers bind real sockets; port 0 lets the OS pick free ones.
    def syslog_totals() -> tuple[int, int]:
        with demo_ctx.db.session() as session:
            rows = session.scalars(select(SocIngestCounter)
                                   .where(SocIngestCounter.source == "syslog")).all()
            return sum(c.received for c in rows), sum(c.quarantined for c in rows)

    received, quarantined = syslog_totals()
    stored = asyncio.run(scenario())
    assert stored == 4
    assert syslog_totals() == (received + 4, quarantined + 1)
    with demo_ctx.db.session() as session:
        detection = session.scalars(select(SocDetection)
                                    .where(SocDetection.rule_id == SSH_RULE_ID)).one()
        assert detection.count == 3 and detection.host == "srv01"
        assert detection.soc_category == "abnormal" and detection.source == "syslog"


CORRELATION = """
title: Failed logon
id: 6a1e0c8f-4d6c-4a43-9a43-000000000001
name: failed_logon
status: test
author: CityOps tests
logsource: {product: windows, service: security}
detection: {selection: {EventID: 4625}, condition: selection}
level: low
---
title: Three failed logons for one user
id: 6a1e0c8f-4d6c-4a43-9a43-0000000000c1
status: test
author: Đội SOC
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 3}
level: high
tags: [attack.credential-access, attack.t1110]
"""


def logon(second: int, user: str = "bob", event_id: int = 4625) -> str:
    return json.dumps({"Event": {
        "System": {"EventID": event_id, "Channel": "Security", "Computer": "dc09.test.local",
                   "TimeCreated": {"#attributes": {
                       "SystemTime": f"2026-11-29T10:0{second // 60}:{second % 60:02d}Z"}}},
        "EventData": {"TargetUserName": user}}})


def test_import_with_correlation_rules(demo_ctx: AppContext, tmp_path: Path) -> None:
    add_rule(demo_ctx)  # a rule in the table, so the bundle is not loaded
    rules = tmp_path / "corr.yml"
    rules.write_text(CORRELATION, encoding="utf-8")
    events = tmp_path / "logons.jsonl"
    events.write_text("\n".join([logon(0), logon(30), logon(40, "alice"), logon(60),
                                 logon(70, event_id=4624)]) + "\n", encoding="utf-8")
    result = run(demo_ctx, "import", str(events), "--correlations", str(rules))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["correlations"] == 1 and summary["accepted"] == 5
    with demo_ctx.db.session() as session:
        row = session.scalars(select(SocDetection).where(SocDetection.kind == "correlation",
                                                          SocDetection.source != "demo")).one()
        assert (row.kind, row.host, row.rule_author) == ("correlation", "dc09.test.local",
                                                         "Đội SOC")
        assert row.sample_event["group"] == {"TargetUserName": "bob"}
        assert row.soc_category == "abnormal" and row.severity == "major"
    broken = tmp_path / "broken.yml"
    broken.write_text(CORRELATION.replace("rules: [failed_logon]", "rules: [nothing_here]"))
    result = run(demo_ctx, "import", str(events), "--correlations", str(broken))
    assert result.exit_code != 0 and "correlation rules not usable" in result.output
