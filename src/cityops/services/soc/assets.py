"""Asset inventory: which agency owns a host (by hostname or IP/CIDR) and how critical it is."""

from __future__ import annotations

import csv
import io
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.orgs import Agency, agency_by_code
from cityops.kernel.permissions import Principal, authorize, scope_to_agencies
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc.models import CRITICALITIES, SocAsset

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
CSV_COLUMNS = ("hostname", "ip", "agency_code", "criticality", "notes")
MAX_CSV_ROWS = 10_000


@dataclass
class AssetInput:
    agency_code: str
    hostname: str | None = None
    ip: str | None = None  # one address or a CIDR block
    criticality: str = "medium"
    notes: str = ""


def _clean_hostname(value: str | None) -> str | None:
    value = (value or "").strip().lower().rstrip(".")
    if not value:
        return None
    if len(value) > 255 or any(ch.isspace() for ch in value):
        raise Invalid(f"hostname {value[:60]!r} is not a valid host name")
    return value


def parse_network(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise Invalid(f"{value[:60]!r} is not an IP address or CIDR block") from None


def _validated(session: Session, data: AssetInput) -> tuple[str | None, str | None, Agency]:
    hostname, network = _clean_hostname(data.hostname), parse_network(data.ip)
    if hostname is None and network is None:
        raise Invalid("an asset needs a hostname, an IP address or a CIDR block")
    if data.criticality not in CRITICALITIES:
        raise Invalid(f"criticality must be one of: {', '.join(CRITICALITIES)}")
    agency = agency_by_code(session, data.agency_code.strip())
    if agency is None:
        raise Invalid(f"no agency with code {data.agency_code!r}")
    return hostname, network, agency


def _check_unique(session: Session, hostname: str | None, own_id: int | None) -> None:
    if hostname is None:
        return
    other = session.scalar(select(SocAsset.id).where(SocAsset.hostname == hostname))
    if other is not None and other != own_id:
        raise Conflict(f"an asset with hostname {hostname!r} already exists")


def create_asset(uow: UnitOfWork, data: AssetInput, now: datetime) -> SocAsset:
    hostname, network, agency = _validated(uow.session, data)
    authorize(uow.principal, "soc.assets.manage", agency_id=agency.id)
    _check_unique(uow.session, hostname, None)
    asset = SocAsset(hostname=hostname, network=network, agency_id=agency.id,
                     criticality=data.criticality, notes=data.notes.strip(),
                     created_at=now, updated_at=now)
    uow.session.add(asset)
    uow.session.flush()
    return asset


def get_asset(session: Session, principal: Principal, asset_id: int) -> SocAsset:
    asset = session.get(SocAsset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    authorize(principal, "soc.read", agency_id=asset.agency_id)
    return asset


def update_asset(uow: UnitOfWork, asset_id: int, data: AssetInput, now: datetime) -> SocAsset:
    asset = get_asset(uow.session, uow.principal, asset_id)
    authorize(uow.principal, "soc.assets.manage", agency_id=asset.agency_id)
    hostname, network, agency = _validated(uow.session, data)
    authorize(uow.principal, "soc.assets.manage", agency_id=agency.id)
    _check_unique(uow.session, hostname, asset.id)
    asset.hostname, asset.network, asset.agency_id = hostname, network, agency.id
    asset.criticality, asset.notes, asset.updated_at = data.criticality, data.notes.strip(), now
    return asset


def delete_asset(uow: UnitOfWork, asset_id: int) -> None:
    asset = get_asset(uow.session, uow.principal, asset_id)
    authorize(uow.principal, "soc.assets.manage", agency_id=asset.agency_id)
    uow.session.delete(asset)


def asset_query(principal: Principal, q: str | None = None,
                agency_id: int | None = None) -> Select[tuple[SocAsset]]:
    authorize(principal, "soc.read")
    stmt = select(SocAsset).order_by(SocAsset.hostname, SocAsset.network, SocAsset.id)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(SocAsset.hostname.like(like) | SocAsset.network.like(like))
    if agency_id is not None:
        stmt = stmt.where(SocAsset.agency_id == agency_id)
    return scope_to_agencies(stmt, principal, SocAsset.agency_id)


def import_csv(uow: UnitOfWork, text: str, now: datetime) -> tuple[int, int]:
    """Create or update assets from CSV (header: hostname,ip,agency_code,criticality,notes).

    All or nothing: the first bad row refuses the whole file, naming its line, so an inventory
    is never half imported. Rows are matched to existing assets by hostname, else by network.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = {"agency_code"} - set(reader.fieldnames or ())
    if missing or not ({"hostname", "ip"} & set(reader.fieldnames or ())):
        raise Invalid(f"the CSV header must have {', '.join(CSV_COLUMNS)} "
                      "(hostname or ip, and agency_code)")
    created = updated = 0
    for line_no, row in enumerate(reader, start=2):
        if line_no - 1 > MAX_CSV_ROWS:
            raise Invalid(f"at most {MAX_CSV_ROWS} rows per file")
        data = AssetInput(agency_code=row.get("agency_code") or "",
                          hostname=row.get("hostname"), ip=row.get("ip"),
                          criticality=(row.get("criticality") or "medium").strip().lower(),
                          notes=row.get("notes") or "")
        try:
            hostname, network, _agency = _validated(uow.session, data)
            existing = _existing(uow.session, hostname, network)
            if existing is None:
                create_asset(uow, data, now)
                created += 1
            else:
                update_asset(uow, existing.id, data, now)
                updated += 1
        except (Invalid, NotFound) as exc:
            raise Invalid(f"line {line_no}: {exc}") from None
    return created, updated


def _existing(session: Session, hostname: str | None, network: str | None) -> SocAsset | None:
    if hostname is not None:
        return session.scalar(select(SocAsset).where(SocAsset.hostname == hostname))
    return session.scalar(select(SocAsset).where(SocAsset.network == network,
                                                 SocAsset.hostname.is_(None)))


@dataclass(frozen=True)
class AssetMatch:
    asset_id: int
    agency_id: int
    criticality: str


class AssetIndex:
    """In-memory lookup for the hot path: exact hostname (or its short name), then the most
    specific network that contains an address."""

    def __init__(self, assets: list[tuple[int, str | None, str | None, int, str]]) -> None:
        self._by_name: dict[str, AssetMatch] = {}
        self._networks: list[tuple[IpNetwork, AssetMatch]] = []
        for asset_id, hostname, network, agency_id, criticality in assets:
            match = AssetMatch(asset_id, agency_id, criticality)
            if hostname:
                self._by_name[hostname] = match
            if network:
                self._networks.append((ipaddress.ip_network(network), match))
        self._networks.sort(key=lambda item: -item[0].prefixlen)

    @classmethod
    def load(cls, session: Session) -> AssetIndex:
        rows = session.execute(select(SocAsset.id, SocAsset.hostname, SocAsset.network,
                                      SocAsset.agency_id, SocAsset.criticality)).all()
        return cls([tuple(row) for row in rows])  # type: ignore[misc]

    def by_hostname(self, hostname: str | None) -> AssetMatch | None:
        if not hostname:
            return None
        name = hostname.strip().lower().rstrip(".")
        return self._by_name.get(name) or self._by_name.get(name.split(".", 1)[0])

    def by_ip(self, address: str | None) -> AssetMatch | None:
        if not address:
            return None
        try:
            ip = ipaddress.ip_address(str(address).strip())
        except ValueError:
            return None
        for network, match in self._networks:
            if ip.version == network.version and ip in network:
                return match
        return None
