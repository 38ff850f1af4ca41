"""Services found through real entry points, plugged into the app; the event bus and the UoW."""

from __future__ import annotations

import logging
import re
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from conftest import DEMO_PASSWORD, token_for
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cityops.kernel.context import AppContext
from cityops.kernel.db import Base
from cityops.kernel.events import DomainEvent, InProcessBus
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import permission_registry
from cityops.kernel.registry import (
    ENTRY_POINT_GROUP,
    RegistryError,
    ServiceManifest,
    ServiceRegistry,
    Tile,
    discover,
)
from cityops.kernel.schema import target_metadata
from cityops.web.app import create_app
from cityops.web.deps import require
from cityops.web.templating import render
from cityops.web.views.common import PagePrincipal

MANIFEST_SOURCE = '''\
from cityops.kernel.registry import ServiceManifest

manifest = ServiceManifest(key={key!r}, title_vi="Dịch vụ mẫu", title_en="Sample service",
                           model_modules={model_modules!r})
not_a_manifest = "just a string"
'''


# -- a tiny installed distribution ---------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path that distributions can be "installed" into."""
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith("sample_"):
            del sys.modules[name]


def install(site: Path, package: str, entries: dict[str, str], key: str = "sample",
            models: str | None = None) -> None:
    """Write ``package`` and a ``<package>-0.1.dist-info`` declaring ``entries``.

    ``models``, when given, is the source of ``<package>.models``, listed in the manifest's
    ``model_modules``.
    """
    (site / package).mkdir()
    (site / package / "__init__.py").write_text("")
    model_modules = (f"{package}.models",) if models is not None else ()
    (site / package / "manifest.py").write_text(
        MANIFEST_SOURCE.format(key=key, model_modules=model_modules), encoding="utf-8")
    if models is not None:
        (site / package / "models.py").write_text(models, encoding="utf-8")
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n")
    (info / "RECORD").write_text("")


def test_discover_finds_an_installed_service(site: Path) -> None:
    install(site, "sample_service", {"sample": "sample_service.manifest:manifest"})
    registry = discover()
    manifest = registry.get("sample")
    assert manifest is not None
    assert manifest is sys.modules["sample_service.manifest"].manifest
    assert manifest.title("vi") == "Dịch vụ mẫu"
    assert manifest.title("en") == "Sample service"
    assert "sample" in [m.key for m in registry]


def test_without_the_distribution_nothing_is_found(site: Path) -> None:
    assert discover().get("sample") is None


def test_entry_point_name_must_match_the_key(site: Path) -> None:
    install(site, "sample_mismatch", {"other": "sample_mismatch.manifest:manifest"})
    with pytest.raises(RegistryError, match=r"'other'.*'sample'"):
        discover()


def test_two_distributions_cannot_share_a_key(site: Path) -> None:
    install(site, "sample_one", {"sample": "sample_one.manifest:manifest"})
    install(site, "sample_two", {"sample": "sample_two.manifest:manifest"})
    with pytest.raises(RegistryError, match="share the key 'sample'"):
        discover()


def test_entry_point_must_load_a_manifest(site: Path) -> None:
    install(site, "sample_bad", {"sample": "sample_bad.manifest:not_a_manifest"})
    with pytest.raises(RegistryError):
        discover()


def test_discover_accepts_explicit_entry_points(site: Path) -> None:
    install(site, "sample_explicit", {"sample": "sample_explicit.manifest:manifest"})
    point = EntryPoint(name="sample", value="sample_explicit.manifest:manifest",
                       group=ENTRY_POINT_GROUP)
    registry = discover([point])
    assert [m.key for m in registry] == ["sample"]


SAMPLE_MODELS = """\
from sqlalchemy import Column, Integer, Table

from cityops.kernel.db import Base

things = Table("sample_registry_things", Base.metadata, Column("id", Integer, primary_key=True))
"""


def test_migrations_see_a_service_s_models(site: Path) -> None:
    install(site, "sample_models", {"sample": "sample_models.manifest:manifest"},
            models=SAMPLE_MODELS)
    try:
        assert "sample_registry_things" in target_metadata().tables
    finally:
        table = Base.metadata.tables.get("sample_registry_things")
        if table is not None:
            Base.metadata.remove(table)  # keep the shared metadata clean for other tests


def test_a_service_without_models_does_not_break_migrations(site: Path) -> None:
    install(site, "sample_nomodels", {"sample": "sample_nomodels.manifest:manifest"})
    tables = set(target_metadata().tables)
    assert {"areas", "agencies", "audit_log"} <= tables


def test_registry_refuses_duplicates_and_sorts() -> None:
    b = ServiceManifest(key="b", title_vi="B", title_en="B")
    a = ServiceManifest(key="a", title_vi="A", title_en="A")
    registry = ServiceRegistry([b, a])
    assert [m.key for m in registry] == ["a", "b"]
    assert len(registry) == 2
    with pytest.raises(RegistryError, match="share the key 'a'"):
        registry.add(ServiceManifest(key="a", title_vi="A2", title_en="A2"))
    with pytest.raises(RegistryError):
        ServiceRegistry([a, a])
    with pytest.raises(RegistryError):
        registry.add("not a manifest")  # type: ignore[arg-type]


# -- a manifest plugged into the app -------------------------------------------------------------


SAMPLE_PERMISSION = "sample_registry_test.view"


def sample_manifest(templates: Path) -> ServiceManifest:
    (templates / "sample_page.html").write_text(textwrap.dedent("""\
        {% extends "base.html" %}
        {% block content %}<p id="sample-message">{{ message }}</p>{% endblock %}
    """), encoding="utf-8")

    def views() -> list[APIRouter]:
        router = APIRouter()

        @router.get("/sample-page")
        def page(request: Request, principal: PagePrincipal) -> Response:
            return render(request, "sample_page.html", message=f"xin chào {principal.label}")

        return [router]

    def api() -> list[APIRouter]:
        router = APIRouter(prefix="/api/v1/sample")

        @router.get("", dependencies=[Depends(require(SAMPLE_PERMISSION))])
        def sample_api() -> dict[str, str]:
            return {"ok": "yes"}

        return [router]

    def broken_tile(ctx: object) -> object:
        raise RuntimeError("tile source down")

    return ServiceManifest(
        key="sample", title_vi="Dịch vụ mẫu", title_en="Sample service",
        api_routers=api, view_routers=views, nav_path="/sample-page",
        templates_dir=str(templates),
        permissions={SAMPLE_PERMISSION: frozenset({"operator", "leader"})},
        tiles=(Tile("answer", "Câu trả lời", "The answer", lambda ctx: 4242),
               Tile("broken", "Hỏng", "Broken", broken_tile)),
    )


@pytest.fixture
def sample_app(demo_ctx: AppContext, tmp_path: Path) -> FastAPI:
    ctx = AppContext(settings=demo_ctx.settings, db=demo_ctx.db,
                     registry=ServiceRegistry([sample_manifest(tmp_path)]))
    return create_app(ctx)


@pytest.fixture
def sample_client(sample_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(sample_app) as client:
        yield client


def csrf_from(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found
    return found.group(1)


def browser_login(client: TestClient, username: str) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


def nav_links(html: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    assert nav, "no main navigation in the page"
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav.group(0))


def test_manifest_routes_are_mounted(sample_app: FastAPI, sample_client: TestClient) -> None:
    assert "/api/v1/sample" in sample_app.openapi()["paths"]
    # Mounted (anonymous callers are asked to sign in) rather than unknown (404).
    assert sample_client.get("/api/v1/sample").status_code == 401
    assert sample_client.get("/sample-page").status_code == 401
    assert sample_client.get("/not-a-sample-page").status_code == 404


def test_manifest_permissions_are_granted(sample_client: TestClient) -> None:
    assert SAMPLE_PERMISSION in permission_registry.permissions_for({"operator"})
    assert SAMPLE_PERMISSION in permission_registry.permissions_for({"leader"})
    assert SAMPLE_PERMISSION not in permission_registry.permissions_for({"officer"})
    ok = sample_client.get("/api/v1/sample", headers=token_for(sample_client, "operator"))
    assert ok.status_code == 200 and ok.json() == {"ok": "yes"}
    denied = sample_client.get("/api/v1/sample", headers=token_for(sample_client, "so-yt"))
    assert denied.status_code == 403
    assert SAMPLE_PERMISSION in denied.json()["detail"]


def test_manifest_view_renders_with_its_templates(sample_client: TestClient) -> None:
    browser_login(sample_client, "operator")
    response = sample_client.get("/sample-page")
    assert response.status_code == 200
    assert '<p id="sample-message">xin chào operator</p>' in response.text


def test_nav_item_shows_in_the_header(sample_client: TestClient) -> None:
    browser_login(sample_client, "operator")
    page = sample_client.get("/overview").text
    assert ("/sample-page", "Dịch vụ mẫu") in nav_links(page)
    token = csrf_from(page)
    sample_client.post("/lang", data={"language": "en", "csrf_token": token, "next": "/"})
    assert ("/sample-page", "Sample service") in nav_links(sample_client.get("/overview").text)


def test_anonymous_pages_show_no_service_nav(sample_client: TestClient) -> None:
    response = sample_client.get("/sample-page", headers={"Accept": "text/html"},
                                 follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "/sample-page\"" not in sample_client.get("/login").text


def test_tiles_show_and_a_broken_tile_does_not_break_the_page(sample_client: TestClient,
                                                              ) -> None:
    browser_login(sample_client, "operator")
    response = sample_client.get("/overview")
    assert response.status_code == 200
    assert "Câu trả lời" in response.text and "4.242" in response.text  # Vietnamese digit grouping
    assert "Hỏng" in response.text


# -- the in-process bus ---------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, event: DomainEvent) -> None:
        self.seen.append(event.name)


def publish_all(bus: InProcessBus, *names: str) -> None:
    for name in names:
        bus.publish(DomainEvent(name, {}))


def test_bus_matches_patterns() -> None:
    bus = InProcessBus()
    alerts, created, exact, everything, one_char = (Recorder() for _ in range(5))
    bus.subscribe("alert.*", alerts)
    bus.subscribe("*.created", created)
    bus.subscribe("alert.created", exact)
    bus.subscribe("*", everything)
    bus.subscribe("job.?", one_char)
    publish_all(bus, "alert.created", "alert.closed", "report.created", "alerts.created",
                "job.a", "job.ab", "Alert.created")
    assert alerts.seen == ["alert.created", "alert.closed"]
    assert created.seen == ["alert.created", "report.created", "alerts.created", "Alert.created"]
    assert exact.seen == ["alert.created"]  # matching is case-sensitive
    assert len(everything.seen) == 7
    assert one_char.seen == ["job.a"]


def test_failing_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = InProcessBus()
    before, after = Recorder(), Recorder()

    def boom(event: DomainEvent) -> None:
        raise RuntimeError("handler exploded")

    bus.subscribe("*", before)
    bus.subscribe("alert.*", boom)
    bus.subscribe("*", after)
    with caplog.at_level(logging.ERROR, logger="cityops.kernel.events"):
        publish_all(bus, "alert.created", "report.created")
    assert before.seen == after.seen == ["alert.created", "report.created"]
    assert bus.failures == 1
    assert "alert.created" in caplog.text and "handler exploded" in caplog.text


def test_handler_may_subscribe_during_publish() -> None:
    bus = InProcessBus()
    late = Recorder()
    bus.subscribe("*", lambda event: bus.subscribe("*", late))
    publish_all(bus, "first")
    assert late.seen == []  # added during a publish, it hears only later events
    publish_all(bus, "second")
    assert late.seen == ["second"]


# -- the unit of work releases events only after commit ------------------------------------------


def committed_codes(ctx: AppContext) -> set[str]:
    with ctx.db.session() as session:
        return set(session.scalars(select(Agency.code)))


def new_agency(code: str) -> Agency:
    agency = Agency(code=code, kind="department")
    agency.set_name(f"Cơ quan {code}")
    return agency


def test_events_are_published_after_commit(empty_ctx: AppContext) -> None:
    seen: list[tuple[str, dict[str, object], bool]] = []
    empty_ctx.bus.subscribe("agency.*", lambda e: seen.append(
        (e.name, e.payload, e.payload["code"] in committed_codes(empty_ctx))))
    with empty_ctx.uow() as uow:
        uow.session.add(new_agency("EV-1"))
        uow.emit("agency.created", code="EV-1")
        uow.session.flush()
        assert seen == []  # nothing before the commit
        uow.commit()
        # Visible to a separate session when the handler ran: published after the commit.
        assert seen == [("agency.created", {"code": "EV-1"}, True)]
        uow.session.add(new_agency("EV-2"))
        uow.emit("agency.created", code="EV-2")
        uow.commit()
    assert [payload["code"] for _, payload, _ in seen] == ["EV-1", "EV-2"]  # not re-sent


def test_no_events_without_commit(empty_ctx: AppContext) -> None:
    seen = Recorder()
    empty_ctx.bus.subscribe("*", seen)
    with empty_ctx.uow() as uow:
        uow.session.add(new_agency("EV-RB"))
        uow.emit("agency.created", code="EV-RB")
    assert seen.seen == []
    assert "EV-RB" not in committed_codes(empty_ctx)


def test_no_events_when_the_block_raises(empty_ctx: AppContext) -> None:
    seen = Recorder()
    empty_ctx.bus.subscribe("*", seen)
    with pytest.raises(RuntimeError), empty_ctx.uow() as uow:
        uow.emit("agency.created", code="EV-X")
        raise RuntimeError("validation failed")
    assert seen.seen == []


def test_no_events_when_the_commit_fails(empty_ctx: AppContext) -> None:
    with empty_ctx.uow() as uow:
        uow.session.add(new_agency("EV-DUP"))
        uow.commit()
    seen = Recorder()
    empty_ctx.bus.subscribe("*", seen)
    with pytest.raises(IntegrityError), empty_ctx.uow() as uow:
        uow.session.add(new_agency("EV-DUP"))
        uow.emit("agency.created", code="EV-DUP")
        uow.commit()
    assert seen.seen == []


def test_a_failing_subscriber_does_not_undo_the_commit(empty_ctx: AppContext) -> None:
    def boom(event: DomainEvent) -> None:
        raise RuntimeError("subscriber down")

    empty_ctx.bus.subscribe("*", boom)
    with empty_ctx.uow() as uow:
        uow.session.add(new_agency("EV-OK"))
        uow.emit("agency.created", code="EV-OK")
        uow.commit()
    assert "EV-OK" in committed_codes(empty_ctx)
