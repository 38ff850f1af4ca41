"""Settings read from ``CITYOPS_*`` environment variables, validated at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-change-me"


class ConfigError(RuntimeError):
    """Raised with a readable message when the environment holds bad settings."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYOPS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/cityops.db"
    secret_key: str = DEFAULT_SECRET_KEY
    media_dir: Path = Path("var/media")
    base_url: str = "http://127.0.0.1:8000"
    default_language: Literal["vi", "en"] = "vi"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    demo_password: str = "cityops-demo"
    # "records" loads the services' bulk demo records (a year of dossiers, months of field
    # reports) on top of the reference data; "reference" loads reference data only (agencies,
    # users, categories, rules), which the test suite uses so that its counts start empty.
    demo_volume: Literal["records", "reference"] = "records"
    session_https_only: bool = False
    token_ttl_minutes: int = Field(default=60, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1)
    timezone: str = "Asia/Ho_Chi_Minh"
    # Outgoing e-mail; an empty host disables the e-mail channel (deliveries wait, logged).
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "ioc@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; spare operators the dialect suffix.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        weak = self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32
        if self.env == "production" and weak:
            raise ValueError(
                "CITYOPS_SECRET_KEY must be set to a random value of 32+ characters "
                "in production (the default key is refused)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Read settings, turning pydantic's errors into one readable message."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(part) for part in err["loc"]) or "settings"
            name = f"CITYOPS_{field.upper()}" if field != "settings" else "settings"
            lines.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
