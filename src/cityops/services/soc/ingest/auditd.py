"""Linux audit records ("type=EXECVE msg=audit(…): key=value …") to ECS and Sigma fields.

auditd writes "untrusted" strings (arguments, paths, command names) either quoted or, when they
hold spaces or control characters, as unquoted upper-case hex; rules expect the decoded text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .ecs import add_process_names, keys_for
from .records import LogsourceKey, iso

_HEADER = re.compile(r"type=(\S+)\s+msg=audit\((\d+(?:\.\d+)?):(\d+)\):\s?")
# Keys are short; the bound keeps a long run of junk from costing quadratic time.
_PAIR = re.compile(r"""([\w\-{}]{1,64})=("(?:[^"]*)"|'(?:[^']*)'|\S*)""")
_HEX = re.compile(r"(?:[0-9A-F]{2})+")
# Fields whose unquoted values are hex-encoded strings (see auditd's "untrusted string" rule).
_ENCODED = re.compile(
    r"a\d+(\[\d+\])?|proctitle|comm|exe|cwd|name|path|cmd|data|acct|key|old-|new-|ocomm|"
    r"root_dir|sauid|watch|vm|hostname|addr|terminal|grantors|op|subj"
)
_OUTCOME = {"yes": "success", "no": "failure", "success": "success", "failed": "failure"}


class AuditParseError(ValueError):
    """The text is not an audit record; the message says why."""


def looks_like_audit(text: str) -> bool:
    return text.startswith("type=") and "msg=audit(" in text[:80]


def parse_audit_line(line: str) -> dict[str, Any]:
    """Key/values of one record, hex fields decoded; "type", "msg" (time:serial) included."""
    line = line.strip()
    # Enriched logs append interpreted values after a GS character; the raw part is enough.
    line = line.split("\x1d", 1)[0]
    head = _HEADER.match(line)
    if not head:
        raise AuditParseError("audit record has no 'type=… msg=audit(time:serial):' header")
    record: dict[str, Any] = {
        "type": head.group(1),
        "msg": f"audit({head.group(2)}:{head.group(3)})",
        "_time": float(head.group(2)),
        "_serial": int(head.group(3)),
    }
    for key, value in _pairs(line[head.end():]):
        if key == "msg" and value.startswith("'"):
            # USER_* records nest the PAM key/values inside msg='…'.
            record.update(dict(_pairs(value.strip("'"))))
        else:
            record[key] = value
    return record


def _pairs(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, raw in _PAIR.findall(text):
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            out.append((key, raw[1:-1]))
        elif raw.startswith("'"):
            out.append((key, raw))
        elif _ENCODED.fullmatch(key) and _HEX.fullmatch(raw) and raw not in ("00",):
            out.append((key, _unhex(raw, key)))
        else:
            out.append((key, raw))
    return out


def _unhex(raw: str, key: str) -> str:
    data = bytes.fromhex(raw)
    if key == "proctitle":  # argv joined by NULs
        data = data.replace(b"\x00", b" ").rstrip()
    return data.decode("utf-8", errors="replace")


def audit_fields(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                   list[LogsourceKey]]:
    """(ECS fields, Sigma fields, logsource keys) for one parsed record."""
    rtype = str(record.get("type", ""))
    ecs: dict[str, Any] = {
        "@timestamp": iso(datetime.fromtimestamp(record["_time"], UTC)),
        "event.code": rtype,
        "event.dataset": "auditd",
        "event.module": "auditd",
        "auditd.sequence": record["_serial"],
    }
    argv = _argv(record)
    if argv:
        ecs["process.command_line"] = " ".join(argv)
        ecs["process.args"] = argv
    if rtype == "PROCTITLE" and record.get("proctitle"):
        ecs["process.command_line"] = record["proctitle"]
    _copy(record, ecs, {
        "exe": "process.executable", "comm": "process.name", "pid": "process.pid",
        "ppid": "process.parent.pid", "cwd": "process.working_directory", "name": "file.path",
        "node": "host.name", "hostname": "source.address", "addr": "source.ip",
        "acct": "user.name", "uid": "user.id", "auid": "user.audit.id", "terminal": "tty",
    })
    if record.get("key") not in (None, "", "(null)"):
        ecs["tags"] = [record["key"]]
    if rtype == "CWD" and "cwd" in record:
        ecs["process.working_directory"] = record["cwd"]
    outcome = record.get("success") or record.get("res")
    if isinstance(outcome, str) and outcome in _OUTCOME:
        ecs["event.outcome"] = _OUTCOME[outcome]
    if rtype == "EXECVE" or (rtype == "SYSCALL" and _is_exec(record)):
        ecs["event.category"] = ["process"]
    elif rtype.startswith("USER_") or rtype in ("LOGIN", "CRED_ACQ", "CRED_DISP"):
        ecs["event.category"] = ["authentication"]
    if ecs.get("source.ip") in ("?", ""):
        del ecs["source.ip"]
    for numeric in ("process.pid", "process.parent.pid"):
        if isinstance(ecs.get(numeric), str) and ecs[numeric].isdigit():
            ecs[numeric] = int(ecs[numeric])
    add_process_names(ecs)
    # Sigma's auditd rules use the record's own key names (type, a0, exe, key, name, …).
    sigma = {k: v for k, v in record.items() if not k.startswith("_")}
    if "process.command_line" in ecs:
        sigma.setdefault("CommandLine", ecs["process.command_line"])
    return ecs, sigma, keys_for("linux", [], ["auditd"])


# execve/execveat syscall numbers by audit arch (x86_64, aarch64); ausearch -i writes names.
_EXEC_SYSCALLS = {"c000003e": {"59", "322"}, "c00000b7": {"221", "281"}}


def _is_exec(record: dict[str, Any]) -> bool:
    syscall = str(record.get("syscall", ""))
    if syscall in ("execve", "execveat"):
        return True
    return syscall in _EXEC_SYSCALLS.get(str(record.get("arch", "")), set())


def _argv(record: dict[str, Any]) -> list[str]:
    try:
        argc = int(record.get("argc", 0))
    except (TypeError, ValueError):
        argc = 0
    return [str(record[f"a{i}"]) for i in range(argc) if f"a{i}" in record]


def _copy(src: dict[str, Any], dst: dict[str, Any], names: dict[str, str]) -> None:
    for key, target in names.items():
        value = src.get(key)
        if value not in (None, "", "?", "(null)"):
            dst.setdefault(target, value)
