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
    __slots__ = ("_joined", "_joined_text", "_texts", "low", "raw")

    def __init__(self, fields: dict[str, Any], wanted: frozenset[str] | None = None) -> None:
        """``wanted``: the only field names predicates will look up in ``low`` (None: all)."""
        raw: dict[str, Any] = {}
        low: dict[str, str | None] = {}
        # One pass, str fast path: this runs once per event for every event in the stream.
        for k, v in fields.items():
            k = k.lower()
            raw[k] = v
            if wanted is not None and k not in wanted:
                continue
            if v.__class__ is str:
                low[k] = v.lower()
            elif v is None:
                low[k] = None
            elif v.__class__ is int:  # EventID, ProcessId, ...: digits need no lowering
                low[k] = str(v)
            else:
                t = to_text(v)
                low[k] = t.lower() if t is not None else None
        self.raw = raw
        self.low = low
        self._texts: dict[str, str | None] | None = None
        self._joined: str | None = None
        self._joined_text: str | None = None

    @property
    def texts(self) -> dict[str, str | None]:
        """Original-case strings, built only when a cased/regex predicate needs them."""
        if self._texts is None:
            self._texts = {k: to_text(v) for k, v in self.raw.items()}
        return self._texts

    @property
    def joined(self) -> str:
        """All lower-cased values in one string, built on first keyword test only."""
        if self._joined is None:  # from raw: ``low`` may hold only the wanted fields
            self._joined = SEP.join(
                t.lower() for t in map(to_text, self.raw.values()) if t is not None)
        return self._joined

    @property
    def joined_text(self) -> str:
        """Original-case joined values, for cased and regular-expression keywords."""
        if self._joined_text is None:
            self._joined_text = SEP.join(v for v in self.texts.values() if v is not None)
        return self._joined_text
