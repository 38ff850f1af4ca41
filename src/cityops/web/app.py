"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from cityops import __version__
from cityops.kernel.config import Settings, get_settings
from cityops.kernel.context import AppContext
from cityops.kernel.db import Database
from cityops.kernel.permissions import permission_registry
from cityops.kernel.registry import ServiceRegistry, discover
from cityops.kernel.scheduler import Scheduler
from cityops.web import i18n
from cityops.web.api import auth as api_auth
from cityops.web.api import health
from cityops.web.api import orgs as api_orgs
from cityops.web.errors import install_error_handlers
from cityops.web.templating import make_templates
from cityops.web.views import admin as admin_views
from cityops.web.views import auth as auth_views
from cityops.web.views import overview as overview_views

STATIC_DIR = Path(__file__).parent / "static"


class LanguageMiddleware:
    """Sets the request's UI language from the session (Vietnamese by default)."""

    def __init__(self, app: ASGIApp, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            session = scope.get("session") or {}
            i18n.current_language.set(i18n.pick_language(session.get("lang"), self.default))
        await self.app(scope, receive, send)


def build_context(settings: Settings | None = None,
                  registry: ServiceRegistry | None = None) -> AppContext:
    settings = settings or get_settings()
    return AppContext(settings=settings, db=Database(settings.database_url),
                      registry=registry if registry is not None else discover())


def create_app(ctx: AppContext | None = None, *, run_scheduler: bool = False) -> FastAPI:
    ctx = ctx or build_context()
    for manifest in ctx.registry:
        for permission, roles in manifest.permissions.items():
            permission_registry.grant(permission, roles)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        jobs = [job for manifest in ctx.registry for job in manifest.jobs]
        if run_scheduler and jobs:
            scheduler = Scheduler(ctx, jobs)
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()

    app = FastAPI(title="CityOps API", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.ctx = ctx
    app.state.metrics = health.HttpMetrics()
    app.state.templates = make_templates(
        [m.templates_dir for m in ctx.registry if m.templates_dir])

    app.add_middleware(LanguageMiddleware, default=ctx.settings.default_language)
    app.add_middleware(SessionMiddleware, secret_key=ctx.settings.secret_key,
                       session_cookie="cityops_session", same_site="lax",
                       https_only=ctx.settings.session_https_only, max_age=12 * 3600)
    app.middleware("http")(health.metrics_middleware)
    install_error_handlers(app)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (health.router, api_auth.router, api_orgs.router, auth_views.router,
                   overview_views.router, admin_views.router):
        app.include_router(router)
    for manifest in ctx.registry:
        for factory in (manifest.api_routers, manifest.view_routers):
            for router in (factory() if factory else ()):
                app.include_router(router)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        # Served from vendored files: the IOC network may have no internet access.
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "", title="CityOps API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/overview", status_code=303)

    return app
