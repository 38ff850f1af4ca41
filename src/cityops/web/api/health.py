"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text

from cityops import __version__
from cityops.web.deps import Ctx

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class HttpMetrics:
    """Per-app registry so that several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("cityops_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("cityops_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry)

    def observe(self, request: Request, status: int, seconds: float) -> None:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        self.requests.labels(request.method, route, str(status)).inc()
        self.latency.labels(request.method, route).observe(seconds)


async def metrics_middleware(request: Request, call_next):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = await call_next(request)
    request.app.state.metrics.observe(request, response.status_code,
                                      time.perf_counter() - started)
    return response


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(ctx: Ctx) -> JSONResponse:
    try:
        with ctx.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not ready"
        # The driver's message names hosts and ports: log it, don't show it to anonymous callers.
        log.exception("readiness check: database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"},
                            status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
