"""The citizen field reports service's manifest (see docs/architecture.md, "How to add a service")."""

from __future__ import annotations

from cityops.kernel.registry import ServiceManifest

manifest = ServiceManifest(
    key="field_reports",
    title_vi="Phản ánh hiện trường",
    title_en="Citizen field reports",
    icon="megaphone",
)
