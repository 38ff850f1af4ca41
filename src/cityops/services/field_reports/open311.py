"""Open311 GeoReport v2 at /open311/v2 (public; POST needs an integrator's api_key).

Parameters are read from the raw query/form, never through FastAPI validation, so every
refusal is the spec's error list with 400/403/404 instead of FastAPI's 422 shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cityops.kernel.auth import principal_for_api_key
from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.permissions import NotAuthenticated, PermissionDenied
from cityops.services.field_reports import open311_data as data
from cityops.services.field_reports.open311_format import (
    FORMATS,
    Open311Error,
    error_response,
    respond,
)
from cityops.web.deps import client_addr

router = APIRouter(prefix="/open311/v2", tags=["open311"])
JURISDICTION = "daklak.gov.vn"


def _run(fmt: str, produce: Callable[[], tuple[str, str | None, Any]],
         status: int = 200) -> Response:
    """Call ``produce`` (→ root, item, data) and map every refusal to the error list."""
    try:
        if fmt not in FORMATS:
            raise Open311Error(400, "unknown format; use .xml or .json")
        root, item, payload = produce()
        return respond(fmt, root, item, payload, status)
    except Open311Error as exc:
        return error_response(fmt, exc.status, exc.description)
    except NotFound as exc:
        return error_response(fmt, 404, str(exc))
    except (PermissionDenied, NotAuthenticated) as exc:
        return error_response(fmt, 403, str(exc) or "permission denied")
    except Invalid as exc:  # includes Conflict: Open311 knows only 400/403/404
        return error_response(fmt, 400, str(exc))


def _params(request: Request, form: dict[str, Any] | None = None) -> dict[str, Any]:
    """Query (and form) values; an empty optional value counts as absent (spec §1)."""
    merged: dict[str, Any] = {}
    for source in (request.query_params.multi_items(), (form or {}).items()):
        for key, value in source:
            if isinstance(value, str) and value.strip() == "":
                continue
            if key.endswith("[]"):
                merged.setdefault(key, []).append(value)
            else:
                merged[key] = value
    jurisdiction = merged.get("jurisdiction_id")
    if jurisdiction is not None and jurisdiction != JURISDICTION:
        raise Open311Error(404, f"unknown jurisdiction_id; this endpoint serves {JURISDICTION}")
    return merged


async def _form(request: Request) -> list[tuple[str, Any]]:
    form = await request.form()
    return list(form.multi_items())


def _form_dict(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in items:
        if key.endswith("[]"):
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def _integrator(request: Request, params: dict[str, Any]) -> Any:
    key = params.get("api_key")
    if not isinstance(key, str) or not key:
        raise Open311Error(403, "api_key is required")
    ctx = request.app.state.ctx
    with ctx.db.sessions() as session:
        principal = principal_for_api_key(session, key)
    if principal is None:
        raise Open311Error(403, "invalid api_key")
    return principal


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        _params(request)
        return "discovery", None, data.discovery(ctx.settings.base_url)

    return _run(fmt, produce)


@router.get("/services.{fmt}")
def services(request: Request, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        _params(request)
        with ctx.uow(write=False) as uow:
            return "services", "service", data.services(uow.session)

    return _run(fmt, produce)


@router.get("/services/{service_code}.{fmt}")
def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        _params(request)
        with ctx.uow(write=False) as uow:
            return "service_definition", None, data.definition(uow.session, service_code)

    return _run(fmt, produce)


@router.post("/requests.{fmt}")
async def post_request(request: Request, fmt: str) -> Response:
    ctx = request.app.state.ctx
    try:
        items = await _form(request)
    except Exception:  # a body that is not form-encoded
        return error_response(fmt, 400, "send the request form-encoded")

    def produce() -> tuple[str, str | None, Any]:
        params = _params(request, _form_dict(items))
        principal = _integrator(request, params)
        with ctx.uow(principal, client_addr(request)) as uow:
            out = data.create_request(uow, params, now=ctx.clock(),
                                      client_addr=client_addr(request))
            uow.commit()
        return "service_requests", "request", out

    return await run_in_threadpool(_run, fmt, produce)


@router.get("/requests.{fmt}")
def get_requests(request: Request, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        params = _params(request)
        with ctx.uow(write=False) as uow:
            return "service_requests", "request", data.find_requests(
                uow.session, params, now=ctx.clock())

    return _run(fmt, produce)


@router.get("/requests/{request_id}.{fmt}")
def get_request(request: Request, request_id: str, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        _params(request)
        with ctx.uow(write=False) as uow:
            return "service_requests", "request", [data.one_request(uow.session, request_id)]

    return _run(fmt, produce)


@router.get("/tokens/{token}.{fmt}")
def get_token(request: Request, token: str, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        _params(request)
        with ctx.uow(write=False) as uow:
            return "service_requests", "request", data.token(uow.session, token)

    return _run(fmt, produce)


@router.get("/servicerequestupdates.{fmt}")
def get_updates(request: Request, fmt: str) -> Response:
    ctx = request.app.state.ctx

    def produce() -> tuple[str, str | None, Any]:
        params = _params(request)
        with ctx.uow(write=False) as uow:
            return "service_request_updates", "request_update", data.find_updates(
                uow.session, params, now=ctx.clock())

    return _run(fmt, produce)


@router.post("/servicerequestupdates.{fmt}")
async def post_update(request: Request, fmt: str) -> Response:
    ctx = request.app.state.ctx
    try:
        items = await _form(request)
    except Exception:
        return error_response(fmt, 400, "send the update form-encoded")

    def produce() -> tuple[str, str | None, Any]:
        params = _params(request, _form_dict(items))
        principal = _integrator(request, params)
        with ctx.uow(principal, client_addr(request)) as uow:
            out = data.post_update(uow, params, now=ctx.clock())
            uow.commit()
        return "service_request_updates", "request_update", out

    return await run_in_threadpool(_run, fmt, produce)


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
def unknown(rest: str) -> Response:
    """Anything else under /open311/v2 answers the spec's error list, not FastAPI's."""
    fmt = rest.rsplit(".", 1)[-1] if "." in rest else "xml"
    return error_response(fmt, 404, f"no such GeoReport v2 resource: {rest}")
