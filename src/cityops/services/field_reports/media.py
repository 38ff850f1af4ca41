"""Report photos: judged by their bytes, cleaned, re-encoded, thumbnailed, stored at random names.

Every photo goes through :func:`process_photo` before anything is written:

- the format is what Pillow finds in the bytes, never the file name or the declared type; only
  JPEG, PNG and WebP are accepted. A file whose name or declared type says one image format while
  its bytes hold another (a PNG renamed ``.jpg``) is refused: such a mismatch is how disguised
  files arrive, and the citizen can simply send the file under its real name;
- the byte size (10 MB) is checked before decoding and the pixel count (40 megapixels) from the
  header before the pixels are decoded, so a decompression bomb is refused cheaply;
- the EXIF orientation is applied, then the pixels are copied into a fresh image, so no metadata
  at all (EXIF with GPS, XMP, IPTC, ICC, text chunks) survives the re-encoding.

:func:`store_photos` writes the cleaned files and adds the ``fr_media`` rows; the caller commits
and, if the transaction fails, removes the written files with :func:`discard` so nothing is
left half-written.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from cityops.kernel.errors import Invalid
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.models import Media, Report
from cityops.services.field_reports.vocab import MEDIA_KINDS

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_PHOTOS = 5
THUMB_SIZE = (320, 320)
SUBDIR = "field_reports"
# Pillow format -> (content type, extension, file-name extensions that announce it)
FORMATS: dict[str, tuple[str, str, frozenset[str]]] = {
    "JPEG": ("image/jpeg", ".jpg", frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})),
    "PNG": ("image/png", ".png", frozenset({".png"})),
    "WEBP": ("image/webp", ".webp", frozenset({".webp"})),
}
IMAGE_EXTENSIONS = frozenset().union(*(exts for _, _, exts in FORMATS.values())) | {
    ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}


@dataclass(frozen=True)
class Photo:
    """A cleaned photo, ready to store."""

    data: bytes
    thumbnail: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _declared_format(filename: str, declared_type: str) -> str | None:
    """The image format the name or the declared type announces, if any."""
    suffix = Path(filename or "").suffix.lower()
    for fmt, (ctype, _, extensions) in FORMATS.items():
        if suffix in extensions or declared_type.lower() == ctype:
            return fmt
    return "OTHER" if suffix in IMAGE_EXTENSIONS else None


def N_(message: str) -> str:  # marks a message for extraction; translated where shown
    return message


class PhotoRefused(Invalid):
    """A refused photo; the message is a fixed msgid, the file name travels beside it."""

    def __init__(self, message: str, filename: str = "") -> None:
        super().__init__(message)
        self.filename = Path(filename or "").name


def _open(data: bytes, filename: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, OSError, ValueError):
        raise PhotoRefused(N_("the file is not an image; send a JPEG, PNG or WebP photo"),
                           filename) from None
    return image


def process_photo(data: bytes, filename: str = "", declared_type: str = "") -> Photo:
    """Check and clean one uploaded photo (see the module docstring); raises ``Invalid``."""
    if not data:
        raise PhotoRefused(N_("the file is empty"), filename)
    if len(data) > MAX_BYTES:
        raise PhotoRefused(N_("the photo is larger than 10 MB"), filename)
    image = _open(data, filename)
    fmt = image.format or ""
    if fmt not in FORMATS:
        raise PhotoRefused(N_("only JPEG, PNG and WebP photos are accepted"), filename)
    announced = _declared_format(filename, declared_type)
    if announced is not None and announced != fmt:
        raise PhotoRefused(N_("the file name or type does not match its content; send the "
                              "photo under its real name"), filename)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise PhotoRefused(N_("the photo has more than 40 megapixels; send a smaller one"),
                           filename)
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError):
        raise PhotoRefused(N_("the image is damaged or truncated"), filename) from None
    return _reencode(upright, fmt)


def _fresh(image: Image.Image, keep_alpha: bool) -> Image.Image:
    """The pixels alone, in a new image that carries none of the original's metadata."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or \
        (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if keep_alpha and has_alpha else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _reencode(image: Image.Image, fmt: str) -> Photo:
    ctype, extension, _ = FORMATS[fmt]
    clean = _fresh(image, keep_alpha=fmt != "JPEG")
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "WEBP", quality=85)
    thumb = clean.convert("RGB")
    thumb.thumbnail(THUMB_SIZE)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, "JPEG", quality=80)
    return Photo(out.getvalue(), thumb_out.getvalue(), ctype, extension, clean.width,
                 clean.height)


def media_root(media_dir: Path) -> Path:
    return Path(media_dir) / SUBDIR


def store_photos(uow: UnitOfWork, report: Report, photos: list[Photo], *, media_dir: Path,
                 kind: str = "before", uploaded_by: str = "") -> list[Path]:
    """Write the photos and add their rows; returns the written paths (for :func:`discard`)."""
    if kind not in MEDIA_KINDS:
        raise Invalid(f"kind must be one of: {', '.join(MEDIA_KINDS)}")
    existing = 0
    if report.id is not None:
        existing = uow.session.scalar(select(func.count()).select_from(Media).where(
            Media.report_id == report.id, Media.kind == kind)) or 0
    if existing + len(photos) > MAX_PHOTOS:
        raise Invalid(N_("at most 5 photos per report"))
    root = media_root(media_dir)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for photo in photos:
            name = secrets.token_urlsafe(18)
            main, thumb = root / f"{name}{photo.extension}", root / f"{name}.thumb.jpg"
            main.write_bytes(photo.data)
            written.append(main)
            thumb.write_bytes(photo.thumbnail)
            written.append(thumb)
            report.media.append(Media(
                kind=kind, stored_name=main.name, thumbnail_name=thumb.name,
                content_type=photo.content_type, size=len(photo.data), width=photo.width,
                height=photo.height, uploaded_by=uploaded_by[:120]))
    except OSError:
        discard(written)
        raise
    return written


def discard(paths: list[Path]) -> None:
    """Remove files written for a transaction that did not commit."""
    for path in paths:
        path.unlink(missing_ok=True)


def media_path(media_dir: Path, stored_name: str) -> Path | None:
    """The file for a stored name, refusing anything that is not a plain generated name."""
    if not stored_name or "/" in stored_name or "\\" in stored_name or \
            stored_name.startswith("."):
        return None
    path = media_root(media_dir) / stored_name
    return path if path.is_file() else None


def redacted_copy(path: Path) -> bytes:
    """A moderator redacted this photo: serve it pixelated beyond recognition, as a JPEG."""
    with Image.open(path) as image:
        small = image.convert("RGB").resize((12, max(1, 12 * image.height // image.width)))
        coarse = small.resize(image.size, Image.Resampling.NEAREST)
    out = io.BytesIO()
    coarse.save(out, "JPEG", quality=70)
    return out.getvalue()
