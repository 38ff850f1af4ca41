"""Linux syslog messages: sshd, sudo, su, cron, PAM … with user and source address extracted."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .ecs import keys_for, process_name, sigma_from_ecs
from .records import LogsourceKey, iso
from .syslog import SyslogMessage

_IP = r"(?P<ip>[0-9A-Fa-f:.]+)"
_PORT = r"(?: port (?P<port>\d+))?"
_SSHD: list[tuple[re.Pattern[str], str, str]] = [  # pattern, outcome, action
    (re.compile(rf"Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.{{0,128}}?) "
                rf"from {_IP}{_PORT}"), "failure", "ssh_login"),
    (re.compile(rf"Accepted (?P<method>\S+) for (?P<user>\S+) from {_IP}{_PORT}"),
     "success", "ssh_login"),
    (re.compile(rf"[Ii]nvalid user (?P<user>.{{0,128}}?) from {_IP}{_PORT}"), "failure",
     "ssh_login"),
    (re.compile(rf"User (?P<user>\S+) from {_IP} not allowed"), "failure", "ssh_login"),
    (re.compile(rf"Connection closed by (?:(?:authenticating|invalid) user (?P<user>\S+) )?"
                rf"{_IP}{_PORT}"), "unknown", "ssh_disconnect"),
    (re.compile(rf"Received disconnect from {_IP}{_PORT}"), "unknown", "ssh_disconnect"),
    (re.compile(rf"Disconnected from (?:(?:authenticating|invalid) user (?P<user>\S+) )?"
                rf"{_IP}{_PORT}"), "unknown", "ssh_disconnect"),
    (re.compile(rf"Did not receive identification string from {_IP}{_PORT}"), "failure",
     "ssh_probe"),
]
_PAM_FAIL = re.compile(r"authentication failure;.*?rhost=(?P<ip>\S*)(?:\s+user=(?P<user>\S+))?")
_PAM_SESSION = re.compile(r"session (?P<what>opened|closed) for user (?P<user>[^\s(]+)")
_SUDO = re.compile(r"^\s*(?P<user>\S+) : (?:(?P<fail>.*?) ; )?TTY=(?P<tty>[^;]*) ; "
                   r"PWD=(?P<pwd>[^;]*) ; USER=(?P<target>[^;]*) ;(?: .*?;)? COMMAND=(?P<cmd>.*)$")
_SU_FAIL = re.compile(r"FAILED (?:SU|su) (?:\(to (?P<t1>\S+)\) (?P<u1>\S+)|for (?P<t2>\S+) by "
                      r"(?P<u2>\S+))")
_SU_OK = re.compile(r"\(to (?P<target>\S+)\) (?P<user>\S+) on")
_CRON = re.compile(r"\((?P<user>[^)]+)\) CMD \((?P<cmd>.*)\)$")

# Program name -> Sigma linux service (rules say product: linux, service: sshd/sudo/…).
_SERVICES = {"sshd": "sshd", "sudo": "sudo", "cron": "cron", "crond": "cron", "vsftpd": "vsftpd",
             "clamd": "clamav", "freshclam": "clamav", "guacd": "guacamole"}
_AUTH_PROGRAMS = {"sshd", "sudo", "su", "login", "passwd", "useradd", "usermod", "groupadd",
                  "systemd-logind", "polkitd", "unix_chkpwd"}


def syslog_fields(msg: SyslogMessage) -> tuple[dict[str, Any], dict[str, Any],
                                              list[LogsourceKey]]:
    """(ECS fields, Sigma fields, logsource keys) of a parsed syslog message."""
    program = (msg.app_name or "").split("(", 1)[0]  # "sshd(pam_unix)" -> "sshd"
    ecs: dict[str, Any] = {"message": msg.message, "event.dataset": "syslog"}
    if msg.timestamp is not None:
        ecs["@timestamp"] = iso(msg.timestamp)
    for name, value in (("host.name", msg.hostname), ("process.name", program or None),
                        ("log.syslog.appname", msg.app_name), ("log.syslog.msgid", msg.msgid),
                        ("log.syslog.facility.name", msg.facility_name),
                        ("log.syslog.severity.name", msg.severity_name)):
        if value:
            ecs[name] = value
    if msg.procid and msg.procid.isdigit():
        ecs["process.pid"] = int(msg.procid)
    for sd_id, params in msg.structured_data.items():
        for key, value in params.items():
            ecs[f"syslog.sd.{sd_id}.{key}"] = value
    handler = _HANDLERS.get(program.lower())
    if handler:
        handler(msg.message, ecs)
    if "pam_unix" in (msg.app_name or "") or msg.message.startswith("pam_unix"):
        _pam(msg.message, ecs)
    sigma = _sigma_view(msg, program, ecs)
    services = ["syslog"]
    lower = program.lower()
    if lower in _AUTH_PROGRAMS or msg.facility_name in ("auth", "authpriv") or lower.startswith(
            "pam"):
        services.append("auth")
    if lower in _SERVICES:
        services.append(_SERVICES[lower])
    return ecs, sigma, keys_for("linux", [], services)


# Keyword rules test every field, so the Sigma view of a syslog line stays small: the message,
# the header, and what was extracted under Sigma names (no ECS duplicates).
_KEPT_ECS = ("event.outcome", "event.action")


def _sigma_view(msg: SyslogMessage, program: str, ecs: dict[str, Any]) -> dict[str, Any]:
    sigma: dict[str, Any] = {"message": msg.message}
    for name, value in (("Computer", msg.hostname), ("program", program or None),
                        ("pid", msg.procid)):
        if value:
            sigma[name] = value
    for name, value in sigma_from_ecs(ecs).items():
        if "." not in name and name not in ("message", "Computer", "ProcessId", "@timestamp"):
            sigma[name] = value
    for name in _KEPT_ECS:
        if name in ecs:
            sigma[name] = ecs[name]
    return sigma


def _sshd(text: str, ecs: dict[str, Any]) -> None:
    for pattern, outcome, action in _SSHD:
        m = pattern.search(text)
        if m:
            _put(ecs, m, outcome, action, "authentication")
            return


def _pam(text: str, ecs: dict[str, Any]) -> None:
    fail = _PAM_FAIL.search(text)
    if fail:
        _put(ecs, fail, "failure", "pam_authentication", "authentication")
        return
    session = _PAM_SESSION.search(text)
    if session:
        ecs.setdefault("user.name", session.group("user"))
        ecs.setdefault("event.action", f"session_{session.group('what')}")
        ecs.setdefault("event.category", ["session"])


def _sudo(text: str, ecs: dict[str, Any]) -> None:
    m = _SUDO.search(text)
    if not m:
        return
    ecs.update({"user.name": m.group("user"), "user.effective.name": m.group("target").strip(),
                "process.command_line": m.group("cmd").strip(),
                "process.working_directory": m.group("pwd").strip(), "event.action": "sudo",
                "event.category": ["process"],
                "event.outcome": "failure" if m.group("fail") else "success"})
    exe = m.group("cmd").strip().split(" ", 1)[0]
    if exe.startswith("/"):
        # The process is the command sudo ran, not sudo itself.
        ecs["process.executable"] = exe
        ecs["process.name"] = process_name(exe)


def _su(text: str, ecs: dict[str, Any]) -> None:
    fail = _SU_FAIL.search(text)
    if fail:
        ecs.update({"user.name": fail.group("u1") or fail.group("u2"),
                    "user.effective.name": fail.group("t1") or fail.group("t2"),
                    "event.action": "su", "event.outcome": "failure",
                    "event.category": ["authentication"]})
        return
    ok = _SU_OK.search(text)
    if ok:
        ecs.update({"user.name": ok.group("user"), "user.effective.name": ok.group("target"),
                    "event.action": "su", "event.outcome": "success",
                    "event.category": ["authentication"]})


def _cron(text: str, ecs: dict[str, Any]) -> None:
    m = _CRON.search(text)
    if m:
        ecs.update({"user.name": m.group("user"), "process.command_line": m.group("cmd"),
                    "event.action": "cron_command", "event.category": ["process"]})


def _put(ecs: dict[str, Any], m: re.Match[str], outcome: str, action: str, category: str
         ) -> None:
    groups = m.groupdict()
    if groups.get("user"):
        ecs["user.name"] = groups["user"].strip() or groups["user"]
    if groups.get("ip"):
        ecs["source.ip"] = groups["ip"]
    if groups.get("port"):
        ecs["source.port"] = int(groups["port"])
    ecs["event.outcome"] = outcome
    ecs["event.action"] = action
    ecs["event.category"] = [category]


_HANDLERS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "sshd": _sshd, "sudo": _sudo, "su": _su, "cron": _cron, "crond": _cron,
}
