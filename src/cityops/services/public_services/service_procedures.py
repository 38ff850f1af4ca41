"""The procedure catalogue: checked upsert by code, and the sample shipped in ``data/``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Invalid
from cityops.services.public_services.models import (
    ONLINE_LEVELS,
    PROCEDURE_LEVELS,
    STATUTORY_UNITS,
    Procedure,
)


def _checked(row: Mapping[str, Any]) -> dict[str, Any]:
    code = str(row.get("code") or "").strip()
    name = str(row.get("name") or "").strip()
    if not code or not name:
        raise Invalid("a procedure needs a code and a name")
    unit = str(row.get("statutory_unit") or "days").strip()
    level = str(row.get("level") or "").strip()
    online = str(row.get("online_level") or "partial").strip()
    if unit not in STATUTORY_UNITS:
        raise Invalid(f"procedure {code}: statutory_unit must be days or hours")
    if level not in PROCEDURE_LEVELS:
        raise Invalid(f"procedure {code}: level must be province or commune")
    if online not in ONLINE_LEVELS:
        raise Invalid(f"procedure {code}: online_level must be partial or full")
    try:
        amount = float(row.get("statutory_amount") or 0)
        fee = Decimal(str(row.get("fee") or 0)).quantize(Decimal("0.01"))
    except (ValueError, InvalidOperation):
        raise Invalid(f"procedure {code}: statutory_amount and fee must be numbers") from None
    if amount <= 0 or (unit == "days" and amount != int(amount)):
        raise Invalid(f"procedure {code}: statutory time must be > 0 (whole days; part days "
                      "in hours)")
    if fee < 0:
        raise Invalid(f"procedure {code}: the fee cannot be negative")
    return {"code": code, "name": name[:500], "field": str(row.get("field") or "")[:200],
            "level": level, "statutory_amount": amount, "statutory_unit": unit,
            "online_level": online, "fee": fee}


def upsert_procedures(session: Session, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create or update procedures by code; values are assigned only when they differ."""
    checked = [_checked(row) for row in rows]  # all checked before anything is written
    existing = {p.code: p for p in session.scalars(select(Procedure))}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for values in checked:
        procedure = existing.get(values["code"])
        if procedure is None:
            procedure = Procedure(**values)
            session.add(procedure)
            existing[procedure.code] = procedure
            counts["created"] += 1
            continue
        changed = False
        for name, value in values.items():
            if getattr(procedure, name) != value:
                setattr(procedure, name, value)
                changed = True
        counts["updated" if changed else "unchanged"] += 1
    session.flush()
    return counts


def sample_catalogue() -> list[dict[str, str]]:
    text = resources.files("cityops.services.public_services.data").joinpath(
        "procedures.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))
