"""Files attached to warning-ticket answers: checked by content, stored under a random name.

The scanned official letter an agency attaches is kept under ``media_dir/alerts/`` as
``<random token>.<ext>``. The user's file name is only ever a label: it never reaches the
file system, so a crafted name cannot choose where (or as what) the file lands.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from starlette.responses import FileResponse

from cityops.kernel.errors import Invalid, NotFound

MAX_BYTES = 10 * 1024 * 1024
MAX_NAME = 120
SUBDIR = "alerts"
REFUSAL = "only PDF, PNG, JPEG, DOCX or XLSX files up to 10 MB are accepted"

# extension -> (content type, other extensions people use for the same type)
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", ()),
    "png": ("image/png", ()),
    "jpg": ("image/jpeg", ("jpeg",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ()),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ()),
}
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


class FileRefused(Invalid):
    """Not an accepted type, empty, or too big (HTTP 400)."""


class FileTooLarge(FileRefused):
    """Over MAX_BYTES; the web layer answers 413."""


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to media_dir, POSIX separators
    name: str
    content_type: str
    size: int
    sha256: str


def _office_kind(data: bytes) -> str | None:
    # The ZIP magic alone would let any archive in; the central directory must describe an
    # Office Open XML package. Only names are listed, nothing is decompressed.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    return None


def sniff(data: bytes) -> str | None:
    """The accepted extension the content is, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return None


def clean_name(filename: str, ext: str) -> str:
    """A display/download label: no path, no control or header-breaking characters.

    The extension is made to match the detected content so a PNG sent as "scan.pdf" is
    downloaded as "scan.png" and opens in the right program.
    """
    base = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    base = " ".join(_UNSAFE_NAME.sub("_", base).split()).strip(" .")
    stem, dot, given_ext = base.rpartition(".")
    if not dot:
        stem, given_ext = base, ""
    keep = given_ext.lower() if given_ext.lower() in (ext, *TYPES[ext][1]) else ext
    stem = stem.strip(" .") or "attachment"
    return f"{stem[: MAX_NAME - len(keep) - 1]}.{keep}"


def read_upload(stream: BinaryIO) -> bytes:
    """Read at most MAX_BYTES + 1 bytes: enough to tell "too big" without holding more."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise FileTooLarge(REFUSAL)
    return data


def store_attachment(media_dir: Path, filename: str, data: bytes) -> StoredFile:
    if not data or len(data) > MAX_BYTES:
        raise (FileTooLarge if data else FileRefused)(REFUSAL)
    ext = sniff(data)
    if ext is None:
        raise FileRefused(REFUSAL)
    folder = Path(media_dir) / SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{SUBDIR}/{secrets.token_hex(16)}.{ext}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # Readers only ever see the complete file, or none.
        os.replace(tmp, Path(media_dir) / relative)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return StoredFile(path=relative, name=clean_name(filename, ext),
                      content_type=TYPES[ext][0], size=len(data),
                      sha256=hashlib.sha256(data).hexdigest())


def _inside(media_dir: Path, relative: str) -> Path:
    root = (Path(media_dir) / SUBDIR).resolve()
    target = (Path(media_dir) / relative).resolve()
    # The path comes from our own database, but a bad row must not serve /etc/passwd.
    if target.parent != root:
        raise NotFound("the attached file is not in the media store")
    return target


def discard(media_dir: Path, stored: StoredFile) -> None:
    """Remove a file whose answer was not saved, so no orphan stays behind."""
    _inside(media_dir, stored.path).unlink(missing_ok=True)


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback for old clients, filename* keeps the Vietnamese name."""
    decomposed = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(c for c in decomposed if c.isascii() and not unicodedata.combining(c))
    ascii_name = ascii_name.replace('"', "").replace("\\", "") or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(media_dir: Path, relative: str, name: str, content_type: str) -> FileResponse:
    if not relative:
        raise NotFound("this warning ticket has no attached file")
    path = _inside(media_dir, relative)
    if not path.is_file():
        raise NotFound("the attached file is missing from the media store")
    return FileResponse(path, media_type=content_type or "application/octet-stream",
                        headers={"Content-Disposition": content_disposition(name),
                                 "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "private, no-store"})
