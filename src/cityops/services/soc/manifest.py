"""The information security monitoring service's manifest (see docs/architecture.md, "How to add a service")."""

from __future__ import annotations

from cityops.kernel.registry import ServiceManifest

manifest = ServiceManifest(
    key="soc",
    title_vi="Giám sát an toàn thông tin",
    title_en="Information security monitoring",
    icon="shield",
)
