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
        if name == "Data" and isinstance(v, list) and all(isinstance(i, dict) for i in v):
            for item in v:  # <Data Name="x">v</Data> elements rendered as a list
                if "Name" in item.get("#attributes", {}):
                    out.setdefault(item["#attributes"]["Name"].replace(" ", ""), item.get("#text"))
            continue
        if name == "Data" and isinstance(v, dict) and "#text" in v:
            # Unnamed <Data> of classic providers (MSSQL, MsiInstaller): rules search `Data`
            # as one text, which is the JSON list, as in the pySigma-SQLite reference.
            out.setdefault("Data", v["#text"])
            continue
        if isinstance(v, dict):
            # UserData wraps its fields in one element named after the event's schema.
            _data_fields(v, out)
        else:
            out.setdefault(name, v)


def _system_fields(system: dict[str, Any], out: dict[str, Any]) -> None:
    """System.X -> X, System.X.#attributes.Y -> X_Y (Provider_Name, TimeCreated_SystemTime)."""
    for k, v in system.items():
        if v.__class__ is not dict:
            out.setdefault(k.replace(" ", "") if " " in k else k, v)
            continue
        attrs = v.get("#attributes")
        if len(v) == 1 and attrs.__class__ is dict and not any(
            a.__class__ is dict for a in attrs.values()
        ):  # the usual shape: attributes only
            for ak, av in attrs.items():
                out.setdefault(f"{k}_{ak}".replace(" ", ""), av)
            continue
        nested: dict[str, Any] = {}
        _flatten(v, k + ".", nested)
        for nk, nv in nested.items():
            out.setdefault(nk.replace(".#attributes.", "_").replace("#attributes.", ""), nv)


# (channel, EventID) -> logsource keys; a few hundred combinations recur in every stream.
_KEYS_CACHE: dict[tuple[str, int | None], tuple[LogsourceKey, ...]] = {}


def _windows_keys(channel: str, event_id: int | None) -> list[LogsourceKey]:
    got = _KEYS_CACHE.get((channel, event_id))
    if got is None:
        keys: list[LogsourceKey] = [(None, None, None)]
        for cat, svc in windows_logsources(channel, event_id):
            keys.append(("windows", cat, svc))
            if cat is not None or svc is not None:
                keys.append((None, cat, svc))
        if len(_KEYS_CACHE) < 10_000:  # bounded: hostile input cannot grow it without limit
            _KEYS_CACHE[(channel, event_id)] = tuple(keys)
        return keys
    return list(got)


def windows(event: dict[str, Any]) -> tuple[dict[str, Any], list[LogsourceKey]]:
    ev = event.get("Event", event)
    if not isinstance(ev, dict):
        raise ValueError("event is not an object")
    fields: dict[str, Any] = {}
    if "System" in ev or "EventData" in ev or "UserData" in ev:
        system = ev.get("System") or {}
        if not isinstance(system, dict):
            raise ValueError("System is not an object")
        _data_fields(ev.get("EventData"), fields)
        _data_fields(ev.get("UserData"), fields)
        _system_fields(system, fields)
        eid = system.get("EventID")
        if isinstance(eid, dict):
            eid = eid.get("#text", eid.get("value"))
            fields["EventID"] = eid
    else:  # already flat (e.g. exported by another collector)
        _flatten(ev, "", fields)
    channel = fields.get("Channel")
    channel = channel.lower() if isinstance(channel, str) else str(channel or "").lower()
    event_id = fields.get("EventID")
    if event_id.__class__ is not int:
        try:
            event_id = int(event_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            event_id = None
    return fields, _windows_keys(channel, event_id)


def _generic(product: str) -> Pipeline:
    """linux/ecs: the SOC ingest normalisers map the event to Sigma names and logsource keys."""

    def pipe(event: dict[str, Any]) -> tuple[dict[str, Any], list[LogsourceKey]]:
        # Imported on use: ingest imports this module for the Windows mapping.
        from cityops.services.soc.ingest.engine_view import sigma_view

        return sigma_view(event, product)

    return pipe


PIPELINES: dict[str, Pipeline] = {
    "windows": windows,
    "linux": _generic("linux"),
    "ecs": _generic("ecs"),
}
