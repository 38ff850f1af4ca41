"""Event files: JSON Lines, Wazuh alerts.json and Windows .evtx, one result per record.

A file that is not what its format says is refused as a whole (IngestFileError, raised when
read_file is called); a bad record inside a good file becomes a Quarantined and reading goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .records import MAX_EVENT_BYTES, IngestedEvent, Quarantined, normalise, utc

FORMATS = ("auto", "jsonl", "wazuh", "evtx")
EVTX_MAGIC = b"ElfFile\x00"
Result = IngestedEvent | Quarantined


class IngestFileError(Exception):
    """The file cannot be read as the format asked for; the message says why."""


def read_file(path: str | Path, format: str = "auto", *, source: str = "file"
              ) -> Iterator[Result]:
    """Validate the file now, then yield one IngestedEvent or Quarantined per record."""
    path = Path(path)
    if format not in FORMATS:
        raise IngestFileError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise IngestFileError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise IngestFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    if format == "auto":
        format = "evtx" if head.startswith(EVTX_MAGIC) else "jsonl"
    if format == "evtx":
        return _read_evtx(path, head, source)
    _check_json_lines(path, head, wazuh=format == "wazuh")
    return _read_lines(path, "wazuh" if format == "wazuh" else "auto", source)


def _check_json_lines(path: Path, head: bytes, *, wazuh: bool) -> None:
    what = "a Wazuh alerts.json file" if wazuh else "a JSON Lines file"
    if head.startswith(EVTX_MAGIC):
        raise IngestFileError(f"{path}: is a Windows EVTX file, not {what}")
    first = next((line.strip() for line in head.split(b"\n") if line.strip()), b"")
    if not first:
        return  # an empty file is a valid, empty JSON Lines file
    if not first.lstrip(b"\xef\xbb\xbf").startswith(b"{"):
        raise IngestFileError(f"{path}: is not {what} (the first line is not a JSON object)")
    if wazuh and b"\n" in head:
        try:
            obj = json.loads(first)
        except ValueError:
            return  # the record itself is quarantined with its own reason
        if not (isinstance(obj, dict) and isinstance(obj.get("rule"), dict)
                and isinstance(obj.get("agent"), dict)):
            raise IngestFileError(f"{path}: is not {what} (the first record has no rule/agent)")


def _read_lines(path: Path, kind: str, source: str) -> Iterator[Result]:
    with path.open("rb") as fh:
        while True:
            line = fh.readline(MAX_EVENT_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_EVENT_BYTES and not line.endswith(b"\n"):
                size = len(line) + _skip_rest_of_line(fh)
                yield Quarantined(line[:MAX_EVENT_BYTES].decode("utf-8", "replace"), source,
                                  utc(None), f"Event is {size} bytes, over the "
                                  f"{MAX_EVENT_BYTES}-byte limit")
                continue
            if line.strip():
                yield normalise(line.rstrip(b"\r\n"), source=source, kind=kind)


def _skip_rest_of_line(fh: BinaryIO) -> int:
    """Read past a huge line in bounded chunks; returns how many more bytes it had."""
    skipped = 0
    while True:
        chunk = fh.readline(1 << 20)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _read_evtx(path: Path, head: bytes, source: str) -> Iterator[Result]:
    if not head.startswith(EVTX_MAGIC):
        raise IngestFileError(f"{path}: is not a Windows EVTX file (no 'ElfFile' header)")
    try:
        from evtx import PyEvtxParser
    except ImportError as exc:  # a declared dependency; say so plainly if it is missing
        raise IngestFileError("reading .evtx needs the 'evtx' package") from exc
    try:
        parser = PyEvtxParser(str(path), number_of_threads=1)
        records = iter(parser.records_json())
    except (OSError, RuntimeError, ValueError) as exc:
        raise IngestFileError(f"{path}: EVTX file cannot be parsed ({exc})") from exc
    return _evtx_records(records, source)


def _evtx_records(records: Iterator[dict[str, object]], source: str) -> Iterator[Result]:
    failures_in_a_row = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (OSError, RuntimeError, ValueError) as exc:
            # A damaged record: report it and try the next; a run of them means the rest is lost.
            yield Quarantined("", source, utc(None), f"EVTX record cannot be read: {exc}")
            failures_in_a_row += 1
            if failures_in_a_row >= 100:
                return
            continue
        failures_in_a_row = 0
        data = record.get("data")
        if not isinstance(data, str):
            yield Quarantined(repr(record)[:1000], source, utc(None), "EVTX record has no data")
            continue
        yield normalise(data, source=source, kind="windows")

