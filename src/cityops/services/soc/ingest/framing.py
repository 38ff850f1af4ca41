"""RFC 6587 framing: syslog messages out of a TCP byte stream."""

from __future__ import annotations


class Rfc6587Decoder:
    """Split a TCP syslog byte stream into messages (RFC 6587).

    Octet-counted frames ("LEN SP MSG") and newline-delimited ones may be mixed in one stream,
    and reads may end anywhere. A frame over ``max_frame`` bytes is skipped and counted, so one
    bad sender cannot grow the buffer without bound.
    """

    def __init__(self, max_frame: int = 64 * 1024) -> None:
        self.max_frame = max_frame
        self.oversized = 0
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized octet-counted frame still to discard
        self._skip_line = False  # discarding an oversized newline frame up to its LF

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        self._buf += data
        while self._buf:
            if self._skip:
                n = min(self._skip, len(self._buf))
                del self._buf[:n]
                self._skip -= n
                continue
            if self._skip_line:
                lf = self._buf.find(b"\n")
                if lf < 0:
                    self._buf.clear()
                    break
                del self._buf[: lf + 1]
                self._skip_line = False
                continue
            if self._buf[:1] in (b"\n", b"\r", b" ", b"\x00"):
                del self._buf[:1]  # blank lines / padding between frames
                continue
            if self._buf[:1].isdigit():
                got = self._octet_counted()
                if got is None:
                    break
                if got is not False:
                    frames.append(got)
                    continue
            got_line = self._line()
            if got_line is None:
                break
            frames.append(got_line)
        return [f for f in frames if f]

    def flush(self) -> list[bytes]:
        """End of stream: a last newline frame may lack its LF."""
        rest = b"" if (self._skip or self._skip_line) else bytes(self._buf).rstrip(b"\r\n\x00")
        self._buf.clear()
        self._skip, self._skip_line = 0, False
        return [rest] if rest.strip() else []

    def _octet_counted(self) -> bytes | bool | None:
        """A frame; None = need more bytes; False = not octet counting after all."""
        space = self._buf.find(b" ", 0, 11)
        digits = bytes(self._buf[: space if space >= 0 else 11])
        if space < 0:
            return None if len(self._buf) < 11 and digits.isdigit() else False
        if not digits.isdigit():
            return False
        length = int(digits)
        start = space + 1
        if length > self.max_frame:
            self.oversized += 1
            del self._buf[:start]
            self._skip = length
            return b""
        if len(self._buf) < start + length:
            return None
        frame = bytes(self._buf[start: start + length])
        del self._buf[: start + length]
        return frame

    def _line(self) -> bytes | None:
        lf = self._buf.find(b"\n")
        if lf < 0:
            if len(self._buf) > self.max_frame:
                self.oversized += 1
                self._buf.clear()
                self._skip_line = True
            return None
        if lf > self.max_frame:
            self.oversized += 1
            del self._buf[: lf + 1]
            return b""
        frame = bytes(self._buf[:lf]).rstrip(b"\r")
        del self._buf[: lf + 1]
        return frame
