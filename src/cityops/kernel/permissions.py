"""Roles, permissions and the one guard that checks them.

Every permission check in CityOps goes through :func:`authorize` (or the web layer's
``require`` dependency, which calls it); code never tests role names itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, false


class NotAuthenticated(Exception):
    """No valid credentials were given (HTTP 401)."""


class PermissionDenied(Exception):
    """The principal lacks a permission or acts outside its agencies (HTTP 403)."""


ROLES: dict[str, tuple[str, str]] = {
    # key: (Vietnamese, English)
    "admin": ("Quản trị hệ thống", "Administrator"),
    "operator": ("Điều hành viên IOC", "IOC operator"),
    "leader": ("Lãnh đạo", "Leader"),
    "officer": ("Cán bộ cơ quan", "Agency officer"),
    "soc_analyst": ("Chuyên viên SOC", "SOC analyst"),
    "integrator": ("Tích hợp hệ thống", "Integrator"),
}

# Roles whose holders see every agency's data; everyone else is scoped to their agency subtree.
PROVINCE_WIDE_ROLES = frozenset({"admin", "operator", "leader", "soc_analyst"})

_KERNEL_GRANTS: dict[str, set[str]] = {
    "areas.read": {"admin", "operator", "leader", "officer", "soc_analyst", "integrator"},
    "agencies.read": {"admin", "operator", "leader", "officer", "soc_analyst", "integrator"},
    "agencies.manage": {"admin"},
    "agencies.edit_contact": {"admin", "officer"},
    "users.read": {"admin", "operator", "leader", "officer"},
    "areas.manage": {"admin"},
    "users.manage": {"admin"},
    "calendar.manage": {"admin"},
    "audit.read": {"admin", "leader"},
    "apikeys.manage": {"admin"},
}


class PermissionRegistry:
    """Role → permissions, extended by each service's manifest at start."""

    def __init__(self) -> None:
        self._grants: dict[str, set[str]] = {role: set() for role in ROLES}
        for permission, roles in _KERNEL_GRANTS.items():
            self.grant(permission, roles)

    def grant(self, permission: str, roles: Iterable[str]) -> None:
        for role in roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} for permission {permission!r}")
            self._grants[role].add(permission)

    def permissions_for(self, roles: Iterable[str]) -> frozenset[str]:
        found: set[str] = set()
        for role in roles:
            found |= self._grants.get(role, set())
        return frozenset(found)

    def all_permissions(self) -> frozenset[str]:
        return frozenset().union(*self._grants.values())


permission_registry = PermissionRegistry()


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user or an integrator's API key."""

    label: str
    roles: frozenset[str]
    permissions: frozenset[str]
    agency_id: int | None
    # None means province-wide; otherwise the agency and its sub-agencies.
    agency_scope: frozenset[int] | None
    user_id: int | None = None
    api_key_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def province_wide(self) -> bool:
        return self.agency_scope is None

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def covers_agency(self, agency_id: int | None) -> bool:
        if self.agency_scope is None:
            return True
        return agency_id is not None and agency_id in self.agency_scope


SYSTEM = Principal(
    label="system",
    roles=frozenset({"admin"}),
    permissions=frozenset({"*"}),
    agency_id=None,
    agency_scope=None,
)


def authorize(principal: Principal | None, permission: str, *, agency_id: int | None = None,
              any_agency: bool = False) -> Principal:
    """Raise unless ``principal`` holds ``permission`` (for ``agency_id`` when given)."""
    if principal is None:
        raise NotAuthenticated("authentication required")
    if principal is SYSTEM:
        return principal
    if permission not in principal.permissions:
        raise PermissionDenied(f"permission {permission!r} required")
    if not any_agency and agency_id is not None and not principal.covers_agency(agency_id):
        raise PermissionDenied("this object belongs to another agency")
    return principal


def scope_to_agencies(stmt: Select[Any], principal: Principal,
                      agency_column: ColumnElement[Any]) -> Select[Any]:
    """Restrict a query to the rows the principal's agencies may see."""
    if principal.agency_scope is None:
        return stmt
    if not principal.agency_scope:
        return stmt.where(false())
    return stmt.where(agency_column.in_(sorted(principal.agency_scope)))
