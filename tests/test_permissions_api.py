"""Who may read and change areas, agencies and agency users through /api/v1."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from conftest import DEMO_PASSWORD
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityops.kernel.auth import create_api_key
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import Agency, agency_by_code
from cityops.kernel.permissions import (
    SYSTEM,
    NotAuthenticated,
    PermissionDenied,
    Principal,
    authorize,
    permission_registry,
)

Headers = Callable[[str], dict[str, str]]
OWN, OTHER = "SO-YT", "SO-GDDT"
NEW_CONTACT = {"email": "lienhe.soyt@example.vn", "phone": "0262 3852 000"}


def agency_contact(ctx: AppContext, code: str) -> tuple[str, str, str]:
    with ctx.db.session() as session:
        agency = agency_by_code(session, code)
        assert agency is not None
        return agency.email, agency.phone, agency.note


def patch_contact(client: TestClient, code: str, headers: dict[str, str],
                  body: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/v1/agencies/{code}", json=body or NEW_CONTACT, headers=headers)


def api_key_headers(ctx: AppContext, agency_code: str) -> dict[str, str]:
    with ctx.uow() as uow:
        agency = agency_by_code(uow.session, agency_code)
        assert agency is not None
        _, raw = create_api_key(uow.session, agency, "integration test")
        uow.commit()
    return {"X-API-Key": raw}


def csrf_from(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "page carries no CSRF token"
    return found.group(1)


def browser_login(client: TestClient, username: str) -> str:
    """Sign in through the login form like a browser; returns the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                           "csrf_token": token, "next": "/overview"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/overview").text)


# -- anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/areas", "/api/v1/areas/24133", "/api/v1/areas.geojson", "/api/v1/agencies",
    "/api/v1/agencies/SO-YT", "/api/v1/agencies/SO-YT/users", "/api/v1/auth/me",
])
def test_anonymous_reads_are_refused(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["detail"] == "authentication required"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_anonymous_patch_is_refused(client: TestClient, demo_ctx: AppContext) -> None:
    before = agency_contact(demo_ctx, OWN)
    assert patch_contact(client, OWN, {}).status_code == 401
    assert agency_contact(demo_ctx, OWN) == before


def test_anonymous_is_refused_even_for_unknown_codes(client: TestClient) -> None:
    # Existence of a code must not leak to anonymous callers.
    assert client.get("/api/v1/areas/99999").status_code == 401
    assert client.get("/api/v1/agencies/NOPE/users").status_code == 401


# -- officers are scoped to their agency --------------------------------------------------------


def test_officer_edits_own_agency_contact(client: TestClient, demo_ctx: AppContext,
                                          auth_headers: Headers) -> None:
    response = patch_contact(client, OWN, auth_headers("so-yt"),
                             {"email": "  lienhe.soyt@example.vn ", "phone": "0262 3852 000"})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "lienhe.soyt@example.vn"
    email, phone, _ = agency_contact(demo_ctx, OWN)
    assert (email, phone) == ("lienhe.soyt@example.vn", "0262 3852 000")


def test_partial_patch_keeps_other_fields(client: TestClient, demo_ctx: AppContext,
                                          auth_headers: Headers) -> None:
    email, phone, _ = agency_contact(demo_ctx, OWN)
    response = patch_contact(client, OWN, auth_headers("so-yt"), {"note": "Trực 24/7"})
    assert response.status_code == 200
    assert agency_contact(demo_ctx, OWN) == (email, phone, "Trực 24/7")


def test_officer_cannot_edit_another_agency(client: TestClient, demo_ctx: AppContext,
                                            auth_headers: Headers) -> None:
    before = agency_contact(demo_ctx, OTHER)
    response = patch_contact(client, OTHER, auth_headers("so-yt"))
    assert response.status_code == 403
    assert "another agency" in response.json()["detail"]
    assert agency_contact(demo_ctx, OTHER) == before


def test_officer_lists_own_agency_users_only(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("so-yt")
    own = client.get(f"/api/v1/agencies/{OWN}/users", headers=headers)
    assert own.status_code == 200
    assert [u["username"] for u in own.json()["items"]] == ["so-yt"]
    other = client.get(f"/api/v1/agencies/{OTHER}/users", headers=headers)
    assert other.status_code == 403
    assert "items" not in other.json()


def test_commune_officer_reaches_its_service_centre(client: TestClient,
                                                    auth_headers: Headers) -> None:
    headers = auth_headers("ubnd-24133")
    assert patch_contact(client, "TTPVHCC-24133", headers).status_code == 200
    assert patch_contact(client, "UBND-24121", headers).status_code == 403
    assert client.get("/api/v1/agencies/TTPVHCC-24133/users",
                      headers=headers).status_code == 200


def test_officer_may_read_every_area_and_agency(client: TestClient,
                                                auth_headers: Headers) -> None:
    headers = auth_headers("so-yt")
    assert client.get("/api/v1/areas/22015", headers=headers).status_code == 200
    assert client.get(f"/api/v1/agencies/{OTHER}", headers=headers).status_code == 200


# -- province-wide roles ------------------------------------------------------------------------


def test_admin_edits_any_agency(client: TestClient, demo_ctx: AppContext,
                                auth_headers: Headers) -> None:
    for code in (OWN, OTHER, "UBND-22015"):
        response = patch_contact(client, code, auth_headers("admin"))
        assert response.status_code == 200, code
        assert agency_contact(demo_ctx, code)[:2] == (NEW_CONTACT["email"], NEW_CONTACT["phone"])


def test_leader_reads_users_everywhere_but_cannot_edit(client: TestClient, demo_ctx: AppContext,
                                                       auth_headers: Headers) -> None:
    headers = auth_headers("leader")
    for code in (OWN, OTHER, "UBND-24133"):
        response = client.get(f"/api/v1/agencies/{code}/users", headers=headers)
        assert response.status_code == 200
        assert response.json()["total"] >= 1
    before = agency_contact(demo_ctx, OWN)
    response = patch_contact(client, OWN, headers)
    assert response.status_code == 403
    assert "agencies.edit_contact" in response.json()["detail"]
    assert agency_contact(demo_ctx, OWN) == before


def test_soc_analyst_cannot_read_users(client: TestClient, auth_headers: Headers) -> None:
    response = client.get(f"/api/v1/agencies/{OWN}/users", headers=auth_headers("soc"))
    assert response.status_code == 403


# -- integrator API keys ------------------------------------------------------------------------


def test_integrator_reads_areas_and_agencies(client: TestClient, demo_ctx: AppContext) -> None:
    headers = api_key_headers(demo_ctx, OWN)
    areas = client.get("/api/v1/areas", headers=headers)
    assert areas.status_code == 200
    assert areas.json()["total"] == 103
    assert client.get("/api/v1/areas/24133", headers=headers).json()["geometry"]
    assert client.get("/api/v1/agencies", headers=headers).status_code == 200


def test_integrator_cannot_read_users_or_edit(client: TestClient, demo_ctx: AppContext) -> None:
    headers = api_key_headers(demo_ctx, OWN)
    before = agency_contact(demo_ctx, OWN)
    assert client.get(f"/api/v1/agencies/{OWN}/users", headers=headers).status_code == 403
    assert patch_contact(client, OWN, headers).status_code == 403
    assert agency_contact(demo_ctx, OWN) == before


# -- browser sessions and CSRF ------------------------------------------------------------------


def test_session_api_write_needs_the_csrf_header(client: TestClient,
                                                 demo_ctx: AppContext) -> None:
    token = browser_login(client, "admin")
    before = agency_contact(demo_ctx, OTHER)
    missing = patch_contact(client, OTHER, {})
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["detail"]
    wrong = patch_contact(client, OTHER, {"X-CSRF-Token": token[::-1]})
    assert wrong.status_code == 403
    assert agency_contact(demo_ctx, OTHER) == before
    ok = patch_contact(client, OTHER, {"X-CSRF-Token": token})
    assert ok.status_code == 200, ok.text
    assert agency_contact(demo_ctx, OTHER)[0] == NEW_CONTACT["email"]


def test_session_api_reads_need_no_csrf(client: TestClient) -> None:
    browser_login(client, "so-yt")
    assert client.get("/api/v1/auth/me").json()["username"] == "so-yt"
    assert client.get(f"/api/v1/agencies/{OTHER}/users").status_code == 403


def test_bearer_writes_need_no_csrf(client: TestClient, auth_headers: Headers) -> None:
    assert patch_contact(client, OWN, auth_headers("admin")).status_code == 200


# -- the guard itself ---------------------------------------------------------------------------


def officer_of(ctx: AppContext, code: str) -> tuple[Principal, int, int]:
    with ctx.db.session() as session:
        own = agency_by_code(session, code)
        other = session.scalar(select(Agency).where(Agency.code == OTHER))
        assert own is not None and other is not None
        roles = frozenset({"officer"})
        principal = Principal(label="t", roles=roles,
                              permissions=permission_registry.permissions_for(roles),
                              agency_id=own.id, agency_scope=frozenset({own.id}))
        return principal, own.id, other.id


def test_authorize(demo_ctx: AppContext) -> None:
    principal, own, other = officer_of(demo_ctx, OWN)
    with pytest.raises(NotAuthenticated):
        authorize(None, "areas.read")
    assert authorize(principal, "agencies.edit_contact", agency_id=own) is principal
    with pytest.raises(PermissionDenied, match="another agency"):
        authorize(principal, "agencies.edit_contact", agency_id=other)
    assert authorize(principal, "agencies.read", agency_id=other, any_agency=True) is principal
    with pytest.raises(PermissionDenied, match=r"agencies\.manage"):
        authorize(principal, "agencies.manage")
    assert authorize(SYSTEM, "anything.at.all") is SYSTEM
