"""Windows/Sysmon events (EVTX-JSON shape): Sigma fields from the engine's pipeline, then ECS."""

from __future__ import annotations

import re
from typing import Any

from cityops.services.soc.engine.pipelines import windows as windows_pipeline

from .ecs import add_process_names
from .records import LogsourceKey, iso_or_none

# Sigma/EventData field -> ECS field; the first one present wins.
_TO_ECS: list[tuple[str, str]] = [
    ("Computer", "host.name"),
    ("Image", "process.executable"),
    ("NewProcessName", "process.executable"),
    ("CommandLine", "process.command_line"),
    ("ProcessId", "process.pid"),
    ("NewProcessId", "process.pid"),
    ("CurrentDirectory", "process.working_directory"),
    ("ParentImage", "process.parent.executable"),
    ("ParentProcessName", "process.parent.executable"),
    ("ParentCommandLine", "process.parent.command_line"),
    ("ParentProcessId", "process.parent.pid"),
    ("OriginalFileName", "process.pe.original_file_name"),
    ("TargetFilename", "file.path"),
    ("ImageLoaded", "file.path"),
    ("SourceIp", "source.ip"),
    ("IpAddress", "source.ip"),
    ("SourcePort", "source.port"),
    ("IpPort", "source.port"),
    ("DestinationIp", "destination.ip"),
    ("DestinationPort", "destination.port"),
    ("DestinationHostname", "destination.domain"),
    ("QueryName", "dns.question.name"),
    ("TargetObject", "registry.path"),
    ("Channel", "winlog.channel"),
    ("Provider_Name", "event.provider"),
    ("EventRecordID", "winlog.record_id"),
]
# EventID -> ECS category and outcome, for the events SOC rules and dashboards care about.
_SECURITY = {4624: ("authentication", "success"), 4625: ("authentication", "failure"),
             4648: ("authentication", "success"), 4688: ("process", None),
             4720: ("iam", "success"), 4732: ("iam", "success"), 1102: ("configuration", None)}
_SYSMON = {1: "process", 3: "network", 11: "file", 23: "file", 12: "registry", 13: "registry",
           14: "registry", 22: "network", 7: "library"}
_SHA256 = re.compile(r"SHA256=([0-9A-Fa-f]{64})")


class WindowsShapeError(ValueError):
    """The object is not a Windows event; the message says why."""


def windows_fields(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                  list[LogsourceKey]]:
    """(ECS fields, Sigma fields, logsource keys); raises WindowsShapeError on a bad shape."""
    inner = event.get("Event", event)
    # Nested EVTX-JSON, or the flat shape other collectors export (EventID at the top).
    if not isinstance(inner, dict) or not (isinstance(inner.get("System"), dict)
                                           or "EventID" in inner):
        raise WindowsShapeError("Windows event has no System section")
    sigma, keys = windows_pipeline(event)
    try:
        event_id = int(sigma.get("EventID"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise WindowsShapeError("Windows event has no numeric System.EventID") from exc
    ecs: dict[str, Any] = {"event.code": str(event_id)}
    stamp = iso_or_none(sigma.get("TimeCreated_SystemTime"))
    if stamp:  # else received_at stands in: rules do not need the time
        ecs["@timestamp"] = stamp
    for src, dst in _TO_ECS:
        value = sigma.get(src)
        if value not in (None, "", "-") and dst not in ecs:
            ecs[dst] = value
    _user(sigma, ecs)
    hashes = sigma.get("Hashes") or sigma.get("Hash")
    if isinstance(hashes, str) and (m := _SHA256.search(hashes)):
        ecs["file.hash.sha256"] = m.group(1).lower()
    _category(sigma, event_id, ecs)
    for pid in ("process.pid", "process.parent.pid"):
        ecs[pid] = _pid(ecs[pid]) if pid in ecs else None
        if ecs[pid] is None:
            del ecs[pid]
    add_process_names(ecs)
    return ecs, sigma, keys


def _user(sigma: dict[str, Any], ecs: dict[str, Any]) -> None:
    """Sysmon writes DOMAIN\\user; Security logons name the target account."""
    user = sigma.get("User") or sigma.get("TargetUserName") or sigma.get("SubjectUserName")
    if not isinstance(user, str) or user in ("", "-"):
        return
    domain, sep, name = user.rpartition("\\")
    ecs["user.name"] = name if sep else user
    dom = domain or sigma.get("TargetDomainName") or sigma.get("SubjectDomainName")
    if isinstance(dom, str) and dom not in ("", "-"):
        ecs["user.domain"] = dom


def _category(sigma: dict[str, Any], event_id: int, ecs: dict[str, Any]) -> None:
    channel = str(sigma.get("Channel") or "").lower()
    if channel == "microsoft-windows-sysmon/operational":
        ecs["event.dataset"] = "windows.sysmon"
        if event_id in _SYSMON:
            ecs["event.category"] = [_SYSMON[event_id]]
    elif channel == "security":
        ecs["event.dataset"] = "windows.security"
        category, outcome = _SECURITY.get(event_id, (None, None))
        if category:
            ecs["event.category"] = [category]
        if outcome:
            ecs["event.outcome"] = outcome
    elif channel:
        ecs["event.dataset"] = "windows." + re.sub(r"[^a-z0-9]+", "_", channel).strip("_")


def _pid(value: Any) -> int | None:
    """Sysmon writes ints, Security writes hex strings ("0x378")."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            return None
    return None
