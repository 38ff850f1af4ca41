"""SOC settings from ``CITYOPS_SOC_*`` variables (the kernel's Settings ignores unknown keys)."""

from __future__ import annotations

from fastapi import HTTPException
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from cityops.kernel.config import ConfigError


class SocSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYOPS_SOC_", extra="ignore")

    syslog_host: str = "127.0.0.1"
    syslog_udp_port: int = Field(default=5514, ge=0, le=65535)  # 0 disables the receiver
    syslog_tcp_port: int = Field(default=5514, ge=0, le=65535)
    # Matches of one rule on one host within this window make one detection and one alert.
    alert_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # HTTP ingest: larger bodies are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Quarantined raw text is truncated to this many characters (the reason says so).
    quarantine_raw_chars: int = Field(default=16 * 1024, ge=256)
    # Receivers and imports flush detections and counters in batches of this size.
    batch_size: int = Field(default=2000, ge=1)


def soc_settings() -> SocSettings:
    """Read the settings; a bad value becomes one readable ConfigError naming the variable."""
    try:
        return SocSettings()
    except ValidationError as exc:
        lines = [f"CITYOPS_SOC_{'.'.join(map(str, err['loc'])).upper()}: {err['msg']}"
                 for err in exc.errors()]
        raise ConfigError("invalid SOC configuration:\n  " + "\n  ".join(lines)) from None


def soc_settings_for_request() -> SocSettings:
    """FastAPI dependency: a bad ``CITYOPS_SOC_*`` value answers 503 naming the variable.

    Settings are read per request (the environment is the configuration), so a mistake made
    after start-up must not surface as an unexplained 500.
    """
    try:
        return soc_settings()
    except ConfigError as exc:
        raise HTTPException(503, f"the SOC service is misconfigured: {exc}") from None
