"""Point → commune lookup over the areas' boundary polygons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.kernel.orgs import Area


class OutsideProvince(LookupError):
    """The point lies in no commune of the province."""


@dataclass(frozen=True)
class AreaHit:
    code: str
    name: str


class AreaLocator:
    """Spatial index of commune polygons; build once, query many times."""

    def __init__(self, areas: list[tuple[str, str, dict[str, Any]]]) -> None:
        self._hits = [AreaHit(code, name) for code, name, _ in areas]
        self._shapes: list[BaseGeometry] = [shape(geom) for _, _, geom in areas]
        self._tree = STRtree(self._shapes)

    @classmethod
    def from_session(cls, session: Session, level: str = "commune") -> AreaLocator:
        rows = session.execute(
            select(Area.code, Area.name, Area.geometry)
            .where(Area.level == level, Area.geometry.is_not(None), Area.valid_to.is_(None))
            .order_by(Area.code)
        ).all()
        return cls([(code, name, geometry) for code, name, geometry in rows])

    def __len__(self) -> int:
        return len(self._hits)

    def locate(self, lat: float, lon: float) -> AreaHit:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"not a WGS 84 coordinate: lat={lat}, lon={lon}")
        point = Point(lon, lat)  # GeoJSON order is lon, lat
        for index in self._tree.query(point, predicate="intersects"):
            return self._hits[int(index)]
        raise OutsideProvince(f"point ({lat:.5f}, {lon:.5f}) is outside the province")
