"""A bad CITYOPS_SOC_* value is a clear 503 (not a 500); `ingest.normalise` stays the function."""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from cityops.kernel.config import ConfigError
from cityops.services.soc.settings import soc_settings


def test_bad_setting_is_a_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYOPS_SOC_BATCH_SIZE", "zero")
    with pytest.raises(ConfigError, match="CITYOPS_SOC_BATCH_SIZE"):
        soc_settings()


def test_bad_setting_answers_503_naming_the_variable(
        client: TestClient, auth_headers: Callable[[str], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYOPS_SOC_MAX_BODY_BYTES", "12")  # below the minimum of 1024
    response = client.post("/api/v1/soc/events", json=[{"message": "x"}],
                           headers=auth_headers("soc"))
    assert response.status_code == 503
    assert "CITYOPS_SOC_MAX_BODY_BYTES" in response.json()["detail"]
    monkeypatch.delenv("CITYOPS_SOC_MAX_BODY_BYTES")
    response = client.post("/api/v1/soc/events", json=[{"message": "x"}],
                           headers=auth_headers("soc"))
    assert response.status_code == 200, response.text


def test_normalise_is_the_function_even_after_its_module_is_imported() -> None:
    importlib.import_module("cityops.services.soc.ingest.normaliser")
    from cityops.services.soc.ingest import normalise

    assert not isinstance(normalise, types.ModuleType)
    result = normalise('{"message": "hello"}', source="test")
    assert type(result).__name__ in {"IngestedEvent", "Quarantined"}
