"""The public-services demo: a year of dossiers classified by the engine, loaded once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from cityops.alerts.models import Alert
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency
from cityops.services.public_services import demo
from cityops.services.public_services.demo_catalogue import LATE_DEPARTMENTS
from cityops.services.public_services.intake import LOCAL
from cityops.services.public_services.models import ApologyLetter, Dossier, StateChange
from cityops.services.public_services.service_classify import reclassify_all

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SIZE = 800


def counts(ctx: AppContext) -> tuple[int, int, int]:
    with ctx.db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore
                     for model in (Dossier, StateChange, ApologyLetter))


def test_a_year_of_dossiers_loads_once(demo_ctx: AppContext) -> None:
    demo_ctx.clock = lambda: NOW
    report = demo.load_demo_dossiers(demo_ctx, size=SIZE)
    assert report["dossiers"] == SIZE and report["state_changes"] > 2 * SIZE
    assert report["apology_letters"] > 0 and report["tickets"] > 0
    before = counts(demo_ctx)
    assert demo.load_demo_dossiers(demo_ctx, size=SIZE) == {"dossiers": 0}
    assert counts(demo_ctx) == before

    with demo_ctx.db.session() as session:
        rows = session.execute(select(Dossier.received_at, Dossier.outcome, Agency.code,
                                      Agency.kind)
                               .join(Agency, Agency.id == Dossier.processing_agency_id)).all()
        # The stored outcomes are the engine's: reclassifying changes nothing.
        assert reclassify_all(session, now=NOW) == 0
        tickets = session.scalars(select(Alert).where(
            Alert.dedupe_key.like("deadline-warning:%"))).all()
    outcomes = Counter(r.outcome for r in rows)
    assert {"early", "on_time", "late", "overdue", "in_term", "cancelled"} <= set(outcomes)
    assert {r.kind for r in rows} == {"department", "commune_committee"}
    days = [r.received_at.astimezone(LOCAL).date() for r in rows]
    assert min(days) >= date(2025, 11, 20) and max(days) <= date(2026, 11, 20)

    # Chronically late departments are late far more often than everyone else.
    def late_share(chosen: list[str | None]) -> float:
        return sum(o in ("late", "overdue") for o in chosen) / len(chosen)

    chronic = [r.outcome for r in rows if r.code in LATE_DEPARTMENTS]
    others = [r.outcome for r in rows if r.kind == "department"
              and r.code not in LATE_DEPARTMENTS]
    assert late_share(chronic) > 2 * late_share(others)

    # The Tết fortnight (Tết 2026: 17 February) is much quieter than the same span before.
    tet = sum(date(2026, 2, 9) <= d <= date(2026, 2, 27) for d in days)
    before_tet = sum(date(2026, 1, 12) <= d <= date(2026, 1, 30) for d in days)
    assert tet < before_tet / 2

    # Warning tickets through the alert center, most checked and some answered.
    assert tickets and any(t.ticket_answered_at for t in tickets)
    assert all(t.service == "public_services" and t.is_ticket for t in tickets)


def test_the_manifest_loader_leaves_the_test_database_alone(demo_ctx: AppContext) -> None:
    # The shared demo database of the test suite stays free of the year of dossiers.
    assert demo.load_demo(demo_ctx) == {"dossiers": 0}
    assert counts(demo_ctx)[0] == 0
