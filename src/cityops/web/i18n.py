"""Gettext catalogs (Babel .po files compiled in memory at start) and the current language.

Message ids are English; ``locale/vi`` translates them and Vietnamese is the default UI
language. The .po files are the only source: nothing compiled is committed.

Every package may carry its own ``locale/<lang>/LC_MESSAGES/messages.po`` beside its code
(the web layer's, the alert center's, each service's), as Home Assistant integrations carry
their translations; they are merged into one catalog per language at start.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

PACKAGE_DIR = Path(__file__).parent.parent
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def catalog_files(language: str) -> list[Path]:
    """Every package's catalog for ``language``, the web layer's first."""
    pattern = f"**/locale/{language}/LC_MESSAGES/messages.po"
    files = PACKAGE_DIR.glob(pattern)
    return sorted(files, key=lambda path: (not path.is_relative_to(LOCALE_DIR), str(path)))


def merged_catalog(language: str) -> Catalog:
    """One catalog of every package's messages; a msgid translated twice keeps the first."""
    merged = Catalog(locale=language)
    for po_path in catalog_files(language):
        with po_path.open("rb") as handle:
            part = read_po(handle, locale=language)
        for message in part:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged


@cache
def translations(language: str) -> NullTranslations:
    if language not in LANGUAGES:
        return NullTranslations()
    buffer = BytesIO()
    write_mo(buffer, merged_catalog(language))
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def pick_language(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
