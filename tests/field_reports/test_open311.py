"""Open311 GeoReport v2: every endpoint in JSON (validated against the official schemas,
copied in data/open311 with their attribution) and XML (well-formed, same content)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select
from test_routing_helpers import RURAL, point_in

from cityops.kernel.auth import create_api_key
from cityops.kernel.context import AppContext
from cityops.kernel.orgs import agency_by_code
from cityops.services.field_reports.models import Media, Report

BASE = "/open311/v2"
SCHEMAS = Path(__file__).parent / "data" / "open311"
ZONED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")


def _registry() -> Registry:
    resources = [(p.name, Resource.from_contents(json.loads(p.read_text("utf-8")),
                                                 default_specification=DRAFT4))
                 for p in SCHEMAS.glob("*.json")]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(schema_file: str, instance: Any) -> None:
    schema = REGISTRY.contents(schema_file)
    Draft4Validator(schema, registry=REGISTRY).validate(instance)


def swagger_definition(name: str, instance: Any) -> None:
    definitions = REGISTRY.contents("swagger.json")["definitions"]
    Draft4Validator(definitions[name]).validate(instance)


def xml_of(response: Any) -> ET.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


@pytest.fixture
def api_key(demo_ctx: AppContext) -> str:
    with demo_ctx.uow() as uow:
        _, raw = create_api_key(uow.session, agency_by_code(uow.session, "IOC"), "311 app")
        uow.commit()
    return raw


def _post(client: TestClient, ctx: AppContext, key: str, fmt: str = "json",
          **fields: str) -> Any:
    lat, lon = point_in(ctx, RURAL)
    data = {"api_key": key, "service_code": "garbage", "lat": str(lat), "long": str(lon),
            "description": "Rác thải ùn ứ — đường Nguyễn Tất Thành", "email": "dan@example.vn",
            "first_name": "Lê", "last_name": "Dân", **fields}
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def test_discovery(client: TestClient) -> None:
    response = client.get(f"{BASE}/discovery.json")
    body = response.json()
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    root = xml_of(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]


def test_services_and_definitions(client: TestClient) -> None:
    services = client.get(f"{BASE}/services.json").json()
    validate("services.json", services)
    codes = {s["service_code"]: s for s in services}
    assert codes["pothole"]["metadata"] is True and codes["garbage"]["metadata"] is False
    assert codes["pothole"]["service_name"] == "Hư hỏng mặt đường, ổ gà"
    assert "private" in codes["official_conduct"]["keywords"]
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert len(root.findall("service")) == len(services)
    for code in codes:
        definition = client.get(f"{BASE}/services/{code}.json").json()
        validate("service-definition.json", definition)
        xml_of(client.get(f"{BASE}/services/{code}.xml"))
    pothole = client.get(f"{BASE}/services/pothole.json").json()
    assert pothole["attributes"][0]["values"][0] == {"key": "small", "name": "Nhỏ (dưới 30 cm)"}
    xml = xml_of(client.get(f"{BASE}/services/pothole.xml"))
    assert [v.findtext("key") for v in xml.iter("value")] == ["small", "medium", "large"]


def test_post_request_round_trip(client: TestClient, demo_ctx: AppContext,
                                 api_key: str) -> None:
    response = _post(client, demo_ctx, api_key)
    assert response.status_code == 200, response.text
    posted = response.json()
    validate("requests.json", [{"service_request_id": "x", "status": "open",
                                "service_code": "garbage",
                                "requested_datetime": "2026-01-01T00:00:00+07:00"}])
    swagger_definition("RequestResponse", {k: v for k, v in posted[0].items() if v is not None})
    code = posted[0]["service_request_id"]
    one = client.get(f"{BASE}/requests/{code}.json")
    assert one.headers["content-type"] == "application/json; charset=utf-8"
    validate("requests.json", one.json())
    item = one.json()[0]
    assert item["description"] == "Rác thải ùn ứ — đường Nguyễn Tất Thành"  # UTF-8 kept
    with demo_ctx.db.session() as session:
        handler = agency_by_code(session, f"UBND-{RURAL}")
        assert handler is not None
        assert item["status"] == "open" and item["agency_responsible"] == handler.name
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert ZONED.match(item[field]), item[field]
    assert item["media_url"] is None
    with demo_ctx.uow() as uow:
        report = uow.session.scalar(select(Report).where(Report.code == code))
        for name, hidden in (("hidden.jpg", True), ("shown.jpg", False)):
            uow.session.add(Media(report=report, stored_name=name, content_type="image/jpeg",
                                  size=10, width=1, height=1, hidden=hidden))
        uow.commit()
    item = client.get(f"{BASE}/requests/{code}.json").json()[0]
    assert item["media_url"].endswith("/phan-anh/anh/shown.jpg")
    validate("request.json", item)
    xml = xml_of(client.get(f"{BASE}/requests/{code}.xml"))
    assert xml.tag == "service_requests"
    assert xml.find("request/description").text == item["description"]
    token = client.get(f"{BASE}/tokens/{code}.json")
    assert token.json() == [{"service_request_id": code, "token": code}]
    swagger_definition("TokenResponse", token.json()[0])
    xml_of(client.get(f"{BASE}/tokens/{code}.xml"))
    listed = client.get(f"{BASE}/requests.json").json()
    validate("requests.json", listed)
    assert code in {r["service_request_id"] for r in listed}
    xml_post = _post(client, demo_ctx, api_key, fmt="xml")
    assert xml_of(xml_post).find("request/service_request_id").text


def test_post_errors_use_the_spec_error_list(client: TestClient, demo_ctx: AppContext,
                                             api_key: str) -> None:
    cases = [
        ({"api_key": ""}, 403), ({"api_key": "cok_wrong"}, 403),
        ({"service_code": "nope"}, 404), ({"service_code": ""}, 400),
        ({"lat": "", "long": ""}, 400), ({"lat": "abc"}, 400),
        ({"service_code": "pothole"}, 400),  # required attribute missing
        ({"description": "<script>alert(1)</script>"}, 400),
        ({"description": "x" * 4001}, 400),
        ({"lat": "21.03", "long": "105.85"}, 400),  # outside the province
        ({"jurisdiction_id": "example.org"}, 404),
    ]
    for fields, status in cases:
        response = _post(client, demo_ctx, api_key, **fields)
        assert response.status_code == status, (fields, response.text)
        errors = response.json()
        assert isinstance(errors, list) and errors[0]["code"] == status
        assert errors[0]["description"]
        xml = _post(client, demo_ctx, api_key, fmt="xml", **fields)
        root = xml_of(xml)
        assert root.tag == "errors" and root.find("error/code").text == str(status)
    ok = _post(client, demo_ctx, api_key, service_code="pothole", **{"attribute[size]": "large"})
    assert ok.status_code == 200, ok.text


def test_get_requests_filters_and_errors(client: TestClient, demo_ctx: AppContext,
                                         api_key: str) -> None:
    first = _post(client, demo_ctx, api_key).json()[0]["service_request_id"]
    second = _post(client, demo_ctx, api_key, service_code="noise").json()[0][
        "service_request_id"]

    def ids(query: str) -> set[str]:
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == 200, response.text
        validate("requests.json", response.json())
        return {r["service_request_id"] for r in response.json()}

    assert ids("service_code=noise") == {second}
    assert ids("service_code=garbage,noise&status=open") == {first, second}
    assert ids("status=closed") == set()
    assert ids(f"service_request_id={first}&service_code=noise") == {first}
    assert ids("status=&service_code=") == {first, second}  # empty means absent
    assert len(ids("page_size=1")) == 1 and ids("page=2&page_size=1") != ids("page_size=1")
    assert ids("start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00+07:00") == set()
    assert ids("start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00%2B07:00") == set()
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={since}") == {first, second}
    for query, status in (("start_date=2026-01-01", 400),
                          ("start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z",
                           400),
                          ("status=pending", 400), ("page_size=5000", 400), ("page=x", 400),
                          ("jurisdiction_id=other.example", 404)):
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == status, (query, response.text)
        assert response.json()[0]["code"] == status
    for path in ("requests/ZZZZ-ZZZZ.json", "tokens/ZZZZ-ZZZZ.json", "services/nope.json"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404 and response.json()[0]["code"] == 404
    assert xml_of(client.get(f"{BASE}/requests/ZZZZ-ZZZZ.xml")).tag == "errors"
    assert client.get(f"{BASE}/services.html").status_code == 400
    unknown = client.get(f"{BASE}/nothing/here.json")
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404
    assert xml_of(client.get(f"{BASE}/nothing")).tag == "errors"


def test_service_request_updates(client: TestClient, demo_ctx: AppContext,
                                 api_key: str, auth_headers: Any) -> None:
    code = _post(client, demo_ctx, api_key).json()[0]["service_request_id"]
    operator = auth_headers("operator")
    listed = client.get("/api/v1/field-reports", headers=operator).json()["items"]
    report_id = next(r["id"] for r in listed if r["code"] == code)
    client.post(f"/api/v1/field-reports/{report_id}/assign", json={}, headers=operator)
    client.post(f"/api/v1/field-reports/{report_id}/notes",
                json={"text": "Ghi chú nội bộ bí mật"}, headers=operator)
    update = {"service_request_id": code, "status": "IN_PROGRESS",
              "description": "Đội thu gom đang đến"}
    # The IOC's key is not the handling agency's: refused. The commune's system may post.
    refused = client.post(f"{BASE}/servicerequestupdates.json", data={**update,
                                                                      "api_key": api_key})
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
    with demo_ctx.uow() as uow:
        _, commune_key = create_api_key(uow.session, agency_by_code(
            uow.session, f"UBND-{RURAL}"), "commune system")
        uow.commit()
    posted = client.post(f"{BASE}/servicerequestupdates.json",
                         data={**update, "api_key": commune_key})
    assert posted.status_code == 200, posted.text
    assert posted.json()[0]["update_id"]
    assert client.post(f"{BASE}/servicerequestupdates.json", data={
        "service_request_id": code, "description": "x"}).status_code == 403
    assert client.post(f"{BASE}/servicerequestupdates.json", data={
        "api_key": commune_key, "service_request_id": "ZZZZ-ZZZZ",
        "description": "x"}).status_code == 404
    updates = client.get(f"{BASE}/servicerequestupdates.json?service_request_id={code}")
    assert updates.status_code == 200
    body = updates.json()
    assert [u["status"] for u in body] == ["ACTION_SCHEDULED", "IN_PROGRESS"]
    assert body[-1]["description"] == "Đội thu gom đang đến"
    assert all(ZONED.match(u["updated_datetime"]) for u in body)
    assert "bí mật" not in updates.text
    xml = xml_of(client.get(f"{BASE}/servicerequestupdates.xml?service_request_id={code}"))
    assert xml.tag == "service_request_updates" and len(xml.findall("request_update")) == 2
