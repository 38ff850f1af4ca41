"""Dossier classification throughput vs bare numpy business-day arithmetic (issue #5).

Generates --dossiers (default 1,000,000) synthetic dossiers with histories: processing,
supplement requests (one or two), fee requests, stopped-then-resumed, refused, withdrawn,
still open, some with appointment dates, a fifth of them hour-based procedures; received
over 2025-2026 (so Tết 2025/2026, the 2025 swap and the 2026 make-up Saturday are crossed).

ours:     ``classify_batch`` on the columns: the full rule (office hours, day 0 after
          closing, pauses moving the due time, appointment dates, two-supplement rule,
          make-up Saturdays, due-soon window), including validation and flattening a fresh
          calendar each repeat.
baseline: plain numpy on the same received times and statutory days (hours rounded up
          to whole days), ignoring pauses: ``busday_offset`` for the due day and
          ``busday_count`` for finished dossiers, with the same holidays (numpy cannot
          express make-up Saturdays), given the end day per dossier ready-made.
ratio = ours / baseline in dossiers per second; target >= 0.25. Best of --repeats runs.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from cityops.kernel.calendar import WorkingCalendar
from cityops.services.public_services.deadlines import (
    BatchResult,
    DossierBatch,
    DossierFacts,
    StateChange,
    Statutory,
    classify,
    classify_batch,
)
from cityops.services.public_services.deadlines.timeline import NO_TIME, US_PER_DAY, to_us

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OFFSET_US = 7 * 3600 * 1_000_000
FIRST = datetime(2025, 1, 1, tzinfo=VN)
AS_OF = datetime(2026, 11, 1, 9, tzinfo=VN)
TARGET_RATIO = 0.25
# (state sequence, weight): what dossiers go through in practice.
TEMPLATES: tuple[tuple[tuple[int, ...], float], ...] = (
    ((2, 4, 9, 10), 0.46),
    ((2, 4, 9), 0.08),
    ((2, 4, 5, 4, 9, 10), 0.12),
    ((2, 4, 5, 4, 5, 4, 9, 10), 0.03),
    ((2, 4, 6, 4, 9, 10), 0.06),
    ((2, 4, 8, 4, 9), 0.02),
    ((1, 2, 4), 0.12),
    ((2, 4, 5), 0.04),
    ((2, 3), 0.03),
    ((2, 4, 7), 0.04),
)
DAY_CHOICES = np.array([0, 1, 2, 3, 5, 7, 10, 15, 20, 30])
HOUR_CHOICES = np.array([2.0, 4.0, 8.0, 16.0, 24.0])


def generate(n: int, seed: int = 766) -> tuple[DossierBatch, np.ndarray]:
    """A batch of ``n`` dossiers and, for the baseline, each one's statutory whole days."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 669, n)
    minute = np.where(rng.random(n) < 0.85, rng.integers(420, 1065, n), rng.integers(0, 1440, n))
    received = to_us(FIRST) + day * US_PER_DAY + minute * 60_000_000
    in_hours = rng.random(n) < 0.2
    amount = np.where(in_hours, rng.choice(HOUR_CHOICES, n), rng.choice(DAY_CHOICES, n))
    whole_days = np.where(in_hours, np.ceil(amount / 8), amount).astype(np.int64)

    sequences = [seq for seq, _ in TEMPLATES]
    weights = np.array([w for _, w in TEMPLATES])
    template = rng.choice(len(sequences), n, p=weights / weights.sum())
    lengths = np.array([len(s) for s in sequences])
    padded = np.zeros((len(sequences), lengths.max()), dtype=np.int8)
    for i, seq in enumerate(sequences):
        padded[i, : len(seq)] = seq
    counts = lengths[template]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    owner = np.repeat(np.arange(n), counts)
    position = np.arange(offsets[-1]) - offsets[owner]
    states = padded[template[owner], position]
    # Gaps scale with the statutory time; the first change is the receipt itself.
    mean_gap = (np.maximum(whole_days, 1) * 1.3 * US_PER_DAY / counts)[owner]
    gaps = np.where(position == 0, 0, rng.exponential(mean_gap)).astype(np.int64)
    gaps -= gaps % 60_000_000  # whole minutes, as dossier systems record them
    running = np.cumsum(gaps)
    times = received[owner] + running - (running - gaps)[offsets[:-1]][owner]

    has_appointment = rng.random(n) < 0.4
    promised = received + (whole_days * 1.4 * US_PER_DAY).astype(np.int64)
    appointment = np.where(has_appointment, promised - promised % 60_000_000, NO_TIME)
    supplements = np.array([seq.count(5) for seq in sequences])[template]
    batch = DossierBatch(received, amount.astype(np.float64), in_hours, appointment,
                         supplements.astype(np.int64), offsets, states, times)
    return batch, whole_days


def end_times(batch: DossierBatch) -> np.ndarray:
    """First processed (else returned) time per dossier, prepared for the baseline."""
    owner = np.repeat(np.arange(len(batch)), np.diff(batch.history_offsets))
    end = np.full(len(batch), NO_TIME, dtype=np.int64)
    for state in (10, 9):  # each template reaches a state once; 9, written last, wins
        hit = np.flatnonzero(batch.history_states == state)
        end[owner[hit]] = batch.history_us[hit]
    return end


def baseline(batch: DossierBatch, whole_days: np.ndarray, end_us: np.ndarray,
             holidays: np.ndarray, as_of_us: int) -> np.ndarray:
    """Bare business-day arithmetic: finished late / on time, open overdue / due soon / in term."""
    calendar = np.busdaycalendar(holidays=holidays)
    received_day = ((batch.received_us + OFFSET_US) // US_PER_DAY).astype("datetime64[D]")
    as_of_day = np.datetime64((as_of_us + OFFSET_US) // US_PER_DAY, "D")
    finished = end_us != NO_TIME
    end_day = ((np.where(finished, end_us, as_of_us) + OFFSET_US) // US_PER_DAY).astype(
        "datetime64[D]"
    )
    late = np.busday_count(received_day, end_day, busdaycal=calendar) > whole_days
    due_day = np.busday_offset(received_day, whole_days, roll="forward", busdaycal=calendar)
    overdue = due_day < as_of_day
    due_soon = np.busday_count(as_of_day, due_day, busdaycal=calendar) <= 1
    return np.where(finished, np.where(late, 2, 1),
                    np.where(overdue, 5, np.where(due_soon, 4, 3)))


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def facts_of(batch: DossierBatch, i: int) -> DossierFacts:
    def at(us: int) -> datetime:
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))).astimezone(VN)

    lo, hi = batch.history_offsets[i], batch.history_offsets[i + 1]
    history = tuple(StateChange(int(s), at(t)) for s, t in
                    zip(batch.history_states[lo:hi], batch.history_us[lo:hi], strict=True))
    unit = "hours" if batch.statutory_in_hours[i] else "days"
    appointment = batch.appointment_us[i]
    return DossierFacts(at(batch.received_us[i]), Statutory(float(batch.statutory_amount[i]),
                        unit), None if appointment == NO_TIME else at(appointment), history,
                        int(batch.supplement_requests[i]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check", type=int, default=2000,
                        help="dossiers also judged one by one with classify, to compare")
    args = parser.parse_args()
    if args.dossiers < 1 or args.repeats < 1 or args.check < 0:
        parser.error("--dossiers and --repeats must be >= 1, --check >= 0")

    batch, whole_days = generate(args.dossiers)
    end_us = end_times(batch)
    as_of_us = to_us(AS_OF)
    holidays = np.array(
        [d for y in range(2024, 2029) for d, _ in WorkingCalendar().non_working_weekdays(y)],
        dtype="datetime64[D]",
    )
    ours_s, result = best_of(args.repeats, lambda: classify_batch(
        WorkingCalendar(), batch, as_of=AS_OF))
    base_s, _ = best_of(args.repeats, lambda: baseline(batch, whole_days, end_us, holidays,
                                                        as_of_us))
    calendar = WorkingCalendar()
    sample = range(0, args.dossiers, max(1, args.dossiers // max(args.check, 1)))
    sample = sample[: args.check]
    started = time.perf_counter()
    one_by_one = [classify(calendar, facts_of(batch, i), as_of=AS_OF) for i in sample]
    scalar_s = time.perf_counter() - started
    picked = np.array(sample, dtype=np.int64)
    fast = BatchResult(*(column[picked] for column in vars(result).values())).to_classifications(
        calendar.tz
    )
    disagreements = sum(a != b for a, b in zip(fast, one_by_one, strict=True))

    ours_rate, base_rate = args.dossiers / ours_s, args.dossiers / base_s
    ratio = ours_rate / base_rate
    print(json.dumps({
        "benchmark": "public_services_classify",
        "dossiers": args.dossiers,
        "history_entries": int(batch.history_us.size),
        "hour_based_share": round(float(batch.statutory_in_hours.mean()), 3),
        "as_of": AS_OF.isoformat(),
        "ours": {"seconds": round(ours_s, 4), "dossiers_per_second": round(ours_rate)},
        "baseline": {"seconds": round(base_s, 4), "dossiers_per_second": round(base_rate),
                     "method": "numpy busday_offset + busday_count, same holidays, no pauses"},
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_reached": ratio >= TARGET_RATIO,
        "outcomes": {k.value: v for k, v in result.counts().items()},  # type: ignore[union-attr]
        "checked_against_classify": len(one_by_one),
        "disagreements": disagreements,
        "classify_one_by_one_per_second": round(len(one_by_one) / scalar_s) if one_by_one else None,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
