"""Pipelines turn a raw JSON event into (flat fields, logsource keys) for dispatch.

A logsource key is (product, category, service); rules are indexed by the same triple, so an
event is only tested against rules that can apply to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .windows_map import windows_logsources

LogsourceKey = tuple[str | None, str | None, str | None]
Pipeline = Callable[[dict[str, Any]], tuple[dict[str, Any], list[LogsourceKey]]]


def _flatten(obj: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for k, v in obj.items():
        key = f"{prefix}{k}".replace(" ", "")
        if isinstance(v, dict):
            _flatten(v, key + ".", out)
        else:
            out[key] = v


def _data_fields(section: Any, out: dict[str, Any]) -> None:
    """EventData/UserData keys become top-level fields.

    Spaces are removed because Defender writes 'Threat Name' where rules say ThreatName.
    """
    if not isinstance(section, dict):
        return
    for k, v in section.items():
        if k.startswith("#"):
            continue
        name = k.replace(" ", "")
        if name == "Data" and isinstance(v, list):  # <Data Name="x">v</Data> rendered as a list
            for item in v:
                if isinstance(item, dict) and "Name" in item.get("#attributes", {}):
                    out.setdefault(item["#attributes"]["Name"].replace(" ", ""), item.get("#text"))
            continue
        if isinstance(v, dict):
            # UserData wraps its fields in one element named after the event's schema.
            _data_fields(v, out)
        else:
            out.setdefault(name, v)


def windows(event: dict[str, Any]) -> tuple[dict[str, Any], list[LogsourceKey]]:
    ev = event.get("Event", event)
    if not isinstance(ev, dict):
        raise ValueError("event is not an object")
    system = ev.get("System") or {}
    fields: dict[str, Any] = {}
    if "System" in ev or "EventData" in ev or "UserData" in ev:
        _data_fields(ev.get("EventData"), fields)
        _data_fields(ev.get("UserData"), fields)
        sysflat: dict[str, Any] = {}
        _flatten(system, "", sysflat)
        for k, v in sysflat.items():
            short = k.replace(".#attributes.", "_").replace("#attributes.", "")
            fields.setdefault(short, v)
        eid = system.get("EventID")
        if isinstance(eid, dict):
            eid = eid.get("#text", eid.get("value"))
            fields["EventID"] = eid
    else:  # already flat (e.g. exported by another collector)
        _flatten(ev, "", fields)
    channel = str(fields.get("Channel") or "").lower()
    try:
        event_id = int(fields.get("EventID"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        event_id = None
    keys: list[LogsourceKey] = [(None, None, None)]
    for cat, svc in windows_logsources(channel, event_id):
        keys.append(("windows", cat, svc))
        if cat is not None or svc is not None:
            keys.append((None, cat, svc))
    return fields, keys


def _generic(product: str) -> Pipeline:
    def pipe(event: dict[str, Any]) -> tuple[dict[str, Any], list[LogsourceKey]]:
        fields: dict[str, Any] = {}
        _flatten(event, "", fields)
        cat = fields.get("category") or fields.get("event.category")
        svc = fields.get("service") or fields.get("event.dataset")
        keys: list[LogsourceKey] = [(None, None, None), (product, None, None)]
        for c in (cat if isinstance(cat, list) else [cat]):
            if isinstance(c, str):
                keys += [(product, c, None), (None, c, None)]
                if isinstance(svc, str):
                    keys.append((product, c, svc))
        if isinstance(svc, str):
            keys += [(product, None, svc), (None, None, svc)]
        return fields, keys

    return pipe


PIPELINES: dict[str, Pipeline] = {
    "windows": windows,
    "linux": _generic("linux"),
    "ecs": _generic("ecs"),
}
