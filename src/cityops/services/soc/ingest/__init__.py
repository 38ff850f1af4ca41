"""SOC ingest: syslog/file readers and normalisers that turn raw events into IngestedEvent.

Pure library code (no database): the SOC service stores and matches what these hand onward.
"""

from .records import MAX_EVENT_BYTES, IngestedEvent, Quarantined, normalise

__all__ = ["MAX_EVENT_BYTES", "IngestedEvent", "Quarantined", "normalise"]
