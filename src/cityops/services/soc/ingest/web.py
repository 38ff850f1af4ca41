"""Apache/Nginx access logs (common, combined, vhost_combined) to ECS and Sigma webserver fields."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .ecs import keys_for, sigma_from_ecs
from .records import LogsourceKey, iso

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_ACCESS = re.compile(
    r"(?:(?P<vhost>[^\s:]+(?::\d+)?) )?"  # vhost_combined prefix
    r"(?P<client>[0-9A-Fa-f:.]+|[\w.-]+) (?P<ident>\S+) (?P<user>\S+) "
    r"\[(?P<time>[^\]]+)\] " + _QUOTED.replace("(", "(?P<request>", 1)
    + r" (?P<status>\d{3}) (?P<bytes>\d+|-)"
    + r"(?: " + _QUOTED.replace("(", "(?P<referer>", 1)
    + r" " + _QUOTED.replace("(", "(?P<agent>", 1) + r")?\s*$"
)
_REQUEST = re.compile(r"(?P<method>[A-Z][A-Z_-]{0,19}) (?P<target>\S+)(?: (?P<version>HTTP/\S+))?$")


class WebParseError(ValueError):
    """Not an access-log line; the message says why."""


def looks_like_access_log(line: str) -> bool:
    return _ACCESS.match(line) is not None


def parse_access_log(line: str) -> tuple[dict[str, Any], dict[str, Any], list[LogsourceKey]]:
    """(ECS fields, Sigma fields, logsource keys) of one access-log line."""
    m = _ACCESS.match(line.strip())
    if not m:
        raise WebParseError("not an Apache/Nginx common or combined access-log line")
    try:
        moment = datetime.strptime(m.group("time"), "%d/%b/%Y:%H:%M:%S %z")
    except ValueError as exc:
        raise WebParseError(f"invalid access-log time {m.group('time')[:40]!r}") from exc
    status = int(m.group("status"))
    ecs: dict[str, Any] = {
        "@timestamp": iso(moment),
        "source.ip": m.group("client"),
        "http.response.status_code": status,
        "event.category": ["web"],
        "event.dataset": "web.access",
        "event.outcome": "success" if status < 400 else "failure",
        "message": line.strip(),
    }
    if m.group("bytes") != "-":
        ecs["http.response.body.bytes"] = int(m.group("bytes"))
    if m.group("user") != "-":
        ecs["user.name"] = m.group("user")
    if m.group("vhost"):
        ecs["url.domain"] = m.group("vhost").split(":", 1)[0]
    for name, group in (("http.request.referrer", "referer"), ("user_agent.original", "agent")):
        value = m.group(group)
        if value not in (None, "-", ""):
            ecs[name] = _unescape(value)
    request = _unescape(m.group("request"))
    req = _REQUEST.match(request)
    if req:
        target = req.group("target")
        path, _, query = target.partition("?")
        ecs.update({"http.request.method": req.group("method"), "url.original": target,
                    "url.path": path})
        if query:
            ecs["url.query"] = query
        if req.group("version"):
            ecs["http.version"] = req.group("version").removeprefix("HTTP/")
    else:
        # Scanners send junk (TLS bytes, bare "-"); keep it where keyword rules can see it.
        ecs["http.request.body.content"] = request
    sigma = sigma_from_ecs(ecs, web=True)
    if req and req.group("version"):
        sigma["cs-version"] = req.group("version")
    return ecs, sigma, keys_for(None, ["webserver"], [])


def _unescape(value: str) -> str:
    """Apache escapes quotes and backslashes inside logged strings."""
    return value.replace('\\"', '"').replace("\\\\", "\\")
