"""The pySigma-backend-sqlite reference: events flattened into one in-memory SQLite table.

Shared by tests/soc/test_differential.py (imported directly) and bench/soc_throughput.py (through
a sys.path entry), so the differential test and the benchmark baseline run the same reference:
every column TEXT COLLATE NOCASE, a Python REGEXP function, a full-text column holding the row's
values for keyword rules, an index on Channel/EventID, and rules converted with pySigma's Windows
logsource pipeline plus the Sysmon category -> EventID table. Flattening is written independently
of our engine's pipeline, from ../shared/data/soc-corpus/README.md.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from sigma.backends.sqlite import sqliteBackend
from sigma.pipelines.common import generate_windows_logsource_items
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation

FULLTEXT = "sigma_fulltext"  # reference column holding all values, for keyword rules

# Category -> Sysmon EventIDs, as in pySigma-pipeline-sysmon 2.0.0 (written out here because that
# package pins pySigma < 2); services -> Channel come from pySigma's own windows_logsource table.
SYSMON_EVENT_IDS: dict[str, int | list[int]] = {
    "process_creation": 1, "file_change": 2, "network_connection": 3, "sysmon_status": [4, 16],
    "process_termination": 5, "driver_load": 6, "image_load": 7, "create_remote_thread": 8,
    "raw_access_thread": 9, "process_access": 10, "file_event": 11, "registry_add": 12,
    "registry_delete": 12, "registry_set": 13, "registry_rename": 14,
    "registry_event": [12, 13, 14], "create_stream_hash": 15, "pipe_created": [17, 18],
    "wmi_event": [19, 20, 21], "dns_query": 22, "file_delete": 23, "clipboard_capture": 24,
    "process_tampering": 25, "file_delete_detected": 26, "file_block_executable": 27,
    "file_block_shredding": 28, "file_executable_detected": 29, "sysmon_error": 255,
}


def windows_pipeline_items() -> list[ProcessingItem]:
    """Conditions on Channel (pySigma's windows logsource table) and on Sysmon's EventIDs."""
    items = list(generate_windows_logsource_items("Channel", "{source}"))
    for cat, ids in SYSMON_EVENT_IDS.items():
        cond = [LogsourceCondition(category=cat, product="windows")]
        items.append(ProcessingItem(
            AddConditionTransformation({"EventID": ids,
                                        "Channel": "Microsoft-Windows-Sysmon/Operational"}),
            rule_conditions=cond, identifier=f"sysmon_{cat}"))  # type: ignore[arg-type]
    return items


def reference_backend(items: list[ProcessingItem]) -> sqliteBackend:
    """The backend as the reference runs it: case-insensitive columns, full-text column."""
    return sqliteBackend(ProcessingPipeline(items=items), collate_nocase=True,
                         fulltext_field=FULLTEXT)


def sql_value(value: Any) -> Any:
    """A JSON value as SQLite stores it: booleans as text, huge ints as text, nesting as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def flat_row(raw: dict[str, Any]) -> dict[str, Any]:
    """One event as a row: names without spaces, the first of names equal but for case wins,
    values already as SQLite stores them (sql_value). Windows events: EventData/UserData
    (named <Data> items by Name, an unnamed one as Data), then System with attributes as
    <element>_<attribute>. Rows without "Event" (syslog) are flat already and are tagged with
    product and services here, as a log shipper would."""
    row: dict[str, Any] = {}
    seen: set[str] = set()

    def put(key: str, value: Any) -> None:
        key = key.replace(" ", "")
        if key.lower() not in seen:
            seen.add(key.lower())
            row[key] = sql_value(value)

    def data(section: Any) -> None:
        if not isinstance(section, dict):
            return
        for k, v in section.items():
            if k == "Data" and isinstance(v, list) and all(isinstance(x, dict) for x in v):
                for item in v:
                    if "Name" in item.get("#attributes", {}):
                        put(item["#attributes"]["Name"], item.get("#text"))
            elif k == "Data" and isinstance(v, dict) and "#text" in v:
                put("Data", v["#text"])
            elif isinstance(v, dict):
                data(v)
            elif not k.startswith("#"):
                put(k, v)

    ev = raw.get("Event")
    if not isinstance(ev, dict):
        for k, v in raw.items():
            put(k, v)
        sshd = str(raw.get("process", "")).startswith("sshd")
        put("product", "linux")
        put("services", "|syslog|auth|sshd|" if sshd else "|syslog|")
        return row
    data(ev.get("EventData"))
    data(ev.get("UserData"))
    for k, v in (ev.get("System") or {}).items():
        if isinstance(v, dict):
            if "#text" in v:
                put(k, v["#text"])
            for ak, av in v.get("#attributes", {}).items():
                put(f"{k}_{ak}", av)
        else:
            put(k, v)
    return row


def _regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def reference_db(events: Iterable[dict[str, Any]], fulltext: bool = True) -> sqlite3.Connection:
    """The table "logs", one row per event in order (rowid - 1 is the event's index), streamed:
    a column is added the first time an event has it. fulltext=False leaves the full-text
    column NULL (no rule needs it), which saves the join on every row."""
    conn = sqlite3.connect(":memory:", cached_statements=4096)
    conn.create_function("REGEXP", 2, _regexp, deterministic=True)
    conn.execute(f'CREATE TABLE logs ("{FULLTEXT}" TEXT COLLATE NOCASE)')
    have = {FULLTEXT}
    inserts: dict[tuple[str, ...], str] = {}  # one INSERT per set of columns seen
    for event in events:
        row = flat_row(event)
        cols = tuple(row)
        sql = inserts.get(cols)
        if sql is None:
            add_columns(conn, have, cols)
            names = ", ".join(f'"{c}"' for c in (*cols, FULLTEXT))
            sql = inserts[cols] = (f"INSERT INTO logs ({names}) VALUES "
                                   f"({', '.join('?' * (len(cols) + 1))})")
        vals = list(row.values())
        text = "\x1f".join(str(v) for v in vals if v is not None) if fulltext else None
        conn.execute(sql, (*vals, text))
    add_columns(conn, have, ["Channel", "EventID"])  # the index needs them
    conn.execute("CREATE INDEX logs_channel ON logs (Channel, EventID)")
    return conn


def add_columns(conn: sqlite3.Connection, have: set[str], names: Iterable[str]) -> None:
    """Add the columns not yet in ``have`` (lower-case names; SQLite ignores case in them)."""
    for name in names:
        if name.lower() not in have:
            conn.execute(f'ALTER TABLE logs ADD COLUMN "{name}" TEXT COLLATE NOCASE')
            have.add(name.lower())


def table_columns(conn: sqlite3.Connection) -> set[str]:
    """The lower-case names of the columns of "logs"."""
    return {r[1].lower() for r in conn.execute("PRAGMA table_info(logs)")}


def rule_hits(conn: sqlite3.Connection, queries: list[str]) -> set[int]:
    """Indices of the events that any of a converted rule's queries selects."""
    hits: set[int] = set()
    for q in queries:
        hits.update(i for (i,) in conn.execute(
            q.replace("SELECT * FROM", "SELECT rowid - 1 FROM", 1)))
    return hits
