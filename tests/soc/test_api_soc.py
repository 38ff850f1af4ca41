"""SOC API: event ingest (JSON, NDJSON, limits), detections scoped by agency, quarantine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from api_key_support import api_key_headers
from fastapi.testclient import TestClient

from cityops.kernel.context import AppContext

EVENTS = "/api/v1/soc/events"
RULE_ID = "9f1e3c52-7a55-4c7e-9d0e-1a2b3c4d5e02"
MY_RULE = {"rule_id": RULE_ID}  # the demo data has detections of its own
RULE = f"""
title: Whoami run by a service account
id: {RULE_ID}
status: test
author: CityOps tests
level: medium
tags: [attack.discovery, attack.t1033]
logsource: {{product: windows, category: process_creation}}
detection:
  sel: {{Image|endswith: '\\\\whoami.exe'}}
  condition: sel
"""
Headers = Callable[[str], dict[str, str]]


def event(host: str = "web01", record: int = 1) -> dict[str, Any]:
    return {"Event": {
        "System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                   "Computer": host, "EventRecordID": record},
        "EventData": {"Image": "C:\\Windows\\whoami.exe", "CommandLine": "whoami"}}}


def integrator(ctx: AppContext, agency_code: str = "SO-NNMT") -> dict[str, str]:
    return api_key_headers(ctx, agency_code, f"log shipper {agency_code}")


def setup_rule_and_assets(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    assert client.post("/api/v1/soc/rules", json={"yaml": RULE}, headers=soc).status_code == 201
    for host, agency in (("web01", "SO-NNMT"), ("pc08-srv", "CA-PC08")):
        response = client.post("/api/v1/soc/assets", headers=soc,
                               json={"hostname": host, "agency_code": agency})
        assert response.status_code == 201, response.text


def test_json_array_with_an_integrator_key(client: TestClient, demo_ctx: AppContext,
                                           auth_headers: Headers) -> None:
    setup_rule_and_assets(client, auth_headers)
    body = [event(record=i) for i in range(5)] + ["not an object", event(host="pc08-srv")]
    response = client.post(EVENTS, json=body, headers=integrator(demo_ctx))
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["accepted"], out["quarantined"], out["matches"]) == (6, 1, 6)
    assert out["refused"] == [{"index": 5, "reason": "an event must be a JSON object"}]
    assert out["detections_created"] == 2  # web01 and pc08-srv: one each, not six


def test_ndjson_with_malformed_lines(client: TestClient, auth_headers: Headers) -> None:
    setup_rule_and_assets(client, auth_headers)
    lines = [json.dumps(event()), "{broken", "", json.dumps(event()), "[1]"]
    response = client.post(EVENTS, content="\n".join(lines),
                           headers={**auth_headers("soc"),
                                    "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["accepted"] == 2 and out["quarantined"] == 2
    assert [r["index"] for r in out["refused"]] == [1, 4]
    assert out["refused"][0]["reason"].startswith("line 2: invalid JSON")
    quarantine = client.get("/api/v1/soc/quarantine", headers=auth_headers("soc"),
                            params={"source": "http:soc"}).json()
    assert {q["raw"] for q in quarantine["items"]} == {"{broken", "[1]"}
    health = client.get("/api/v1/soc/health", headers=auth_headers("leader")).json()
    source = next(s for s in health["sources"] if s["source"] == "http:soc")
    assert (source["received"], source["parsed"], source["quarantined"]) == (4, 2, 2)
    assert source["eps"] == round(4 / 900, 3)  # over the default 15 minutes


def test_body_limits_and_bad_bodies(client: TestClient, auth_headers: Headers,
                                    monkeypatch: Any) -> None:
    monkeypatch.setenv("CITYOPS_SOC_MAX_BODY_BYTES", "2048")
    soc = auth_headers("soc")
    big = [event(record=i) for i in range(50)]
    response = client.post(EVENTS, json=big, headers=soc)
    assert response.status_code == 413 and "larger than 2048" in response.json()["detail"]
    response = client.post(EVENTS, content="{oops", headers={
        **soc, "Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]
    # The unreadable body is still kept for the analyst.
    items = client.get("/api/v1/soc/quarantine", headers=soc,
                       params={"source": "http:soc"}).json()["items"]
    assert items and items[0]["raw"] == "{oops"
    response = client.post(EVENTS, content="a,b", headers={**soc, "Content-Type": "text/csv"})
    assert response.status_code == 415
    response = client.post(EVENTS, json=[], headers=soc, params={"kind": "nope"})
    assert response.status_code == 400


def test_who_may_send_events(client: TestClient, auth_headers: Headers) -> None:
    assert client.post(EVENTS, json=[event()]).status_code == 401
    assert client.post(EVENTS, json=[event()], headers=auth_headers("leader")).status_code == 403
    assert client.post(EVENTS, json=[event()],
                       headers=auth_headers("so-nnmt")).status_code == 403


def test_detections_are_scoped_to_the_officers_agency(
        client: TestClient, auth_headers: Headers) -> None:
    setup_rule_and_assets(client, auth_headers)
    soc = auth_headers("soc")
    client.post(EVENTS, json=[event(), event(host="pc08-srv"), event(host="unknown-box")],
                headers=soc)
    everything = client.get("/api/v1/soc/detections", headers=soc, params=MY_RULE).json()
    assert {d["host"] for d in everything["items"]} == {"web01", "pc08-srv", "unknown-box"}
    leader = client.get("/api/v1/soc/detections", headers=auth_headers("leader"),
                        params=MY_RULE).json()
    assert leader["total"] == 3
    officer = auth_headers("so-nnmt")
    own = client.get("/api/v1/soc/detections", headers=officer, params=MY_RULE).json()
    assert [d["host"] for d in own["items"]] == ["web01"]
    by_host = {d["host"]: d["id"] for d in everything["items"]}
    assert client.get(f"/api/v1/soc/detections/{by_host['web01']}",
                      headers=officer).status_code == 200
    assert client.get(f"/api/v1/soc/detections/{by_host['pc08-srv']}",
                      headers=officer).status_code == 403
    assert client.get(f"/api/v1/soc/detections/{by_host['unknown-box']}",
                      headers=officer).status_code == 403
    detail = client.get(f"/api/v1/soc/detections/{by_host['web01']}", headers=soc).json()
    assert detail["soc_category"] == "abnormal" and detail["severity"] == "minor"
    assert "whoami" in detail["sample_event"]["raw"]
    summary = client.get("/api/v1/soc/detections/summary", headers=officer,
                         params=MY_RULE).json()
    assert summary["by_category"] == [{"key": "abnormal", "detections": 1, "matches": 1}]
    assert summary["top_hosts"][0]["key"] == "web01"
    # Raw quarantined input is for SOC managers only.
    assert client.get("/api/v1/soc/quarantine", headers=officer).status_code == 403
