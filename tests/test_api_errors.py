"""Clear 4xx answers, pagination, search, GeoJSON, health, readiness and metrics."""

from __future__ import annotations

import math
import socket
from collections.abc import Callable

import pytest
from conftest import make_settings
from fastapi.testclient import TestClient

from cityops.kernel.context import AppContext
from cityops.kernel.db import Database
from cityops.web.app import create_app

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def admin(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("admin")


def assert_422(response, *fields: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith("invalid request")
    named = {problem["field"] for problem in body["errors"]}
    for field in fields:
        assert any(field in name for name in named), (field, named)


def all_pages(client: TestClient, path: str, headers: dict[str, str]) -> list[dict]:
    first = client.get(path, headers=headers).json()
    items, pages = list(first["items"]), first["pages"]
    for page in range(2, pages + 1):
        body = client.get(f"{path}&page={page}", headers=headers).json()
        assert (body["page"], body["total"], body["pages"]) == (page, first["total"], pages)
        assert len(body["items"]) <= body["page_size"]
        items += body["items"]
    assert len(items) == first["total"]
    return items


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- validation ---------------------------------------------------------------------------------


def test_malformed_json_body(client: TestClient, admin: dict[str, str]) -> None:
    response = client.patch("/api/v1/agencies/SO-YT", content=b'{"email": "a@b.vn",',
                            headers={**admin, "Content-Type": "application/json"})
    assert_422(response, "body")
    assert "JSON" in response.json()["detail"]


def test_body_of_the_wrong_shape(client: TestClient, admin: dict[str, str]) -> None:
    assert_422(client.patch("/api/v1/agencies/SO-YT", json=["email"], headers=admin), "body")
    assert_422(client.patch("/api/v1/agencies/SO-YT", json={"email": 42}, headers=admin),
               "email")


def test_unknown_field_in_patch(client: TestClient, admin: dict[str, str],
                                demo_ctx: AppContext) -> None:
    response = client.patch("/api/v1/agencies/SO-YT", headers=admin,
                            json={"email": "x@y.vn", "kind": "police"})
    assert_422(response, "kind")
    listed = client.get("/api/v1/agencies/SO-YT", headers=admin).json()
    assert listed["kind"] == "department"
    assert listed["email"] != "x@y.vn"


def test_too_long_field_in_patch(client: TestClient, admin: dict[str, str]) -> None:
    assert_422(client.patch("/api/v1/agencies/SO-YT", json={"phone": "0" * 41}, headers=admin),
               "phone")


@pytest.mark.parametrize(("query", "field"), [
    ("page=abc", "page"), ("page=0", "page"), ("page=-1", "page"), ("page_size=0", "page_size"),
    ("page_size=10000", "page_size"), ("page_size=1.5", "page_size"), ("level=district", "level"),
    ("valid_on=2025-13-01", "valid_on"), ("q=" + "a" * 101, "q"),
])
def test_bad_query_parameters(client: TestClient, admin: dict[str, str], query: str,
                              field: str) -> None:
    assert_422(client.get(f"/api/v1/areas?{query}", headers=admin), field)


@pytest.mark.parametrize("page", [10**12, 10**20])
def test_absurd_page_numbers_are_not_a_server_error(client: TestClient, admin: dict[str, str],
                                                    page: int) -> None:
    """A page far past the end is refused (422) or empty, never a 500 from an offset overflow."""
    response = client.get(f"/api/v1/areas?page={page}", headers=admin)
    if response.status_code == 422:
        assert_422(response, "page")
    else:
        assert response.status_code == 200
        assert response.json()["items"] == []


def test_validation_errors_name_every_problem(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/areas?page=abc&page_size=0", headers=admin)
    assert_422(response, "page", "page_size")
    assert len(response.json()["errors"]) == 2


@pytest.mark.parametrize("path", [
    "/api/v1/areas/99999", "/api/v1/agencies/NO-SUCH", "/api/v1/agencies/NO-SUCH/users",
])
def test_unknown_codes_are_404(client: TestClient, admin: dict[str, str], path: str) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "NO-SUCH" in response.json()["detail"] or "99999" in response.json()["detail"]


def test_patch_unknown_agency_is_404(client: TestClient, admin: dict[str, str]) -> None:
    response = client.patch("/api/v1/agencies/NO-SUCH", json={"phone": "1"}, headers=admin)
    assert response.status_code == 404
    assert "NO-SUCH" in response.json()["detail"]


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_wrong_method_is_405(client: TestClient, admin: dict[str, str]) -> None:
    response = client.delete("/api/v1/agencies/SO-YT", headers=admin)
    assert response.status_code == 405
    assert "detail" in response.json()


# -- pagination and search ----------------------------------------------------------------------


def test_pages_cover_every_commune_once(client: TestClient, admin: dict[str, str]) -> None:
    first = client.get("/api/v1/areas?level=commune&page_size=25", headers=admin).json()
    assert (first["total"], first["pages"], first["page_size"]) == (102, 5, 25)
    items = all_pages(client, "/api/v1/areas?level=commune&page_size=25", admin)
    codes = [item["code"] for item in items]
    assert len(set(codes)) == 102
    assert codes == sorted(codes)
    assert {item["level"] for item in items} == {"commune"}
    assert {item["parent_code"] for item in items} == {"66"}


def test_page_past_the_end_is_empty(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/areas?level=commune&page_size=25&page=6", headers=admin).json()
    assert body["items"] == []
    assert (body["total"], body["pages"]) == (102, 5)


@pytest.mark.parametrize("page_size", [1, 7, 50, 500])
def test_pages_count_matches_total(client: TestClient, admin: dict[str, str],
                                   page_size: int) -> None:
    body = client.get(f"/api/v1/agencies?page_size={page_size}", headers=admin).json()
    assert body["pages"] == math.ceil(body["total"] / page_size)
    assert len(body["items"]) == min(page_size, body["total"])


def test_agency_pages_are_disjoint(client: TestClient, admin: dict[str, str]) -> None:
    items = all_pages(client, "/api/v1/agencies?page_size=40", admin)
    codes = [item["code"] for item in items]
    assert len(codes) == len(set(codes)) >= 100


@pytest.mark.parametrize("q", ["buon ma thuot", "BUÔN MA THUỘT", "Buôn  Ma Thuột", "24133"])
def test_area_search_ignores_case_and_accents(client: TestClient, admin: dict[str, str],
                                              q: str) -> None:
    body = client.get("/api/v1/areas", params={"q": q}, headers=admin).json()
    assert [item["code"] for item in body["items"]] == ["24133"]
    assert body["items"][0]["name"] == "Phường Buôn Ma Thuột"


def test_area_search_with_apostrophe(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/areas", params={"q": "m'drak"}, headers=admin).json()
    assert "Xã M’Drắk" in [item["name"] for item in body["items"]]


def test_agency_search_and_filter(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/agencies", params={"q": "so y te"}, headers=admin).json()
    assert [item["code"] for item in body["items"]] == ["SO-YT"]
    communes = client.get("/api/v1/agencies?kind=commune_committee&page_size=500",
                          headers=admin).json()
    assert communes["total"] == 102
    assert all(len(item["area_codes"]) == 1 for item in communes["items"])


def test_search_wildcards_are_literal(client: TestClient, admin: dict[str, str]) -> None:
    """`%` and `_` in a search are characters to find, not SQL LIKE wildcards."""
    for q in ("%", "_", "buon%thuot"):
        body = client.get("/api/v1/areas", params={"q": q}, headers=admin).json()
        assert body["total"] == 0, q


def test_valid_on_filter(client: TestClient, admin: dict[str, str]) -> None:
    before = client.get("/api/v1/areas?valid_on=2025-06-30", headers=admin).json()
    after = client.get("/api/v1/areas?valid_on=2025-07-01", headers=admin).json()
    assert before["total"] == 0
    assert after["total"] == 103


# -- geometry -----------------------------------------------------------------------------------


def test_area_detail_has_geometry(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/areas/24133", headers=admin).json()
    assert body["name"] == "Phường Buôn Ma Thuột"
    assert body["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert body["geometry"]["coordinates"]
    listed = client.get("/api/v1/areas?q=24133", headers=admin).json()["items"][0]
    assert "geometry" not in listed  # lists stay light


def test_geojson_has_102_features(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/areas.geojson", headers=admin).json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 102
    codes = {feature["properties"]["code"] for feature in body["features"]}
    assert len(codes) == 102 and "24133" in codes
    assert all(feature["geometry"]["coordinates"] for feature in body["features"])
    province = client.get("/api/v1/areas.geojson?level=province", headers=admin).json()
    assert [f["id"] for f in province["features"]] == ["66"]


# -- health, readiness, metrics -----------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


def test_readyz_is_503_without_a_database(demo_ctx: AppContext) -> None:
    url = f"postgresql+psycopg://cityops:secret@127.0.0.1:{closed_port()}/cityops" \
          "?connect_timeout=2"
    ctx = AppContext(settings=make_settings(url), db=Database(url), registry=demo_ctx.registry)
    try:
        with TestClient(create_app(ctx)) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["status"] == "unavailable"
            assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        ctx.db.dispose()


def test_metrics_count_requests_by_route(client: TestClient, admin: dict[str, str]) -> None:
    client.get("/healthz")
    client.get("/api/v1/areas/24133", headers=admin)
    client.get("/api/v1/areas/99999", headers=admin)
    client.get("/no/such/page-7f3a")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "# TYPE cityops_http_requests_total counter" in body
    assert 'cityops_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in body
    # Route templates, not raw paths, keep the label set small.
    assert 'route="/api/v1/areas/{code}",status="200"' in body
    assert 'route="/api/v1/areas/{code}",status="404"' in body
    assert "/api/v1/areas/24133" not in body
    assert 'route="unmatched",status="404"' in body
    assert "page-7f3a" not in body
    assert "cityops_http_request_seconds_bucket" in body
