"""The online public services service's manifest (see docs/architecture.md, "How to add a service")."""

from __future__ import annotations

from cityops.kernel.registry import ServiceManifest

manifest = ServiceManifest(
    key="public_services",
    title_vi="Dịch vụ công trực tuyến",
    title_en="Online public services",
    icon="file-text",
)
