"""Text helpers for Vietnamese: diacritic- and case-insensitive search keys."""

from __future__ import annotations

import unicodedata

# đ/Đ are letters of their own, not a base letter plus a combining mark, so NFD leaves them.
_EXTRA_FOLDS = str.maketrans({"đ": "d", "Đ": "d", "’": "'", "ʼ": "'"})


def fold(text: str) -> str:
    """Lower-case ASCII-ish key: "Buôn Ma Thuột" -> "buon ma thuot"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
