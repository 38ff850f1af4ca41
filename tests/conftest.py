"""Shared fixtures: isolated databases (SQLite files or PostgreSQL databases), the app, clients.

The suite runs on SQLite by default. When ``CITYOPS_DATABASE_URL`` names PostgreSQL, every
test gets its own database cloned from a migrated template (``CREATE DATABASE … TEMPLATE``),
so both engines run the very same tests.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cityops.kernel.config import Settings
from cityops.kernel.context import AppContext
from cityops.kernel.db import Database
from cityops.kernel.registry import ServiceRegistry, discover
from cityops.kernel.schema import upgrade

DEMO_PASSWORD = "demo-pass-123"
BASE_URL = os.environ.get("CITYOPS_DATABASE_URL", "")
USE_POSTGRES = BASE_URL.startswith("postgresql")


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test", "database_url": url, "secret_key": "test-secret-" + "x" * 32,
        "demo_password": DEMO_PASSWORD, "login_lockout_seconds": 60,
        # Bulk demo records (dossiers, field reports) would swamp the counts tests assert on;
        # each service's demo test loads a small set itself.
        "demo_volume": "reference",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class DatabaseFactory:
    """Builds each template once per run and clones it for every test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._templates: dict[str, str] = {}
        self._created: list[str] = []

    def _pg_admin(self):  # type: ignore[no-untyped-def]
        url = make_url(Settings(database_url=BASE_URL).database_url)
        return create_engine(url, isolation_level="AUTOCOMMIT"), url

    def _new_url(self, name: str) -> str:
        if USE_POSTGRES:
            engine, url = self._pg_admin()
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            engine.dispose()
            self._created.append(name)
            return url.set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.workdir / (name + '.db')}"

    def template(self, kind: str, build: Callable[[AppContext], None]) -> str:
        if kind not in self._templates:
            name = f"cityops_tpl_{kind}_{uuid.uuid4().hex[:8]}"
            url = self._new_url(name)
            ctx = AppContext(settings=make_settings(url), db=Database(url),
                             registry=discover())
            upgrade(ctx.db.engine)
            build(ctx)
            ctx.db.dispose()
            self._templates[kind] = url
        return self._templates[kind]

    def clone(self, kind: str, build: Callable[[AppContext], None]) -> str:
        template_url = self.template(kind, build)
        name = f"cityops_t_{uuid.uuid4().hex[:12]}"
        if USE_POSTGRES:
            engine, url = self._pg_admin()
            template_name = make_url(template_url).database
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
            engine.dispose()
            self._created.append(name)
            return url.set(database=name).render_as_string(hide_password=False)
        target = self.workdir / f"{name}.db"
        shutil.copyfile(template_url.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"

    def drop_all(self) -> None:
        if not USE_POSTGRES:
            return
        engine, _ = self._pg_admin()
        with engine.connect() as conn:
            for name in reversed(self._created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


def _no_data(ctx: AppContext) -> None:
    return None


def _demo_data(ctx: AppContext) -> None:
    from cityops.demo.loader import load_demo

    load_demo(ctx)


def _context(url: str, registry: ServiceRegistry | None = None, **overrides: object) -> AppContext:
    return AppContext(settings=make_settings(url, **overrides), db=Database(url),
                      registry=registry if registry is not None else discover())


@pytest.fixture
def empty_ctx(db_factory: DatabaseFactory) -> Iterator[AppContext]:
    """A migrated database with no rows."""
    ctx = _context(db_factory.clone("empty", _no_data))
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def demo_ctx(db_factory: DatabaseFactory) -> Iterator[AppContext]:
    """A migrated database with the Đắk Lắk demo loaded."""
    ctx = _context(db_factory.clone("demo", _demo_data))
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def app(demo_ctx: AppContext):  # type: ignore[no-untyped-def]
    from cityops.web.app import create_app

    return create_app(demo_ctx)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


def token_for(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """Bearer header for a demo user, through the real OAuth2 password flow."""
    response = client.post("/api/v1/auth/token",
                           data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def auth_headers(client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def get(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = token_for(client, username)
        return cache[username]

    return get


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def browser_login(client: TestClient, username: str, password: str = DEMO_PASSWORD,
                  next_path: str = "/overview") -> None:
    """Sign in through the login form as a browser would, and land on ``next_path``."""
    form = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "next": next_path, "csrf_token": csrf_of(form.text)})
    assert response.status_code == 200 and response.url.path == next_path, response.text


def post_form(client: TestClient, form_page: str, action: str,
              data: dict[str, object]):  # type: ignore[no-untyped-def]
    """Open the page holding the form, then post it with that page's CSRF token."""
    token = csrf_of(client.get(form_page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def tampered(token: str) -> str:
    """The signed token with one character of its signature changed.

    Well inside the signature, not at its end: the last base64 character carries unused bits,
    so editing the tail (``token[:-2] + "xx"``) may leave the signature's bytes unchanged.
    """
    at = token.rindex(".") + 5
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]
