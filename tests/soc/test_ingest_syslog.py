"""Syslog parsing (RFC 5424, RFC 3164) and TCP framing (RFC 6587)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cityops.services.soc.ingest.syslog import (
    Rfc6587Decoder,
    SyslogError,
    parse_syslog,
    parse_timestamp,
)

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 10:00 in Asia/Ho_Chi_Minh
VN = timezone(timedelta(hours=7))


def test_rfc5424_full_header_structured_data_and_bom() -> None:
    line = ('<165>1 2026-11-29T09:59:01.123+07:00 mymachine.example.com evntslog 4711 ID47 '
            '[exampleSDID@32473 iut="3" eventSource="Appl\\"ic\\]at\\\\ion"][meta seq="7"] '
            '\ufeffAn application event log entry').encode()
    msg = parse_syslog(line)
    assert (msg.rfc, msg.facility, msg.severity) == (5424, 20, 5)
    assert (msg.facility_name, msg.severity_name) == ("local4", "notice")
    assert msg.timestamp == datetime(2026, 11, 29, 2, 59, 1, 123000, tzinfo=UTC)
    assert (msg.hostname, msg.app_name, msg.procid, msg.msgid) == (
        "mymachine.example.com", "evntslog", "4711", "ID47")
    assert msg.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'Appl"ic]at\\ion'},
        "meta": {"seq": "7"},
    }
    assert msg.message == "An application event log entry"


def test_rfc5424_nil_values_and_no_message() -> None:
    msg = parse_syslog("<34>1 - - - - - -")
    assert (msg.facility, msg.severity) == (4, 2)
    assert msg.timestamp is None
    assert (msg.hostname, msg.app_name, msg.procid, msg.msgid) == (None, None, None, None)
    assert msg.structured_data == {} and msg.message == ""


def test_rfc5424_zulu_time_with_nanoseconds() -> None:
    msg = parse_syslog("<13>1 2026-11-29T01:02:03.123456Z h app - - - hi")
    assert msg.timestamp == datetime(2026, 11, 29, 1, 2, 3, 123456, tzinfo=UTC)
    assert msg.message == "hi"


@pytest.mark.parametrize(("line", "reason"), [
    ("<192>1 - - - - - - x", "PRI"),
    ("<01>Nov 29 10:00:00 h a: x", "PRI"),
    ("<abc>hello", "malformed PRI"),
    ("<13>1 2026-99-29T01:02:03Z h a - - - x", "timestamp"),
    ("<13>1 2026-11-29T01:02:03 h a - - - x", "time zone"),
    ("<13>1 - h a - -", "incomplete"),
    ('<13>1 - h a - - [id x="1" x', "not closed"),
    ("<13>1 - h a - - nosd", "structured data"),
    ('<13>1 - h a - - [id x="1"]junk', "followed by a space"),
    ("", "empty"),
    ("just words with no header", "no syslog header"),
])
def test_malformed_messages_say_why(line: str, reason: str) -> None:
    with pytest.raises(SyslogError, match=reason):
        parse_syslog(line, now=NOW)


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(SyslogError, match="UTF-8"):
        parse_syslog(b"<13>Nov 29 10:00:00 h a: \xff\xfe")


def test_rfc3164_with_pri_host_tag_pid_and_default_zone() -> None:
    msg = parse_syslog("<38>Nov 29 09:59:01 web01 sshd[2211]: Failed password for root",
                       now=NOW)
    assert (msg.rfc, msg.facility_name, msg.severity_name) == (3164, "auth", "info")
    assert msg.timestamp == datetime(2026, 11, 29, 9, 59, 1, tzinfo=VN)
    assert (msg.hostname, msg.app_name, msg.procid) == ("web01", "sshd", "2211")
    assert msg.message == "Failed password for root"


def test_rfc3164_file_line_without_pri_and_single_digit_day() -> None:
    msg = parse_syslog("Nov  9 08:00:00 combo sshd(pam_unix)[19937]: check pass; user unknown",
                       now=NOW)
    assert msg.facility is None and msg.severity is None
    assert msg.timestamp == datetime(2026, 11, 9, 8, 0, tzinfo=VN)
    assert (msg.hostname, msg.app_name, msg.procid) == ("combo", "sshd(pam_unix)", "19937")


def test_rfc3164_year_rolls_back_for_a_december_line_read_in_january() -> None:
    january = datetime(2027, 1, 2, 1, 0, tzinfo=UTC)
    assert parse_syslog("Dec 31 23:59:59 h cron: x", now=january).timestamp.year == 2026
    assert parse_syslog("Jan  2 07:00:00 h cron: x", now=january).timestamp.year == 2027


def test_rfc3164_explicit_year_iso_time_missing_host_and_missing_tag() -> None:
    with_year = parse_syslog("<13>Nov 29 2024 10:00:00 h app: x", now=NOW)
    assert with_year.timestamp == datetime(2024, 11, 29, 10, 0, tzinfo=VN)
    iso = parse_syslog("<13>2026-11-29T10:00:00.5+00:00 host1 app[9]: hello", now=NOW)
    assert iso.timestamp == datetime(2026, 11, 29, 10, 0, 0, 500000, tzinfo=UTC)
    assert (iso.hostname, iso.app_name, iso.procid, iso.message) == ("host1", "app", "9", "hello")
    local = parse_syslog("<13>Nov 29 10:00:00 sshd[1]: no host here", now=NOW)
    assert (local.hostname, local.app_name, local.message) == (None, "sshd", "no host here")
    bare = parse_syslog("<13>kernel panic without a timestamp", now=NOW)
    assert bare.timestamp is None and bare.message == "kernel panic without a timestamp"
    with pytest.raises(SyslogError, match="timestamp"):
        parse_syslog("Feb 30 10:00:00 h a: x", now=NOW)


def test_parse_timestamp_alone() -> None:
    assert parse_timestamp("Dec 10 06:55:46", now=NOW) == datetime(2025, 12, 10, 6, 55, 46,
                                                                   tzinfo=VN)
    assert parse_timestamp("2026-11-29T01:00:00Z") == datetime(2026, 11, 29, 1, tzinfo=UTC)
    with pytest.raises(SyslogError):
        parse_timestamp("yesterday")


def _feed_all(decoder: Rfc6587Decoder, chunks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def test_newline_framing_with_crlf_blank_lines_and_last_line_without_lf() -> None:
    stream = b"<13>one\r\n\n<13>two\n<13>three"
    assert _feed_all(Rfc6587Decoder(), [stream]) == [b"<13>one", b"<13>two", b"<13>three"]


def test_octet_counting_keeps_embedded_newlines() -> None:
    frame = b"<13>1 - h a - - - line1\nline2"
    stream = str(len(frame)).encode() + b" " + frame
    assert _feed_all(Rfc6587Decoder(), [stream * 2]) == [frame, frame]


def test_mixed_framing_in_one_stream_split_at_every_byte() -> None:
    a, b, c = b"<13>1 - h a - - - counted", b"<14>Nov 29 10:00:00 h a: newline", b"<15>x\ny"
    stream = (str(len(a)).encode() + b" " + a + b + b"\n"
              + str(len(c)).encode() + b" " + c + b"<12>tail\n")
    expected = [a, b, c, b"<12>tail"]
    assert _feed_all(Rfc6587Decoder(), [stream]) == expected
    for cut in range(1, len(stream)):  # every possible split into two reads
        assert _feed_all(Rfc6587Decoder(), [stream[:cut], stream[cut:]]) == expected
    assert _feed_all(Rfc6587Decoder(), [bytes([x]) for x in stream]) == expected


def test_oversized_frames_are_counted_and_skipped_both_framings() -> None:
    decoder = Rfc6587Decoder(max_frame=16)
    big_counted = b"40 " + b"A" * 40
    big_line = b"B" * 50 + b"\n"
    got = _feed_all(decoder, [b"<13>ok1\n", big_counted[:10], big_counted[10:], b"<13>ok2\n",
                              big_line[:20], big_line[20:], b"<13>ok3\n"])
    assert got == [b"<13>ok1", b"<13>ok2", b"<13>ok3"]
    assert decoder.oversized == 2


def test_oversized_line_in_one_read_and_digits_that_are_not_a_count() -> None:
    decoder = Rfc6587Decoder(max_frame=8)
    assert decoder.feed(b"C" * 30 + b"\n<1>ok\n") == [b"<1>ok"]
    assert decoder.oversized == 1
    # "2026-…" starts with digits but has no space after them: a newline frame, not a count.
    assert Rfc6587Decoder().feed(b"2026-11-29T10:00:00Z host x\n") == [
        b"2026-11-29T10:00:00Z host x"]
    assert Rfc6587Decoder().feed(b"12a <13>x\n") == [b"12a <13>x"]
