"""One entry point for every event kind: decode, detect the kind, map, or quarantine with a reason.

Nothing here raises on bad input: a stream of events must survive any one of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .auditd import AuditParseError, audit_fields, looks_like_audit, parse_audit_line
from .ecs import ecs_event, ecs_logsource, sigma_from_ecs
from .linux import syslog_fields
from .records import MAX_EVENT_BYTES, IngestedEvent, LogsourceKey, Quarantined, iso
from .syslog import SyslogError, parse_syslog
from .wazuh import WazuhShapeError, is_wazuh_alert, wazuh_fields
from .web import WebParseError, looks_like_access_log, parse_access_log
from .windows import WindowsShapeError, windows_fields

KINDS = ("auto", "windows", "wazuh", "ecs", "auditd", "syslog", "web")
Mapped = tuple[dict[str, Any], dict[str, Any], list[LogsourceKey]]
_PARSE_ERRORS = (AuditParseError, SyslogError, WazuhShapeError, WebParseError,
                 WindowsShapeError)


class Refused(ValueError):
    """Internal: the event is quarantined with this message as the reason."""


def normalise_event(raw: str | bytes | dict[str, Any], *, source: str, kind: str,
                    received_at: datetime) -> IngestedEvent | Quarantined:
    text = ""
    try:
        if kind not in KINDS:
            raise Refused(f"unknown event kind {kind!r}")
        text, obj = _decode(raw)
        ecs, sigma, keys = _map(text, obj, kind, received_at)
    except Refused as exc:
        kept = getattr(exc, "text", None) or text or _fallback_text(raw)
        return Quarantined(kept, source, received_at, _sentence(str(exc)))
    except _PARSE_ERRORS as exc:
        return Quarantined(text, source, received_at, _sentence(str(exc)))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError,
            RecursionError) as exc:  # RecursionError: JSON nested thousands of levels deep
        # A shape none of the mappers foresaw: quarantine it rather than stop the stream.
        return Quarantined(text, source, received_at,
                           _sentence(f"event could not be normalised ({type(exc).__name__})"))
    ecs.setdefault("@timestamp", iso(received_at))
    ecs["event.ingested"] = iso(received_at)
    return IngestedEvent(text, source, received_at, ecs, sigma, keys)


def _decode(raw: str | bytes | dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(verbatim text, the JSON object when the input is one); size and encoding checked."""
    if isinstance(raw, dict):
        try:
            text = json.dumps(raw, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise Refused("event object cannot be written as JSON") from exc
        _check_size(len(text.encode("utf-8")), text)
        return text, raw
    if isinstance(raw, bytes):
        if len(raw) > MAX_EVENT_BYTES:
            _check_size(len(raw), raw[:MAX_EVENT_BYTES].decode("utf-8", "replace"))
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _TextRefused(raw.decode("utf-8", "replace"),
                               f"invalid UTF-8 at byte {exc.start}") from exc
    if not isinstance(raw, str):
        raise Refused(f"event must be text, bytes or a JSON object, not {type(raw).__name__}")
    _check_size(len(raw.encode("utf-8", "surrogatepass")), raw)
    text = raw.removeprefix("\ufeff")
    stripped = text.strip()
    if not stripped:
        raise _TextRefused(text, "empty event")
    if stripped[0] in "{[":
        try:
            obj = json.loads(stripped)
        except ValueError as exc:
            raise _TextRefused(text, f"invalid JSON ({exc.msg} at position {exc.pos})") from exc
        if not isinstance(obj, dict):
            raise _TextRefused(text, f"JSON event must be an object, not {type(obj).__name__}")
        return text, obj
    return text, None


class _TextRefused(Refused):
    """A refusal found after the text was known: the text goes into the quarantine."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text


def _check_size(size: int, text: str) -> None:
    if size > MAX_EVENT_BYTES:
        # Keep only the head: the quarantine is for reading, not for storing floods.
        raise _TextRefused(text[:MAX_EVENT_BYTES],
                           f"event is {size} bytes, over the {MAX_EVENT_BYTES}-byte limit")


def _map(text: str, obj: dict[str, Any] | None, kind: str, now: datetime) -> Mapped:
    if obj is not None:
        return _map_object(obj, kind, now)
    line = text.strip()
    if kind == "auto":
        kind = _detect_line(line)
    handler = _LINE_HANDLERS.get(kind)
    if handler is None:
        raise Refused(f"a {kind} event must be a JSON object, not a text line")
    return handler(line, now)


def _detect_line(line: str) -> str:
    if looks_like_audit(line):
        return "auditd"
    if looks_like_access_log(line):
        return "web"
    return "syslog"


def _map_object(obj: dict[str, Any], kind: str, now: datetime) -> Mapped:
    if kind == "auto":
        kind = _detect_object(obj)
    if kind == "windows":
        return windows_fields(obj)
    if kind == "wazuh":
        return wazuh_fields(obj, now)
    if kind == "ecs":
        fields, problem = ecs_event(obj)
        if problem:
            raise Refused(problem)
        web = "web" in (fields.get("event.category") or [])
        return fields, sigma_from_ecs(fields, web=web), ecs_logsource(fields, None)
    if kind == "auditd":
        return _auditd_object(obj)
    # syslog / web as JSON: a collector wrapped the original line in "message".
    message = obj.get("message")
    if not isinstance(message, str):
        raise Refused(f"a {kind} JSON event needs a 'message' string")
    return _LINE_HANDLERS[kind](message.strip(), now)


def _detect_object(obj: dict[str, Any]) -> str:
    inner = obj.get("Event", obj)
    if isinstance(inner, dict) and "System" in inner:
        return "windows"
    if "EventID" in obj and ("Channel" in obj or "Provider_Name" in obj):
        return "windows"  # flat Windows export
    if is_wazuh_alert(obj):
        return "wazuh"
    if "@timestamp" in obj or "ecs" in obj or "ecs.version" in obj:
        return "ecs"
    if "type" in obj and ("msg" in obj or "syscall" in obj or "a0" in obj):
        return "auditd"
    message = obj.get("message")
    if isinstance(message, str):
        return _detect_line(message.strip())
    raise Refused("unrecognised event shape (not Windows, Wazuh, ECS, auditd or a log line)")


def _auditd_object(obj: dict[str, Any]) -> Mapped:
    """auditd as JSON: either {"message": "type=…"} or the record's key/values themselves."""
    message = obj.get("message")
    if isinstance(message, str) and looks_like_audit(message.strip()):
        return audit_fields(parse_audit_line(message))
    if not isinstance(obj.get("type"), str):
        raise Refused("auditd event needs a 'type' (e.g. EXECVE) or an audit 'message'")
    record = {k: v for k, v in obj.items() if not k.startswith("_")}
    stamp = str(obj.get("msg", ""))
    try:
        head = stamp.removeprefix("audit(").rstrip("):")
        seconds, _, serial = head.partition(":")
        record["_time"], record["_serial"] = float(seconds), int(serial or 0)
    except ValueError as exc:
        raise Refused("auditd event needs msg='audit(seconds:serial)'") from exc
    return audit_fields(record)


def _syslog_line(line: str, now: datetime) -> Mapped:
    msg = parse_syslog(line, now=now)
    body = msg.message.strip()
    # audispd and web servers also log through syslog: map their payload, keep the envelope.
    inner: Mapped | None = None
    if looks_like_audit(body):
        inner = audit_fields(parse_audit_line(body))
    elif looks_like_access_log(body):
        inner = parse_access_log(body)
    outer = syslog_fields(msg)
    if inner is None:
        return outer
    ecs = {**outer[0], **inner[0]}
    return ecs, {**outer[1], **inner[1]}, inner[2]


def _fallback_text(raw: object) -> str:
    """Something readable for the quarantine when the input never became text."""
    if isinstance(raw, bytes):
        return raw[:MAX_EVENT_BYTES].decode("utf-8", "replace")
    return raw[:MAX_EVENT_BYTES] if isinstance(raw, str) else repr(raw)[:MAX_EVENT_BYTES]


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] if reason else "Event could not be normalised"


_LINE_HANDLERS: dict[str, Callable[[str, datetime], Mapped]] = {
    "syslog": _syslog_line,
    "auditd": lambda line, _now: audit_fields(parse_audit_line(line)),
    "web": lambda line, _now: parse_access_log(line),
}
