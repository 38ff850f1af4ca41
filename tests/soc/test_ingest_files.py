"""File readers: JSON Lines, Wazuh alerts.json, Windows EVTX; whole-file refusals and per-record
quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cityops.services.soc.ingest import MAX_EVENT_BYTES, IngestedEvent, Quarantined
from cityops.services.soc.ingest.files import IngestFileError, read_file

DATA = Path(__file__).parent / "data" / "ingest"


def test_jsonl_mixed_kinds_with_bad_records_quarantined(tmp_path: Path) -> None:
    ecs = (DATA / "ecs.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "events.jsonl"
    path.write_bytes("\n".join([ecs[0], "{broken", "", "[1]", ecs[1]]).encode() + b"\r\n"
                     + b'{"message": "\xff"}\n')
    got = list(read_file(path, source="upload"))
    assert [type(g).__name__ for g in got] == [
        "IngestedEvent", "Quarantined", "Quarantined", "IngestedEvent", "Quarantined"]
    assert all(g.source == "upload" for g in got)
    assert got[0].fields["process.name"] == "base64"  # type: ignore[union-attr]
    assert "Invalid JSON" in got[1].reason  # type: ignore[union-attr]
    assert "not list" in got[2].reason  # type: ignore[union-attr]
    assert "UTF-8" in got[4].reason  # type: ignore[union-attr]


def test_jsonl_huge_line_is_quarantined_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    huge = json.dumps({"@timestamp": "2026-11-29T00:00:00Z", "message": "A" * (3 << 20)})
    ecs = (DATA / "ecs.jsonl").read_text(encoding="utf-8").splitlines()[0]
    path.write_text(huge + "\n" + ecs + "\n", encoding="utf-8")
    first, second = read_file(path, "jsonl")
    assert isinstance(first, Quarantined) and f"over the {MAX_EVENT_BYTES}-byte" in first.reason
    assert str(len(huge) + 1) in first.reason and len(first.raw) == MAX_EVENT_BYTES
    assert isinstance(second, IngestedEvent)


def test_wazuh_alerts_file() -> None:
    got = list(read_file(DATA / "wazuh-alerts.json", "wazuh"))
    assert len(got) == 3 and all(isinstance(g, IngestedEvent) for g in got)
    assert [g.fields["rule.id"] for g in got] == ["5716", "92052", "31101"]  # type: ignore
    assert got[1].sigma["Image"].endswith("\\certutil.exe")  # type: ignore[union-attr]


def test_wazuh_format_refuses_a_file_of_other_json(tmp_path: Path) -> None:
    with pytest.raises(IngestFileError, match=r"not a Wazuh alerts\.json file"):
        read_file(DATA / "ecs.jsonl", "wazuh")
    # Inside a real alerts file, a record without rule/agent is quarantined, not fatal.
    path = tmp_path / "alerts.json"
    lines = (DATA / "wazuh-alerts.json").read_text(encoding="utf-8").splitlines()
    path.write_text(lines[0] + "\n" + '{"full_log": "x"}\n', encoding="utf-8")
    good, bad = read_file(path, "wazuh")
    assert isinstance(good, IngestedEvent) and isinstance(bad, Quarantined)
    assert "rule" in bad.reason


def test_files_that_are_not_their_format_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Nov 29 10:00:00 h sshd[1]: hello\n", encoding="utf-8")
    with pytest.raises(IngestFileError, match="not a JSON Lines file"):
        read_file(text)
    with pytest.raises(IngestFileError, match="not a Windows EVTX file"):
        read_file(DATA / "ecs.jsonl", "evtx")
    fake = tmp_path / "fake.evtx"
    fake.write_bytes(b"ElfFile\x00" + b"\x00" * 200)
    with pytest.raises(IngestFileError, match="is a Windows EVTX file, not a JSON Lines"):
        read_file(fake, "jsonl")
    with pytest.raises(IngestFileError, match="EVTX file cannot be parsed"):
        list(read_file(fake))
    with pytest.raises(IngestFileError, match="no such file"):
        read_file(tmp_path / "missing.jsonl")
    with pytest.raises(IngestFileError, match="unknown format"):
        read_file(text, "csv")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert list(read_file(empty)) == []
