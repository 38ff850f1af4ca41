"""Known dossiers for the dashboard tests, with the outcome each one must get at NOW.

NOW is Friday 20 March 2026, 10:00 in Đắk Lắk (test_models_support.NOW).
"""

from __future__ import annotations

from typing import Any

from test_models_support import dossier, seed, send

from cityops.kernel.context import AppContext

H = "+07:00"


def at(day: str, clock: str) -> str:
    return f"2026-{day}T{clock}:00{H}"


def history(*pairs: tuple[int, str, str]) -> list[dict[str, Any]]:
    return [{"state": s, "at": at(day, clock)} for s, day, clock in pairs]


RECEIVED = ((2, "03-16", "08:00"), (4, "03-16", "09:00"))
KNOWN: tuple[tuple[dict[str, Any], str], ...] = (
    (dossier("TP-OVER", appointment_at=at("03-18", "17:00")), "overdue"),
    (dossier("TP-SOON", appointment_at=at("03-20", "17:00")), "due_soon"),
    (dossier("TP-LATER", procedure_code="1.002408"), "in_term"),
    (dossier("TP-PAUSED", history=history((2, "03-16", "08:00"), (5, "03-16", "09:00"))),
     "paused"),
    (dossier("TP-DONE", appointment_at=at("03-17", "17:00"),
             history=history(*RECEIVED, (9, "03-19", "10:00")),
             apologies=[{"issued_at": at("03-17", "15:00"),
                         "new_appointment_at": at("03-19", "17:00"),
                         "reason": "Cần xác minh thêm"}]), "late"),
    (dossier("TP-EARLY", appointment_at=at("03-18", "17:00"), channel=1, digitised=True,
             e_result=True, history=history(*RECEIVED, (9, "03-16", "10:00"))), "early"),
    (dossier("TP-ONTIME", appointment_at=at("03-17", "17:00"), has_complaint=True,
             history=history(*RECEIVED, (9, "03-17", "10:00"))), "on_time"),
    (dossier("W-OVER", processing_agency_code="UBND-22015",
             appointment_at=at("03-19", "17:00")), "overdue"),
    (dossier("W-FEB", processing_agency_code="UBND-22015", received_at=at("02-10", "08:00"),
             appointment_at=at("02-12", "17:00"),
             history=history((2, "02-10", "08:00"), (9, "02-11", "10:00"))), "early"),
)


def load_known(ctx: AppContext) -> None:
    seed(ctx)
    result = send(ctx, [item for item, _outcome in KNOWN])
    assert result.count("failed") == 0, result.errors()
