"""Deadline and on-time engine for public-service dossiers (pure library, no database).

``classify`` judges one dossier on the kernel working calendar; ``classify_many`` /
``classify_batch`` do the same for millions at once. Rules: docs/public-services-deadlines.md.
"""

from .batch import OUTCOMES, BatchResult, DossierBatch
from .fast import classify_batch, classify_many
from .model import (
    CANCELLING_STATES,
    FINISHED_OUTCOMES,
    PAUSED_STATES,
    Classification,
    DossierFacts,
    DossierState,
    Outcome,
    StateChange,
    Statutory,
)
from .rules import classify, due_at, paused_working_time, statutory_due_at

__all__ = [
    "CANCELLING_STATES",
    "FINISHED_OUTCOMES",
    "OUTCOMES",
    "PAUSED_STATES",
    "BatchResult",
    "Classification",
    "DossierBatch",
    "DossierFacts",
    "DossierState",
    "Outcome",
    "StateChange",
    "Statutory",
    "classify",
    "classify_batch",
    "classify_many",
    "due_at",
    "paused_working_time",
    "statutory_due_at",
]
