"""Files attached to warning-ticket answers: type by content, random names, scoped downloads."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import browser_login, csrf_of
from fastapi.testclient import TestClient

from cityops.alerts.attachments import MAX_BYTES, REFUSAL, store_attachment
from cityops.alerts.models import Alert
from cityops.kernel.context import AppContext
from cityops.kernel.errors import Invalid

Headers = Callable[[str], dict[str, str]]
ALERTS = "/api/v1/alerts"
OWN, OTHER = "so-nnmt", "so-yt"  # the officer of the addressed agency, and a foreign one
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|png|jpg|docx|xlsx)$")


def office(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.fixture
def media(demo_ctx: AppContext, tmp_path: Path) -> Path:
    demo_ctx.settings.media_dir = tmp_path / "media"  # Settings is a mutable pydantic model
    return demo_ctx.settings.media_dir


def stored_files(media: Path) -> list[Path]:
    """Everything under the media store, temporary files included."""
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def new_ticket(client: TestClient, auth_headers: Headers, key: str = "ticket-file") -> int:
    response = client.post(ALERTS, headers=auth_headers("operator"), json={
        "dedupe_key": key, "service": "public_services", "category": "Other",
        "severity": "warning", "agency_code": "SO-NNMT", "is_ticket": True,
        "title": "Phiếu cảnh báo: hồ sơ trễ hạn"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def answer(client: TestClient, headers: dict[str, str], ticket: int, name: str, data: bytes,
           response: str = "Đã xử lý, xem công văn", attachment: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"{ALERTS}/{ticket}/ticket/answer-with-file", headers=headers,
                       data={"response": response, "attachment": attachment},
                       files={"file": (name, data, "application/octet-stream")})


def download_name(disposition: str) -> str:
    found = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert found, disposition
    return unquote(found.group(1))


# -- the store on its own ---------------------------------------------------------------------

@pytest.mark.parametrize(("data", "ext", "content_type"), [
    (PDF, "pdf", "application/pdf"),
    (PNG, "png", "image/png"),
    (JPEG, "jpg", "image/jpeg"),
    (office("[Content_Types].xml", "word/document.xml"), "docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (office("[Content_Types].xml", "xl/workbook.xml"), "xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_accepted_types_are_told_by_content(tmp_path: Path, data: bytes, ext: str,
                                            content_type: str) -> None:
    stored = store_attachment(tmp_path, "../../etc/tệp\x00 \"lạ\".bin", data)
    assert (stored.content_type, stored.size) == (content_type, len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.path.startswith("alerts/") and STORED_NAME.match(stored.path.split("/")[1])
    assert stored.path.endswith(f".{ext}") and (tmp_path / stored.path).read_bytes() == data
    assert "/" not in stored.name and "\x00" not in stored.name and '"' not in stored.name
    assert stored.name.startswith("tệp") and stored.name.endswith(f".{ext}")


@pytest.mark.parametrize("data", [
    b"", b"just text, named .pdf", b"PK\x03\x04 not really a zip",
    office("readme.txt", "photo.png"),  # an ordinary archive
    office("[Content_Types].xml", "ppt/presentation.xml"),  # OOXML, but not DOCX or XLSX
    office("word/document.xml"),  # no [Content_Types].xml: not an Office package
    b"%PDF-" + b"x" * MAX_BYTES,
])
def test_other_content_is_refused_and_nothing_stays(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(Invalid, match=REFUSAL):
        store_attachment(tmp_path, "a.pdf", data)
    assert stored_files(tmp_path) == []


def test_long_names_are_cut_keeping_the_extension(tmp_path: Path) -> None:
    stored = store_attachment(tmp_path, "Công văn " * 40 + ".PDF", PDF)
    assert len(stored.name) == 120 and stored.name.endswith("văn.pdf")


# -- the API ----------------------------------------------------------------------------------

def test_pdf_answer_is_stored_and_downloaded_within_the_agency(
        client: TestClient, auth_headers: Headers, demo_ctx: AppContext, media: Path) -> None:
    ticket = new_ticket(client, auth_headers)
    name = "Công văn số 123-SYT (bản scan).pdf"
    answered = answer(client, auth_headers(OWN), ticket, name, PDF,
                      attachment="Công văn số 123/SYT")
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "resolved"

    files = stored_files(media)
    assert len(files) == 1 and files[0].parent == media / "alerts"
    assert STORED_NAME.match(files[0].name) and files[0].read_bytes() == PDF
    digest = hashlib.sha256(PDF).hexdigest()
    with demo_ctx.db.session() as session:
        row = session.get(Alert, ticket)
        assert row is not None
        assert (row.ticket_file_path, row.ticket_file_name, row.ticket_file_type) == \
            (f"alerts/{files[0].name}", name, "application/pdf")
        assert (row.ticket_file_size, row.ticket_file_sha256) == (len(PDF), digest)
        assert row.ticket_attachment == "Công văn số 123/SYT"
        event = row.events[-1]
        assert event.data["file"] == {"name": name, "size": len(PDF), "sha256": digest}

    detail = client.get(f"{ALERTS}/{ticket}", headers=auth_headers("operator")).json()
    assert detail["ticket_file"]["sha256"] == digest
    assert detail["ticket_attachment"] == "Công văn số 123/SYT"

    for reader in ("operator", OWN):
        got = client.get(detail["ticket_file"]["url"], headers=auth_headers(reader))
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert download_name(got.headers["content-disposition"]) == name
    foreign = client.get(f"{ALERTS}/{ticket}/ticket/file", headers=auth_headers(OTHER))
    assert foreign.status_code == 403


def test_type_comes_from_the_content_not_the_name(
        client: TestClient, auth_headers: Headers, demo_ctx: AppContext, media: Path) -> None:
    text_ticket = new_ticket(client, auth_headers, "ticket-text")
    refused = answer(client, auth_headers(OWN), text_ticket, "bao-cao.pdf", b"plain text")
    assert refused.status_code == 400 and refused.json()["detail"] == REFUSAL
    assert stored_files(media) == []
    with demo_ctx.db.session() as session:
        assert session.get(Alert, text_ticket).ticket_answered_at is None  # type: ignore[union-attr]

    png_ticket = new_ticket(client, auth_headers, "ticket-png")
    accepted = answer(client, auth_headers(OWN), png_ticket, "scan.pdf", PNG)
    assert accepted.status_code == 200, accepted.text
    [stored] = stored_files(media)
    assert stored.suffix == ".png"
    got = client.get(f"{ALERTS}/{png_ticket}/ticket/file", headers=auth_headers(OWN))
    assert got.headers["content-type"] == "image/png"
    assert download_name(got.headers["content-disposition"]) == "scan.png"


def test_oversized_uploads_and_plain_archives_are_refused(
        client: TestClient, auth_headers: Headers, media: Path) -> None:
    ticket = new_ticket(client, auth_headers)
    big = answer(client, auth_headers(OWN), ticket, "big.pdf", b"%PDF-" + b"0" * (11 << 20))
    assert big.status_code == 413 and big.json()["detail"] == REFUSAL
    archive = answer(client, auth_headers(OWN), ticket, "hoso.docx", office("a.txt"))
    assert archive.status_code == 400
    assert stored_files(media) == []
    assert client.get(f"{ALERTS}/{ticket}/ticket/file",
                      headers=auth_headers(OWN)).status_code == 404


def test_a_second_answer_is_refused_without_storing_its_file(
        client: TestClient, auth_headers: Headers, media: Path) -> None:
    ticket = new_ticket(client, auth_headers)
    assert answer(client, auth_headers(OWN), ticket, "a.pdf", PDF).status_code == 200
    again = answer(client, auth_headers(OWN), ticket, "b.pdf", PDF + b"again")
    assert again.status_code == 409 and "already been answered" in again.json()["detail"]
    foreign = answer(client, auth_headers(OTHER), new_ticket(client, auth_headers, "t2"),
                     "c.pdf", PDF)
    assert foreign.status_code == 403
    assert len(stored_files(media)) == 1


# -- the detail page --------------------------------------------------------------------------

def test_the_answer_form_uploads_with_csrf(client: TestClient, auth_headers: Headers,
                                            media: Path) -> None:
    ticket = new_ticket(client, auth_headers)
    page = f"/alerts/{ticket}"
    browser_login(client, OWN, next_path="/alerts")
    html = client.get(page).text
    assert 'enctype="multipart/form-data"' in html and 'type="file" name="file"' in html
    name = "Báo cáo khắc phục – Đắk Lắk.pdf"
    form = {"response": "Đã khắc phục", "attachment": "Công văn số 123/SYT"}
    files = {"file": (name, PDF, "application/pdf")}
    action = f"{page}/ticket/answer"

    missing = client.post(action, data=form, files=files, follow_redirects=False)
    assert missing.status_code == 403 and stored_files(media) == []
    bad = client.post(action, data={**form, "csrf_token": csrf_of(html)},
                      files={"file": ("x.pdf", b"not a pdf", "application/pdf")},
                      follow_redirects=False)
    assert bad.status_code == 400 and "Chỉ chấp nhận tệp PDF" in bad.text
    assert stored_files(media) == []

    sent = client.post(action, data={**form, "csrf_token": csrf_of(html)}, files=files,
                       follow_redirects=False)
    assert sent.status_code == 303, sent.text
    shown = client.get(page).text
    assert f'href="/alerts/{ticket}/ticket/file"' in shown and "Báo cáo khắc phục" in shown
    assert "Công văn số 123/SYT" in shown
    got = client.get(f"{page}/ticket/file")
    assert got.status_code == 200 and got.content == PDF
    assert download_name(got.headers["content-disposition"]) == name

    twice = client.post(action, data={**form, "csrf_token": csrf_of(shown)}, files=files,
                        follow_redirects=False)
    assert twice.status_code == 409 and len(stored_files(media)) == 1


def test_the_answer_form_still_works_without_a_file(client: TestClient, auth_headers: Headers,
                                                    media: Path) -> None:
    ticket = new_ticket(client, auth_headers)
    page = f"/alerts/{ticket}"
    browser_login(client, OWN, next_path="/alerts")
    token = csrf_of(client.get(page).text)
    # What a browser sends when no file was chosen: an empty part without a name.
    sent = client.post(f"{page}/ticket/answer", follow_redirects=False,
                       data={"response": "Đã xử lý", "csrf_token": token},
                       files={"file": ("", b"", "application/octet-stream")})
    assert sent.status_code == 303, sent.text
    assert stored_files(media) == []
    assert client.get(f"{page}/ticket/file").status_code == 404
