"""Demo dossiers: a year of Đắk Lắk's one-stop-shop traffic, classified by the real engine.

Deterministic (fixed seed, times relative to the load day) and idempotent (a ``ps_settings``
marker). Tens of thousands of dossiers with their histories are written with bulk inserts
(the per-row ORM path would take minutes); the audit log gets one event for the load. The
deadline engine's fast path classifies them, so the stored outcomes are the engine's.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityops.kernel.audit import record_event
from cityops.kernel.calendar import WorkingCalendar, load_calendar
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import SYSTEM
from cityops.services.public_services import demo_catalogue as catalogue
from cityops.services.public_services.demo_dossiers import DossierMaker, Profile
from cityops.services.public_services.intake import LOCAL
from cityops.services.public_services.models import (
    ApologyLetter,
    Dossier,
    Procedure,
    Setting,
    StateChange,
    SupplementRequest,
)
from cityops.services.public_services.service_procedures import (
    sample_catalogue,
    upsert_procedures,
)

SEED = 766
MARKER = "demo_loaded"
DEFAULT_SIZE = 20_000
INSERT_CHUNK = 5_000
# Relative volume by month: busy before Tết and at the end of the year.
MONTH_WEIGHT = {1: 1.15, 2: 0.7, 3: 1.1, 4: 1.0, 5: 1.0, 6: 0.95, 7: 1.0, 8: 1.1, 9: 1.05,
                10: 1.05, 11: 1.15, 12: 1.25}
TET_DAYS = {2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6)}


def _day_weight(day: date) -> float:
    """Seasonal volume with the Tết slow-down around the lunar new year."""
    weight = MONTH_WEIGHT[day.month] * (0.8 if day.weekday() == 0 else 1.0)
    tet = TET_DAYS.get(day.year)
    if tet is not None and -10 <= (day - tet).days <= 12:
        weight *= 0.35
    return weight


def _working_days(calendar: WorkingCalendar, now: datetime) -> list[date]:
    today = now.astimezone(LOCAL).date()
    days = [today - timedelta(days=n) for n in range(365, -1, -1)]
    return [d for d in days if calendar.is_working_day(d)]


@dataclass(frozen=True)
class Setup:
    procedures: dict[str, Procedure]
    commune_agencies: list[tuple[Agency, Agency]]  # (committee, receiving centre)
    departments: dict[str, Agency]
    province_centre: Agency | None


def _setup(session: Session) -> Setup:
    upsert_procedures(session, [*sample_catalogue(), *catalogue.catalogue_rows()])
    procedures = {p.code: p for p in session.scalars(select(Procedure))}
    agencies = {a.code: a for a in session.scalars(select(Agency).order_by(Agency.code))}
    communes = [(a, agencies.get("TTPVHCC-" + a.code.removeprefix("UBND-"), a))
                for a in agencies.values() if a.kind == "commune_committee"]
    departments = {code: agencies[code] for code in set(catalogue.FIELD_DEPARTMENT.values())
                   if code in agencies}
    return Setup(procedures, communes, departments, agencies.get("TTPVHCC-TINH"))


def _profiles(setup: Setup, rng: random.Random) -> dict[str, Profile]:
    """Each agency's habits: volume, lateness, online share, payment, digitisation."""
    profiles: dict[str, Profile] = {}
    chronic = set(rng.sample([c.code for c, _r in setup.commune_agencies],
                             k=min(6, len(setup.commune_agencies))))
    chronic |= set(catalogue.LATE_DEPARTMENTS)
    for agency in [c for c, _r in setup.commune_agencies] + list(setup.departments.values()):
        late = rng.uniform(0.12, 0.3) if agency.code in chronic else rng.uniform(0.003, 0.04)
        profiles[agency.code] = Profile(
            volume=rng.uniform(0.3, 2.5), late=late, online=rng.uniform(0.25, 0.85),
            payment=rng.uniform(0.2, 0.85), digitised=rng.uniform(0.45, 0.97),
            e_result=rng.uniform(0.3, 0.9), apology=0.4 if agency.code in chronic else 0.85)
    return profiles


def _plan(setup: Setup, rng: random.Random, size: int, days: list[date]
          ) -> list[tuple[date, Procedure, Agency, Agency]]:
    """Who receives what and when: (day, procedure, processing, receiving) per dossier."""
    weights = catalogue.weights()
    commune_procs = [p for p in setup.procedures.values()
                     if p.level == "commune" and p.code in weights]
    province_procs = [p for p in setup.procedures.values() if p.level == "province"
                      and catalogue.FIELD_DEPARTMENT.get(p.field) in setup.departments
                      and p.code in weights]
    day_list = rng.choices(days, [_day_weight(d) for d in days], k=size)
    profiles = _profiles(setup, rng)
    committee_weights = [profiles[c.code].volume for c, _r in setup.commune_agencies]
    picks = []
    for day in day_list:
        if rng.random() < 0.72 and setup.commune_agencies:
            committee, centre = rng.choices(setup.commune_agencies, committee_weights)[0]
            procedure = rng.choices(commune_procs, [weights[p.code] for p in commune_procs])[0]
            picks.append((day, procedure, committee, centre))
        else:
            procedure = rng.choices(province_procs,
                                    [weights[p.code] for p in province_procs])[0]
            department = setup.departments[catalogue.FIELD_DEPARTMENT[procedure.field]]
            picks.append((day, procedure, department, setup.province_centre or department))
    picks.sort(key=lambda pick: pick[0])
    return picks


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        # Core executemany: the ORM bulk path costs more than the database here.
        session.execute(insert(model.__table__), rows[start:start + INSERT_CHUNK])


def _insert_all(session: Session, maker: DossierMaker) -> None:
    """Dossiers first (the database numbers them), then their rows under the real ids.

    The maker's ids are provisional: explicit ids would leave PostgreSQL's sequence behind
    and make the next ordinary insert collide.
    """
    provisional = {row.pop("id"): row["code"] for row in maker.dossiers}
    _insert(session, Dossier, maker.dossiers)
    real = dict(session.execute(select(Dossier.code, Dossier.id).where(
        Dossier.code.like("H12.%"))).all())
    for rows, model in ((maker.history, StateChange), (maker.supplements, SupplementRequest),
                        (maker.apologies, ApologyLetter)):
        for row in rows:
            row["dossier_id"] = real[provisional[row["dossier_id"]]]
        _insert(session, model, rows)



def load_demo_dossiers(ctx: Any, size: int = DEFAULT_SIZE) -> dict[str, int]:
    """Load ``size`` dossiers over the year before ``ctx.clock()``; nothing if loaded before."""
    rng = random.Random(SEED)
    now = ctx.clock()
    with ctx.uow(SYSTEM) as uow:
        session = uow.session
        if session.get(Setting, MARKER) is not None:
            return {"dossiers": 0}
        setup = _setup(session)
        calendar = load_calendar(session)
        if not setup.departments and not setup.commune_agencies:
            return {"dossiers": 0}  # no demo agencies: nothing to attach dossiers to
        plan = _plan(setup, rng, size, _working_days(calendar, now))
        maker = DossierMaker(calendar, now, rng, _profiles(setup, random.Random(SEED)),
                             first_id=1)
        for day, procedure, processing, receiving in plan:
            maker.add(day, procedure, processing, receiving)
        maker.classify()
        _insert_all(session, maker)
        session.add(Setting(key=MARKER, value=now.isoformat()))
        outcomes = Counter(d["outcome"] for d in maker.dossiers)
        record_event(session, "demo.load", "public_services", "dossiers",
                     {"dossiers": len(maker.dossiers), "outcomes": dict(outcomes)})
        uow.commit()
    return {"dossiers": len(maker.dossiers), "state_changes": len(maker.history),
            "supplement_requests": len(maker.supplements),
            "apology_letters": len(maker.apologies), "tickets": _tickets(ctx, now)}


def _tickets(ctx: Any, now: datetime) -> int:
    """Today's warning tickets through the alert center; most agencies check and answer."""
    from cityops.alerts.models import Alert
    from cityops.alerts.tickets import answer_ticket, check_ticket
    from cityops.services.public_services.tickets import issue_warning_tickets

    # Issued this morning, so that the answers below lie between the ticket and now.
    issued = now - timedelta(hours=6)
    with ctx.uow(SYSTEM) as uow:
        run = issue_warning_tickets(uow, now=issued)
        uow.commit()
    rng = random.Random(SEED)
    with ctx.uow(SYSTEM) as uow:
        key = f"deadline-warning:%:{issued.astimezone(LOCAL).date().isoformat()}"
        ids = uow.session.scalars(select(Alert.id).where(Alert.dedupe_key.like(key),
                                                    Alert.ticket_checked_at.is_(None))
                                  .order_by(Alert.id)).all()
        for alert_id in ids:
            roll = rng.random()
            later = issued + timedelta(minutes=rng.randint(20, 340))
            if roll < 0.55:
                answer_ticket(uow, alert_id, "Đã rà soát, chỉ đạo xử lý dứt điểm các hồ sơ "
                              "quá hạn và gửi phiếu xin lỗi công dân.", now=later)
            elif roll < 0.8:
                check_ticket(uow, alert_id, now=later)
        uow.commit()
    return run.sent


def load_demo(ctx: Any) -> dict[str, int]:
    """The manifest's demo loader: a year of dossiers, unless ``CITYOPS_DEMO_VOLUME=reference``.

    The test suite loads reference data only, because its shared demo database must not carry
    dossiers that other tests count; the demo's own test calls :func:`load_demo_dossiers` with
    a smaller size.
    """
    if ctx.settings.demo_volume != "records":
        return {"dossiers": 0}
    return load_demo_dossiers(ctx)
