"""The HTTP JSON connector: pull dossiers page by page from a dossier system and upsert them.

Each connector names where the list of dossiers sits in a page (``items_path``) and, for each
of our fields, the path of the value in one item (``field_mapping``, dotted paths such as
``hoSo.maHoSo`` or ``$.lichSu``; ``history.state``/``history.at`` map the keys inside the
history list). Pages are fetched before the database transaction starts, so a slow source
never holds SQLite's write lock; a failed pull stores nothing but the error.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from cityops.kernel.errors import Invalid
from cityops.services.public_services.intake import FLAT_FIELDS, LIST_FIELDS
from cityops.services.public_services.models import AUTH_KINDS, Connector, SyncRun
from cityops.services.public_services.service import record_batch, upsert_dossiers

TIMEOUT_SECONDS = 20.0
MAX_PROBLEMS = 200
_SUBFIELDS = {"history": ("state", "at", "note"),
              "supplements": ("requested_at", "completed_at", "note"),
              "apologies": ("issued_at", "new_appointment_at", "reason")}
MAPPABLE = (*FLAT_FIELDS, *LIST_FIELDS,
            *(f"{name}.{sub}" for name, subs in _SUBFIELDS.items() for sub in subs))


class PullFailed(RuntimeError):
    pass


def extract(data: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.0.c``; a leading ``$.`` is allowed); None if absent."""
    path = path.strip().removeprefix("$").removeprefix(".")
    for part in (p for p in path.split(".") if p):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def check_mapping(mapping: dict[str, str]) -> None:
    unknown = sorted(set(mapping) - set(MAPPABLE))
    if unknown:
        raise Invalid(f"unknown fields in the mapping: {', '.join(unknown)}")
    if "code" not in mapping:
        raise Invalid("the mapping must say where the dossier code is (code)")
    if any(not str(path).strip() for path in mapping.values()):
        raise Invalid("every mapped field needs a JSON path")


def map_item(item: Any, mapping: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, path in mapping.items():
        if "." in field:
            continue
        value = extract(item, path)
        if value is None:
            continue
        subs = {s: mapping.get(f"{field}.{s}") for s in _SUBFIELDS.get(field, ())}
        if field in LIST_FIELDS and isinstance(value, list) and any(subs.values()):
            value = [{s: extract(entry, p or s) for s, p in subs.items()}
                     for entry in value]
        out[field] = value
    return out


def _headers(connector: Connector) -> dict[str, str]:
    secret = connector.auth_secret
    if connector.auth_kind == "bearer":
        return {"Authorization": f"Bearer {secret}"}
    if connector.auth_kind == "basic":
        pair = f"{connector.auth_username}:{secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    if connector.auth_kind == "header":
        return {connector.auth_header: secret}
    return {"Accept": "application/json"}


def fetch_items(connector: Connector, client: httpx.Client) -> tuple[list[Any], int]:
    """Every item of every page; raises :class:`PullFailed` with a readable reason."""
    items: list[Any] = []
    pages = 0
    for page in range(1, connector.max_pages + 1):
        params = {connector.page_param: page, "page_size": connector.page_size} \
            if connector.page_param else {}
        try:
            response = client.get(connector.url, params=params, headers=_headers(connector))
        except httpx.HTTPError as exc:
            raise PullFailed(f"page {page}: cannot reach the source ({exc})") from None
        if response.status_code != 200:
            raise PullFailed(f"page {page}: the source answered HTTP {response.status_code}")
        try:
            found = extract(response.json(), connector.items_path)
        except ValueError:
            raise PullFailed(f"page {page}: the answer is not JSON") from None
        if not isinstance(found, list):
            raise PullFailed(f"page {page}: no list at {connector.items_path or '(root)'!r}")
        pages += 1
        items.extend(found)
        if not connector.page_param or len(found) < connector.page_size:
            break
    return items, pages


def run_connector(ctx: Any, connector_id: int, *, client: httpx.Client | None = None) -> int:
    """Pull one connector now; returns the sync run's id (its status tells the result)."""
    started = ctx.clock()
    with ctx.db.session() as session:
        connector = session.get(Connector, connector_id)
        if connector is None:
            raise Invalid(f"no connector {connector_id}")
        session.expunge(connector)
    owned = client is None
    client = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        items, pages = fetch_items(connector, client)
        error = ""
    except PullFailed as exc:
        items, pages, error = [], 0, str(exc)
    finally:
        if owned:
            client.close()
    now = ctx.clock()
    with ctx.uow() as uow:
        stored = uow.session.get(Connector, connector_id)
        assert stored is not None
        run = SyncRun(connector_id=connector_id, started_at=started, finished_at=now,
                      pages=pages, received=len(items), error=error)
        if not error:
            records = [map_item(item, connector.field_mapping) for item in items]
            result = upsert_dossiers(uow, records, source="connector", now=now)
            record_batch(uow, result, source="connector", now=now, filename=connector.name)
            run.created, run.updated = result.count("created"), result.count("updated")
            run.failed = result.count("failed")
            run.problems = result.errors()[:MAX_PROBLEMS]
        run.status = "error" if error else ("partial" if run.failed else "ok")
        stored.last_run_at = now
        if not error:
            stored.last_success_at = now
        stored.last_error = error or (f"{run.failed} dossiers refused" if run.failed else "")
        uow.session.add(run)
        uow.commit()
        return run.id


def run_due_connectors(ctx: Any) -> dict[str, int]:
    now = ctx.clock()
    with ctx.db.session() as session:
        due = [c.id for c in session.scalars(select(Connector).where(
            Connector.enabled.is_(True)).order_by(Connector.id))
            if c.last_run_at is None or c.last_run_at + timedelta(minutes=c.every_minutes) <= now]
    for connector_id in due:
        run_connector(ctx, connector_id)
    return {"ran": len(due)}


def save_connector(session: Any, values: dict[str, Any], connector_id: int | None = None
                   ) -> Connector:
    """Create or edit a connector after checking it; an empty secret keeps the stored one."""
    if values.get("auth_kind") not in AUTH_KINDS:
        raise Invalid(f"auth must be one of {', '.join(AUTH_KINDS)}")
    url = str(values.get("url") or "").strip()
    if not url.startswith(("http://", "https://")):
        raise Invalid("the URL must start with http:// or https://")
    if values["auth_kind"] == "header" and not str(values.get("auth_header") or "").strip():
        raise Invalid("header authentication needs the header's name")
    check_mapping(values.get("field_mapping") or {})
    name = str(values.get("name") or "").strip()
    if not name:
        raise Invalid("the connector needs a name")
    clash = session.scalar(select(Connector.id).where(Connector.name == name))
    if clash is not None and clash != connector_id:
        raise Invalid(f"another connector is already named {name!r}")
    connector = session.get(Connector, connector_id) if connector_id else Connector()
    if connector is None:
        raise Invalid(f"no connector {connector_id}")
    for name, value in values.items():
        if name == "auth_secret" and not value and connector.id is not None:
            continue
        if getattr(connector, name, None) != value:
            setattr(connector, name, value)
    session.add(connector)
    session.flush()
    return connector
