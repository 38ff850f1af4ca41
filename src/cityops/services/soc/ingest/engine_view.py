"""The engine's `linux` and `ecs` pipelines: JSON events mapped through the ingest normalisers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .ecs import keys_for
from .linux import syslog_fields
from .records import LogsourceKey, Quarantined, normalise
from .syslog import SyslogError, SyslogMessage, parse_timestamp

# Collectors (journald, fluentd, loghub converters) split the syslog header into fields.
_PROGRAM_KEYS = ("program", "process", "ident", "app_name", "appname", "SYSLOG_IDENTIFIER")
_HOST_KEYS = ("host", "hostname", "host.name", "_HOSTNAME")
_TIME_KEYS = ("timestamp", "@timestamp", "time")


def sigma_view(event: dict[str, Any], pipeline: str) -> tuple[dict[str, Any], list[LogsourceKey]]:
    """(Sigma fields, logsource keys); ValueError with the quarantine reason if it cannot map.

    linux: {"message": "<syslog, auditd or access-log line>"}, a message body with its header
    in fields ({"program": "sshd", "host": …, "message": "Failed password …"}), or auditd
    key/values ({"type": "EXECVE", "msg": "audit(…)", "a0": …}); ecs: an ECS document.
    """
    now = datetime.now(UTC)
    if pipeline == "ecs":
        result = normalise(event, source="cli", kind="ecs", received_at=now)
    elif isinstance(event.get("message"), str):
        if _first(event, _PROGRAM_KEYS):
            return _split_syslog(event, now)
        result = normalise(event["message"], source="cli", received_at=now)
    else:
        result = normalise(event, source="cli", kind="auditd", received_at=now)
    if isinstance(result, Quarantined):
        raise ValueError(result.reason)
    return result.sigma, result.logsource


def _split_syslog(event: dict[str, Any], now: datetime
                  ) -> tuple[dict[str, Any], list[LogsourceKey]]:
    stamp = _first(event, _TIME_KEYS)
    try:
        moment = parse_timestamp(stamp, now=now) if stamp else None
    except SyslogError as exc:
        raise ValueError(str(exc)) from exc
    pid = event.get("pid")
    msg = SyslogMessage(
        rfc=3164, facility=None, severity=None, timestamp=moment,
        hostname=_first(event, _HOST_KEYS), app_name=_first(event, _PROGRAM_KEYS),
        procid=str(pid) if pid not in (None, "") else None, msgid=None,
        message=event["message"],
    )
    _ecs, sigma, keys = syslog_fields(msg)
    service = event.get("service")
    if isinstance(service, str) and service:
        keys += [k for k in keys_for("linux", [], [service]) if k not in keys]
    return sigma, keys


def _first(event: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = event.get(name)
        if isinstance(value, str) and value:
            return value
    return None
