"""Loads the Đắk Lắk demo: areas with boundaries, agencies, users, then each service's data.

Every step upserts by natural key (area code, agency code, username), so loading twice
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from vietnam_provinces import Ward

from cityops.kernel.auth import User, hash_password
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import AGENCY_KINDS, Agency, Area

PROVINCE_CODE = "66"
PROVINCE_NAME = "Tỉnh Đắk Lắk"
REFORM_DAY = date(2025, 7, 1)  # the two-tier local government took effect

Progress = Callable[[str, int], None]


@dataclass
class DemoReport:
    created: dict[str, int] = field(default_factory=dict)
    users: list[tuple[str, str]] = field(default_factory=list)  # (username, role summary)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def _geo(name: str) -> dict[str, Any]:
    text = resources.files("cityops.data.geo").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def _clean(name: str) -> str:
    return " ".join(name.split())


def load_areas(session: Session, report: DemoReport) -> dict[str, Area]:
    province_geo = _geo("daklak-province.geojson")["features"][0]["geometry"]
    communes_geo = {str(f["properties"]["code"]): f["geometry"]
                    for f in _geo("daklak-communes.geojson")["features"]}
    existing = {a.code: a for a in session.scalars(select(Area))}

    def upsert(code: str, name: str, level: str, division: str, parent: Area | None,
               geometry: dict[str, Any] | None) -> Area:
        area = existing.get(code)
        if area is None:
            area = Area(code=code, level=level, valid_from=REFORM_DAY)
            session.add(area)
            existing[code] = area
            report.count("areas")
        area.set_name(name)
        area.division_type = division
        area.parent = parent
        area.geometry = geometry
        return area

    province = upsert(PROVINCE_CODE, PROVINCE_NAME, "province", "tỉnh", None, province_geo)
    wards = [w for w in Ward.iter_all() if str(w.province_code.value) == PROVINCE_CODE]
    for ward in sorted(wards, key=lambda w: w.code.value):
        code = f"{ward.code.value:05d}"
        division = str(getattr(ward.division_type, "value", ward.division_type))
        upsert(code, _clean(ward.name), "commune", division, province,
               communes_geo.get(str(ward.code.value)))
    session.flush()
    return existing


def load_agencies(session: Session, areas: dict[str, Area], report: DemoReport) -> None:
    text = resources.files("cityops.demo.data").joinpath("agencies.yaml").read_text("utf-8")
    rows = yaml.safe_load(text)["agencies"]
    existing = {a.code: a for a in session.scalars(select(Agency))}
    province = areas[PROVINCE_CODE]
    for row in rows:
        if row["kind"] not in AGENCY_KINDS:
            raise ValueError(f"agency {row['code']}: unknown kind {row['kind']!r}")
        agency = existing.get(row["code"])
        if agency is None:
            agency = Agency(code=row["code"], kind=row["kind"])
            session.add(agency)
            existing[row["code"]] = agency
            report.count("agencies")
        agency.set_name(row["name"])
        agency.name_en = row.get("name_en", "")
        agency.kind = row["kind"]
        agency.email = row.get("email") or ""
        agency.phone = str(row.get("phone") or "")
        parent = row.get("parent")
        if parent is not None and parent not in existing:
            raise ValueError(f"agency {row['code']}: parent {parent!r} must come earlier")
        agency.parent = existing[parent] if parent else None
        served = row.get("areas") or []
        agency.areas = [province] if served == ["province"] else \
            [areas[f"{int(code):05d}"] for code in served]
    session.flush()


DEMO_STAFF = (
    # username, full name, roles, agency code
    ("admin", "Quản trị hệ thống", {"admin"}, "IOC"),
    ("operator", "Nguyễn Văn An (Điều hành viên IOC)", {"operator"}, "IOC"),
    ("leader", "Trần Thị Bình (Lãnh đạo UBND tỉnh)", {"leader"}, "UBND-TINH"),
    ("soc", "Lê Minh Cường (Chuyên viên SOC)", {"soc_analyst"}, "IOC"),
)


# Officers worth naming when the demo is loaded: a department, a ward, the traffic police.
SAMPLE_OFFICERS = ("so-nnmt", "ubnd-24133", "ca-pc08")


def officer_username(agency_code: str) -> str:
    return agency_code.lower()


def load_users(session: Session, password: str, report: DemoReport,
               progress: Progress | None = None) -> None:
    existing = {u.username: u for u in session.scalars(select(User))}
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    ioc = next((a for a in agencies.values() if a.kind == "ioc"), None)
    wanted = []
    for username, full_name, roles, agency_code in DEMO_STAFF:
        agency = agencies.get(agency_code) or ioc
        wanted.append((username, full_name, roles, agency))
    for agency in sorted(agencies.values(), key=lambda a: a.code):
        wanted.append((officer_username(agency.code), f"Cán bộ {agency.name}", {"officer"},
                       agency))
    # One argon2 hash serves every demo account: they share the documented demo password
    # anyway, and hashing 140 times would make `make run` wait half a minute on 2 cores.
    shared_hash = hash_password(password)
    for username, full_name, roles, agency in wanted:
        if progress:
            progress("users", 1)
        if username in existing:
            continue
        user = User(username=username, full_name=full_name, agency=agency,
                    password_hash=shared_hash)
        user.set_roles(roles)
        session.add(user)
        report.count("users")
    samples = [w for w in wanted if w[0] in SAMPLE_OFFICERS]
    for username, _, roles, agency in wanted[: len(DEMO_STAFF)] + samples:
        where = agency.code if agency else ""
        report.users.append((username, f"{'/'.join(sorted(roles))} — {where}"))
    session.flush()


def demo_steps(ctx: AppContext) -> int:
    """How many progress ticks a full load makes (for the progress bar)."""
    agencies = yaml.safe_load(resources.files("cityops.demo.data")
                              .joinpath("agencies.yaml").read_text("utf-8"))["agencies"]
    return 2 + len(DEMO_STAFF) + len(agencies) + len(ctx.registry)


def load_demo(ctx: AppContext, progress: Progress | None = None) -> DemoReport:
    report = DemoReport()
    with ctx.uow() as uow:
        areas = load_areas(uow.session, report)
        if progress:
            progress("areas", 1)
        load_agencies(uow.session, areas, report)
        if progress:
            progress("agencies", 1)
        load_users(uow.session, ctx.settings.demo_password, report, progress)
        uow.commit()
    for manifest in ctx.registry:
        if manifest.demo_loader is not None:
            result = manifest.demo_loader(ctx)
            if isinstance(result, dict):
                for what, n in result.items():
                    if isinstance(n, int) and n:
                        report.count(f"{manifest.key} {what}", n)
        if progress:
            progress(manifest.key, 1)
    return report
