"""The Đắk Lắk demo data set: what it contains, and that loading it is repeatable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cityops.demo.loader import DEMO_STAFF, PROVINCE_CODE, load_demo, officer_username
from cityops.kernel.auth import User, verify_password
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import AGENCY_KINDS, Agency, Area
from cityops.kernel.registry import ServiceRegistry

STAFF_ROLES = {"admin": {"admin"}, "operator": {"operator"}, "leader": {"leader"},
               "soc": {"soc_analyst"}}


@pytest.fixture
def session(demo_ctx: AppContext) -> Iterator[Session]:
    with demo_ctx.db.session() as session:
        yield session


def agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).options(selectinload(Agency.areas),
                                                       selectinload(Agency.parent))))


def snapshot(ctx: AppContext) -> dict[str, object]:
    """Everything the demo defines, by natural keys (ids may differ between databases)."""
    with ctx.db.session() as session:
        areas = {(a.code, a.name, a.level, a.division_type, a.parent.code if a.parent else None,
                  a.valid_from, str(a.geometry)[:200])
                 for a in session.scalars(select(Area).options(selectinload(Area.parent)))}
        agency_rows = {(a.code, a.name, a.name_en, a.kind, a.email, a.phone,
                        a.parent.code if a.parent else None, tuple(x.code for x in a.areas))
                       for a in agencies(session)}
        users = {(u.username, u.full_name, tuple(sorted(u.roles)),
                  u.agency.code if u.agency else None)
                 for u in session.scalars(select(User).options(selectinload(User.agency)))}
    return {"areas": areas, "agencies": agency_rows, "users": users}


def kernel_only(ctx: AppContext) -> AppContext:
    """The same database without services, so that a load is just the kernel's part."""
    return AppContext(settings=ctx.settings, db=ctx.db, registry=ServiceRegistry())


def table_counts(ctx: AppContext) -> dict[str, int]:
    with ctx.db.session() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Area, Agency, User)}


# -- contents ------------------------------------------------------------------------------------


def test_province_and_communes(session: Session) -> None:
    levels = Counter(session.scalars(select(Area.level)))
    assert levels == {"province": 1, "commune": 102}
    province = session.scalars(select(Area).where(Area.level == "province")).one()
    assert (province.code, province.name) == (PROVINCE_CODE, "Tỉnh Đắk Lắk")
    divisions = Counter(session.scalars(select(Area.division_type)
                                        .where(Area.level == "commune")))
    assert set(divisions) == {"xã", "phường"}
    assert sum(divisions.values()) == 102


def test_area_names_are_clean(session: Session) -> None:
    for name in session.scalars(select(Area.name)):
        assert name == " ".join(name.split()), repr(name)
        assert "'" not in name  # apostrophes are U+2019 as in the geo data


def test_agency_catalogue(session: Session) -> None:
    rows = agencies(session)
    assert len(rows) >= 100
    assert len({a.code for a in rows}) == len(rows)
    assert {a.kind for a in rows} <= set(AGENCY_KINDS)
    kinds = Counter(a.kind for a in rows)
    assert kinds["commune_committee"] == 102
    assert kinds["ioc"] == 1
    assert kinds["department"] >= 10
    for code in ("UBND-TINH", "IOC", "SO-YT", "SO-GDDT", "CA-TINH"):
        assert code in {a.code for a in rows}


def test_agency_tree_has_one_root_and_no_cycles(session: Session) -> None:
    rows = agencies(session)
    roots = [a.code for a in rows if a.parent is None]
    assert "UBND-TINH" in roots
    by_id = {a.id: a for a in rows}
    for agency in rows:
        seen, current = set(), agency
        while current.parent_id is not None:
            assert current.id not in seen, f"cycle through {agency.code}"
            seen.add(current.id)
            current = by_id[current.parent_id]


def test_one_commune_committee_per_commune(session: Session) -> None:
    communes = set(session.scalars(select(Area.code).where(Area.level == "commune")))
    committees = [a for a in agencies(session) if a.kind == "commune_committee"]
    served = [a.areas[0].code for a in committees]
    for committee in committees:
        assert [area.code for area in committee.areas] == [committee.code.removeprefix("UBND-")]
    assert sorted(served) == sorted(communes)  # each commune exactly once


def test_every_agency_serves_somewhere(session: Session) -> None:
    for agency in agencies(session):
        assert agency.areas, agency.code


def test_staff_accounts_and_roles(session: Session) -> None:
    users = {u.username: u for u in session.scalars(select(User))}
    for username, roles in STAFF_ROLES.items():
        assert users[username].roles == roles, username
        assert users[username].is_active
    assert users["admin"].agency is not None and users["admin"].agency.kind == "ioc"
    assert users["leader"].agency is not None and users["leader"].agency.code == "UBND-TINH"
    assert {u for u, *_ in DEMO_STAFF} == set(STAFF_ROLES)


def test_each_agency_has_its_officer(session: Session) -> None:
    users = {u.username: u for u in session.scalars(select(User))}
    for agency in agencies(session):
        officer = users.get(officer_username(agency.code))
        assert officer is not None, agency.code
        assert officer.roles == {"officer"}
        assert officer.agency_id == agency.id
    assert users["so-yt"].agency is not None and users["so-yt"].agency.code == "SO-YT"
    assert users["ubnd-24133"].agency is not None
    assert users["ubnd-24133"].agency.code == "UBND-24133"
    assert len(users) == len(agencies(session)) + len(DEMO_STAFF)


def test_demo_accounts_use_the_configured_password(demo_ctx: AppContext,
                                                   session: Session) -> None:
    for username in ("admin", "so-yt"):
        hashed = session.scalar(select(User.password_hash).where(User.username == username))
        assert hashed is not None
        assert verify_password(hashed, demo_ctx.settings.demo_password)
        assert not verify_password(hashed, "cityops-demo")


# -- repeatability -------------------------------------------------------------------------------


def test_loading_is_deterministic(demo_ctx: AppContext, empty_ctx: AppContext) -> None:
    """Two fresh databases loaded independently hold the very same organisation."""
    load_demo(kernel_only(empty_ctx))
    first, second = snapshot(demo_ctx), snapshot(empty_ctx)
    assert first["areas"] == second["areas"]
    assert first["agencies"] == second["agencies"]
    assert first["users"] == second["users"]


def test_loading_twice_adds_nothing(demo_ctx: AppContext) -> None:
    before_counts, before = table_counts(demo_ctx), snapshot(demo_ctx)
    report = load_demo(demo_ctx)
    assert report.created == {}
    assert table_counts(demo_ctx) == before_counts
    assert snapshot(demo_ctx) == before


def test_first_load_reports_what_it_created(empty_ctx: AppContext) -> None:
    ticks: Counter[str] = Counter()
    report = load_demo(kernel_only(empty_ctx), progress=lambda what, n: ticks.update({what: n}))
    counts = table_counts(empty_ctx)
    assert report.created == {"areas": counts["areas"], "agencies": counts["agencies"],
                              "users": counts["users"]}
    assert ticks["areas"] == ticks["agencies"] == 1
    assert ticks["users"] == counts["users"]
    assert [u for u, _ in report.users][:4] == ["admin", "operator", "leader", "soc"]


def test_loading_keeps_local_edits_to_accounts(demo_ctx: AppContext) -> None:
    """A reload must not reset a password an operator has changed since."""
    from cityops.kernel.auth import set_password

    with demo_ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == "operator"))
        assert user is not None
        set_password(user, "doi-roi-2026")
        uow.commit()
    load_demo(kernel_only(demo_ctx))
    with demo_ctx.db.session() as session:
        hashed = session.scalar(select(User.password_hash).where(User.username == "operator"))
        assert hashed is not None and verify_password(hashed, "doi-roi-2026")
