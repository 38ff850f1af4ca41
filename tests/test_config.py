"""Settings from ``CITYOPS_*`` environment variables and the readable errors for bad ones."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cityops.kernel.config import (
    DEFAULT_SECRET_KEY,
    ConfigError,
    Settings,
    get_settings,
    load_settings,
)

GOOD_SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start every test without any CITYOPS_* variable (the suite may run with some set)."""
    for name in list(os.environ):
        if name.startswith("CITYOPS_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def load_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"CITYOPS_{name.upper()}", value)
    return load_settings()


def config_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_with(monkeypatch, **env)
    return str(info.value)


def test_defaults_without_environment() -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert settings.port == 8000
    assert settings.is_sqlite
    assert settings.default_language == "vi"


def test_environment_variables_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(
        monkeypatch, port="9090", host="0.0.0.0", default_language="en",
        session_https_only="true", token_ttl_minutes="15", login_max_failures="3",
        base_url="https://ioc.daklak.gov.vn/", database_url="sqlite:////srv/cityops.db",
    )
    assert settings.port == 9090
    assert settings.host == "0.0.0.0"
    assert settings.default_language == "en"
    assert settings.session_https_only is True
    assert settings.token_ttl_minutes == 15
    assert settings.login_max_failures == 3
    assert settings.base_url == "https://ioc.daklak.gov.vn"  # trailing slash dropped
    assert settings.database_url == "sqlite:////srv/cityops.db"


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYOPS_PORT", "8001")
    assert get_settings().port == 8001
    monkeypatch.setenv("CITYOPS_PORT", "8002")
    assert get_settings().port == 8001
    get_settings.cache_clear()
    assert get_settings().port == 8002


@pytest.mark.parametrize("scheme", ["postgresql://", "postgresql+psycopg://"])
def test_postgres_urls_use_psycopg3(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    settings = load_with(monkeypatch, database_url=f"{scheme}ioc:pw@db.local:5432/cityops")
    assert settings.database_url == "postgresql+psycopg://ioc:pw@db.local:5432/cityops"
    assert not settings.is_sqlite


@pytest.mark.parametrize("url", ["mysql://root@localhost/cityops", "cityops.db", ""])
def test_bad_database_url_is_named(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    message = config_error(monkeypatch, database_url=url)
    assert "CITYOPS_DATABASE_URL" in message
    assert "sqlite" in message and "postgresql" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(("port", "problem"), [("abc", "integer"), ("0", "greater than"),
                                               ("70000", "less than")])
def test_bad_port_is_named(monkeypatch: pytest.MonkeyPatch, port: str, problem: str) -> None:
    message = config_error(monkeypatch, port=port)
    assert "CITYOPS_PORT" in message
    assert problem in message


def test_every_bad_value_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    message = config_error(monkeypatch, port="x", database_url="oracle://", base_url="ftp://a",
                           default_language="fr")
    for name in ("CITYOPS_PORT", "CITYOPS_DATABASE_URL", "CITYOPS_BASE_URL",
                 "CITYOPS_DEFAULT_LANGUAGE"):
        assert name in message
    assert message.startswith("invalid configuration")


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    message = config_error(monkeypatch, env="production")
    assert "CITYOPS_SECRET_KEY" in message
    message = config_error(monkeypatch, env="production", secret_key=DEFAULT_SECRET_KEY)
    assert "CITYOPS_SECRET_KEY" in message


def test_production_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    message = config_error(monkeypatch, env="production", secret_key="x" * 31)
    assert "32" in message


def test_production_accepts_a_long_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_with(monkeypatch, env="production", secret_key=GOOD_SECRET)
    assert settings.env == "production"
    assert settings.secret_key == GOOD_SECRET


def test_development_tolerates_the_default_secret() -> None:
    assert Settings(env="development").secret_key == DEFAULT_SECRET_KEY


def test_unknown_environment_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "CITYOPS_ENV" in config_error(monkeypatch, env="staging")
