"""Photo handling: judged by content, metadata (GPS) stripped, orientation applied, limits."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from test_routing_helpers import new_report

from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid
from cityops.services.field_reports import media
from cityops.services.field_reports.models import Media, Report

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(width: int = 60, height: int = 30, orientation: int = 1) -> bytes:
    """A JPEG carrying GPS coordinates (Buôn Ma Thuột), a camera model and an orientation."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # The left half is blue so a rotation is visible in the pixels.
    image.paste((20, 40, 220), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x0110] = "Phone Camera X"  # Model
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (12.0, 40.0, 5.0), 3: "E", 4: (108.0, 2.0, 7.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (40, 40), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 10, 200) if mode == "RGBA" else (10, 120, 10)).save(out,
                                                                                          "PNG")
    return out.getvalue()


def test_gps_exif_is_stripped() -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test is real
    photo = media.process_photo(original, "IMG_0001.JPG", "image/jpeg")
    cleaned = Image.open(io.BytesIO(photo.data))
    assert cleaned.format == "JPEG" and photo.content_type == "image/jpeg"
    exif = cleaned.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    assert "exif" not in cleaned.info and "icc_profile" not in cleaned.info
    assert b"Phone Camera X" not in photo.data
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.format == "JPEG" and len(thumb.getexif()) == 0


def test_orientation_is_applied() -> None:
    # Orientation 6: the camera was turned; the viewer must rotate 90° clockwise.
    photo = media.process_photo(jpeg_with_gps(60, 30, orientation=6), "turned.jpg")
    assert (photo.width, photo.height) == (30, 60)
    cleaned = Image.open(io.BytesIO(photo.data)).convert("RGB")
    top, bottom = cleaned.getpixel((15, 5)), cleaned.getpixel((15, 55))
    assert top[2] > 150 and bottom[0] > 150  # the blue half is now on top


def test_png_keeps_its_format_and_alpha() -> None:
    photo = media.process_photo(png_bytes(), "sign.png", "image/png")
    assert photo.content_type == "image/png" and photo.extension == ".png"
    assert Image.open(io.BytesIO(photo.data)).mode == "RGBA"


def test_png_renamed_jpg_is_refused() -> None:
    with pytest.raises(Invalid, match="does not match its content"):
        media.process_photo(png_bytes(), "holiday.jpg", "image/jpeg")
    # The declared type alone also counts.
    with pytest.raises(Invalid, match="does not match its content"):
        media.process_photo(png_bytes(), "upload", "image/jpeg")


def test_non_image_is_refused() -> None:
    with pytest.raises(Invalid, match="not an image"):
        media.process_photo(b"%PDF-1.4 not a photo at all", "scan.jpg", "image/jpeg")
    with pytest.raises(Invalid, match="empty"):
        media.process_photo(b"", "nothing.jpg")


def test_other_image_formats_are_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(Invalid, match="only JPEG, PNG and WebP"):
        media.process_photo(out.getvalue(), "anim.gif")


def test_huge_image_is_refused_before_decoding() -> None:
    # 8000 × 6000 = 48 megapixels in a tiny file (one colour compresses to almost nothing).
    out = io.BytesIO()
    Image.new("L", (8000, 6000)).save(out, "PNG")
    assert len(out.getvalue()) < media.MAX_BYTES
    with pytest.raises(Invalid, match="more than 40 megapixels"):
        media.process_photo(out.getvalue(), "bomb.png")


def test_too_large_file_is_refused() -> None:
    with pytest.raises(Invalid, match="larger than 10 MB"):
        media.process_photo(b"\xff\xd8" + b"0" * media.MAX_BYTES, "big.jpg")


def test_truncated_image_is_refused() -> None:
    data = jpeg_with_gps(400, 300)
    with pytest.raises(Invalid, match="damaged or truncated"):
        media.process_photo(data[: len(data) // 2], "cut.jpg")


def test_store_writes_random_names_and_limits_count(demo_ctx: AppContext,
                                                    tmp_path: Path) -> None:
    report_id = new_report(demo_ctx).id
    photo = media.process_photo(jpeg_with_gps(), "a.jpg")
    with demo_ctx.uow() as uow:
        report = uow.session.get(Report, report_id)
        assert report is not None
        written = media.store_photos(uow, report, [photo] * 3, media_dir=tmp_path)
        uow.commit()
    assert len(written) == 6 and all(p.is_file() for p in written)
    with demo_ctx.db.session() as session:
        rows = session.scalars(select(Media).where(Media.report_id == report_id)).all()
    names = {r.stored_name for r in rows}
    # 18 random bytes, URL-safe: the citizen's file name never reaches the disk. (A random
    # name may well end in "a.jpg", so test the shape, not the absence of a substring.)
    assert len(names) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]{24}\.jpg", n) for n in names)
    assert all(media.media_path(tmp_path, r.thumbnail_name) for r in rows)
    with demo_ctx.uow() as uow:
        report = uow.session.get(Report, report_id)
        assert report is not None
        with pytest.raises(Invalid, match="at most 5 photos"):
            media.store_photos(uow, report, [photo] * 3, media_dir=tmp_path)
    assert len(list(media.media_root(tmp_path).iterdir())) == 6  # nothing half-written


def test_media_path_refuses_traversal(tmp_path: Path) -> None:
    assert media.media_path(tmp_path, "../secret") is None
    assert media.media_path(tmp_path, ".hidden") is None
    assert media.media_path(tmp_path, "missing.jpg") is None
