"""Wazuh alerts (alerts.json lines): agent and rule kept, the logged event normalised beneath.

Windows alerts carry the event under data.win.{system,eventdata} with lower-camel-case names;
they are rebuilt into the EVTX-JSON shape so that the same Windows mapping applies. Other alerts
carry the original line in full_log, which goes through the syslog/auditd/web parsers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .auditd import audit_fields, looks_like_audit, parse_audit_line
from .ecs import keys_for, sigma_from_ecs
from .linux import syslog_fields
from .records import LogsourceKey, iso_or_none
from .syslog import SyslogError, parse_syslog
from .web import looks_like_access_log, parse_access_log
from .windows import windows_fields

# Wazuh's system names that do not simply capitalise back to the EVTX ones.
_SYSTEM_ATTRS = {"providerName": ("Provider", "Name"), "providerGuid": ("Provider", "Guid"),
                 "systemTime": ("TimeCreated", "SystemTime"),
                 "processID": ("Execution", "ProcessID"), "threadID": ("Execution", "ThreadID")}
_DATA_TO_ECS = {"srcip": "source.ip", "srcport": "source.port", "dstip": "destination.ip",
                "dstport": "destination.port", "srcuser": "user.name", "dstuser": "user.name",
                "url": "url.original", "protocol": "http.request.method"}


class WazuhShapeError(ValueError):
    """The object is not a Wazuh alert; the message says why."""


def is_wazuh_alert(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("rule"), dict) and isinstance(obj.get("agent"), dict)


def wazuh_fields(alert: dict[str, Any], now: datetime
                 ) -> tuple[dict[str, Any], dict[str, Any], list[LogsourceKey]]:
    if not is_wazuh_alert(alert):
        raise WazuhShapeError("Wazuh alert needs 'rule' and 'agent' objects")
    data = alert.get("data") if isinstance(alert.get("data"), dict) else {}
    win = data.get("win")
    full_log = alert.get("full_log")
    if isinstance(win, dict) and isinstance(win.get("system"), dict):
        ecs, sigma, keys = windows_fields(_evtx_shape(win))
    elif isinstance(full_log, str) and full_log.strip():
        ecs, sigma, keys = _from_full_log(full_log.strip(), now)
    else:
        ecs, sigma, keys = {}, {}, keys_for(None, [], [])
    _alert_context(alert, data, ecs)
    sigma = {**sigma_from_ecs(ecs), **sigma}
    return ecs, sigma, keys


def _evtx_shape(win: dict[str, Any]) -> dict[str, Any]:
    system: dict[str, Any] = {}
    for key, value in win["system"].items():
        if key in _SYSTEM_ATTRS:
            element, attribute = _SYSTEM_ATTRS[key]
            system.setdefault(element, {"#attributes": {}})["#attributes"][attribute] = value
        else:
            system[key[:1].upper() + key[1:]] = value
    event_id = system.get("EventID")
    if isinstance(event_id, str) and event_id.isdigit():
        system["EventID"] = int(event_id)
    eventdata = win.get("eventdata") if isinstance(win.get("eventdata"), dict) else {}
    return {"Event": {"System": system, "EventData": {
        key[:1].upper() + key[1:]: _undouble(value) for key, value in eventdata.items()}}}


def _undouble(value: Any) -> Any:
    """Wazuh escapes Windows backslashes twice ("C:\\\\Windows"); rules expect single ones."""
    return value.replace("\\\\", "\\") if isinstance(value, str) else value


def _from_full_log(line: str, now: datetime
                   ) -> tuple[dict[str, Any], dict[str, Any], list[LogsourceKey]]:
    if looks_like_audit(line):
        return audit_fields(parse_audit_line(line))
    if looks_like_access_log(line):
        return parse_access_log(line)
    try:
        return syslog_fields(parse_syslog(line, now=now))
    except SyslogError:
        # Not every decoder's input is syslog (JSON, Windows text); keep it searchable.
        ecs = {"message": line}
        return ecs, dict(ecs), keys_for(None, [], [])


def _alert_context(alert: dict[str, Any], data: dict[str, Any], ecs: dict[str, Any]) -> None:
    agent, rule = alert["agent"], alert["rule"]
    stamp = iso_or_none(alert.get("timestamp"))
    if stamp:  # otherwise the logged line's own time (if any) stands
        ecs["@timestamp"] = stamp
    if agent.get("name"):
        ecs["host.name"] = agent["name"]
    if agent.get("ip"):
        ecs["host.ip"] = agent["ip"]
    for key, target in _DATA_TO_ECS.items():
        value = data.get(key)
        if isinstance(value, str) and value and target not in ecs:
            ecs[target] = int(value) if target.endswith(".port") and value.isdigit() else value
    for key, target in (("id", "rule.id"), ("description", "rule.name"), ("level", "rule.level"),
                        ("groups", "rule.groups")):
        if key in rule:
            ecs[target] = rule[key]
    mitre = rule.get("mitre")
    if isinstance(mitre, dict) and mitre.get("id"):
        ecs["threat.technique.id"] = mitre["id"]
    if isinstance(alert.get("id"), str):
        ecs["event.id"] = alert["id"]
    if isinstance(alert.get("location"), str):
        ecs["log.file.path"] = alert["location"]
    decoder = alert.get("decoder")
    if isinstance(decoder, dict) and decoder.get("name"):
        ecs["wazuh.decoder.name"] = decoder["name"]
    ecs["event.module"] = "wazuh"
    ecs.setdefault("event.dataset", "wazuh.alerts")
