"""ECS <-> Sigma field names, and ECS JSON events (nested or dotted) to one flat dotted view."""

from __future__ import annotations

import ntpath
import posixpath
from datetime import datetime
from typing import Any

from .records import LogsourceKey, iso

# ECS field -> the Sigma (Sysmon/webserver taxonomy) name the engine's rules use.
ECS_TO_SIGMA: dict[str, str] = {
    "process.executable": "Image",
    "process.command_line": "CommandLine",
    "process.pid": "ProcessId",
    "process.working_directory": "CurrentDirectory",
    "process.parent.executable": "ParentImage",
    "process.parent.command_line": "ParentCommandLine",
    "process.parent.pid": "ParentProcessId",
    "process.pe.original_file_name": "OriginalFileName",
    "user.name": "User",
    "file.path": "TargetFilename",
    "source.ip": "SourceIp",
    "source.port": "SourcePort",
    "destination.ip": "DestinationIp",
    "destination.port": "DestinationPort",
    "destination.domain": "DestinationHostname",
    "dns.question.name": "QueryName",
    "registry.path": "TargetObject",
    "host.name": "Computer",
    "event.code": "EventID",
    "url.original": "c-uri",
    "url.path": "cs-uri-stem",
    "url.query": "cs-uri-query",
    "http.request.method": "cs-method",
    "http.request.referrer": "cs-referer",
    "http.response.status_code": "sc-status",
    "http.version": "cs-version",
    "user_agent.original": "c-useragent",
}
# Web logs name the client differently from process/network events.
WEB_SIGMA_OVERRIDES = {"source.ip": "c-ip", "user.name": "cs-username", "host.name": "cs-host"}

# ECS event.category (+ event.type) -> Sigma logsource category.
_CATEGORY = {
    ("process", "start"): "process_creation",
    ("process", None): "process_creation",
    ("network", None): "network_connection",
    ("file", "creation"): "file_event",
    ("file", "deletion"): "file_delete",
    ("file", None): "file_event",
    ("registry", None): "registry_event",
    ("web", None): "webserver",
}


def flatten(obj: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """Nested and already-dotted keys give the same dotted view (ECS allows both)."""
    out = {} if out is None else out
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flatten(value, name + ".", out)
        else:
            out[name] = value
    return out


def sigma_from_ecs(fields: dict[str, Any], *, web: bool = False) -> dict[str, Any]:
    """Every ECS field kept under its dotted name, plus the Sigma names rules are written with."""
    sigma = dict(fields)
    for ecs_name, sigma_name in ECS_TO_SIGMA.items():
        if web and ecs_name in WEB_SIGMA_OVERRIDES:
            sigma_name = WEB_SIGMA_OVERRIDES[ecs_name]
        value = fields.get(ecs_name)
        if value is not None:
            sigma.setdefault(sigma_name, value)
    return sigma


def process_name(executable: str) -> str:
    """Basename of a Windows or POSIX path."""
    return ntpath.basename(executable) if "\\" in executable else posixpath.basename(executable)


def add_process_names(fields: dict[str, Any]) -> None:
    for prefix in ("process", "process.parent"):
        exe = fields.get(f"{prefix}.executable")
        if isinstance(exe, str) and exe and f"{prefix}.name" not in fields:
            fields[f"{prefix}.name"] = process_name(exe)


def ecs_event(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(flat ECS fields, None) or (partial fields, reason) when a required part is missing."""
    fields = flatten(obj)
    stamp = fields.get("@timestamp")
    if not isinstance(stamp, str) or not stamp:
        return fields, "ECS event has no @timestamp"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return fields, f"ECS @timestamp {stamp[:40]!r} is not ISO 8601"
    fields["@timestamp"] = iso(moment)
    add_process_names(fields)
    return fields, None


def ecs_logsource(fields: dict[str, Any], product: str | None) -> list[LogsourceKey]:
    """Dispatch keys from event.category/type and host.os, for rules written per logsource."""
    product = (
        product
        or _text(fields.get("host.os.type"))
        or _text(fields.get("host.os.family"))
        or ("windows" if "winlog.channel" in fields else None)
    )
    types = [t for t in _as_list(fields.get("event.type")) if isinstance(t, str)]
    categories: list[str] = []
    for cat in _as_list(fields.get("event.category")):
        if not isinstance(cat, str):
            continue
        for typ in [*types, None]:
            sigma_cat = _CATEGORY.get((cat, typ))
            if sigma_cat and sigma_cat not in categories:
                categories.append(sigma_cat)
                break
    services = [s for s in (_text(fields.get("event.module")),) if s]
    return keys_for(product, categories, services)


def keys_for(product: str | None, categories: list[str], services: list[str]
             ) -> list[LogsourceKey]:
    """Every (product, category, service) a rule may name that this event belongs to."""
    keys: list[LogsourceKey] = []
    for p in dict.fromkeys([None, product]):
        for c in [None, *categories]:
            for s in [None, *services]:
                if (p, c, s) not in keys:
                    keys.append((p, c, s))
    return keys


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None
