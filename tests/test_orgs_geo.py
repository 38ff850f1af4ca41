"""Areas with boundaries, point-in-commune lookup, agency trees and Vietnamese text folding."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from shapely.geometry import shape
from shapely.prepared import prep
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.kernel.context import AppContext
from cityops.kernel.geo import AreaLocator, OutsideProvince
from cityops.kernel.orgs import Agency, Area, agency_by_code, agency_subtree_ids, area_by_code
from cityops.kernel.text import fold


@pytest.fixture
def session(demo_ctx: AppContext) -> Iterator[Session]:
    with demo_ctx.db.session() as session:
        yield session


@pytest.fixture
def locator(session: Session) -> AreaLocator:
    return AreaLocator.from_session(session)


def agency_id(session: Session, code: str) -> int:
    agency = agency_by_code(session, code)
    assert agency is not None, code
    return agency.id


# -- areas -------------------------------------------------------------------------------------


def test_demo_has_province_and_102_communes_with_geometry(session: Session) -> None:
    communes = session.scalars(select(Area).where(Area.level == "commune")).all()
    assert len(communes) == 102
    assert len({a.code for a in communes}) == 102
    province = session.scalars(select(Area).where(Area.level == "province")).one()
    assert province.code == "66"
    assert province.geometry is not None
    assert province.geometry["type"] in {"Polygon", "MultiPolygon"}
    for commune in communes:
        assert commune.geometry is not None, commune.code
        assert shape(commune.geometry).is_valid or shape(commune.geometry).buffer(0).area > 0
        assert commune.parent_id == province.id
        assert commune.division_type in {"xã", "phường"}
        assert commune.search_name == fold(commune.name)


def test_communes_lie_inside_the_province(session: Session) -> None:
    province = shape(session.scalars(select(Area).where(Area.level == "province")).one().geometry)
    communes = session.scalars(select(Area).where(Area.level == "commune")).all()
    total = sum(shape(c.geometry).area for c in communes)
    assert math.isclose(total, province.area, rel_tol=0.02)
    around = prep(province.buffer(0.01))
    for commune in communes:
        assert around.contains(shape(commune.geometry).representative_point())


def test_area_validity_window(session: Session) -> None:
    from datetime import date

    area = area_by_code(session, "24133")
    assert area is not None and area.name == "Phường Buôn Ma Thuột"
    assert area.is_valid_on(date(2025, 7, 1))
    assert not area.is_valid_on(date(2025, 6, 30))
    area.valid_to = date(2030, 1, 1)
    assert area.is_valid_on(date(2029, 12, 31))
    assert not area.is_valid_on(date(2030, 1, 1))


# -- point lookup --------------------------------------------------------------------------------


def test_locator_indexes_every_commune(locator: AreaLocator) -> None:
    assert len(locator) == 102


def test_point_in_buon_ma_thuot(locator: AreaLocator) -> None:
    hit = locator.locate(12.6675, 108.0378)
    assert (hit.code, hit.name) == ("24133", "Phường Buôn Ma Thuột")


def test_point_in_tuy_hoa(locator: AreaLocator) -> None:
    hit = locator.locate(13.095, 109.31)
    assert (hit.code, hit.name) == ("22015", "Phường Tuy Hòa")


def test_every_commune_finds_itself(session: Session, locator: AreaLocator) -> None:
    for code, geometry in session.execute(
            select(Area.code, Area.geometry).where(Area.level == "commune")):
        inside = shape(geometry).representative_point()
        assert locator.locate(inside.y, inside.x).code == code


@pytest.mark.parametrize(("lat", "lon"), [(21.03, 105.85), (10.78, 106.70), (12.5, 110.5)])
def test_points_outside_the_province(locator: AreaLocator, lat: float, lon: float) -> None:
    with pytest.raises(OutsideProvince, match="outside the province"):
        locator.locate(lat, lon)


def test_swapped_coordinates_are_outside(locator: AreaLocator) -> None:
    # lon/lat swapped by mistake is a valid coordinate in the Indian Ocean, not Buôn Ma Thuột.
    with pytest.raises(OutsideProvince):
        locator.locate(108.0378 - 90, 12.6675)


@pytest.mark.parametrize(("lat", "lon"), [(91, 108), (-90.5, 108), (12.6, 181), (12.6, -180.1),
                                          (math.nan, 108.0), (12.6, math.nan)])
def test_invalid_coordinates(locator: AreaLocator, lat: float, lon: float) -> None:
    with pytest.raises(ValueError, match="WGS 84"):
        locator.locate(lat, lon)


def test_retired_areas_are_not_located(demo_ctx: AppContext) -> None:
    from datetime import date

    with demo_ctx.db.session() as session:
        area = area_by_code(session, "24133")
        assert area is not None
        area.valid_to = date(2026, 1, 1)
        session.commit()
        locator = AreaLocator.from_session(session)
    assert len(locator) == 101
    with pytest.raises(OutsideProvince):
        locator.locate(12.6675, 108.0378)


# -- agencies -----------------------------------------------------------------------------------


def test_agency_subtree_contains_children(session: Session) -> None:
    root = agency_id(session, "UBND-TINH")
    subtree = agency_subtree_ids(session, root)
    for code in ("VP-UBND-TINH", "TTPVHCC-TINH", "SO-YT", "SO-GDDT"):
        assert agency_id(session, code) in subtree  # TTPVHCC-TINH is a grandchild
    assert root in subtree


def test_agency_subtree_of_a_leaf_is_itself(session: Session) -> None:
    leaf = agency_id(session, "UBND-22045")
    assert agency_subtree_ids(session, leaf) == {leaf}


def test_commune_subtree_includes_its_service_centre(session: Session) -> None:
    commune = agency_id(session, "UBND-24121")
    assert agency_subtree_ids(session, commune) == {commune, agency_id(session, "TTPVHCC-24121")}


def test_agency_subtree_excludes_siblings_and_parents(session: Session) -> None:
    subtree = agency_subtree_ids(session, agency_id(session, "VP-UBND-TINH"))
    assert agency_id(session, "TTPVHCC-TINH") in subtree
    assert agency_id(session, "UBND-TINH") not in subtree
    assert agency_id(session, "SO-YT") not in subtree


def test_agency_subtree_matches_parent_links(session: Session) -> None:
    """Every agency's subtree equals the set of agencies whose parent chain reaches it."""
    rows = session.execute(select(Agency.id, Agency.parent_id))
    parents = {row.id: row.parent_id for row in rows}

    def ancestors(agency: int) -> set[int]:
        found = {agency}
        while parents.get(agency) is not None:
            agency = parents[agency]
            found.add(agency)
        return found

    for root in parents:
        expected = {a for a in parents if root in ancestors(a)}
        assert agency_subtree_ids(session, root) == expected


def test_commune_committee_serves_its_commune(session: Session) -> None:
    agency = agency_by_code(session, "UBND-24133")
    assert agency is not None
    assert agency.kind == "commune_committee"
    assert [a.code for a in agency.areas] == ["24133"]
    assert session.scalar(select(func.count()).select_from(Agency)) >= 100


# -- text folding -------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [
    ("Buôn Ma Thuột", "buon ma thuot"),
    ("Đắk Lắk", "dak lak"),
    ("ĐẮK LẮK", "dak lak"),
    ("M’Drắk", "m'drak"),
    ("Cư Mʼgar", "cu m'gar"),
    ("  Phường   Tuy  Hòa ", "phuong tuy hoa"),
    ("Ea H’leo", "ea h'leo"),
    ("Krông Búk", "krong buk"),
    ("", ""),
])
def test_fold(given: str, expected: str) -> None:
    assert fold(given) == expected


def test_fold_treats_composed_and_decomposed_alike() -> None:
    import unicodedata

    name = "Thị xã Buôn Hồ"
    assert fold(unicodedata.normalize("NFD", name)) == fold(unicodedata.normalize("NFC", name))


def test_fold_is_idempotent() -> None:
    for name in ("Buôn Ma Thuột", "M’Drắk", "Đắk Lắk"):
        assert fold(fold(name)) == fold(name)
