"""Service registry: every service ships a :class:`ServiceManifest`, found by entry point.

A service package declares ``[project.entry-points."cityops.services"] key = "pkg:manifest"``;
the kernel loads whatever is installed, so a third-party package can add a service
without the kernel importing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "cityops.services"


@dataclass(frozen=True)
class JobSpec:
    """A periodic job; ``run`` receives the app context (database, bus, settings, clock)."""

    name: str
    every_seconds: int
    run: Callable[[Any], object]


@dataclass(frozen=True)
class Tile:
    """A dashboard tile: ``compute`` returns a number or short text for the overview."""

    key: str
    title_vi: str
    title_en: str
    compute: Callable[[Any], object]


@dataclass(frozen=True)
class ServiceManifest:
    key: str
    title_vi: str
    title_en: str
    icon: str = "circle"
    # Routers are built lazily so that importing a manifest stays cheap.
    api_routers: Callable[[], Iterable[APIRouter]] | None = None
    view_routers: Callable[[], Iterable[APIRouter]] | None = None
    permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    jobs: tuple[JobSpec, ...] = ()
    tiles: tuple[Tile, ...] = ()
    demo_loader: Callable[[Any], object] | None = None
    nav_path: str | None = None
    templates_dir: str | None = None
    # A header badge for a signed-in user (the alert center's bell): (href, label msgid,
    # count) or None; called with (session, principal).
    header_badge: Callable[[Any, Any], tuple[str, str, int] | None] | None = None
    # Modules that define the service's tables, imported for migrations (Alembic metadata).
    model_modules: tuple[str, ...] = ()

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_vi


class RegistryError(RuntimeError):
    pass


class ServiceRegistry:
    def __init__(self, manifests: Iterable[ServiceManifest] = ()) -> None:
        self._services: dict[str, ServiceManifest] = {}
        for manifest in manifests:
            self.add(manifest)

    def add(self, manifest: ServiceManifest) -> None:
        if not isinstance(manifest, ServiceManifest):
            raise RegistryError(f"{manifest!r} is not a ServiceManifest")
        if manifest.key in self._services:
            raise RegistryError(f"two services share the key {manifest.key!r}")
        self._services[manifest.key] = manifest

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._services.values(), key=lambda m: m.key))

    def __len__(self) -> int:
        return len(self._services)

    def get(self, key: str) -> ServiceManifest | None:
        return self._services.get(key)


def discover(points: Iterable[EntryPoint] | None = None) -> ServiceRegistry:
    """Load every installed ``cityops.services`` entry point into a registry."""
    registry = ServiceRegistry()
    found = entry_points(group=ENTRY_POINT_GROUP) if points is None else points
    for point in sorted(found, key=lambda p: p.name):
        manifest = point.load()
        if getattr(manifest, "key", None) != point.name:
            raise RegistryError(
                f"entry point {point.name!r} loads a manifest with key "
                f"{getattr(manifest, 'key', None)!r}; they must match"
            )
        registry.add(manifest)
        log.info("service %s registered from %s", point.name, point.value)
    return registry
