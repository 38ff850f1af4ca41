"""Flat event view shared by all compiled predicates.

Predicates read ``low`` (field -> lower-cased string, or None for JSON null) so case-insensitive
comparison costs one dict lookup; the lowering is done once per event, not once per rule.
Field names are lower-cased too: the reference (SQLite) resolves column names case-insensitively.
"""

from __future__ import annotations

import json
from typing import Any


def to_text(value: Any) -> str | None:
    """String form used for matching; None stays None (Sigma null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# Joins all field values for keyword search; a control char no rule literal contains, so a
# substring hit in the joined text is a hit inside one field.
SEP = "\x1f"
ALL_FIELDS = "\x00all"  # pseudo field name: the joined text (gates of keyword detections)


class Event:
    __slots__ = ("_joined", "_texts", "low", "raw")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.raw = {k.lower(): v for k, v in fields.items()}
        self._texts: dict[str, str | None] | None = None
        self._joined: str | None = None
        low: dict[str, str | None] = {}
        for k, v in self.raw.items():
            t = to_text(v)
            low[k] = t.lower() if t is not None else None
        self.low = low

    @property
    def texts(self) -> dict[str, str | None]:
        """Original-case strings, built only when a cased/regex predicate needs them."""
        if self._texts is None:
            self._texts = {k: to_text(v) for k, v in self.raw.items()}
        return self._texts

    @property
    def joined(self) -> str:
        """All lower-cased values in one string, built on first keyword test only."""
        if self._joined is None:
            self._joined = SEP.join(v for v in self.low.values() if v is not None)
        return self._joined
