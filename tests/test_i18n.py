"""The gettext catalogs cover every UI message, and the UI speaks Vietnamese by default.

Messages are extracted the way a translator would (babel.cfg over the whole package), so a
new template or view string without a Vietnamese translation fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from conftest import csrf_of
from fastapi.testclient import TestClient

import cityops
from cityops.web import i18n

PACKAGE_DIR = Path(cityops.__file__).parent
BABEL_CFG = PACKAGE_DIR / "web" / "babel.cfg"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# Shown to people but raised as exceptions by the kernel, so no extractor sees them.
KERNEL_UI_MESSAGES = (
    "wrong username or password",
    "account temporarily locked after repeated failures; try later",
    "missing or wrong CSRF token; reload the page and try again",
)


def extract_ui_messages() -> dict[str, list[str]]:
    """msgid -> where it is used, for every template and Python message in the package.

    Plural messages are keyed by their singular msgid, as catalogs are.
    """
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(BABEL_CFG))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(PACKAGE_DIR), method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    for msgid in KERNEL_UI_MESSAGES:
        found.setdefault(msgid, []).append("kernel")
    return found


def load_catalog(language: str) -> Catalog:
    return i18n.merged_catalog(language)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_packages_agree_on_shared_messages(language: str) -> None:
    """Each package keeps its own catalog; a msgid in two of them must read the same."""
    seen: dict[str, tuple[object, Path]] = {}
    for po_path in i18n.catalog_files(language):
        with po_path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if not message.id:
                    continue
                key = str(message.id)
                if key in seen and message.string and seen[key][0] != message.string:
                    pytest.fail(f"{key!r} reads {seen[key][0]!r} in {seen[key][1]} "
                                f"but {message.string!r} in {po_path}")
                seen.setdefault(key, (message.string, po_path))


@pytest.fixture(scope="module")
def messages() -> dict[str, list[str]]:
    return extract_ui_messages()


def test_extraction_sees_the_templates(messages: dict[str, list[str]]) -> None:
    assert "Sign in" in messages
    assert any("templates/admin/" in where for where in messages["Back to the list"])
    assert "Extra day off" in messages  # an N_() marker in views/admin/


def test_every_message_has_a_vietnamese_translation(messages: dict[str, list[str]]) -> None:
    catalog = load_catalog("vi")
    missing = sorted(m for m in messages if m not in catalog)
    assert not missing, "not in locale/vi: " + "; ".join(
        f"{m!r} ({messages[m][0]})" for m in missing)
    untranslated = sorted(m for m in messages if not all(_forms(catalog[m])))
    assert not untranslated, f"no Vietnamese for: {untranslated}"
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy}"


def _forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, tuple | list) else [string]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_placeholders_match(language: str) -> None:
    catalog = load_catalog(language)
    for message in catalog:
        if not message.id:
            continue
        ids = list(message.id) if message.pluralizable else [message.id]
        for index, form in enumerate(_forms(message)):
            if not form:
                continue  # English falls back to the msgid
            # One plural form (Vietnamese) serves every count, so it follows the plural id.
            reference = ids[min(index, len(ids) - 1)] if catalog.num_plurals > 1 else ids[-1]
            assert sorted(PLACEHOLDER.findall(reference)) == sorted(PLACEHOLDER.findall(form)), \
                f"placeholders differ in {language}: {reference!r} -> {form!r}"
            # A stray % would break the "%" formatting that gettext results go through.
            assert form.count("%") == reference.count("%"), f"{language}: {reference!r}"


def test_login_page_is_vietnamese_by_default_then_english(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Đăng nhập" in page.text and "Tên đăng nhập" in page.text

    switched = client.post("/lang", data={"language": "en", "next": "/login",
                                          "csrf_token": csrf_of(page.text)})
    assert switched.status_code == 200 and switched.url.path == "/login"
    assert '<html lang="en">' in switched.text
    assert "Sign in" in switched.text and "Đăng nhập" not in switched.text


def test_login_error_is_translated(client: TestClient) -> None:
    page = client.get("/login")
    refused = client.post("/login", data={"username": "admin", "password": "not-the-password",
                                          "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in refused.text
