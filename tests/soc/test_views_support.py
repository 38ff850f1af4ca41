"""Helpers for the SOC page tests (no tests here): detections with known values, users."""

from __future__ import annotations

import itertools
from datetime import timedelta

from conftest import DEMO_PASSWORD

from cityops.kernel.auth import User, hash_password, principal_for_user
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import Principal, permission_registry
from cityops.services.soc.models import SocDetection

_serial = itertools.count(1)
# An agency the demo gives no servers, so its figures are exactly what a test writes.
QUIET_AGENCY = "SO-XD"


def agency_id(ctx: AppContext, code: str) -> int:
    with ctx.db.session() as session:
        agency = agency_by_code(session, code)
        assert agency is not None, code
        return agency.id


def add_detections(ctx: AppContext, agency_code: str | None,
                   rows: list[tuple[str, str, str, timedelta]], *, rule_id: str = "r-test",
                   severity: str = "major", count: int = 1) -> list[int]:
    """rows: (category, host, rule title, age). Returns the new detection ids."""
    now = ctx.clock()
    owner = agency_id(ctx, agency_code) if agency_code else None
    ids = []
    with ctx.uow() as uow:
        for category, host, title, age in rows:
            seen = now - age
            row = SocDetection(
                dedupe_key=f"test|{next(_serial)}|{host}", rule_id=rule_id, rule_title=title,
                level="high", severity=severity, soc_category=category, tags=["attack.t1190"],
                host=host, agency_id=owner, source="test", window_start=seen,
                first_seen=seen, last_seen=seen, count=count)
            uow.session.add(row)
            uow.session.flush()
            ids.append(row.id)
        uow.commit()
    return ids


def principal_of(ctx: AppContext, username: str) -> Principal:
    """The user's principal, with the services' permissions granted as the app does at start."""
    for manifest in ctx.registry:
        for permission, roles in manifest.permissions.items():
            permission_registry.grant(permission, roles)
    with ctx.db.session() as session:
        user = session.query(User).filter_by(username=username).one()
        return principal_for_user(session, user)


def add_user(ctx: AppContext, username: str, roles: set[str], agency_code: str) -> None:
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, agency_code)
        user = User(username=username, full_name=username, agency=agency,
                    password_hash=hash_password(DEMO_PASSWORD))
        user.set_roles(roles)
        uow.session.add(user)
        uow.commit()


def day(days: float) -> timedelta:
    return timedelta(days=days)
