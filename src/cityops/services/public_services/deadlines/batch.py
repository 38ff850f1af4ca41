"""Dossiers and their judgements as columns (numpy arrays), for the fast path.

A history is stored CSR-style: dossier ``i`` owns entries
``history_offsets[i]:history_offsets[i + 1]`` of ``history_states`` / ``history_us``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo

import numpy as np

from .model import Classification, DossierFacts, Outcome
from .timeline import NO_TIME, from_us, to_us

OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
OUTCOME_CODE: dict[Outcome, int] = {outcome: i for i, outcome in enumerate(OUTCOMES)}


@dataclass(frozen=True)
class DossierBatch:
    received_us: np.ndarray  # int64 µs since the epoch, UTC
    statutory_amount: np.ndarray  # float64: whole days, or hours
    statutory_in_hours: np.ndarray  # bool
    appointment_us: np.ndarray  # int64, NO_TIME when there is no appointment date
    supplement_requests: np.ndarray  # int64
    history_offsets: np.ndarray  # int64, len(batch) + 1 entries
    history_states: np.ndarray  # int8
    history_us: np.ndarray  # int64, ordered by time within each dossier

    def __len__(self) -> int:
        return int(self.received_us.size)

    @classmethod
    def from_facts(cls, facts_list: Sequence[DossierFacts]) -> DossierBatch:
        counts = [len(facts.history) for facts in facts_list]
        offsets = np.zeros(len(facts_list) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        changes = [change for facts in facts_list for change in facts.history]
        return cls(
            received_us=np.array([to_us(f.received_at) for f in facts_list], dtype=np.int64),
            statutory_amount=np.array(
                [f.statutory.amount for f in facts_list], dtype=np.float64
            ),
            statutory_in_hours=np.array(
                [f.statutory.unit == "hours" for f in facts_list], dtype=bool
            ),
            appointment_us=np.array(
                [NO_TIME if f.appointment_at is None else to_us(f.appointment_at)
                 for f in facts_list],
                dtype=np.int64,
            ),
            supplement_requests=np.array(
                [f.supplement_requests for f in facts_list], dtype=np.int64
            ),
            history_offsets=offsets,
            history_states=np.array([c.state for c in changes], dtype=np.int8),
            history_us=np.array([to_us(c.at) for c in changes], dtype=np.int64),
        )

    def validate(self) -> None:
        """Raise ValueError on columns that break the facts' rules (checked vectorised)."""
        n = len(self)
        for name in ("statutory_amount", "statutory_in_hours", "appointment_us",
                     "supplement_requests"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one value per dossier")
        offsets = self.history_offsets
        m = self.history_us.size
        if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != m:
            raise ValueError("history_offsets must run from 0 to the number of entries")
        if self.history_states.shape != (m,) or np.any(np.diff(offsets) < 0):
            raise ValueError("history_offsets must be non-decreasing, one state per entry")
        if m and (self.history_states.min() < 1 or self.history_states.max() > 10):
            raise ValueError("dossier states must be 1-10")
        if np.any(self.supplement_requests < 0):
            raise ValueError("supplement_requests must be >= 0")
        amount = self.statutory_amount
        if not np.all(np.isfinite(amount)) or np.any(amount < 0):
            raise ValueError("statutory time must be a finite number >= 0")
        hours = self.statutory_in_hours
        if np.any(~hours & (amount != np.floor(amount))) or np.any(hours & (amount == 0)):
            raise ValueError("statutory days must be whole and statutory hours > 0")
        if m > 1:
            step_back = np.diff(self.history_us) < 0
            boundaries = offsets[1:-1]
            boundaries = boundaries[(boundaries > 0) & (boundaries < m)]
            step_back[boundaries - 1] = False  # a new dossier may start earlier
            if np.any(step_back):
                raise ValueError("history must be ordered by time")


@dataclass(frozen=True)
class BatchResult:
    outcome: np.ndarray  # int8 index into OUTCOMES
    due_us: np.ndarray  # int64
    end_us: np.ndarray  # int64 or NO_TIME
    paused_us: np.ndarray  # int64 office µs
    late_by_us: np.ndarray  # int64 or NO_TIME

    def __len__(self) -> int:
        return int(self.outcome.size)

    def counts(self) -> dict[Outcome, int]:
        tally = np.bincount(self.outcome, minlength=len(OUTCOMES))
        return {outcome: int(tally[i]) for i, outcome in enumerate(OUTCOMES)}

    def to_classifications(self, tz: tzinfo) -> list[Classification]:
        def instant(value: int) -> object:
            return None if value == NO_TIME else from_us(value, tz)

        return [
            Classification(
                outcome=OUTCOMES[code],
                due_at=from_us(due, tz),
                end_at=instant(end),  # type: ignore[arg-type]
                paused=timedelta(microseconds=paused),
                late_by=None if late == NO_TIME else timedelta(microseconds=late),
            )
            for code, due, end, paused, late in zip(
                self.outcome.tolist(), self.due_us.tolist(), self.end_us.tolist(),
                self.paused_us.tolist(), self.late_by_us.tolist(), strict=True,
            )
        ]
